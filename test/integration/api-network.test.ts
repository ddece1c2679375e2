import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startApi, type ApiServer } from '../../src/api/index.js';
import { ROUTES } from '../../src/api/routes/index.js';
import { startBackground, type Background } from '../../src/background.js';
import { loadConfig } from '../../src/config/load.js';
import { EventBus } from '../../src/events/bus.js';
import { openRuntime, type Runtime } from '../../src/runtime.js';
import { learnSecret, TEST_API_TOKEN } from '../helpers/capture.js';
import { CLI } from '../helpers/cli.js';
import { createTestDatabases, sql, type TestDatabases } from '../helpers/databases.js';
import { applySchema } from '../helpers/schema.js';

// Issue 17, every finding as a regression test on a server bound to a non-loopback address
// (0.0.0.0) with tokens, reached through 127.0.0.1 as an attacker on the network would reach it:
// 1. reads, /metrics and /ws/events need a token; 2. API load cannot take the sync, the lease or
// the health probe down (a read queue with 429, per-client limits, a pool of the API's own);
// 3. a foreign Host header is refused (DNS rebinding), on a loopback bind too; 4. the embedded
// demo's files are private under umask 000; 5. slow headers are cut at the header timeout.

const READ_TOKEN = 'read-token-9c1f4e7a2b6d8035';
const METRICS_TOKEN = 'metrics-token-5e8a1c3f7b2d9046';
learnSecret(READ_TOKEN, 'CESAR_API_READ_TOKEN of api-network');
learnSecret(METRICS_TOKEN, 'CESAR_METRICS_TOKEN of api-network');
const real = process.env.CESAR_TEST_BACKEND !== 'embedded';

let dbs: TestDatabases;
let rt: Runtime;
let bg: Background;
let base: string;
let wsUrl: string;
let agentId: string;
let conflictId: string;

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** One request with full control of the headers (Host included) and of the source address. */
function request(p: string, opts: { method?: string; token?: string; headers?: Record<string, string>; from?: string; body?: string; url?: string } = {}): Promise<Reply> {
  const u = new URL(p, opts.url ?? base);
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
  return new Promise((resolve, reject) => {
    const r = http.request(
      { host: u.hostname, port: u.port, path: `${u.pathname}${u.search}`, method: opts.method ?? 'GET', headers, agent: false, ...(opts.from ? { localAddress: opts.from } : {}) },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => {
          let body: unknown = null;
          try {
            body = JSON.parse(text);
          } catch {
            // /metrics is text
          }
          // no answer ever carries a token back
          for (const t of [TEST_API_TOKEN, READ_TOKEN, METRICS_TOKEN]) expect(text).not.toContain(t);
          resolve({ status: res.statusCode!, headers: res.headers, text, body });
        });
      },
    );
    r.on('error', reject);
    r.end(opts.body);
  });
}

interface WsClient {
  ws: WebSocket;
  messages: Array<Record<string, any>>; // eslint-disable-line @typescript-eslint/no-explicit-any
  closed: Promise<{ code: number; reason: string }>;
}

/** Opens /ws/events; resolves once open, rejects with `HTTP <status>` when the upgrade is refused. */
function wsConnect(opts: { headers?: Record<string, string>; from?: string; url?: string } = {}): Promise<WsClient> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(opts.url ?? wsUrl, { headers: opts.headers ?? {}, ...(opts.from ? { localAddress: opts.from } : {}) });
    const messages: WsClient['messages'] = [];
    ws.on('message', (d) => messages.push(JSON.parse(d.toString())));
    const closed = new Promise<{ code: number; reason: string }>((r) => ws.on('close', (code, reason) => r({ code, reason: reason.toString() })));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('open', () => resolve({ ws, messages, closed }));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until<T>(what: () => T | undefined | false, timeoutMs: number): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = what();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(25);
  }
}

