import { spawn } from 'node:child_process';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openDb, type Db } from '../../src/db/pool.js';
import { EventBus } from '../../src/events/bus.js';
import { SyncEngine } from '../../src/sync/engine.js';
import { SyncScheduler } from '../../src/sync/scheduler.js';
import { verifyTable } from '../../src/sync/verify.js';
import { CLI, runCli } from '../helpers/cli.js';
import { sql } from '../helpers/databases.js';
import { startProxy, type FaultProxy } from '../helpers/proxy.js';
import { createSyncEnv, TEST_ENGINE, type SyncEnv } from '../helpers/sync-env.js';

const real = process.env.CESAR_TEST_BACKEND !== 'embedded';
let env: SyncEnv;
beforeAll(async () => {
  env = await createSyncEnv();
}, 120_000);
afterAll(async () => {
  await env?.close();
});
beforeEach(async () => {
  await env.reset();
  await sql(env.dbs.cloudUrl, 'DELETE FROM cesar_leases').catch(() => undefined);
});

async function converged(): Promise<void> {
  const table = (await env.engine().registry(true)).tables.find((t) => t.name === 'agents')!;
  expect(await verifyTable(env.local, env.cloud, table)).toMatchObject({ missingInCloud: 0, missingInLocal: 0, mismatched: 0 });
}

const insertAgents = (url: string, prefix: string, n: number) =>
  sql(url, `INSERT INTO agents (name, agent_type, description) SELECT $1 || g, 'worker', repeat('x', 80) FROM generate_series(1, $2::int) g`, [prefix, n]);

const until = async (what: () => Promise<boolean>, timeoutMs: number, stepMs = 50): Promise<number> => {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    if (await what()) return Date.now() - t0;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
};

describe.skipIf(!real)('cloud outage behind the proxy', () => {
  let proxy: FaultProxy;
  let cloud: Db;
  beforeAll(async () => {
    const u = new URL(env.dbs.cloudUrl);
    proxy = await startProxy({ targetHost: u.hostname, targetPort: Number(u.port || 5432) });
    cloud = openDb('cloud', proxy.urlFor(env.dbs.cloudUrl), { connectTimeoutMs: 1000, statementTimeoutMs: 10_000 });
  });
  afterAll(async () => {
    await cloud?.close();
    await proxy?.close();
  });

  it('fails fast with a redacted reason, records it locally, leaves local work alone, and catches up', async () => {
    const engine = new SyncEngine(env.local, cloud, new EventBus(), TEST_ENGINE);
    await insertAgents(env.dbs.localUrl, 'before', 20);
    await engine.runPass({ direction: 'both' });
    proxy.refuseNew(true);
    proxy.cutAll();
    await insertAgents(env.dbs.localUrl, 'during', 30); // local work is unaffected
    const t0 = Date.now();
    const err = await engine.runPass({ direction: 'both' }).catch((e: unknown) => e as Error);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(err).toMatchObject({ code: 'DB_UNREACHABLE' });
    expect((err as Error).message).toContain('cloud database');
    const [state] = await sql<{ status: string; last_error: string }>(env.dbs.localUrl, "SELECT status, last_error FROM sync_state WHERE table_name = 'agents' AND direction = 'up'");
    expect(state!.status).toBe('error');
    expect(state!.last_error).toContain('cloud database');
    proxy.refuseNew(false);
    const report = await engine.runPass({ direction: 'both' });
    expect(report.ok).toBe(true);
    expect(report.tables.find((t) => t.table === 'agents' && t.direction === 'up')!.inserted).toBe(30);
    await converged();
  });

  it('a scheduler backs off while the cloud is down and syncs everything when it returns', async () => {
    const bus = new EventBus();
    const engine = new SyncEngine(env.local, cloud, bus, TEST_ENGINE);
    const scheduler = new SyncScheduler(engine, cloud, bus, { intervalMs: 200, criticalTables: [], leaseTtlMs: 3000 });
    scheduler.start();
    try {
      await until(async () => scheduler.status().active, 5000);
      proxy.refuseNew(true);
      proxy.cutAll();
      await insertAgents(env.dbs.localUrl, 'outage', 25);
      await until(async () => scheduler.status().consecutiveFailures >= 2, 10_000);
      expect(scheduler.status().lastError).toContain('cloud database');
      proxy.refuseNew(false);
      await until(async () => (await sql<{ n: string }>(env.dbs.cloudUrl, "SELECT count(*) AS n FROM agents WHERE name LIKE 'outage%'"))[0]!.n === '25', 15_000);
      await until(async () => scheduler.status().consecutiveFailures === 0 && scheduler.status().lastError === null, 5000);
    } finally {
      proxy.refuseNew(false);
      await scheduler.stop();
    }
  }, 40_000);
});

