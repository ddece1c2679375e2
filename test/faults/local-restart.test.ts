import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openDb, type Db } from '../../src/db/pool.js';
import { EventBus } from '../../src/events/bus.js';
import { SyncEngine } from '../../src/sync/engine.js';
import { SyncScheduler } from '../../src/sync/scheduler.js';
import { runCli } from '../helpers/cli.js';
import { createTestDatabases, sql, type TestDatabases } from '../helpers/databases.js';
import { applySchema } from '../helpers/schema.js';
import { TEST_ENGINE } from '../helpers/sync-env.js';

// Issue 8, "the local PostgreSQL restarts during a pass": the local role is a PostgreSQL cluster of
// its own, started by this file (initdb + pg_ctl on a spare loopback port, as the postgres user:
// PostgreSQL refuses to run as root), so it can be restarted with `pg_ctl restart` while the
// scheduler's pass reads from it (up) or writes to it (down), or made to crash-restart by killing
// one backend. The same process must report the failed pass, reconnect by itself and converge. The cloud is the usual test database behind the
// CockroachDB profile. The cluster is stopped and its directory removed in afterAll, whatever happens.

const real = process.env.CESAR_TEST_BACKEND !== 'embedded';
const run = promisify(execFile);
const SECRET = 'Sekr1t-restart';

/** A throwaway PostgreSQL cluster owned by this test file. */
interface Cluster {
  dir: string;
  port: number;
  /** Superuser URL (trust auth; the password is ignored and must never be printed). */
  url: string;
  /** `pg_ctl restart -m <mode> -w`; resolves once the server accepts connections again. */
  restart(mode: 'fast' | 'immediate'): Promise<void>;
  /**
   * SIGKILL to one of cesar's backends: the postmaster then terminates every session (57P02),
   * goes through crash recovery (57P03 meanwhile) and reinitialises; resolves once it is ready again.
   */
  crashBackend(): Promise<void>;
  stop(): Promise<void>;
}

/** PostgreSQL's server binaries: `pg_config --bindir`, else the newest /usr/lib/postgresql/N/bin. */
async function findBinDir(): Promise<string> {
  const has = (dir: string) => fs.existsSync(path.join(dir, 'initdb')) && fs.existsSync(path.join(dir, 'pg_ctl'));
  try {
    const { stdout } = await run('pg_config', ['--bindir']);
    if (has(stdout.trim())) return stdout.trim();
  } catch {
    // no pg_config on PATH: look in the Debian layout
  }
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root) ? fs.readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) if (has(path.join(root, v, 'bin'))) return path.join(root, v, 'bin');
  throw new Error(
    'local-restart.test.ts needs the PostgreSQL server binaries (initdb, pg_ctl) to start a cluster of its own: ' +
      'none found through `pg_config --bindir` or in /usr/lib/postgresql/<version>/bin. Install the PostgreSQL server package ' +
      '(CI runs on a machine that has it).',
  );
}

/** A loopback port nothing listens on right now. */
async function sparePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