beforeAll(async () => {
  dbs = await createTestDatabases();
  await applySchema(dbs.localUrl);
  await applySchema(dbs.cloudUrl);
  agentId = randomUUID();
  await sql(dbs.localUrl, `INSERT INTO agents (id, name, agent_type, config, updated_at) VALUES ($1, 'secretive', 'worker', '{"apiKey":"agent-config-value"}', '2025-01-01 00:00:00+00')`, [agentId]);
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'cesar-net-'));
  const env = {
    LOCAL_DB_URL: dbs.localUrl,
    COCKROACH_DB_URL: dbs.cloudUrl,
    CESAR_API_TOKEN: TEST_API_TOKEN,
    CESAR_API_READ_TOKEN: READ_TOKEN,
    CESAR_METRICS_TOKEN: METRICS_TOKEN,
    CESAR_API_HOSTNAMES: 'cesar.example.com',
    CESAR_SYNC_LEASE_TTL: '3s',
  };
  rt = await openRuntime(loadConfig({ cwd, env }), { bus: new EventBus(2000) });
  bg = await startBackground(rt, {
    api: { host: '0.0.0.0', port: 0, tableStatsTtlMs: 0, hub: { authTimeoutMs: 1500 }, limits: { readConcurrency: 2, readQueue: 20, readQueueWaitMs: 30_000, perClientRequests: 16, perClientSockets: 8 } },
    start: false,
  });
  if (!bg.api || !('url' in bg.api)) throw new Error(`the API did not start: ${JSON.stringify(bg.api)}`);
  expect(bg.api.url).toMatch(/^http:\/\/0\.0\.0\.0:\d+$/);
  base = bg.api.url.replace('0.0.0.0', '127.0.0.1');
  wsUrl = `${base.replace(/^http/, 'ws')}/ws/events`;
  // a conflict, so that both versions of a row exist to be read
  expect((await bg.scheduler.runNow({ direction: 'both', tables: ['agents'] })).ok).toBe(true);
  await sql(dbs.cloudUrl, "UPDATE agents SET status = 'busy', updated_at = now() - interval '1 minute' WHERE id = $1", [agentId]);
  await sql(dbs.localUrl, "UPDATE agents SET status = 'paused', updated_at = now() WHERE id = $1", [agentId]);
  expect((await bg.scheduler.runNow({ direction: 'both', tables: ['agents'] })).ok).toBe(true);
  conflictId = (await sql<{ id: string }>(dbs.localUrl, 'SELECT id::text AS id FROM sync_conflicts LIMIT 1'))[0]!.id;
}, 120_000);

afterAll(async () => {
  await bg?.close();
  await rt?.close();
  await dbs?.drop();
});

/** Every GET route that reads, with its parameters filled in. */
function readPaths(): string[] {
  return ROUTES.filter((r) => r.access === 'read' && r.method === 'GET').map((r) =>
    r.path.replace(':id', r.path.startsWith('/api/agents') ? agentId : r.path.startsWith('/api/sync/conflicts') ? conflictId : randomUUID()),
  );
}