describe('scheduling and the sync lease', () => {
  function second(): { engine: SyncEngine; cloud: Db; local: Db; bus: EventBus } {
    const local = openDb('local', env.dbs.localUrl, { connectTimeoutMs: 5000, statementTimeoutMs: 30_000 });
    const cloud = openDb('cloud', env.dbs.cloudUrl, { connectTimeoutMs: 5000, statementTimeoutMs: 30_000 });
    const bus = new EventBus();
    return { engine: new SyncEngine(local, cloud, bus, TEST_ENGINE), cloud, local, bus };
  }

  it('one active syncer, a standby that takes over within two lease periods, critical tables within a second', async () => {
    const a = second();
    const b = second();
    const ttl = 1500;
    const sa = new SyncScheduler(a.engine, a.cloud, a.bus, { intervalMs: 60_000, criticalTables: ['agents'], criticalPollMs: 200, leaseTtlMs: ttl, owner: 'A' });
    const sb = new SyncScheduler(b.engine, b.cloud, b.bus, { intervalMs: 60_000, criticalTables: ['agents'], criticalPollMs: 200, leaseTtlMs: ttl, owner: 'B' });
    const passesOfB: string[] = [];
    b.bus.on((e) => {
      if (e.type === 'sync.pass.started') passesOfB.push(e.passId);
    });
    sa.start();
    try {
      await until(async () => sa.status().active, 5000);
      sb.start();
      await until(async () => sb.status().standbyFor === 'A', 5000);
      // a local change to a critical table reaches the cloud within about a second
      await insertAgents(env.dbs.localUrl, 'fast', 1);
      const lag = await until(async () => (await sql(env.dbs.cloudUrl, "SELECT 1 FROM agents WHERE name = 'fast1'")).length === 1, 5000, 20);
      expect(lag).toBeLessThan(1500);
      expect(passesOfB).toEqual([]); // the standby ran nothing
      // B refuses an on-demand pass while A is active, naming A
      await expect(sb.runNow({ direction: 'both' })).rejects.toThrow(/active syncer \(A/);
      // A dies without releasing: its heartbeats stop (pools closed under it)
      await sa.stop(); // releases: the quick case
      await until(async () => sb.status().active, 2 * ttl + 1000);
    } finally {
      await sa.stop();
      await sb.stop();
      for (const x of [a, b]) {
        await x.local.close();
        await x.cloud.close();
      }
    }
  }, 30_000);

  it('two `cesar sync` at once: the second waits for the lease, both succeed, data converges', async () => {
    await insertAgents(env.dbs.localUrl, 'l', 8000);
    const vars = { LOCAL_DB_URL: env.dbs.localUrl, COCKROACH_DB_URL: env.dbs.cloudUrl, CESAR_SYNC_BATCH_SIZE: '200' };
    const [x, y] = await Promise.all([runCli(['sync', '--scan-deletes', 'never'], vars), runCli(['sync', '--scan-deletes', 'never'], vars)]);
    expect([x.code, y.code]).toEqual([0, 0]);
    expect(x.stderr + y.stderr).toContain('waiting for the sync lease held by');
    await converged();
    expect((await sql<{ n: string }>(env.dbs.cloudUrl, 'SELECT count(*) AS n FROM agents'))[0]!.n).toBe('8000');
  }, 120_000);
});

describe('crash safety', () => {
  it('kill -9 of a `cesar sync` mid-pass, three times, then a normal pass: nothing lost, nothing doubled', async () => {
    const N = 15_000;
    await insertAgents(env.dbs.localUrl, 'l', N);
    await insertAgents(env.dbs.cloudUrl, 'c', 500);
    const expected = new Set((await sql<{ id: string }>(env.dbs.localUrl, 'SELECT id::text AS id FROM agents')).map((r) => r.id));
    for (const r of await sql<{ id: string }>(env.dbs.cloudUrl, 'SELECT id::text AS id FROM agents')) expected.add(r.id);
    const vars = { LOCAL_DB_URL: env.dbs.localUrl, COCKROACH_DB_URL: env.dbs.cloudUrl, CESAR_SYNC_BATCH_SIZE: '100', CESAR_SYNC_LEASE_TTL: '1s', PATH: process.env.PATH ?? '', NO_COLOR: '1' };
    const applied = async () => Number((await sql<{ n: string }>(env.dbs.localUrl, "SELECT COALESCE(sum(total_applied), 0) AS n FROM sync_state WHERE table_name = 'agents'").catch(() => [{ n: '0' }]))[0]!.n);
    let killedAt: number[] = [];
    for (let k = 0; k < 3; k++) {
      const before = await applied();
      const child = spawn(process.execPath, [CLI, 'sync', '--scan-deletes', 'never', '--wait', '10s'], { env: vars, stdio: 'ignore' });
      const exited = new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_c, s) => r(s)));
      // a random moment once the pass has made progress
      await until(async () => (await applied()) > before + 100 + Math.floor(Math.random() * 2000), 60_000, 20);
      child.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');
      killedAt = [...killedAt, await applied()];
    }
    expect(killedAt[2]!).toBeLessThan(N + 500); // it really was killed mid-way
    // the final run is not killed: a lease of its own longer than a stall of a loaded machine (the
    // killed runs' 1 s leases keep the waits short; a 1 s lease of its own was lost under load 20+)
    const final = await runCli(['sync', '--scan-deletes', 'always', '--wait', '10s'], { ...vars, CESAR_SYNC_LEASE_TTL: '10s' }, { timeoutMs: 120_000 });
    expect(final.code, final.stderr + final.stdout).toBe(0);
    for (const url of [env.dbs.localUrl, env.dbs.cloudUrl]) {
      const ids = (await sql<{ id: string }>(url, 'SELECT id::text AS id FROM agents')).map((r) => r.id);
      expect(ids.length).toBe(expected.size); // no duplicates, no loss
      expect(new Set(ids)).toEqual(expected); // the exact model content
    }
    await converged();
  }, 180_000);
});

