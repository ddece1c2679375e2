import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startBackground, type Background } from '../../src/background.js';
import { loadConfig } from '../../src/config/load.js';
import { EventBus } from '../../src/events/bus.js';
import { openRuntime, type Runtime } from '../../src/runtime.js';
import { createTestDatabases, sql, type TestDatabases } from '../helpers/databases.js';
import { parsePrometheus, sampleValue } from '../helpers/prometheus.js';
import { applySchema } from '../helpers/schema.js';

// /ws/events with real WebSocket clients: the snapshot, live events during a pass, a slow client
// dropped (1013) while the others keep receiving everything, a silent client dropped by the
// heartbeat, and the drain (1001) on shutdown.

const TOKEN = 'ws-test-token-0123456789abcdef';
const MAX_BUFFERED = 512 * 1024;

let dbs: TestDatabases;
let rt: Runtime;
let bg: Background;
let base: string;
let wsUrl: string;

interface Client {
  ws: WebSocket;
  messages: Array<Record<string, any>>; // eslint-disable-line @typescript-eslint/no-explicit-any
  closed: Promise<{ code: number; reason: string }>;
  /** Resolves with the first message (from `from` on) matching. */
  next(pred: (m: Record<string, any>) => boolean, timeoutMs?: number, from?: number): Promise<Record<string, any>>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

function connect(url: string, headers: Record<string, string> = {}): Promise<Client> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    const messages: Client['messages'] = [];
    const waiters = new Set<() => void>();
    ws.on('message', (data) => {
      messages.push(JSON.parse(data.toString()));
      for (const w of waiters) w();
    });
    const closed = new Promise<{ code: number; reason: string }>((r) => ws.on('close', (code, reason) => r({ code, reason: reason.toString() })));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('open', () =>
      resolve({
        ws,
        messages,
        closed,
        next(pred, timeoutMs = 10_000, from = 0) {
          return new Promise((res, rej) => {
            const check = () => {
              const m = messages.slice(from).find(pred);
              if (m) {
                waiters.delete(check);
                clearTimeout(timer);
                res(m);
              }
            };
            const timer = setTimeout(() => {
              waiters.delete(check);
              rej(new Error(`no matching message within ${timeoutMs} ms; got ${messages.map((x) => x.type).join(',')}`));
            }, timeoutMs);
            waiters.add(check);
            check();
          });
        },
      }),
    );
  });
}