describe('1. reads need a token on a public bind', () => {
  it('every read endpoint: 401 without a token (nothing of the data), 200 with the read token or the API token, 403 with the metrics token', async () => {
    const paths = readPaths();
    expect(paths).toEqual(expect.arrayContaining([`/api/agents/${agentId}`, `/api/sync/conflicts/${conflictId}`, '/api/agents', '/api/sync/state', '/api/migrations']));
    for (const p of paths) {
      const none = await request(p);
      expect(none.status, p).toBe(401);
      expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
      expect(none.text).not.toContain('agent-config-value');
      expect(none.text).not.toContain('secretive');
      expect((await request(p, { token: 'not-the-token-0123456789' })).status, p).toBe(401);
      expect((await request(p, { token: METRICS_TOKEN })).status, p).toBe(403);
      const expected = p.startsWith('/api/jobs/') ? 404 : 200;
      expect((await request(p, { token: READ_TOKEN })).status, p).toBe(expected);
      expect((await request(p, { token: TEST_API_TOKEN })).status, p).toBe(expected);
    }
    // with the token: the agent's config and both versions of the conflict
    expect((await request(`/api/agents/${agentId}`, { token: READ_TOKEN })).body.config).toEqual({ apiKey: 'agent-config-value' });
    const conflict = await request(`/api/sync/conflicts/${conflictId}`, { token: READ_TOKEN });
    expect(conflict.body.local_version).toMatchObject({ status: 'paused' });
  });

  it('the read token cannot start work (403); the API token can (202)', async () => {
    expect((await request('/api/sync', { method: 'POST', token: READ_TOKEN, body: '{"dryRun":true}' })).status).toBe(403);
    expect((await request('/api/migrate', { method: 'POST', token: METRICS_TOKEN, body: '{"dryRun":true}' })).status).toBe(403);
    expect((await request('/api/sync', { method: 'POST', body: '{"dryRun":true}' })).status).toBe(401);
    const ok = await request('/api/sync', { method: 'POST', token: TEST_API_TOKEN, body: '{"dryRun":true,"tables":["agents"]}' });
    expect(ok.status).toBe(202);
    await until(() => rt.bus.history().some((e) => e.type === 'log' && e.message.includes(`sync job ${ok.body.id}`) && !e.message.endsWith('started (direction both, dryRun true, tables agents)')), 30_000);
  });

  it('/livez and /readyz are open; /health without a token says only up/degraded/down, with one everything', async () => {
    expect(await request('/livez')).toMatchObject({ status: 200, body: { status: 'alive' } });
    expect(await request('/readyz')).toMatchObject({ status: 200, body: { status: 'ready' } });
    const bare = await request('/health');
    expect(bare.status).toBe(200);
    expect(bare.body).toEqual({ status: 'ok' });
    expect((await request('/health', { token: 'not-the-token-0123456789' })).status).toBe(401);
    const full = await request('/health', { token: READ_TOKEN });
    expect(full.body).toMatchObject({ status: 'ok', readSource: { database: 'local' }, databases: { local: { up: true, label: expect.any(String) } } });
  });

  it('/metrics: 401 without a token; the metrics, read and API tokens may scrape', async () => {
    expect((await request('/metrics')).status).toBe(401);
    for (const t of [METRICS_TOKEN, READ_TOKEN, TEST_API_TOKEN]) {
      const r = await request('/metrics', { token: t });
      expect(r.status).toBe(200);
      expect(r.text).toContain('sync_database_up');
    }
  });

  it('/ws/events: the Authorization header, or the first message; never the URL; a client that does neither is closed (1008) and got nothing', async () => {
    // nothing: open, but silent, then closed
    const silent = await wsConnect();
    expect(await silent.closed).toMatchObject({ code: 1008, reason: expect.stringContaining('authentication required') });
    expect(silent.messages).toEqual([]);
    // the token in the URL is not a credential
    const inUrl = await wsConnect({ url: `${wsUrl}?token=${READ_TOKEN}` });
    expect((await inUrl.closed).code).toBe(1008);
    expect(inUrl.messages).toEqual([]);
    // a wrong first message, a wrong token
    const junk = await wsConnect();
    junk.ws.send('hello');
    expect((await junk.closed).code).toBe(1008);
    const wrong = await wsConnect();
    wrong.ws.send(JSON.stringify({ type: 'auth', token: 'not-the-token-0123456789' }));
    expect(await wrong.closed).toMatchObject({ code: 1008, reason: 'invalid token' });
    expect(wrong.messages).toEqual([]);
    const metricsOnly = await wsConnect();
    metricsOnly.ws.send(JSON.stringify({ type: 'auth', token: METRICS_TOKEN }));
    expect((await metricsOnly.closed).code).toBe(1008);
    // a wrong header is refused at the handshake
    await expect(wsConnect({ headers: { Authorization: 'Bearer not-the-token-0123456789' } })).rejects.toThrow('HTTP 401');
    await expect(wsConnect({ headers: { Authorization: `Bearer ${METRICS_TOKEN}` } })).rejects.toThrow('HTTP 403');
    // the first message with the read token: the snapshot, then events
    const browser = await wsConnect();
    browser.ws.send(JSON.stringify({ type: 'auth', token: READ_TOKEN }));
    await until(() => browser.messages.find((m) => m.type === 'snapshot'), 10_000);
    rt.bus.emit({ type: 'log', level: 'info', message: 'network-test-event' });
    await until(() => browser.messages.find((m) => m.type === 'log' && m.message === 'network-test-event'), 10_000);
    // the header with the API token
    const tool = await wsConnect({ headers: { Authorization: `Bearer ${TEST_API_TOKEN}` } });
    await until(() => tool.messages.find((m) => m.type === 'snapshot'), 10_000);
    browser.ws.close();
    tool.ws.close();
    await Promise.all([browser.closed, tool.closed]);
  });
});