async function startCluster(): Promise<Cluster> {
  const bin = await findBinDir();
  const root = process.getuid?.() === 0;
  // as root, every server command runs as the postgres user, which must own the directory
  const asPostgres = (cmd: string, args: string[]) =>
    run(root ? 'runuser' : cmd, root ? ['-u', 'postgres', '--', cmd, ...args] : args, { timeout: 90_000 }).catch((err: Error & { stderr?: string }) => {
      throw new Error(`${path.basename(cmd)} failed: ${err.message}\n${err.stderr ?? ''}`);
    });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cesar-local-pg-'));
  try {
    if (root) {
      const { stdout } = await run('id', ['-u', 'postgres']);
      const { stdout: gid } = await run('id', ['-g', 'postgres']);
      fs.chownSync(dir, Number(stdout.trim()), Number(gid.trim()));
    }
    const data = path.join(dir, 'data');
    const log = path.join(dir, 'server.log');
    const port = await sparePort();
    const pgCtl = path.join(bin, 'pg_ctl');
    await asPostgres(path.join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
    // loopback only, its own socket directory, and no fsync (a test cluster: speed over durability)
    const opts = `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c fsync=off -c full_page_writes=off -c synchronous_commit=off`;
    await asPostgres(pgCtl, ['-D', data, '-l', log, '-o', opts, '-w', '-t', '60', 'start']);
    let stopped = false;
    return {
      dir,
      port,
      url: `postgres://postgres:${SECRET}@127.0.0.1:${port}/postgres`,
      async restart(mode) {
        await asPostgres(pgCtl, ['-D', data, '-l', log, '-o', opts, '-m', mode, '-w', '-t', '60', 'restart']);
      },
      async crashBackend() {
        const ready = () => (fs.readFileSync(log, 'utf8').match(/database system is ready to accept connections/g) ?? []).length;
        const before = ready();
        const [victim] = await sql<{ pid: number }>(`postgres://postgres@127.0.0.1:${port}/postgres`, "SELECT pid FROM pg_stat_activity WHERE application_name = 'cesar' ORDER BY backend_start LIMIT 1");
        if (!victim) throw new Error('no cesar session to crash');
        process.kill(victim.pid, 'SIGKILL');
        const deadline = Date.now() + 60_000;
        while (ready() <= before) {
          if (Date.now() > deadline) throw new Error(`the cluster did not reinitialise within 60 s after a backend crash; see ${log}`);
          await new Promise((r) => setTimeout(r, 20));
        }
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        try {
          await asPostgres(pgCtl, ['-D', data, '-m', 'immediate', '-w', '-t', '30', 'stop']);
        } finally {
          fs.rmSync(dir, { recursive: true, force: true });
        }
      },
    };
  } catch (err) {
    // a half-started cluster: stop whatever runs there, then remove the directory
    await asPostgres(path.join(bin, 'pg_ctl'), ['-D', path.join(dir, 'data'), '-m', 'immediate', 'stop']).catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

let cluster: Cluster | undefined;
let dbs: TestDatabases;
let local: Db;
let cloud: Db;

beforeAll(async () => {
  if (!real) return;
  cluster = await startCluster();
  await applySchema(cluster.url);
  dbs = await createTestDatabases();
  await applySchema(dbs.cloudUrl);
  local = openDb('local', cluster.url, { connectTimeoutMs: 2000, statementTimeoutMs: 20_000 });
  cloud = openDb('cloud', dbs.cloudUrl, { connectTimeoutMs: 2000, statementTimeoutMs: 20_000 });
}, 180_000);
afterAll(async () => {
  await local?.close();
  await cloud?.close();
  try {
    await cluster?.stop();
  } finally {
    await dbs?.drop();
  }
}, 60_000);
beforeEach(async () => {
  if (!real) return;
  for (const url of [cluster!.url, dbs.cloudAdminUrl]) await sql(url, 'TRUNCATE agents CASCADE');
  for (const t of ['sync_state', 'sync_conflicts', 'sync_errors', 'sync_recent']) await sql(cluster!.url, `DELETE FROM ${t}`).catch(() => undefined);
  await sql(dbs.cloudAdminUrl, 'DELETE FROM cesar_leases').catch(() => undefined);
});

const insertAgents = (url: string, prefix: string, n: number) =>
  sql(url, `INSERT INTO agents (name, agent_type, description) SELECT $1 || g, 'worker', repeat('x', 60) FROM generate_series(1, $2::int) g`, [prefix, n]);

const until = async (what: () => boolean | Promise<boolean>, timeoutMs: number, stepMs = 20): Promise<void> => {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    if (await what()) return;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
};

interface Seen {
  type: string;
  at: number;
  table?: string;
  direction?: string;
  applied?: number;
  error?: string;
}

describe.skipIf(!real)('the local PostgreSQL restarts during a pass', () => {
  it.each([
    ['up', 'pg_ctl restart -m fast', 3000, 500],
    ['down', 'pg_ctl restart -m fast', 500, 3000],
    // a crash rather than a shutdown: the server goes through recovery on start
    ['down', 'pg_ctl restart -m immediate', 500, 3000],
    // no pg_ctl: one backend dies, and the postmaster restarts the others itself (crash recovery)
    ['up', 'a backend killed (crash restart)', 3000, 500],
    ['down', 'a backend killed (crash restart)', 500, 3000],
  ] as const)('while the %s direction runs, %s: the pass fails, the same process reconnects and converges', async (direction, how, localRows, cloudRows) => {
    await insertAgents(cluster!.url, 'local', localRows);
    await insertAgents(dbs.cloudAdminUrl, 'cloud', cloudRows);
    const bus = new EventBus(20_000);
    const seen: Seen[] = [];
    bus.on((e) => {
      const s: Seen = { type: e.type, at: Date.now() };
      if (e.type === 'sync.pass.progress') Object.assign(s, { table: e.table, direction: e.direction, applied: e.applied });
      if (e.type === 'sync.pass.failed') s.error = e.error;
      seen.push(s);
    });
    const engine = new SyncEngine(local, cloud, bus, { ...TEST_ENGINE, batchSize: 50 });
    const scheduler = new SyncScheduler(engine, cloud, bus, { intervalMs: 600_000, criticalTables: [], criticalPollMs: 50, leaseTtlMs: 10_000 });
    let restartStarted = 0;
    let restartDone = 0;
    scheduler.start();
    try {
      // mid-pass: this direction of agents has applied a few pages
      await until(() => seen.some((s) => s.type === 'sync.pass.progress' && s.table === 'agents' && s.direction === direction && s.applied! >= 300), 30_000);
      restartStarted = Date.now();
      if (how === 'pg_ctl restart -m fast') await cluster!.restart('fast');
      else if (how === 'pg_ctl restart -m immediate') await cluster!.restart('immediate');
      else await cluster!.crashBackend();
      restartDone = Date.now();
      // the pass in flight failed as a whole (not table after table), naming the local database, without the password
      await until(() => seen.some((s) => s.type === 'sync.pass.failed'), 15_000);
      const failed = seen.find((s) => s.type === 'sync.pass.failed')!;
      expect(failed.at).toBeGreaterThanOrEqual(restartStarted);
      expect(failed.error).toMatch(/local database/);
      expect(failed.error).not.toContain(SECRET);
      expect(seen.some((s) => s.type === 'sync.pass.completed' && s.at < restartStarted)).toBe(false); // it really was mid-pass
      // no new process, no new pool: the scheduler's next attempts reconnect and one completes
      await until(() => seen.some((s) => s.type === 'sync.pass.completed' && s.at > restartDone), 30_000);
      expect(scheduler.status()).toMatchObject({ consecutiveFailures: 0, lastError: null, active: true });
    } finally {
      await scheduler.stop();
    }
    const failures = seen.filter((s) => s.type === 'sync.pass.failed');
    console.log(`${direction}, ${how}: restart took ${restartDone - restartStarted} ms; ${failures.length} failed pass(es): ${failures.map((f) => f.error).join(' | ')}`);
    for (const f of failures) expect(f.error).not.toContain(SECRET);
    // converged: both directions recorded ok in the (restarted) local database, and `cesar verify` agrees
    const states = await sql<{ direction: string; status: string }>(cluster!.url, "SELECT direction, status FROM sync_state WHERE table_name = 'agents' ORDER BY direction");
    expect(states).toEqual([
      { direction: 'down', status: 'ok' },
      { direction: 'up', status: 'ok' },
    ]);
    for (const url of [cluster!.url, dbs.cloudAdminUrl]) {
      const [c] = await sql<{ n: number; d: number }>(url, 'SELECT count(*)::int AS n, count(DISTINCT id)::int AS d FROM agents');
      expect(c).toEqual({ n: localRows + cloudRows, d: localRows + cloudRows });
    }
    const v = await runCli(['verify'], { LOCAL_DB_URL: cluster!.url, COCKROACH_DB_URL: dbs.cloudUrl });
    expect(v.code, v.stdout + v.stderr).toBe(0);
    expect(v.stdout + v.stderr).not.toContain(SECRET);
  }, 90_000);
});
