import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBackground, type Background } from '../../src/background.js';
import { loadConfig } from '../../src/config/load.js';
import { EventBus } from '../../src/events/bus.js';
import { openRuntime, type Runtime } from '../../src/runtime.js';
import { schemaRegistry } from '../../src/sync/schema.js';
import { createTestDatabases, sql, type TestDatabases } from '../helpers/databases.js';
import { parsePrometheus, sampleValue } from '../helpers/prometheus.js';
import { applySchema } from '../helpers/schema.js';

// The API against real PostgreSQL (the cloud role behind the CockroachDB profile), with real HTTP
// requests: every endpoint's happy path and bad inputs, auth, CORS, jobs, and /metrics parsed back.

const TOKEN = 'api-test-token-0123456789abcdef';
const SECRET = 'Sup3rSecretPw9'; // a password in both URLs: it must never come back
const ORIGIN = 'https://ops.example.com';

const withPassword = (url: string): string => {
  const u = new URL(url);
  u.password = SECRET;
  return u.toString();
};

interface Instance {
  rt: Runtime;
  bg: Background;
  url: string;
}

async function startInstance(env: Record<string, string>, api: Record<string, unknown> = {}): Promise<Instance> {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'cesar-api-'));
  const config = loadConfig({ cwd, env });
  const rt = await openRuntime(config, { bus: new EventBus(5000) });
  const bg = await startBackground(rt, { api: { host: '127.0.0.1', port: 0, tableStatsTtlMs: 0, ...api }, start: false });
  if (!bg.api || !('url' in bg.api)) throw new Error(`the API did not start: ${JSON.stringify(bg.api)}`);
  return { rt, bg, url: bg.api.url };
}

