import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { CLI, runCli } from '../helpers/cli.js';
import { createTestDatabases, sql, type TestDatabases } from '../helpers/databases.js';
import { parsePrometheus, sampleValue } from '../helpers/prometheus.js';
import { applySchema } from '../helpers/schema.js';

// `cesar headless` as operators run it: the real binary (dist/cli.js) as a child process, JSON log
// lines on stdout, the API on an OS-assigned port read from the start-up line, signals, two
// instances sharing the sync lease.

const SECRET = 'HeadlessPw77';
const withPassword = (url: string): string => {
  const u = new URL(url);
  u.password = SECRET;
  return u.toString();
};

interface LogLine {
  level: string;
  time: string;
  msg: string;
  event?: string;
  [key: string]: unknown;
}

interface Headless {
  child: ChildProcess;
  lines: LogLine[];
  stdout(): string;
  stderr(): string;
  url: string;
  /** Resolves with the first log line matching (already written or to come). */
  waitFor(pred: (l: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

const running = new Set<ChildProcess>();

/** Starts `cesar headless` and waits for its start-up line (which carries the API's URL). */
async function startHeadless(args: string[], env: Record<string, string>, startTimeoutMs = 30_000): Promise<Headless> {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'cesar-headless-'));
  const child = spawn(process.execPath, [CLI, 'headless', ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NO_COLOR: '1', CESAR_API_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let out = '';
  let err = '';
  let partial = '';
  const lines: LogLine[] = [];
  const waiters = new Set<() => void>();
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    partial += d.toString();
    const parts = partial.split('\n');
    partial = parts.pop()!;
    for (const p of parts) if (p.trim()) lines.push(JSON.parse(p) as LogLine); // every line is JSON, or the test fails here
    for (const w of waiters) w();
  });
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.on('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal, at: Date.now() });
      for (const w of waiters) w();
    }),
  );
  const waitFor = (pred: (l: LogLine) => boolean, timeoutMs = 15_000) =>
    new Promise<LogLine>((resolve, reject) => {
      const check = () => {
        const l = lines.find(pred);
        if (l) {
          waiters.delete(check);
          clearTimeout(timer);
          resolve(l);
        } else if (child.exitCode !== null || child.signalCode !== null) {
          waiters.delete(check);
          clearTimeout(timer);
          reject(new Error(`cesar headless exited (${child.exitCode ?? child.signalCode}) first; stderr: ${err}; stdout: ${out.slice(-2000)}`));
        }
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`no such log line within ${timeoutMs} ms; stderr: ${err}; stdout: ${out.slice(-2000)}`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });
  const startup = await waitFor((l) => l.event === 'startup', startTimeoutMs);
  const api = startup.api as { url?: string; error?: string } | null;
  return { child, lines, stdout: () => out, stderr: () => err, url: api?.url ?? '', waitFor, exited };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const json = async (url: string, init?: RequestInit): Promise<any> => (await fetch(url, init)).json();

const until = async <T>(what: () => Promise<T | undefined | false>, timeoutMs: number, stepMs = 50): Promise<T> => {
  const t0 = Date.now();
  for (;;) {
    const v = await what().catch(() => undefined);
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
};

let dbs: TestDatabases;
let env: Record<string, string>;
const leaseOwner = async (): Promise<string | null> => (await sql<{ owner: string }>(dbs.cloudUrl, "SELECT owner FROM cesar_leases WHERE name = 'sync' AND expires_at > now()").catch(() => []))[0]?.owner ?? null;

beforeAll(async () => {
  dbs = await createTestDatabases();
  await applySchema(dbs.localUrl);
  await applySchema(dbs.cloudUrl);
  await sql(dbs.localUrl, `INSERT INTO agents (name, agent_type) SELECT 'h' || g, 'worker' FROM generate_series(1, 50) g`);
  env = { LOCAL_DB_URL: withPassword(dbs.localUrl), COCKROACH_DB_URL: withPassword(dbs.cloudUrl), CESAR_SYNC_LEASE_TTL: '2s' };
}, 120_000);

afterEach(() => {
  for (const c of running) c.kill('SIGKILL');
});

afterAll(async () => {
  await dbs?.drop();
});

describe('cesar headless', () => {
  it('runs the scheduler and the API, logs JSON lines, and on SIGTERM drains and exits 143 with the lease released', async () => {
    const h = await startHeadless(['--interval', '2s'], env);
    expect(h.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const startup = h.lines.find((l) => l.event === 'startup')!;
    expect(startup).toMatchObject({ level: 'info', environment: 'development', embedded: false, intervalMs: 2000, leaseTtlMs: 2000, databases: { local: expect.stringMatching(process.env.CESAR_TEST_BACKEND === 'embedded' ? /^postgres@127\.0\.0\.1:\d+\/postgres$/ : /^postgres@127\.0\.0\.1:\d+\/cesar_t_/) } });
    // migrations were not applied by cesar (no --migrate): reported, and sync runs anyway
    await h.waitFor((l) => l.event === 'migrations' && l.level === 'warn' && l.database === 'local');
    const pass = await h.waitFor((l) => l.event === 'sync.pass.completed' && l.scope === 'full', 20_000);
    expect(pass).toMatchObject({ level: 'info', applied: 50, conflicts: 0, errors: 0, direction: 'both' });
    expect(pass.durationMs).toEqual(expect.any(Number));
    await until(async () => (await fetch(`${h.url}/readyz`)).status === 200, 5000);
    const health = await json(`${h.url}/health`);
    expect(health).toMatchObject({ status: 'ok', sync: { active: true } });
    expect(await leaseOwner()).toContain(`:${h.child.pid}:`);
    const m = parsePrometheus(await (await fetch(`${h.url}/metrics`)).text());
    expect(sampleValue(m, 'sync_rows_applied_total', { table: 'agents', direction: 'up' })).toBe(50);
    // a WebSocket client gets its snapshot, then 1001 on shutdown
    const ws = new WebSocket(`${h.url.replace(/^http/, 'ws')}/ws/events`);
    const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
    await new Promise((r) => ws.once('message', r));
    const t0 = Date.now();
    h.child.kill('SIGTERM');
    const exit = await h.exited;
    expect(exit.code).toBe(143);
    expect(exit.at - t0).toBeLessThan(10_000);
    expect(await closed).toBe(1001);
    expect(await leaseOwner()).toBeNull();
    const order = h.lines.map((l) => l.event);
    expect(order.indexOf('shutdown')).toBeLessThan(order.lastIndexOf('lease.released'));
    expect(h.lines[h.lines.length - 1]).toMatchObject({ event: 'stopped', exitCode: 143, cleanly: true });
    await expect(fetch(`${h.url}/livez`)).rejects.toThrow();
    // every line is JSON with level, time and msg; nothing secret anywhere
    for (const l of h.lines) expect(l).toMatchObject({ level: expect.any(String), time: expect.stringMatching(/^\d{4}-/), msg: expect.any(String) });
    expect(h.stdout() + h.stderr()).not.toContain(SECRET);
    expect(h.stdout()).not.toMatch(/postgres(ql)?:\/\//);
    expect(h.stderr()).toBe('');
  }, 60_000);

  it('a second instance stands by and takes over within two lease periods when the first is killed with SIGKILL', async () => {
    const withToken = { ...env, CESAR_API_TOKEN: 'standby-token-0123456789' };
    const a = await startHeadless(['--interval', '1m'], withToken);
    const ownerA = await until(async () => {
      const o = await leaseOwner();
      return o?.includes(`:${a.child.pid}:`) ? o : undefined;
    }, 10_000);
    const b = await startHeadless(['--interval', '1m'], withToken);
    await until(async () => {
      const hb = await json(`${b.url}/health`);
      return hb.sync.standbyFor === ownerA && hb.sync.active === false;
    }, 10_000);
    const mb = parsePrometheus(await (await fetch(`${b.url}/metrics`)).text());
    expect(sampleValue(mb, 'sync_lease_held')).toBe(0);
    // the standby refuses a real on-demand pass, naming the active one; a dry run is fine
    const post = (body: unknown) => fetch(`${b.url}/api/sync`, { method: 'POST', headers: { Authorization: 'Bearer standby-token-0123456789', 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    const refused = await post({});
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { error: string }).error).toContain(ownerA);
    expect((await post({ dryRun: true })).status).toBe(202);
    const t0 = Date.now();
    a.child.kill('SIGKILL');
    expect((await a.exited).signal).toBe('SIGKILL');
    const owner = await until(async () => {
      const o = await leaseOwner();
      return o?.includes(`:${b.child.pid}:`) ? o : undefined;
    }, 10_000, 20);
    const tookOver = Date.now() - t0;
    expect(tookOver).toBeLessThan(2 * 2000 + 500);
    expect(owner).not.toBe(ownerA);
    await b.waitFor((l) => l.event === 'lease.acquired' && l.lease === 'sync');
    await until(async () => (await json(`${b.url}/health`)).sync.active === true, 5000);
    b.child.kill('SIGINT');
    expect((await b.exited).code).toBe(130);
    expect(await leaseOwner()).toBeNull();
  }, 60_000);

  it('--migrate applies pending migrations at start on fresh databases, then syncs', async () => {
    const fresh = await createTestDatabases();
    try {
      const e = { LOCAL_DB_URL: fresh.localUrl, COCKROACH_DB_URL: fresh.cloudUrl, CESAR_SYNC_LEASE_TTL: '2s' };
      // without --migrate: reported, not applied; the process still runs and serves
      const plain = await startHeadless([], e);
      const report = await plain.waitFor((l) => l.event === 'migrations' && l.database === 'cloud');
      expect(report).toMatchObject({ level: 'warn', counts: { pending: 11 } });
      expect(report.msg).toMatch(/11 migrations not applied \(pending\); run `cesar migrate` or start with --migrate/);
      expect((await fetch(`${plain.url}/health`)).status).toBe(200);
      plain.child.kill('SIGTERM');
      expect((await plain.exited).code).toBe(143);

      const h = await startHeadless(['--migrate'], e, 90_000);
      expect(h.lines.filter((l) => l.event === 'migration.applied' && l.database === 'local')).toHaveLength(11);
      expect(h.lines.filter((l) => l.event === 'migration.applied' && l.database === 'cloud')).toHaveLength(11);
      expect(h.lines.find((l) => l.event === 'startup')!.migrations).toEqual({ local: { applied: 11 }, cloud: { applied: 11 } });
      await h.waitFor((l) => l.event === 'sync.pass.completed' && l.scope === 'full', 30_000);
      const mig = await json(`${h.url}/api/migrations`);
      expect(mig.cloud.counts).toMatchObject({ applied: 11, pending: 0 });
      h.child.kill('SIGTERM');
      expect((await h.exited).code).toBe(143);
    } finally {
      await fresh.drop();
    }
  }, 150_000);

  it('--host [::1] and CESAR_API_HOST=[::1] listen on the IPv6 loopback (the brackets are the URL form, not the address; issue 13 §6)', async () => {
    const v6 = await new Promise<boolean>((resolve) => {
      const probe = net.createServer().once('error', () => resolve(false));
      probe.listen({ host: '::1', port: 0 }, () => probe.close(() => resolve(true)));
    });
    if (!v6) {
      console.warn('skipped in effect: this machine has no IPv6 loopback (::1)');
      return;
    }
    for (const [args, extra] of [[['--host', '[::1]'], {}], [[], { CESAR_API_HOST: '[::1]' }]] as const) {
      const h = await startHeadless(['--interval', '24h', ...args], { ...env, ...extra });
      expect(h.url).toMatch(/^http:\/\/\[::1\]:\d+$/);
      expect((await fetch(`${h.url}/livez`)).status).toBe(200);
      // loopback: no token needed to read
      expect((await fetch(`${h.url}/api/agents?limit=1`)).status).toBe(200);
      h.child.kill('SIGTERM');
      expect((await h.exited).code).toBe(143);
    }
    const bad = await runCli(['headless', '--host', '[::1', '--port', '0'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--host: "[::1" is not a host name or address');
  }, 90_000);

  it('carries on without the API when its port is taken, saying so', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const h = await startHeadless(['--port', String(port)], env);
      const startup = h.lines.find((l) => l.event === 'startup')!;
      expect(startup.api).toEqual({ error: `port ${port} in use` });
      expect(h.lines.some((l) => l.level === 'error' && l.msg.includes(`port ${port} in use`))).toBe(true);
      await h.waitFor((l) => l.event === 'lease.acquired' && l.lease === 'sync', 10_000);
      h.child.kill('SIGTERM');
      expect((await h.exited).code).toBe(143);
    } finally {
      blocker.close();
    }
  }, 30_000);

  it.each([
    [['--interval', '5x'], {}, /--interval: "5x" is not a duration/],
    [['--port', '70000'], {}, /--port: "70000" is not a port/],
    [['--log-level', 'loud'], {}, /--log-level: "loud" is not allowed; use one of debug, info, warn, error/],
    [['--host', '0.0.0.0'], {}, /needs CESAR_API_TOKEN/],
    [[], { CESAR_API_HOST: '0.0.0.0' }, /refusing to serve the API on 0\.0\.0\.0 without a token/],
    [['--bogus'], {}, /Unknown flag|bogus/],
  ])('refuses %j %j with exit 2 before starting anything', async (args, extra, message) => {
    // closed ports: had anything connected, the exit code would differ
    const r = await runCli(['headless', ...args], { LOCAL_DB_URL: `postgres://x:${SECRET}@127.0.0.1:1/x`, COCKROACH_DB_URL: `postgres://x:${SECRET}@127.0.0.1:1/y`, ...extra }, { timeoutMs: 20_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout + r.stderr).not.toContain(SECRET);
  });
});

describe('cesar headless on the embedded default', () => {
  it('with nothing configured: embedded databases, migrations applied, demo workload, passes; SIGINT exits 130', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cesar-headless-embedded-'));
    try {
      const h = await startHeadless(['--interval', '5s'], { CESAR_DATA_DIR: dataDir }, 120_000);
      const startup = h.lines.find((l) => l.event === 'startup')!;
      expect(startup).toMatchObject({ embedded: true, demo: true, migrations: { local: { applied: 11 }, cloud: { applied: 11 } } });
      await h.waitFor((l) => l.event === 'sync.pass.completed' && l.scope === 'full', 60_000);
      const health = await json(`${h.url}/health`);
      expect(health).toMatchObject({ status: 'ok', embedded: true, databases: { local: { flavor: 'embedded', up: true } } });
      expect((await fetch(`${h.url}/api/agents`)).status).toBe(200);
      h.child.kill('SIGINT');
      const exit = await h.exited;
      expect(exit.code).toBe(130);
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }, 180_000);
});