/** A client that completes the WebSocket handshake by hand and then reads nothing (or reads but never answers pings). */
function rawClient(url: string, mode: 'paused' | 'silent'): Promise<net.Socket & { gone: Promise<void> }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(u.port), u.hostname) as net.Socket & { gone: Promise<void> };
    socket.gone = new Promise((r) => socket.once('close', () => r()));
    socket.on('error', () => undefined);
    socket.once('connect', () => {
      socket.write(
        [`GET ${u.pathname} HTTP/1.1`, `Host: ${u.host}`, 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`, 'Sec-WebSocket-Version: 13', '', ''].join('\r\n'),
      );
    });
    let head = '';
    const onData = (d: Buffer) => {
      head += d.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      if (!head.startsWith('HTTP/1.1 101')) return reject(new Error(head.split('\r\n')[0]));
      if (mode === 'paused') {
        socket.off('data', onData);
        socket.pause();
      }
      resolve(socket);
    };
    socket.on('data', onData);
  });
}

async function metrics(): Promise<ReturnType<typeof parsePrometheus>> {
  return parsePrometheus(await (await fetch(`${base}/metrics`)).text());
}

beforeAll(async () => {
  dbs = await createTestDatabases();
  await applySchema(dbs.localUrl);
  await applySchema(dbs.cloudUrl);
  await sql(dbs.localUrl, `INSERT INTO agents (name, agent_type) SELECT 'a' || g, 'worker' FROM generate_series(1, 1200) g`);
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'cesar-ws-'));
  rt = await openRuntime(loadConfig({ cwd, env: { LOCAL_DB_URL: dbs.localUrl, COCKROACH_DB_URL: dbs.cloudUrl, CESAR_API_TOKEN: TOKEN, CESAR_SYNC_BATCH_SIZE: '200', CESAR_API_CORS_ORIGINS: 'https://ops.example.com' } }), { bus: new EventBus(5000) });
  bg = await startBackground(rt, { api: { host: '127.0.0.1', port: 0, hub: { maxBufferedBytes: MAX_BUFFERED, heartbeatMs: 60_000 } }, start: false });
  if (!bg.api || !('url' in bg.api)) throw new Error(JSON.stringify(bg.api));
  base = bg.api.url;
  wsUrl = `${base.replace(/^http/, 'ws')}/ws/events`;
}, 120_000);

afterAll(async () => {
  await bg?.close();
  await rt?.close();
  await dbs?.drop();
});

describe('/ws/events', () => {
  it('sends a snapshot first, then every event of a pass as {type, at, ...}', async () => {
    const c = await connect(wsUrl);
    const snap = await c.next((m) => m.type === 'snapshot');
    expect(c.messages[0]!.type).toBe('snapshot');
    expect(snap.at).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    expect(snap.sync.scheduler).toMatchObject({ active: false, running: false });
    expect(snap.sync.tables).toEqual([]);
    expect(snap.migrations.local).toMatchObject({ role: 'local', counts: { pending: 11 } });
    // the snapshot's health is /health's document: the read source is `database`, as there
    expect(snap.health).toMatchObject({ status: 'ok', readSource: { database: 'local', degraded: false } });
    expect(snap.health.readSource.role).toBeUndefined();
    const health = (await (await fetch(`${base}/health`)).json()) as Record<string, unknown>;
    expect(Object.keys(snap.health).sort()).toEqual(Object.keys(health).sort());
    const from = c.messages.length;
    const r = await fetch(`${base}/api/sync`, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ direction: 'up', tables: ['agents'] }) });
    expect(r.status).toBe(202);
    const started = await c.next((m) => m.type === 'sync.pass.started', 10_000, from);
    expect(started).toMatchObject({ direction: 'up', tables: ['agents'], dryRun: false, at: expect.any(String) });
    const done = await c.next((m) => m.type === 'sync.pass.completed' && m.passId === started.passId, 30_000, from);
    expect(done).toMatchObject({ applied: 1200, conflicts: 0, errors: 0 });
    const progress = c.messages.filter((m) => m.type === 'sync.pass.progress' && m.passId === started.passId);
    // 1200 rows, pages of 200 that double while every row applies cleanly: 200, 400, then 600 of 800
    expect(progress.length).toBe(3);
    expect(progress.map((p) => p.applied)).toEqual([200, 600, 1200]);
    await c.next((m) => m.type === 'log' && /sync job .* succeeded/.test(m.message), 10_000, from);
    const types = new Set(c.messages.map((m) => m.type));
    expect(types.has('lease.acquired')).toBe(true);
    // a new client's snapshot now shows the state
    const d = await connect(wsUrl);
    const snap2 = await d.next((m) => m.type === 'snapshot');
    expect(snap2.sync.tables).toContainEqual(expect.objectContaining({ table_name: 'agents', direction: 'up', status: 'ok' }));
    c.ws.close();
    d.ws.close();
    await Promise.all([c.closed, d.closed]);
  }, 60_000);

  it('refuses an upgrade from an origin that is not listed, and on other paths', async () => {
    await expect(connect(wsUrl, { Origin: 'https://evil.example.com' })).rejects.toThrow('HTTP 403');
    const ok = await connect(wsUrl, { Origin: 'https://ops.example.com' });
    ok.ws.close();
    await expect(connect(`${base.replace(/^http/, 'ws')}/ws/other`)).rejects.toThrow('HTTP 404');
  });

  it('drops a client that does not read (1013, counted) while the others receive every event in order', async () => {
    const fast = [await connect(wsUrl), await connect(wsUrl)];
    await Promise.all(fast.map((c) => c.next((m) => m.type === 'snapshot')));
    const slow = await rawClient(wsUrl, 'paused');
    await new Promise((r) => setTimeout(r, 200)); // its snapshot is sent
    // words, not one long token: redact() is quadratic on a long run of URL-scheme characters (reported)
    const payload = 'lorem ipsum dolor sit amet '.repeat(600);
    let sent = 0;
    const droppedBefore = sampleValue(await metrics(), 'sync_ws_dropped_total', { reason: 'slow' });
    // bursts smaller than the bound, with pauses in which the readers catch up; the paused one cannot
    for (let burst = 0; burst < 1000; burst++) {
      for (let i = 0; i < 8; i++) rt.bus.emit({ type: 'log', level: 'info', message: `burst ${sent++} ${payload}` });
      await new Promise((r) => setTimeout(r, 5));
      if (burst % 20 === 19 && sampleValue(await metrics(), 'sync_ws_dropped_total', { reason: 'slow' }) > droppedBefore) break;
    }
    const m = await metrics();
    expect(sampleValue(m, 'sync_ws_dropped_total', { reason: 'slow' })).toBe(droppedBefore + 1);
    // the server cuts the connection a second after its close frame (which waits behind unread data);
    // reading again, the client finds the connection gone
    slow.resume();
    await Promise.race([slow.gone, new Promise((_r, rej) => setTimeout(() => rej(new Error('the slow client was not disconnected')), 5000))]);
    // the others got everything, in order
    for (let i = 0; i < 8; i++) rt.bus.emit({ type: 'log', level: 'info', message: `burst ${sent++} ${payload}` });
    for (const c of fast) {
      await c.next((x) => x.type === 'log' && x.message.startsWith(`burst ${sent - 1} `), 15_000);
      const bursts = c.messages.filter((x) => x.type === 'log' && x.message.startsWith('burst ')).map((x) => Number(x.message.split(' ')[1]));
      expect(bursts).toEqual(Array.from({ length: sent }, (_v, i) => i));
    }
    expect(sampleValue(await metrics(), 'sync_ws_clients')).toBe(2);
    for (const c of fast) c.ws.close();
    await Promise.all(fast.map((c) => c.closed));
  }, 60_000);

  it('terminates a client that does not answer pings (counted as dead)', async () => {
    // a second API on the same runtime with a fast heartbeat
    const other = await startBackground(rt, { api: { host: '127.0.0.1', port: 0, hub: { heartbeatMs: 150 } }, start: false });
    try {
      if (!other.api || !('url' in other.api)) throw new Error(JSON.stringify(other.api));
      const url = `${other.api.url.replace(/^http/, 'ws')}/ws/events`;
      const silent = await rawClient(url, 'silent');
      const alive = await connect(url); // the ws client answers pings by itself
      await Promise.race([silent.gone, new Promise((_r, rej) => setTimeout(() => rej(new Error('the silent client was not dropped')), 3000))]);
      const m = parsePrometheus(await (await fetch(`${other.api.url}/metrics`)).text());
      expect(sampleValue(m, 'sync_ws_dropped_total', { reason: 'dead' })).toBe(1);
      await new Promise((r) => setTimeout(r, 500));
      expect(alive.ws.readyState).toBe(WebSocket.OPEN);
      alive.ws.close();
    } finally {
      await other.close();
    }
  });

  it('on shutdown: readiness fails, new work is refused, WebSockets close with 1001, then connections are refused', async () => {
    const c = await connect(wsUrl);
    await c.next((m) => m.type === 'snapshot');
    bg.apiServer!.setPhase('draining');
    expect((await fetch(`${base}/readyz`)).status).toBe(503);
    const post = await fetch(`${base}/api/sync`, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(post.status).toBe(503);
    expect((await fetch(`${base}/livez`)).status).toBe(200);
    const t0 = Date.now();
    await bg.close();
    expect(await c.closed).toEqual({ code: 1001, reason: 'server shutting down' });
    expect(Date.now() - t0).toBeLessThan(3000);
    await expect(fetch(`${base}/livez`)).rejects.toThrow();
    await expect(connect(wsUrl)).rejects.toThrow();
  });
});
