import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { CLI, runCli } from '../helpers/cli.js';
import { createTestDatabases, sql, type TestDatabases } from '../helpers/databases.js';
import { startProxy, type FaultProxy } from '../helpers/proxy.js';
import { applySchema } from '../helpers/schema.js';

// Issue 12 ("Smaller"): Ctrl-C during `cesar sync` exited 130 without releasing the sync lease, so
// the next run waited for it to expire (15 s by default). Now a signal (SIGINT, SIGTERM) stops a
// one-shot command after the statements already sent, and the command unwinds through its finally
// blocks: the lease row is deleted before the exit. Through the real binary, with the cloud behind
// a slow proxy so that the pass is surely in the middle when the signal comes: the exit code, the
// lease row (gone), a second run that starts at once (--wait 0s would fail on a held lease), and
// nothing lost (later passes, then `cesar verify` clean). The same for `cesar migrate` (its own
// lease, per database), `cesar restore` (the sync lease), and a run still waiting for a lease.

const real = process.env.CESAR_TEST_BACKEND !== 'embedded';
vi.setConfig({ testTimeout: 120_000 });
const ROWS = 3000;

const children = new Set<ChildProcess>();
const tmpDirs: string[] = [];
afterEach(() => {
  for (const c of children) c.kill('SIGKILL');
  children.clear();
});
afterAll(() => tmpDirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

interface Started {
  child: ChildProcess;
  out: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

/** Starts the binary as runCli does (clean cwd, only the given variables), but keeps hold of it. */
function start(args: string[], env: Record<string, string>): Started {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'cesar-interrupt-'));
  tmpDirs.push(cwd);
  const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let text = '';
  child.stdout!.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (text += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.on('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal, at: Date.now() });
    }),
  );
  return { child, out: () => text, exited };
}

/** Live lease rows of `name` (not expired by the database's clock); 0 when the table does not exist yet. */
async function liveLeases(url: string, name: string): Promise<number> {
  const exists = await sql<{ n: string }>(url, "SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'cesar_leases'");
  if (Number(exists[0]!.n) === 0) return 0;
  return Number((await sql<{ n: string }>(url, 'SELECT count(*) AS n FROM cesar_leases WHERE name = $1 AND expires_at > now()', [name]))[0]!.n);
}

const count = async (url: string, table = 'agents'): Promise<number> => Number((await sql<{ n: string }>(url, `SELECT count(*) AS n FROM ${table}`))[0]!.n);