interface Reply {
  status: number;
  headers: Headers;
  text: string;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

async function call(base: string, p: string, init: RequestInit & { token?: string | null; json?: unknown } = {}): Promise<Reply> {
  const headers = new Headers(init.headers);
  if (init.token) headers.set('Authorization', `Bearer ${init.token}`);
  let body = init.body;
  if (init.json !== undefined) {
    headers.set('Content-Type', 'application/json');
    body = JSON.stringify(init.json);
  }
  const res = await fetch(`${base}${p}`, { ...init, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(text);
  } catch {
    // /metrics is text
  }
  expect(text).not.toContain(SECRET);
  expect(text).not.toMatch(/postgres(ql)?:\/\//);
  return { status: res.status, headers: res.headers, text, body: parsed };
}

/** The target of a response's `Link: <...>; rel="next"`, or null. */
function nextLink(r: Reply): string | null {
  const m = /^<([^>]+)>;\s*rel="next"$/.exec(r.headers.get('link') ?? '');
  return m ? m[1]! : null;
}

const until = async <T>(what: () => Promise<T | undefined | false>, timeoutMs: number, stepMs = 50): Promise<T> => {
  const t0 = Date.now();
  for (;;) {
    const v = await what();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
};

let dbs: TestDatabases;
let main: Instance;
let base: string;
const agents: Array<{ id: string; status: string; updatedAt: string }> = [];

beforeAll(async () => {
  dbs = await createTestDatabases();
  await applySchema(dbs.localUrl);
  await applySchema(dbs.cloudUrl);
  // ten live agents (two share an updated_at: the cursor must break the tie by id) and one deleted
  const statuses = ['idle', 'idle', 'idle', 'busy', 'busy', 'error', 'offline', 'idle', 'active', 'paused'];
  for (const [i, status] of statuses.entries()) {
    const updatedAt = `2025-01-0${1 + Math.min(i, 8)} 10:00:00.12345${i % 10}+00`;
    const at = i === 9 ? agents[8]!.updatedAt : updatedAt;
    const id = randomUUID();
    agents.push({ id, status, updatedAt: at });
    await sql(dbs.localUrl, `INSERT INTO agents (id, name, agent_type, status, config, updated_at) VALUES ($1, $2, 'worker', $3, '{"model":"small"}', $4)`, [id, `agent-${i}`, status, at]);
  }
  await sql(dbs.localUrl, `INSERT INTO agents (name, agent_type, status, updated_at, deleted_at) VALUES ('gone', 'worker', 'idle', '2024-12-31 00:00:00+00', '2024-12-31 00:00:00+00')`);
  main = await startInstance({
    LOCAL_DB_URL: withPassword(dbs.localUrl),
    COCKROACH_DB_URL: withPassword(dbs.cloudUrl),
    CESAR_API_TOKEN: TOKEN,
    CESAR_API_CORS_ORIGINS: ORIGIN,
    CESAR_SYNC_LEASE_TTL: '3s',
  });
  base = main.url;
}, 120_000);

afterAll(async () => {
  await main?.bg.close();
  await main?.rt.close();
  await dbs?.drop();
});

describe('health endpoints', () => {
  it('/livez, /readyz and /health answer 200 with the databases, the read source and the version', async () => {
    expect(await call(base, '/livez')).toMatchObject({ status: 200, body: { status: 'alive' } });
    expect(await call(base, '/readyz')).toMatchObject({ status: 200, body: { status: 'ready' } });
    const h = await call(base, '/health');
    expect(h.status).toBe(200);
    expect(h.body).toMatchObject({ status: 'ok', version: expect.stringMatching(/^\d+\.\d+\.\d+/), environment: 'development', embedded: false, draining: false });
    expect(h.body.readSource).toMatchObject({ database: 'local', degraded: false });
    for (const role of ['local', 'cloud']) {
      expect(h.body.databases[role]).toMatchObject({ configured: true, up: true, flavor: process.env.CESAR_TEST_BACKEND === 'embedded' ? 'embedded' : 'postgres', error: null });
      expect(h.body.databases[role].latencyMs).toBeGreaterThanOrEqual(0);
      expect(h.body.databases[role].label).toMatch(process.env.CESAR_TEST_BACKEND === 'embedded' ? /@127\.0\.0\.1:\d+\/postgres$/ : /@127\.0\.0\.1:\d+\/cesar_t_/);
    }
    expect(h.body.sync).toMatchObject({ active: false, lastPassAt: null });
    expect(h.headers.get('content-type')).toMatch(/application\/json/);
  });

  it('probes the databases at most about once a second however often /health is called', async () => {
    const before = Number((await sql<{ n: string }>(dbs.localUrl, "SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'cesar' AND datname = current_database()"))[0]!.n);
    // 50 requests, 10 at a time (one client may have 16 in flight)
    const replies: Reply[] = [];
    const t0 = Date.now();
    for (let i = 0; i < 5; i++) replies.push(...(await Promise.all(Array.from({ length: 10 }, () => call(base, '/health')))));
    const seconds = (Date.now() - t0) / 1000;
    expect(replies.every((r) => r.status === 200)).toBe(true);
    const checked = new Set(replies.map((r) => r.body.databases.local.checkedAt));
    // at most one probe per second of the run, plus the one under way when it started
    expect(checked.size).toBeLessThanOrEqual(Math.ceil(seconds) + 1);
    expect(checked.size).toBeLessThan(10);
    const after = Number((await sql<{ n: string }>(dbs.localUrl, "SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'cesar' AND datname = current_database()"))[0]!.n);
    expect(after).toBeLessThanOrEqual(Math.max(before, 4)); // the pool, not one connection per request
  });

  it('unknown paths are 404, wrong methods 405 with Allow, unknown query parameters 400', async () => {
    expect(await call(base, '/nope')).toMatchObject({ status: 404, body: { error: expect.stringContaining('no such endpoint') } });
    expect(await call(base, '/api/agents/')).toMatchObject({ status: 404 });
    const m = await call(base, '/health', { method: 'POST' });
    expect(m.status).toBe(405);
    expect(m.headers.get('allow')).toBe('GET');
    const d = await call(base, '/api/sync', { method: 'DELETE' });
    expect(d.status).toBe(405);
    expect(d.headers.get('allow')).toBe('POST');
    expect(await call(base, '/health?verbose=1')).toMatchObject({ status: 400, body: { error: expect.stringContaining('unknown query parameter') } });
  });

  it('CORS headers only for the listed origin; a preflight from another origin is refused', async () => {
    const ok = await call(base, '/health', { headers: { Origin: ORIGIN } });
    expect(ok.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    const evil = await call(base, '/health', { headers: { Origin: 'https://evil.example.com' } });
    expect(evil.status).toBe(200);
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
    const pre = await call(base, '/api/sync', { method: 'OPTIONS', headers: { Origin: ORIGIN, 'Access-Control-Request-Method': 'POST' } });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-headers')).toContain('Authorization');
    const preEvil = await call(base, '/api/sync', { method: 'OPTIONS', headers: { Origin: 'https://evil.example.com', 'Access-Control-Request-Method': 'POST' } });
    expect(preEvil.status).toBe(403);
    expect(preEvil.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('agents', () => {
  it('GET /api/agents is a JSON array of agents rows with the table\'s column names, newest first, paged by the Link header, ties included', async () => {
    const first = await call(base, '/api/agents');
    expect(first.status).toBe(200);
    expect(Array.isArray(first.body)).toBe(true);
    expect(first.body).toHaveLength(10);
    expect(first.headers.get('link')).toBeNull();
    expect(first.headers.get('x-cesar-read-source')).toBe('local');
    expect(first.headers.get('x-cesar-degraded')).toBe('false');
    expect(first.body.map((a: { name: string }) => a.name)).not.toContain('gone');
    // every column of the table, in its order, with its own name (what the original FastAPI route returned)
    expect(Object.keys(first.body[0])).toEqual(['id', 'name', 'agent_type', 'status', 'description', 'capabilities', 'config', 'version', 'max_concurrent_tasks', 'last_heartbeat_at', 'created_at', 'updated_at', 'deleted_at']);
    expect(first.body[0]).toMatchObject({ agent_type: 'worker', capabilities: {}, config: { model: 'small' }, version: 1, max_concurrent_tasks: 1, deleted_at: null, last_heartbeat_at: null });
    // ISO 8601 with all six digits of microseconds, exactly the stored value
    const newest = agents.slice().sort((a, b) => (a.updatedAt < b.updatedAt ? 1 : a.updatedAt > b.updatedAt ? -1 : 0))[0]!;
    expect(first.body[0].updated_at).toBe(newest.updatedAt.replace(' ', 'T').replace('+00', 'Z'));
    for (const a of first.body) {
      expect(a.updated_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
      expect(a.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
      expect(a.updated_at).toBe(agents.find((x) => x.id === a.id)!.updatedAt.replace(' ', 'T').replace('+00', 'Z'));
    }
    const seen: string[] = [];
    let next: string | null = '/api/agents?limit=3';
    let pages = 0;
    while (next && pages < 10) {
      const page: Reply = await call(base, next);
      expect(page.status).toBe(200);
      expect(page.body.length).toBeLessThanOrEqual(3);
      seen.push(...page.body.map((a: { id: string }) => a.id));
      next = nextLink(page);
      if (next) expect(next).toMatch(/^\/api\/agents\?limit=3&cursor=[A-Za-z0-9_-]+$/);
      pages++;
    }
    expect(pages).toBe(4);
    expect(seen).toEqual(first.body.map((a: { id: string }) => a.id));
    expect(new Set(seen)).toEqual(new Set(agents.map((a) => a.id)));
  });

  it('filters by status; the Link keeps the filter', async () => {
    const r = await call(base, '/api/agents?status=idle&limit=2');
    expect(r.body.every((a: { status: string }) => a.status === 'idle')).toBe(true);
    const all: string[] = [...r.body.map((a: { id: string }) => a.id)];
    const link = nextLink(r)!;
    expect(link).toMatch(/^\/api\/agents\?status=idle&limit=2&cursor=/);
    const r2 = await call(base, link);
    all.push(...r2.body.map((a: { id: string }) => a.id));
    expect(nextLink(r2)).toBeNull();
    expect(new Set(all)).toEqual(new Set(agents.filter((a) => a.status === 'idle').map((a) => a.id)));
  });

  it.each([
    ['limit=0', /limit/],
    ['limit=501', /limit.*1 to 500/],
    ['limit=ten', /limit/],
    ['limit=1&limit=2', /more than once/],
    ['status=sleeping', /idle, active, busy, paused, error, offline/],
    ['cursor=garbage!', /cursor/],
    [`cursor=${Buffer.from('["yesterday","x"]').toString('base64url')}`, /cursor/],
    [`cursor=${Buffer.from('{"a":1}').toString('base64url')}`, /cursor/],
    ['order=name', /unknown query parameter/],
  ])('GET /api/agents?%s is 400', async (q, message) => {
    const r = await call(base, `/api/agents?${q}`);
    expect(r.status).toBe(400);
    expect(r.body.error).toMatch(message);
  });

  it('GET /api/agents/:id: the agent with its config, 404 when absent, 400 when not a UUID', async () => {
    const a = agents[3]!;
    const r = await call(base, `/api/agents/${a.id}`);
    expect(r).toMatchObject({ status: 200, body: { id: a.id, status: a.status, agent_type: 'worker', config: { model: 'small' } } });
    expect(r.body.updated_at).toBe(a.updatedAt.replace(' ', 'T').replace('+00', 'Z'));
    expect(r.headers.get('x-cesar-read-source')).toBe('local');
    expect(await call(base, `/api/agents/${randomUUID()}`)).toMatchObject({ status: 404 });
    expect(await call(base, '/api/agents/nope')).toMatchObject({ status: 400, body: { error: expect.stringContaining('UUID') } });
    expect(await call(base, "/api/agents/1'%20OR%20'1'='1")).toMatchObject({ status: 400 });
  });
});

describe('POST endpoints: auth and validation', () => {
  it('refuse without or with a wrong token (401), before reading the body', async () => {
    const none = await call(base, '/api/sync', { method: 'POST', json: {} });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/Bearer/);
    expect(await call(base, '/api/sync', { method: 'POST', json: {}, token: `${TOKEN}x` })).toMatchObject({ status: 401, body: { error: 'invalid token' } });
    expect(await call(base, '/api/migrate', { method: 'POST', json: {}, token: 'short' })).toMatchObject({ status: 401 });
    expect(await call(base, '/api/migrate', { method: 'POST', json: {}, headers: { Authorization: `Basic ${TOKEN}` } })).toMatchObject({ status: 401 });
  });

  it.each([
    ['malformed JSON', '{"direction": "up",', /malformed JSON/],
    ['an array', '["up"]', /JSON object/],
    ['an unknown field', '{"direction":"up","force":true}', /unknown field "force"; allowed: direction, tables, dryRun/],
    ['a wrong type', '{"dryRun":"yes"}', /dryRun must be true or false/],
    ['a bad direction', '{"direction":"sideways"}', /one of both, up, down/],
    ['tables as a string', '{"tables":"agents"}', /array of strings/],
    ['no tables', '{"tables":[]}', /at least one table/],
    ['unknown tables', '{"tables":["agents","agentz; DROP TABLE agents"]}', /unknown table "agentz; DROP TABLE agents"\. Synced tables: agents, /],
  ])('POST /api/sync with %s is 400 and runs nothing', async (_what, body, message) => {
    const r = await call(base, '/api/sync', { method: 'POST', body, headers: { 'Content-Type': 'application/json' }, token: TOKEN });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatch(message);
    expect(main.rt.bus.history().some((e) => e.type === 'sync.pass.started')).toBe(false);
    expect((await sql(dbs.localUrl, "SELECT to_regclass('sync_state') AS t"))[0]!.t).toBeNull();
  });

  it('a body over 64 KiB is 413, a non-JSON content type 415', async () => {
    const big = JSON.stringify({ tables: Array.from({ length: 20_000 }, () => 'agents') });
    expect(big.length).toBeGreaterThan(64 * 1024);
    expect(await call(base, '/api/sync', { method: 'POST', body: big, headers: { 'Content-Type': 'application/json' }, token: TOKEN })).toMatchObject({ status: 413 });
    expect(await call(base, '/api/sync', { method: 'POST', body: 'direction=up', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, token: TOKEN })).toMatchObject({ status: 415 });
    // the connection still works afterwards
    expect(await call(base, '/livez')).toMatchObject({ status: 200 });
  });

  it('POST /api/migrate validates target and fields', async () => {
    expect(await call(base, '/api/migrate', { method: 'POST', json: { target: 'mars' }, token: TOKEN })).toMatchObject({ status: 400, body: { error: expect.stringContaining('local, cloud, both') } });
    expect(await call(base, '/api/migrate', { method: 'POST', json: { target: 'local', steps: 2 }, token: TOKEN })).toMatchObject({ status: 400 });
  });
});

describe('work in the background, sync state, conflicts, migrations, metrics', () => {
  const job = async (id: string) =>
    until(async () => {
      const r = await call(base, `/api/jobs/${id}`);
      return r.body.status !== 'running' ? r.body : undefined;
    }, 60_000);

  it('POST /api/sync answers 202 with a job id; the job ends with the pass report; a second request while it runs is 409', async () => {
    const ok = await call(base, '/api/sync', { method: 'POST', json: { direction: 'both' }, token: TOKEN });
    expect(ok.status).toBe(202);
    // sent while the pass (31 tables, both directions) runs
    const refused = await call(base, '/api/sync', { method: 'POST', json: { direction: 'up', tables: ['agents'] }, token: TOKEN });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatch(/already running/);
    expect(ok.body).toMatchObject({ id: expect.any(String), kind: 'sync', status: 'running', events: '/ws/events' });
    expect(ok.headers.get('location')).toBe(`/api/jobs/${ok.body.id}`);
    const done = await job(ok.body.id);
    expect(done).toMatchObject({ status: 'succeeded', error: null, result: { ok: true } });
    expect(done.result.tables).toContainEqual(expect.objectContaining({ table: 'agents', direction: 'up', inserted: 11 }));
    expect((await sql<{ n: string }>(dbs.cloudUrl, 'SELECT count(*) AS n FROM agents'))[0]!.n).toBe('11');
    expect(await call(base, `/api/jobs/${randomUUID()}`)).toMatchObject({ status: 404 });
  });

  it('GET /api/sync/state: the sync_state rows (column names); GET /api/sync/scheduler: the scheduler', async () => {
    const r = await call(base, '/api/sync/state');
    expect(r.status).toBe(200);
    expect(r.headers.get('x-cesar-read-source')).toBe('local');
    const agentsUp = r.body.find((t: { table_name: string; direction: string }) => t.table_name === 'agents' && t.direction === 'up');
    expect(agentsUp).toMatchObject({ status: 'ok', total_applied: 11, last_error: null });
    expect(agentsUp.last_success_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
    const s = await call(base, '/api/sync/scheduler');
    expect(s.body).toMatchObject({ active: true, lastError: null });
  });

  it('a row changed on both sides is a conflict: listed, paged, counted in the metrics', async () => {
    const [x, y] = [agents[0]!.id, agents[1]!.id];
    for (const id of [x, y]) {
      await sql(dbs.cloudUrl, "UPDATE agents SET status = 'busy', updated_at = now() - interval '1 minute' WHERE id = $1", [id]);
      await sql(dbs.localUrl, "UPDATE agents SET status = 'paused', updated_at = now() WHERE id = $1", [id]);
    }
    const r = await call(base, '/api/sync', { method: 'POST', json: { tables: ['agents'] }, token: TOKEN });
    expect(r.status).toBe(202);
    expect(await job(r.body.id)).toMatchObject({ status: 'succeeded' });
    const page1 = await call(base, '/api/sync/conflicts?limit=1&table=agents');
    expect(page1.status).toBe(200);
    expect(page1.body).toHaveLength(1);
    expect(page1.body[0]).toMatchObject({ table_name: 'agents', winner: 'local' });
    expect(page1.body[0].local_version).toBeUndefined(); // the list leaves the versions out
    expect(page1.body[0].detected_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
    const page2 = await call(base, nextLink(page1)!);
    expect(page2.body).toHaveLength(1);
    expect(nextLink(page2)).toBeNull();
    expect(new Set([page1.body[0].row_id, page2.body[0].row_id])).toEqual(new Set([x, y]));
    const one = await call(base, `/api/sync/conflicts/${page1.body[0].id}`);
    expect(one.body.local_version).toMatchObject({ status: 'paused' });
    expect(one.body.cloud_version).toMatchObject({ status: 'busy' });
    expect(await call(base, `/api/sync/conflicts/${randomUUID()}`)).toMatchObject({ status: 404 });
    expect(await call(base, '/api/sync/conflicts?table=nope')).toMatchObject({ status: 400, body: { error: expect.stringContaining('Synced tables') } });
    expect(await call(base, '/api/sync/conflicts?cursor=abc')).toMatchObject({ status: 400 });
  });

  it('GET /api/migrations per database; POST /api/migrate dry-run plans, a real run applies and emits events', async () => {
    const before = await call(base, '/api/migrations');
    expect(before.status).toBe(200);
    // the schema was created without cesar's history table: every file counts as pending
    expect(before.body.local.counts.pending).toBe(11);
    const dry = await call(base, '/api/migrate', { method: 'POST', json: { dryRun: true }, token: TOKEN });
    expect(dry.status).toBe(202);
    const dryDone = await job(dry.body.id);
    expect(dryDone).toMatchObject({ status: 'succeeded', request: { target: 'both', dryRun: true } });
    expect(dryDone.result.local.wouldApply).toHaveLength(11);
    expect((await call(base, '/api/migrations')).body.local.counts.pending).toBe(11);

    const events: string[] = [];
    const off = main.rt.bus.on((e) => {
      if (e.type === 'migration.applied' && e.target === 'local') events.push(e.name);
    });
    const real = await call(base, '/api/migrate', { method: 'POST', json: { target: 'local' }, token: TOKEN });
    expect(real.status).toBe(202);
    const again = await call(base, '/api/migrate', { method: 'POST', json: { target: 'local' }, token: TOKEN });
    expect(again.status).toBe(409);
    expect(await job(real.body.id)).toMatchObject({ status: 'succeeded' });
    off();
    expect(events).toHaveLength(11);
    const after = await call(base, '/api/migrations');
    expect(after.body.local.counts).toMatchObject({ applied: 11, pending: 0 });
    expect(after.body.cloud.counts.pending).toBe(11);
  }, 90_000);

  it('/metrics parses as Prometheus text with process metrics and the sync_ series, bounded labels', async () => {
    const r = await call(base, '/metrics');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const m = parsePrometheus(r.text);
    const tables = (await schemaRegistry()).map((t) => t.name);
    expect(m.get('process_cpu_user_seconds_total')?.type).toBe('counter');
    expect(m.get('nodejs_heap_size_used_bytes')?.type).toBe('gauge');
    const types: Record<string, string> = {
      sync_build_info: 'gauge',
      sync_rows_applied_total: 'counter',
      sync_conflicts_total: 'counter',
      sync_errors_total: 'counter',
      sync_passes_total: 'counter',
      sync_pass_duration_seconds: 'histogram',
      sync_last_success_timestamp_seconds: 'gauge',
      sync_lag_seconds: 'gauge',
      sync_migrations_pending: 'gauge',
      sync_migration_files: 'gauge',
      sync_database_up: 'gauge',
      sync_database_latency_seconds: 'gauge',
      sync_lease_held: 'gauge',
      sync_last_pass_success_timestamp_seconds: 'gauge',
      sync_ws_clients: 'gauge',
      sync_ws_dropped_total: 'counter',
      sync_http_requests_total: 'counter',
    };
    for (const [name, type] of Object.entries(types)) expect(m.get(name)?.type, name).toBe(type);
    // values
    expect(sampleValue(m, 'sync_build_info', {})).toBe(1);
    expect(sampleValue(m, 'sync_rows_applied_total', { table: 'agents', direction: 'up' })).toBe(13); // 11 new, then the 2 conflict winners
    expect(sampleValue(m, 'sync_rows_applied_total', { table: 'memories', direction: 'down' })).toBe(0);
    expect(sampleValue(m, 'sync_conflicts_total', { table: 'agents', resolution: 'local' })).toBe(2);
    expect(sampleValue(m, 'sync_conflicts_total', { table: 'agents', resolution: 'cloud' })).toBe(0);
    expect(sampleValue(m, 'sync_passes_total', { scope: 'full', result: 'completed' })).toBe(1);
    expect(sampleValue(m, 'sync_passes_total', { scope: 'tables', result: 'completed' })).toBe(1);
    expect(sampleValue(m, 'sync_pass_duration_seconds_count', { scope: 'full' })).toBe(1);
    expect(sampleValue(m, 'sync_pass_duration_seconds_bucket', { scope: 'full', le: '+Inf' })).toBe(1);
    expect(sampleValue(m, 'sync_errors_total', { kind: 'pass' })).toBe(0);
    const lastSuccess = sampleValue(m, 'sync_last_success_timestamp_seconds', { table: 'agents', direction: 'up' });
    expect(Math.abs(lastSuccess - Date.now() / 1000)).toBeLessThan(120);
    expect(sampleValue(m, 'sync_lag_seconds', { table: 'agents', direction: 'up' })).toBeGreaterThanOrEqual(0);
    expect(sampleValue(m, 'sync_migrations_pending', { database: 'local' })).toBe(0);
    expect(sampleValue(m, 'sync_migrations_pending', { database: 'cloud' })).toBe(11);
    expect(sampleValue(m, 'sync_database_up', { database: 'cloud' })).toBe(1);
    expect(sampleValue(m, 'sync_lease_held', {})).toBe(1);
    expect(sampleValue(m, 'sync_ws_dropped_total', { reason: 'slow' })).toBe(0);
    expect(sampleValue(m, 'sync_http_requests_total', { route: '/api/agents/:id', method: 'GET', status: '404' })).toBeGreaterThanOrEqual(1);
    // every known table is exported (0 when nothing happened), and no label is unbounded
    for (const t of tables) {
      for (const d of ['up', 'down']) {
        expect(sampleValue(m, 'sync_rows_applied_total', { table: t, direction: d })).toBeGreaterThanOrEqual(0);
        expect(sampleValue(m, 'sync_lag_seconds', { table: t, direction: d })).toBeGreaterThanOrEqual(0);
      }
    }
    const uuid = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
    const allowedTables = new Set([...tables, 'other']);
    for (const f of m.values()) {
      if (!f.name.startsWith('sync_')) continue;
      for (const s of f.samples) {
        for (const v of Object.values(s.labels)) expect(v).not.toMatch(uuid);
        if (s.labels.table !== undefined) expect(allowedTables.has(s.labels.table), s.labels.table).toBe(true);
        if (s.labels.route !== undefined) expect(s.labels.route).toMatch(/^(\/[a-z:/]*|unmatched)$/);
      }
    }
    expect(m.get('sync_rows_applied_total')!.samples.length).toBe(tables.length * 2);
  });
});

describe('an instance with no token, in production, with the cloud down', () => {
  let inst: Instance;
  beforeAll(async () => {
    inst = await startInstance({
      ENVIRONMENT: 'production',
      LOCAL_DB_URL: withPassword(dbs.localUrl),
      COCKROACH_DB_URL: `postgres://crdb_app:${SECRET}@127.0.0.1:1/nowhere`,
      CESAR_CONNECT_TIMEOUT: '1s',
    });
  });
  afterAll(async () => {
    await inst?.bg.close();
    await inst?.rt.close();
  });

  it('refuses POST endpoints with 403 explaining how to enable them', async () => {
    const r = await call(inst.url, '/api/sync', { method: 'POST', json: {}, token: TOKEN });
    expect(r.status).toBe(403);
    expect(r.body.error).toContain('CESAR_API_TOKEN');
    expect(await call(inst.url, '/api/migrate', { method: 'POST', json: {} })).toMatchObject({ status: 403 });
  });

  it('/health is 503 (production reads the cloud only), /readyz 503, /livez 200, agents 503; no secret in any answer', async () => {
    const h = await call(inst.url, '/health');
    expect(h.status).toBe(503);
    expect(h.body).toMatchObject({ status: 'down', environment: 'production', readSource: { database: null, degraded: false } });
    expect(h.body.databases.cloud).toMatchObject({ up: false, label: 'crdb_app@127.0.0.1:1/nowhere' });
    expect(h.body.databases.cloud.error).toBeTruthy();
    expect(h.body.databases.local.up).toBe(true);
    expect(await call(inst.url, '/readyz')).toMatchObject({ status: 503, body: { reason: 'cloud database unreachable' } });
    expect(await call(inst.url, '/livez')).toMatchObject({ status: 200 });
    expect(await call(inst.url, '/api/agents')).toMatchObject({ status: 503, body: { error: expect.stringContaining('production reads CockroachDB only') } });
    expect(await call(inst.url, `/api/agents/${agents[0]!.id}`)).toMatchObject({ status: 503 });
    const mig = await call(inst.url, '/api/migrations');
    expect(mig.status).toBe(200);
    expect(mig.body.cloud.error).toBeTruthy();
    const metrics = parsePrometheus((await call(inst.url, '/metrics')).text);
    expect(sampleValue(metrics, 'sync_database_up', { database: 'cloud' })).toBe(0);
    expect(sampleValue(metrics, 'sync_database_up', { database: 'local' })).toBe(1);
  });

  it('a taken port is reported, not thrown; a non-loopback bind without a token is a usage error', async () => {
    const port = Number(new URL(inst.url).port);
    const bg = await startBackground(inst.rt, { api: { host: '127.0.0.1', port }, start: false });
    expect(bg.api).toEqual({ error: `port ${port} in use` });
    await bg.close();
    await expect(startBackground(inst.rt, { api: { host: '0.0.0.0', port: 0 }, start: false })).rejects.toMatchObject({ code: 'API_NEEDS_TOKEN', exitCode: 2 });
  });
});