describe('cesar sync on the command line', () => {
  it.each([['agent'], ['agents; DROP TABLE agents'], ["agents' OR '1'='1"], ['ägents'], ['']])('refuses --table %j with exit 2, listing the valid names, sending no SQL', async (name) => {
    // both URLs point at a closed port: had anything connected, the exit code would be 1
    const r = await runCli(['sync', `--table=${name}`], { LOCAL_DB_URL: 'postgres://x:pw@127.0.0.1:1/x', COCKROACH_DB_URL: 'postgres://x:pw@127.0.0.1:1/y' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(name === '' ? /--table needs a value/ : /Synced tables: agents, .*replay_events/);
  });

  it('accepts the old flag forms and prints a report; --dry-run says nothing was written', async () => {
    await insertAgents(env.dbs.localUrl, 'cli', 4);
    const vars = { LOCAL_DB_URL: env.dbs.localUrl, COCKROACH_DB_URL: env.dbs.cloudUrl };
    const dry = await runCli(['sync', '--direction=up', '--table=agents', '--dry-run'], vars);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('dry run: nothing written');
    expect(dry.stdout).toMatch(/agents\s+up\s+ok\s+4\s+4/);
    expect((await sql(env.dbs.cloudUrl, 'SELECT 1 FROM agents'))).toHaveLength(0);
    const r = await runCli(['sync', '--direction=up', '--table=agents', '--json'], vars);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.totals.applied).toBe(4);
    expect(doc.tables.map((t: { table: string }) => t.table)).toEqual(['agents']);
  });
});