describe('3. the Host header (DNS rebinding)', () => {
  it('a foreign Host is 421 on every endpoint and on /ws/events, with or without a token; listed names, loopback names and the bound address pass', async () => {
    for (const p of ['/livez', '/health', '/api/agents', '/metrics', '/nope']) {
      const r = await request(p, { headers: { Host: 'attacker.example' }, token: READ_TOKEN });
      expect(r.status, p).toBe(421);
      expect(r.text).not.toContain('secretive');
    }
    await expect(wsConnect({ headers: { Host: 'attacker.example', Authorization: `Bearer ${READ_TOKEN}` } })).rejects.toThrow('HTTP 421');
    for (const host of ['cesar.example.com', `cesar.example.com:${new URL(base).port}`, 'localhost', '127.0.0.1', '0.0.0.0']) {
      expect((await request('/livez', { headers: { Host: host } })).status, host).toBe(200);
    }
  });

  it('on a loopback bind too: reads are open there, but not to a page on another name', async () => {
    const local = await startApi({ rt, scheduler: bg.scheduler, engine: bg.engine }, { host: '127.0.0.1', port: 0 });
    try {
      local.setPhase('running');
      expect((await request('/api/agents', { url: local.url })).status).toBe(200);
      const evil = await request('/api/agents', { url: local.url, headers: { Host: 'attacker.example:8000' } });
      expect(evil.status).toBe(421);
      expect(evil.text).not.toContain('secretive');
      await expect(wsConnect({ url: `${local.url.replace(/^http/, 'ws')}/ws/events`, headers: { Host: 'attacker.example' } })).rejects.toThrow('HTTP 421');
    } finally {
      await local.close(500);
    }
  });
});

describe('2. API load never starves the sync, the lease or the health probe', () => {
  it('per client: at most 8 WebSocket connections per address (429), another address still gets in', async () => {
    const mine: WsClient[] = [];
    for (let i = 0; i < 8; i++) mine.push(await wsConnect({ headers: { Authorization: `Bearer ${READ_TOKEN}` } }));
    await expect(wsConnect({ headers: { Authorization: `Bearer ${READ_TOKEN}` } })).rejects.toThrow('HTTP 429');
    // an unauthenticated client holds a slot only until its authentication time runs out
    const other = await wsConnect({ from: '127.0.0.2', headers: { Authorization: `Bearer ${READ_TOKEN}` } });
    other.ws.close();
    mine[0]!.ws.close();
    await mine[0]!.closed;
    const again = await until(() => true, 10).then(async () => {
      for (let i = 0; i < 40; i++) {
        try {
          return await wsConnect({ headers: { Authorization: `Bearer ${READ_TOKEN}` } });
        } catch {
          await sleep(50); // the server sees the close a moment later
        }
      }
      throw new Error('the slot was not given back');
    });
    for (const c of [...mine.slice(1), again]) c.ws.close();
    await Promise.all([...mine.slice(1), again].map((c) => c.closed));
  });

  it.skipIf(!real)('reads stuck behind a lock: per-client 429, queue-full 429 with Retry-After; meanwhile a pass, the lease and /health carry on; then every queued read is answered', async () => {
    const locker = new pg.Client({ connectionString: dbs.localUrl });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE agents IN ACCESS EXCLUSIVE MODE');
      // 16 reads from one address: 2 run (and wait for the lock), 14 queue
      const mine = Array.from({ length: 16 }, () => request('/api/agents?limit=5', { token: READ_TOKEN }));
      await until(() => true, 10);
      await sleep(300);
      const seventeenth = await request('/api/agents?limit=5', { token: READ_TOKEN });
      expect(seventeenth.status).toBe(429);
      expect(seventeenth.headers['retry-after']).toBe('1');
      expect(seventeenth.body.error).toMatch(/too many requests in flight from 127\.0\.0\.1/);
      // 6 more from another address fill the queue (14 + 6 = 20); the next is refused at once
      const theirs = Array.from({ length: 6 }, () => request('/api/agents?limit=5', { token: READ_TOKEN, from: '127.0.0.3' }));
      await sleep(300);
      const t0 = Date.now();
      const full = await request('/api/agents?limit=5', { token: READ_TOKEN, from: '127.0.0.4' });
      expect(full.status).toBe(429);
      expect(full.headers['retry-after']).toBe('1');
      expect(full.body.error).toMatch(/reads are already waiting/);
      expect(Date.now() - t0).toBeLessThan(2000);
      // the rest of cesar does not notice: a pass of other tables, the lease, the probes
      const pass = await bg.scheduler.runNow({ direction: 'both', tables: ['memories', 'tasks'] });
      expect(pass.ok).toBe(true);
      expect(bg.scheduler.status().active).toBe(true);
      const health = await request('/health', { token: READ_TOKEN, from: '127.0.0.5' });
      expect(health).toMatchObject({ status: 200, body: { status: 'ok', databases: { local: { up: true, busy: false }, cloud: { up: true } } } });
      expect((await request('/readyz', { from: '127.0.0.5' })).status).toBe(200);
      await locker.query('ROLLBACK');
      const answers = await Promise.all([...mine, ...theirs]);
      expect(answers.map((a) => a.status)).toEqual(Array(22).fill(200));
    } finally {
      await locker.end().catch(() => undefined);
    }
    expect(rt.bus.history().some((e) => e.type === 'db.status' && !e.up)).toBe(false);
  }, 60_000);
});

