import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startBackground, type Background } from '../../src/background.js';
import { loadConfig } from '../../src/config/load.js';
import type { EventType } from '../../src/events/types.js';
import { EventBus } from '../../src/events/bus.js';
import { openRuntime, type Runtime } from '../../src/runtime.js';
import { TEST_API_TOKEN } from '../helpers/capture.js';
import { createTestDatabases, REPO, sql, type TestDatabases } from '../helpers/databases.js';
import { loadEventSchemas } from '../helpers/event-schemas.js';
import { applySchema } from '../helpers/schema.js';

// The published WebSocket event schemas (schemas/events/, issue 13 §3) against real events: two
// servers emit every event type, as a client of /ws/events receives them, through a migration run
// that fails at its last file, passes with schema drift on one table, a conflict, the sync lease
// taken, released and stolen, and (on a second server whose cloud is unreachable) a database down
// and a failed pass. Every message must validate against the schema of its type.

// Every event type of src/events/types.ts (the compiler checks the list is complete), and the snapshot.
const EVENT_TYPES: Record<EventType, true> = {
  'migration.started': true,
  'migration.applied': true,
  'migration.failed': true,
  'sync.pass.started': true,
  'sync.pass.progress': true,
  'sync.pass.completed': true,
  'sync.pass.failed': true,
  'sync.conflict': true,
  'sync.table.error': true,
  'lease.acquired': true,
  'lease.lost': true,
  'lease.released': true,
  'agent.changed': true,
  'db.status': true,
  log: true,
};
const ALL_TYPES = ['snapshot', ...Object.keys(EVENT_TYPES)].sort();

type Message = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

interface Client {
  ws: WebSocket;
  messages: Message[];
  closed: Promise<unknown>;
}