async function until(what: string, check: () => Promise<boolean>, s: Started, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s; output so far:\n${s.out()}`);
    if (s.child.exitCode !== null) throw new Error(`${what}: cesar exited (${s.child.exitCode}) first:\n${s.out()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(!real)('a signal during a one-shot command releases its lease', () => {
  let dbs: TestDatabases;
  let proxy: FaultProxy;
  let env: Record<string, string>;

  beforeAll(async () => {
    dbs = await createTestDatabases();
    await applySchema(dbs.localUrl);
    await applySchema(dbs.cloudUrl);
    const u = new URL(dbs.cloudUrl);
    proxy = await startProxy({ targetHost: u.hostname, targetPort: Number(u.port || 5432) });
    // small pages through a slow link: a pass over ROWS rows takes seconds
    env = { LOCAL_DB_URL: dbs.localUrl, COCKROACH_DB_URL: proxy.urlFor(dbs.cloudUrl), CESAR_SYNC_BATCH_SIZE: '25', CESAR_CONNECT_TIMEOUT: '20s' };
  }, 120_000);
  afterAll(async () => {
    await proxy?.close();
    await dbs?.drop();
  });

  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('%s in the middle of `cesar sync`: exit %i, the sync lease is gone, the next run starts at once, nothing is lost', async (signal, code) => {
    for (const url of [dbs.localUrl, dbs.cloudAdminUrl]) await sql(url, 'TRUNCATE agents CASCADE');
    await sql(dbs.localUrl, 'DELETE FROM sync_state').catch(() => undefined);
    await sql(dbs.localUrl, "INSERT INTO agents (name, agent_type, config) SELECT 'a' || g, 'worker', jsonb_build_object('g', g) FROM generate_series(1, $1::int) g", [ROWS]);
    proxy.setLatency(15);
    const s = start(['sync', '--direction', 'up'], env);
    // in the middle of the pass: the lease is held and some rows, not all, reached the cloud
    await until('the pass copies its first rows', async () => (await count(dbs.cloudAdminUrl)) >= 50, s);
    expect(await liveLeases(dbs.cloudAdminUrl, 'sync')).toBe(1);
    const sent = Date.now();
    s.child.kill(signal);
    const exit = await s.exited;
    const copied = await count(dbs.cloudAdminUrl);
    expect(exit, s.out()).toEqual({ code, signal: null, at: expect.any(Number) });
    expect(s.out()).toContain(`stopped by ${signal}`);
    expect(s.out()).not.toContain('still not stopped');
    // it stopped: the pass did not run to its end after the signal
    expect(copied).toBeLessThan(ROWS);
    expect(exit.at - sent).toBeLessThan(10_000);
    // the lease row is gone, not merely left to expire
    expect(await liveLeases(dbs.cloudAdminUrl, 'sync')).toBe(0);

    // a second run takes the lease at once: --wait 0s gives up at once on a lease that is held
    proxy.setLatency(0);
    const t0 = Date.now();
    const second = await runCli(['sync', '--direction', 'up', '--wait', '0s'], env);
    expect(second.code, second.stdout + second.stderr).toBe(0);
    expect(second.stderr).not.toContain('waiting for the sync lease');
    expect(Date.now() - t0).toBeLessThan(60_000);
    // nothing lost: a full pass, then verify
    const third = await runCli(['sync', '--wait', '0s'], env);
    expect(third.code, third.stdout + third.stderr).toBe(0);
    const verify = await runCli(['verify'], env);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    expect(await count(dbs.cloudAdminUrl)).toBe(ROWS);
    expect(await count(dbs.localUrl)).toBe(ROWS);
  });

  it('SIGINT while waiting for a sync lease held by another process: exit 130 at once, the other holder keeps its lease', async () => {
    await sql(dbs.cloudAdminUrl, 'CREATE TABLE IF NOT EXISTS cesar_leases (name TEXT PRIMARY KEY, owner TEXT NOT NULL, acquired_at TIMESTAMPTZ NOT NULL DEFAULT now(), heartbeat_at TIMESTAMPTZ NOT NULL DEFAULT now(), expires_at TIMESTAMPTZ NOT NULL)');
    await sql(dbs.cloudAdminUrl, "INSERT INTO cesar_leases (name, owner, expires_at) VALUES ('sync', 'elsewhere:1:abcd', now() + INTERVAL '10 minutes') ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at");
    try {
      const s = start(['sync', '--wait', '5m'], env);
      await until('it waits for the lease', async () => s.out().includes('waiting for the sync lease held by elsewhere:1:abcd'), s);
      const sent = Date.now();
      s.child.kill('SIGINT');
      const exit = await s.exited;
      expect(exit.code, s.out()).toBe(130);
      expect(exit.at - sent).toBeLessThan(5000);
      const rows = await sql<{ owner: string }>(dbs.cloudAdminUrl, "SELECT owner FROM cesar_leases WHERE name = 'sync'");
      expect(rows).toEqual([{ owner: 'elsewhere:1:abcd' }]);
    } finally {
      await sql(dbs.cloudAdminUrl, "DELETE FROM cesar_leases WHERE name = 'sync'");
    }
  });

  it('SIGINT in the middle of `cesar migrate`: exit 130, the migration lease is gone, the next run finishes the file at once', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cesar-interrupt-mig-'));
    tmpDirs.push(dir);
    // every statement idempotent and portable; 40 short sleeps make one file take seconds
    const steps = Array.from({ length: 40 }, (_, i) => `INSERT INTO intr_steps (n) VALUES (${i + 1}) ON CONFLICT (n) DO NOTHING;\nSELECT pg_sleep(0.1);`);
    fs.writeFileSync(path.join(dir, '001_steps.sql'), `CREATE TABLE IF NOT EXISTS intr_steps (n INT8 PRIMARY KEY);\n${steps.join('\n')}\n`);
    const migEnv = { ...env, CESAR_MIGRATE_LEASE_TTL: '60s' };
    const s = start(['migrate', '--target', 'local', '--dir', dir], migEnv);
    await until('the file is half-way', async () => (await sql<{ n: string }>(dbs.localUrl, "SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'intr_steps'"))[0]!.n === '1' && (await count(dbs.localUrl, 'intr_steps')) >= 3, s);
    expect(await liveLeases(dbs.localUrl, 'migrations')).toBe(1);
    s.child.kill('SIGINT');
    const exit = await s.exited;
    expect(exit.code, s.out()).toBe(130);
    expect(await count(dbs.localUrl, 'intr_steps')).toBeLessThan(40);
    expect(await liveLeases(dbs.localUrl, 'migrations')).toBe(0);
    // interrupted, not failed: the next runner re-runs it from its first statement, without waiting
    expect(await sql(dbs.localUrl, "SELECT status FROM schema_migrations WHERE migration_name = '001_steps'")).toEqual([{ status: 'running' }]);
    const again = await runCli(['migrate', '--target', 'local', '--dir', dir, '--wait', '0s'], migEnv);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(await count(dbs.localUrl, 'intr_steps')).toBe(40);
    expect(await sql(dbs.localUrl, "SELECT status FROM schema_migrations WHERE migration_name = '001_steps'")).toEqual([{ status: 'applied' }]);
  });

  it('SIGINT in the middle of `cesar restore`: exit 130 and the sync lease is gone', async () => {
    const fresh = await createTestDatabases(); // a new, empty local database; its cloud is not used
    try {
      await sql(dbs.cloudAdminUrl, 'TRUNCATE agents CASCADE');
      await sql(dbs.cloudAdminUrl, "INSERT INTO agents (name, agent_type, config) SELECT 'c' || g, 'worker', jsonb_build_object('g', g) FROM generate_series(1, $1::int) g", [ROWS]);
      proxy.setLatency(15);
      const s = start(['restore', '--yes'], { ...env, LOCAL_DB_URL: fresh.localUrl });
      await until('the copy down has started', async () => (await sql<{ n: string }>(fresh.localUrl, "SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'agents'"))[0]!.n === '1' && (await count(fresh.localUrl)) >= 50, s);
      expect(await liveLeases(dbs.cloudAdminUrl, 'sync')).toBe(1);
      s.child.kill('SIGINT');
      const exit = await s.exited;
      expect(exit.code, s.out()).toBe(130);
      expect(await count(fresh.localUrl)).toBeLessThan(ROWS);
      expect(await liveLeases(dbs.cloudAdminUrl, 'sync')).toBe(0);
    } finally {
      proxy.setLatency(0);
      await fresh.drop();
    }
  });
});