describe('5. the header timeout is enforced at its value', () => {
  it('a client that never finishes its headers is cut after the timeout (2 s here), not up to 30 s later', async () => {
    const api: ApiServer = await startApi({ rt, scheduler: bg.scheduler, engine: bg.engine }, { host: '127.0.0.1', port: 0, headersTimeoutMs: 2000 });
    try {
      const port = Number(new URL(api.url).port);
      const socket = net.connect(port, '127.0.0.1');
      socket.on('error', () => undefined);
      await new Promise((r) => socket.once('connect', r));
      const t0 = Date.now();
      socket.write('GET /livez HTTP/1.1\r\nHost: localhost\r\n');
      // a header line now and then, never the blank line that ends them
      const drip = setInterval(() => socket.writable && socket.write('X-Slow: 1\r\n'), 300);
      let answer = '';
      socket.on('data', (d: Buffer) => (answer += d.toString()));
      await new Promise((r) => socket.once('close', r));
      clearInterval(drip);
      const ms = Date.now() - t0;
      expect(ms).toBeGreaterThanOrEqual(1900);
      expect(ms).toBeLessThan(4500); // the timeout plus the one-second check, plus a busy machine
      expect(answer).toMatch(/^HTTP\/1\.1 408/);
    } finally {
      await api.close(500);
    }
  });
});

describe('4. files under CESAR_DATA_DIR are private', () => {
  it('the embedded demo started under umask 000: every directory 0700, every file 0600', async () => {
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'cesar-umask-'));
    const dataDir = path.join(cwd, 'data');
    const child = spawn('/bin/sh', ['-c', `umask 000 && exec "${process.execPath}" "${CLI}" headless --port 0 --interval 24h`], {
      cwd,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NO_COLOR: '1', CESAR_DATA_DIR: dataDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      await until(() => out.includes('"event":"startup"') || child.exitCode !== null, 150_000);
      expect(out).toContain('"event":"startup"');
      await sleep(1000); // the demo writes and the first passes run: files created after start count too
      const wrong: string[] = [];
      let files = 0;
      const walk = (dir: string): void => {
        for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
          const p = path.join(dir, e.name);
          const mode = fs.lstatSync(p).mode & 0o777;
          if (e.isDirectory()) {
            if (mode !== 0o700) wrong.push(`${path.relative(dataDir, p)}/ ${mode.toString(8)}`);
            walk(p);
          } else if (e.isFile()) {
            files++;
            if (mode !== 0o600) wrong.push(`${path.relative(dataDir, p)} ${mode.toString(8)}`);
          }
        }
      };
      expect(fs.statSync(dataDir).mode & 0o777).toBe(0o700);
      walk(dataDir);
      expect(files).toBeGreaterThan(1000); // two PGlite clusters
      expect(wrong.slice(0, 20)).toEqual([]);
    } finally {
      child.kill('SIGTERM');
      await exited;
      fs.rmSync(cwd, { recursive: true, force: true });
    }
  }, 180_000);
});