function connect(url: string): Promise<Client> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/ws/events`);
    const messages: Message[] = [];
    ws.on('message', (d) => messages.push(JSON.parse(d.toString()) as Message));
    const closed = new Promise((r) => ws.on('close', r));
    ws.once('error', reject);
    ws.once('open', () => resolve({ ws, messages, closed }));
  });
}

async function until<T>(what: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs: number, label: string): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await what();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`${label}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function post(base: string, p: string, body: unknown): Promise<{ id: string }> {
  const r = await fetch(`${base}${p}`, { method: 'POST', headers: { Authorization: `Bearer ${TEST_API_TOKEN}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  expect(r.status).toBe(202);
  return (await r.json()) as { id: string };
}

async function jobDone(base: string, id: string): Promise<{ status: string }> {
  return until(async () => {
    const j = (await (await fetch(`${base}/api/jobs/${id}`)).json()) as { status: string };
    return j.status !== 'running' ? j : undefined;
  }, 90_000, `job ${id}`);
}

let dbs: TestDatabases;
const instances: Array<{ rt: Runtime; bg: Background }> = [];
const clients: Client[] = [];

beforeAll(async () => {
  dbs = await createTestDatabases();
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.ws.close();
  for (const { bg, rt } of instances.reverse()) {
    await bg.close();
    await rt.close();
  }
  await dbs?.drop();
});

async function start(env: Record<string, string>, migrationsDir?: string): Promise<{ rt: Runtime; bg: Background; url: string }> {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'cesar-events-'));
  const rt = await openRuntime(loadConfig({ cwd, env: { CESAR_API_TOKEN: TEST_API_TOKEN, ...env } }), { bus: new EventBus(5000) });
  const bg = await startBackground(rt, { api: { host: '127.0.0.1', port: 0, ...(migrationsDir ? { migrationsDir } : {}) }, start: false });
  instances.push({ rt, bg });
  if (!bg.api || !('url' in bg.api)) throw new Error(JSON.stringify(bg.api));
  return { rt, bg, url: bg.api.url };
}

describe('WebSocket events against the published schemas', () => {
  it('every event type is emitted by a running server and every message validates against its schema', async () => {
    const schemas = loadEventSchemas();
    expect([...schemas.keys()].sort()).toEqual(ALL_TYPES);

    // the migration files, and one more that fails at run time
    const migrationsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cesar-events-migrations-'));
    for (const f of fs.readdirSync(path.join(REPO, 'migrations'))) fs.copyFileSync(path.join(REPO, 'migrations', f), path.join(migrationsDir, f));
    fs.writeFileSync(path.join(migrationsDir, '999_fails.sql'), 'SELECT 1 / 0;\n');
    await applySchema(dbs.cloudUrl);
    // drift: a column the local side does not have
    await sql(dbs.cloudAdminUrl, 'ALTER TABLE feedback_signals ADD COLUMN drift_extra INT4');

    const a = await start({ LOCAL_DB_URL: dbs.localUrl, COCKROACH_DB_URL: dbs.cloudUrl, CESAR_SYNC_LEASE_TTL: '2s', CESAR_SYNC_BATCH_SIZE: '2' }, migrationsDir);
    const ca = await connect(a.url);
    clients.push(ca);
    await until(() => ca.messages.find((m) => m.type === 'snapshot'), 10_000, 'snapshot');

    // a migration run on local: eleven files applied, the last one fails
    const mig = await post(a.url, '/api/migrate', { target: 'local' });
    expect(await jobDone(a.url, mig.id)).toMatchObject({ status: 'failed' });
    await until(() => ca.messages.find((m) => m.type === 'migration.failed'), 10_000, 'migration.failed');

    // passes: rows both ways, drift on one table, then a conflict
    const ids = [randomUUID(), randomUUID(), randomUUID()];
    for (const id of ids) await sql(dbs.localUrl, `INSERT INTO agents (id, name, agent_type, updated_at) VALUES ($1, 'e', 'worker', '2025-01-01 00:00:00+00')`, [id]);
    const first = await post(a.url, '/api/sync', { direction: 'both' });
    expect(await jobDone(a.url, first.id)).toMatchObject({ status: 'failed' }); // the drifted table
    await sql(dbs.cloudUrl, "UPDATE agents SET status = 'busy', updated_at = now() - interval '1 minute' WHERE id = $1", [ids[0]]);
    await sql(dbs.localUrl, "UPDATE agents SET status = 'paused', updated_at = now() WHERE id = $1", [ids[0]]);
    const second = await post(a.url, '/api/sync', { tables: ['agents'] });
    expect(await jobDone(a.url, second.id)).toMatchObject({ status: 'succeeded' });
    await until(() => ca.messages.find((m) => m.type === 'sync.conflict'), 10_000, 'sync.conflict');

    // the sync lease taken over by someone else: this process learns it at its next heartbeat
    await sql(dbs.cloudAdminUrl, "UPDATE cesar_leases SET owner = 'thief:1:1' WHERE name = 'sync'");
    await until(() => ca.messages.find((m) => m.type === 'lease.lost' && m.name === 'sync'), 15_000, 'lease.lost');

    // a second server whose cloud is unreachable: the probe reports it down, a (dry) pass fails
    const b = await start({ LOCAL_DB_URL: dbs.localUrl, COCKROACH_DB_URL: 'postgres://crdb_app@127.0.0.1:1/nowhere', CESAR_CONNECT_TIMEOUT: '1s' });
    const cb = await connect(b.url);
    clients.push(cb);
    await until(() => cb.messages.find((m) => m.type === 'snapshot'), 10_000, 'snapshot of b');
    expect((await fetch(`${b.url}/health`)).status).toBe(200);
    await until(() => cb.messages.find((m) => m.type === 'db.status' && m.role === 'cloud' && m.up === false), 10_000, 'db.status');
    const failing = await post(b.url, '/api/sync', { dryRun: true });
    await jobDone(b.url, failing.id);
    await until(() => cb.messages.find((m) => m.type === 'sync.pass.failed'), 10_000, 'sync.pass.failed');

    // every message of both connections against its schema
    const all = [...ca.messages, ...cb.messages];
    const problems: string[] = [];
    for (const m of all) {
      const validate = schemas.get(String(m.type));
      if (!validate) {
        problems.push(`no schema for ${String(m.type)}`);
        continue;
      }
      for (const p of validate(m)) problems.push(`${String(m.type)}: ${p} in ${JSON.stringify(m).slice(0, 300)}`);
    }
    expect(problems).toEqual([]);
    expect([...new Set(all.map((m) => String(m.type)))].sort()).toEqual(ALL_TYPES);

    // and a schema refuses what it should: a field too many, a wrong type, a missing field
    const conflict = all.find((m) => m.type === 'sync.conflict')!;
    expect(schemas.get('sync.conflict')!({ ...conflict, extra: 1 })).not.toEqual([]);
    expect(schemas.get('sync.conflict')!({ ...conflict, winner: 'both' })).not.toEqual([]);
    const { rowId: _rowId, ...noRow } = conflict;
    expect(schemas.get('sync.conflict')!(noRow)).not.toEqual([]);
    const snap = all.find((m) => m.type === 'snapshot')!;
    expect(schemas.get('snapshot')!({ ...snap, health: { ...snap.health, readSource: { role: 'local', degraded: false, reason: 'x' } } })).not.toEqual([]);
  }, 240_000);
});
