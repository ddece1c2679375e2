import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { openDb } from '../../src/db/pool.js';
import { CesarError } from '../../src/errors.js';
import { EventBus } from '../../src/events/bus.js';
import type { Stamped } from '../../src/events/types.js';
import { SyncEngine } from '../../src/sync/engine.js';
import type { SyncTable } from '../../src/sync/registry.js';
import { setCrashHook, SimulatedCrash } from '../../src/sync/crash.js';
import { createRetention, DEFAULT_RETENTION_LIMITS, runRetention, type RetentionOptions } from '../../src/sync/retention.js';
import { SyncScheduler } from '../../src/sync/scheduler.js';
import { trimChanges } from '../../src/sync/changes.js';
import { verifyTable } from '../../src/sync/verify.js';
import { CLI } from '../helpers/cli.js';
import { sql } from '../helpers/databases.js';
import { createSyncEnv, TEST_ENGINE, type SyncEnv } from '../helpers/sync-env.js';

// Issue 8, retention: expired tombstones are hard-deleted on both sides (bounded batches,
// children before parents, only versions both sides hold (their base), never a row another row
// references), sync_conflicts is bounded by age and count, the change log and its
// acknowledgements stay bounded, and none of it can be undone by a later pass. Real PostgreSQL;
// the cloud behind the CockroachDB profile.

const DAY = 86_400_000;
let env: SyncEnv;
let engine: SyncEngine;
let tables: SyncTable[];

beforeAll(async () => {
  env = await createSyncEnv();
  engine = env.engine();
  tables = (await engine.registry(true)).tables;
}, 120_000);
afterAll(async () => {
  await env?.close();
});
/** Empties the synced tables and cesar's bookkeeping (TRUNCATE agents CASCADE empties agent_sessions and agent_tasks too). */
async function reset(): Promise<void> {
  await env.reset();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const opts = (o: Partial<RetentionOptions> = {}): RetentionOptions => ({ ...DEFAULT_RETENTION_LIMITS, tombstoneMs: 7 * DAY, conflictMs: null, conflictMaxRows: null, ...o });
/** A retention run over every synced table (as the scheduler does), or over `only` (in dependency order) to keep a test short. */
const retain = async (o: Partial<RetentionOptions> = {}, only?: string[]) =>
  runRetention({ local: env.local, cloud: env.cloud, siteId: await engine.site(), tables: only ? tables.filter((t) => only.includes(t.name)) : tables }, opts(o));
const table = (name: string) => tables.find((t) => t.name === name)!;

/**
 * A pass with the delete scan, started more than the overlap (200 ms) after the last write, so that
 * both watermarks pass every change (copies keep their source's updated_at, so echoes are old too).
 */
async function settle(names = ['agents']): Promise<void> {
  await sleep(250);
  const r = await engine.runPass({ direction: 'both', tables: names, deleteScan: 'always' });
  expect(r.ok).toBe(true);
}
const pass = () => engine.runPass({ direction: 'both', tables: ['agents'], deleteScan: 'always' });

const insertAgents = (url: string, prefix: string, n: number) =>
  sql(url, `INSERT INTO agents (name, agent_type) SELECT $1 || g, 'worker' FROM generate_series(1, $2::int) g`, [prefix, n]);
/** Soft-deletes by name, with deleted_at that long ago (a tombstone written `ageMs` back), stamped now. */
const softDelete = (url: string, names: string[], ageMs: number, tableName = 'agents', column = 'name') =>
  sql(url, `UPDATE ${tableName} SET deleted_at = now() - $2::FLOAT8 * INTERVAL '1 millisecond', updated_at = now() WHERE ${column} = ANY($1)`, [names, ageMs]);
const names = async (url: string, tableName = 'agents') => (await sql<{ name: string }>(url, `SELECT name FROM ${tableName} ORDER BY name`)).map((r) => r.name);
const count = async (url: string, text: string, params: unknown[] = []) => Number((await sql<{ n: string }>(url, `SELECT count(*) AS n FROM ${text}`, params))[0]!.n);

async function expectClean(...tableNames: string[]): Promise<void> {
  for (const name of tableNames) {
    const d = await verifyTable(env.local, env.cloud, table(name));
    expect({ table: name, missingInCloud: d.missingInCloud, missingInLocal: d.missingInLocal, mismatched: d.mismatched }).toEqual({ table: name, missingInCloud: 0, missingInLocal: 0, mismatched: 0 });
  }
}

describe('tombstone retention', () => {
  beforeEach(reset);

  it('purges expired tombstones on both sides, keeps young ones and live rows, and later passes bring nothing back', async () => {
    await insertAgents(env.dbs.localUrl, 'l', 5);
    await insertAgents(env.dbs.cloudUrl, 'c', 5);
    await settle();
    await softDelete(env.dbs.localUrl, ['l1', 'l2', 'c1'], 8 * DAY); // deleted on one side, eight days ago
    await softDelete(env.dbs.cloudUrl, ['c2', 'l3'], 8 * DAY);
    await softDelete(env.dbs.localUrl, ['l4'], 1 * DAY); // young: stays
    await settle();
    expect(await count(env.dbs.cloudUrl, 'agents WHERE deleted_at IS NOT NULL')).toBe(6);

    const report = await retain();
    expect(report.totals).toEqual({ local: 5, cloud: 5 });
    expect(report.tombstones).toEqual([{ table: 'agents', local: 5, cloud: 5 }]);
    expect(report.more).toBe(false);
    const left = ['c3', 'c4', 'c5', 'l4', 'l5'];
    expect(await names(env.dbs.localUrl)).toEqual(left);
    expect(await names(env.dbs.cloudUrl)).toEqual(left);

    // passes with the key scan afterwards: nothing copied, nothing deleted, nothing comes back
    for (let i = 0; i < 2; i++) {
      const r = await pass();
      expect(r.ok).toBe(true);
      expect(r.totals.applied).toBe(0);
      expect(r.totals.deleted).toBe(0);
    }
    expect(await names(env.dbs.localUrl)).toEqual(left);
    expect(await names(env.dbs.cloudUrl)).toEqual(left);
    await expectClean('agents');
    // a second run finds nothing more
    expect((await retain()).totals).toEqual({ local: 0, cloud: 0 });
  }, 60_000);

  it('keeps a tombstone whose latest version sync has not processed: the delete then wins over an older cloud edit', async () => {
    await insertAgents(env.dbs.localUrl, 'r', 1);
    await settle();
    // an outage longer than the retention: the cloud edits r1, then local deletes it (later, so the delete wins)
    await sql(env.dbs.cloudUrl, "UPDATE agents SET description = 'cloud edit', updated_at = now() WHERE name = 'r1'");
    await sleep(20);
    await sql(env.dbs.localUrl, "UPDATE agents SET deleted_at = now(), updated_at = now() WHERE name = 'r1'");
    await sleep(1200);
    const early = await retain({ tombstoneMs: 1000 }, ['agents']);
    expect(early.totals).toEqual({ local: 0, cloud: 0 }); // not yet copied: it must stay
    expect(await count(env.dbs.localUrl, "agents WHERE name = 'r1' AND deleted_at IS NOT NULL")).toBe(1);

    await settle(); // the tombstone wins the conflict and reaches the cloud
    expect(await count(env.dbs.cloudUrl, "agents WHERE name = 'r1' AND deleted_at IS NOT NULL")).toBe(1);
    await sleep(1100);
    const late = await retain({ tombstoneMs: 1000 }, ['agents']);
    expect(late.totals).toEqual({ local: 1, cloud: 1 });
    await settle();
    expect(await count(env.dbs.localUrl, "agents WHERE name = 'r1'")).toBe(0);
    expect(await count(env.dbs.cloudUrl, "agents WHERE name = 'r1'")).toBe(0);
    await expectClean('agents');
  }, 60_000);

  it('control: deleting that tombstone before sync processed it lets the older cloud edit come back (what the watermark guard prevents)', async () => {
    await insertAgents(env.dbs.localUrl, 'r', 1);
    await settle();
    await sql(env.dbs.cloudUrl, "UPDATE agents SET description = 'cloud edit', updated_at = now() WHERE name = 'r1'");
    await sleep(20);
    await sql(env.dbs.localUrl, "UPDATE agents SET deleted_at = now(), updated_at = now() WHERE name = 'r1'");
    await sql(env.dbs.localUrl, "DELETE FROM agents WHERE name = 'r1'"); // a purge without the guard
    await settle();
    expect(await sql(env.dbs.localUrl, "SELECT description, deleted_at FROM agents WHERE name = 'r1'")).toEqual([{ description: 'cloud edit', deleted_at: null }]);
  }, 30_000);

  it('a run cut short after purging the cloud side (a crash between the two commits) converges to deleted, never resurrected', async () => {
    await insertAgents(env.dbs.localUrl, 'p', 4);
    await settle();
    await softDelete(env.dbs.localUrl, ['p1', 'p2'], 8 * DAY);
    await settle();
    // the process dies right after the cloud's purge committed, before the local one
    setCrashHook((point) => {
      if (point === 'scan:delete-committed') throw new SimulatedCrash(point);
    });
    try {
      await expect(retain({}, ['agents'])).rejects.toBeInstanceOf(SimulatedCrash);
    } finally {
      setCrashHook(null);
    }
    expect(await count(env.dbs.cloudUrl, "agents WHERE name IN ('p1', 'p2')")).toBe(0);
    expect(await count(env.dbs.localUrl, "agents WHERE name IN ('p1', 'p2')")).toBe(2);
    // the next pass (a new process: a new engine) finishes the delete locally; nothing is copied back up
    engine = env.engine();
    const r = await pass();
    expect(r.totals.applied).toBe(0);
    expect(r.totals.deleted).toBe(2);
    await settle();
    for (const url of [env.dbs.localUrl, env.dbs.cloudUrl]) expect(await names(url)).toEqual(['p3', 'p4']);
    await expectClean('agents');
    expect((await retain({}, ['agents'])).totals).toEqual({ local: 0, cloud: 0 });
  }, 40_000);

  it('a tombstone purged by hand on one side only is deleted on the other side too, never resurrected', async () => {
    await insertAgents(env.dbs.localUrl, 'p', 4);
    await settle();
    await softDelete(env.dbs.localUrl, ['p1', 'p2'], 8 * DAY);
    await settle();
    await sql(env.dbs.localUrl, "DELETE FROM agents WHERE name IN ('p1', 'p2')");
    const r = await pass();
    expect(r.totals.applied).toBe(0);
    expect(r.totals.deleted).toBe(2);
    await settle();
    for (const url of [env.dbs.localUrl, env.dbs.cloudUrl]) expect(await names(url)).toEqual(['p3', 'p4']);
    await expectClean('agents');
  }, 40_000);

  it('children before parents; a tombstone still referenced is kept, so nothing cascades and no key is nulled', async () => {
    await insertAgents(env.dbs.localUrl, 'a', 3);
    const id = async (name: string) => (await sql<{ id: string }>(env.dbs.localUrl, 'SELECT id::text AS id FROM agents WHERE name = $1', [name]))[0]!.id;
    const [a1, a2, a3] = [await id('a1'), await id('a2'), await id('a3')];
    // a1: a live session (ON DELETE CASCADE); a2: a session deleted too; a3: a live task (ON DELETE SET NULL)
    await sql(env.dbs.localUrl, "INSERT INTO agent_sessions (agent_id, host_name) VALUES ($1, 's1'), ($2, 's2')", [a1, a2]);
    await sql(env.dbs.localUrl, "INSERT INTO agent_tasks (agent_id, title) VALUES ($1, 't3')", [a3]);
    const family = ['agents', 'agent_sessions', 'agent_tasks'];
    await settle(family);
    await softDelete(env.dbs.localUrl, ['s2'], 8 * DAY, 'agent_sessions', 'host_name');
    await softDelete(env.dbs.localUrl, ['a1', 'a2', 'a3'], 8 * DAY);
    await settle(family);

    const report = await retain({}, family);
    expect(report.tombstones).toEqual([
      { table: 'agent_sessions', local: 1, cloud: 1 },
      { table: 'agents', local: 1, cloud: 1 },
    ]);
    for (const url of [env.dbs.localUrl, env.dbs.cloudUrl]) {
      expect(await names(url)).toEqual(['a1', 'a3']); // a2 went after its session; a1 and a3 are still referenced
      expect(await sql(url, 'SELECT host_name, agent_id::text AS agent_id, deleted_at FROM agent_sessions')).toEqual([{ host_name: 's1', agent_id: a1, deleted_at: null }]);
      expect(await sql(url, 'SELECT title, agent_id::text AS agent_id FROM agent_tasks')).toEqual([{ title: 't3', agent_id: a3 }]);
    }
    await settle(family);
    await expectClean(...family);
    // once the last reference goes (the task is deleted and expires), the parent follows in one run
    await softDelete(env.dbs.localUrl, ['t3'], 8 * DAY, 'agent_tasks', 'title');
    await settle(family);
    const next = await retain({}, family);
    expect(next.tombstones).toEqual([
      { table: 'agent_tasks', local: 1, cloud: 1 },
      { table: 'agents', local: 1, cloud: 1 },
    ]);
    for (const url of [env.dbs.localUrl, env.dbs.cloudUrl]) expect(await names(url)).toEqual(['a1']);
  }, 60_000);

  it('deletes in bounded batches: at most maxBatches statements of batchSize rows per table and side, the rest next run', async () => {
    await insertAgents(env.dbs.localUrl, 'b', 10);
    await settle();
    await sql(env.dbs.localUrl, "UPDATE agents SET deleted_at = now() - INTERVAL '8 days', updated_at = now()");
    await settle();
    const first = await retain({ batchSize: 4, maxBatches: 2 }, ['agents']);
    expect(first.totals).toEqual({ local: 8, cloud: 8 });
    expect(first.more).toBe(true);
    expect(await count(env.dbs.localUrl, 'agents')).toBe(2);
    expect(await count(env.dbs.cloudUrl, 'agents')).toBe(2);
    const second = await retain({ batchSize: 4, maxBatches: 2 }, ['agents']);
    expect(second.totals).toEqual({ local: 2, cloud: 2 });
    expect(second.more).toBe(false);
    await settle();
    await expectClean('agents');
  }, 40_000);

  it('off: nothing is purged', async () => {
    await insertAgents(env.dbs.localUrl, 'o', 2);
    await settle();
    await softDelete(env.dbs.localUrl, ['o1'], 400 * DAY);
    await settle();
    const r = await retain({ tombstoneMs: null }, ['agents']);
    expect(r.totals).toEqual({ local: 0, cloud: 0 });
    expect(await count(env.dbs.cloudUrl, "agents WHERE name = 'o1'")).toBe(1);
  }, 30_000);
});

describe('bookkeeping retention', () => {
  beforeEach(reset);

  it('sync_conflicts: rows older than the retention go, then the oldest beyond the row cap', async () => {
    await pass(); // creates the bookkeeping tables
    const insert = (n: number, ageExpr: string) =>
      sql(
        env.dbs.localUrl,
        `INSERT INTO sync_conflicts (table_name, row_id, winner, strategy, reason, detected_at)
         SELECT 'agents', gen_random_uuid(), 'cloud', 'lww', 'update-update', ${ageExpr} FROM generate_series(1, $1::int) g`,
        [n],
      );
    await insert(10, "now() - INTERVAL '40 days' - g * INTERVAL '1 minute'");
    await insert(40, "now() - g * INTERVAL '1 minute'");
    const newest25 = await sql<{ id: string }>(env.dbs.localUrl, 'SELECT id::text AS id FROM sync_conflicts ORDER BY detected_at DESC LIMIT 25');
    const r = await retain({ tombstoneMs: null, conflictMs: 30 * DAY, conflictMaxRows: 25, batchSize: 7 });
    expect(r.conflicts).toBe(25);
    const kept = await sql<{ id: string }>(env.dbs.localUrl, 'SELECT id::text AS id FROM sync_conflicts ORDER BY detected_at DESC');
    expect(kept).toEqual(newest25);
    expect(await count(env.dbs.localUrl, "sync_conflicts WHERE detected_at < now() - INTERVAL '30 days'")).toBe(0);
    expect((await retain({ tombstoneMs: null, conflictMs: 30 * DAY, conflictMaxRows: 25 })).conflicts).toBe(0);
  }, 30_000);

  it('the change log and its acknowledgements: entries well behind the newest acknowledged one go, recent ones stay', async () => {
    await insertAgents(env.dbs.localUrl, 'x', 1);
    await settle();
    const site = await engine.site();
    const entries = () => count(env.dbs.cloudAdminUrl, 'cesar_changes WHERE site_id = $1', [site]);
    const before = { entries: await entries(), acks: await count(env.dbs.localUrl, 'sync_acks') };
    expect(before.entries).toBeGreaterThan(0);
    expect(before.acks).toBe(before.entries);
    // 30 old entries (and their acknowledgements), two hours behind
    await sql(
      env.dbs.cloudAdminUrl,
      `INSERT INTO cesar_changes (site_id, table_name, put_ids, put_ts, del_ids, del_ts, logged_at)
       SELECT $1, 'agents', '{}', '{}', '{}', '{}', now() - INTERVAL '2 hours' - g * INTERVAL '1 second' FROM generate_series(1, 30) g`,
      [site],
    );
    const old = await sql<{ id: string; at: string }>(env.dbs.cloudAdminUrl, "SELECT id::text AS id, logged_at::text AS at FROM cesar_changes WHERE logged_at < now() - INTERVAL '1 hour'");
    for (const o of old) await sql(env.dbs.localUrl, 'INSERT INTO sync_acks (batch_id, logged_at) VALUES ($1, $2)', [o.id, o.at]);
    await trimChanges(env.local, env.cloud, site, TEST_ENGINE.retry!);
    expect(await entries()).toBe(before.entries);
    expect(await count(env.dbs.localUrl, 'sync_acks')).toBe(before.acks);
  }, 30_000);

  it('sync_errors: a parked tombstone is kept until it reaches the other side, then purged on both', async () => {
    // the cloud refuses this one row (a constraint only the cloud has), so it is parked
    await sql(env.dbs.cloudAdminUrl, "ALTER TABLE agents ADD CONSTRAINT retention_test_refuse CHECK (name <> 'bad')");
    try {
      await insertAgents(env.dbs.localUrl, 'ok', 2);
      await sql(env.dbs.localUrl, "INSERT INTO agents (name, agent_type) VALUES ('bad', 'worker')");
      await pass();
      expect(await count(env.dbs.localUrl, "sync_errors WHERE table_name = 'agents'")).toBe(1);
      await softDelete(env.dbs.localUrl, ['bad'], 8 * DAY);
      await settle();
      expect(await count(env.dbs.localUrl, "sync_errors WHERE table_name = 'agents'")).toBe(1); // still refused
      // never on both sides (its base is not recorded): it waits to be copied, so retention keeps it
      expect((await retain({}, ['agents'])).totals).toEqual({ local: 0, cloud: 0 });
      expect(await count(env.dbs.localUrl, "agents WHERE name = 'bad'")).toBe(1);
    } finally {
      await sql(env.dbs.cloudAdminUrl, 'ALTER TABLE agents DROP CONSTRAINT IF EXISTS retention_test_refuse');
    }
    // once the cloud takes it, it is unparked; then it is a tombstone both sides hold, and goes
    await settle();
    expect(await count(env.dbs.localUrl, 'sync_errors')).toBe(0);
    expect((await retain({}, ['agents'])).totals).toEqual({ local: 1, cloud: 1 });
    await pass();
    await expectClean('agents');
  }, 30_000);
});

describe('retention in the scheduler', () => {
  beforeEach(reset);

  it('runs only on the lease holder, at most once per interval, with a log line of its counts', async () => {
    await insertAgents(env.dbs.localUrl, 's', 3);
    await settle();
    await softDelete(env.dbs.localUrl, ['s1', 's2'], 8 * DAY);
    await settle();
    const make = (owner: string) => {
      const local = openDb('local', env.dbs.localUrl, { connectTimeoutMs: 5000, statementTimeoutMs: 30_000 });
      const cloud = openDb('cloud', env.dbs.cloudUrl, { connectTimeoutMs: 5000, statementTimeoutMs: 30_000 });
      const bus = new EventBus();
      const eng = new SyncEngine(local, cloud, bus, TEST_ENGINE);
      const runs: number[] = [];
      const inner = createRetention(eng, { local, cloud }, bus, { tombstoneMs: 7 * DAY, conflictMs: null, conflictMaxRows: null, intervalMs: 1000 });
      const retention = { intervalMs: inner.intervalMs, run: (s?: AbortSignal) => (runs.push(Date.now()), inner.run(s)) };
      const scheduler = new SyncScheduler(eng, cloud, bus, { intervalMs: 60_000, criticalTables: [], leaseTtlMs: 3000, owner, retention });
      const logs: string[] = [];
      bus.on((e: Stamped) => {
        if (e.type === 'log' && e.message.startsWith('retention')) logs.push(e.message);
      });
      return { scheduler, runs, logs, close: async () => (await scheduler.stop(), await local.close(), await cloud.close()) };
    };
    const a = make('A');
    const b = make('B');
    a.scheduler.start();
    try {
      await until(() => a.scheduler.status().active, 5000);
      b.scheduler.start();
      await until(() => a.logs.some((l) => l.startsWith('retention: purged 4 tombstones (local 2, cloud 2')), 10_000);
      const t0 = Date.now();
      await sleep(3200);
      const window = Date.now() - t0;
      expect(b.runs).toEqual([]); // the standby never purges
      expect(b.scheduler.status().standbyFor).toBe('A');
      const inWindow = a.runs.filter((t) => t >= t0).length;
      expect(inWindow).toBeGreaterThanOrEqual(2);
      expect(inWindow).toBeLessThanOrEqual(Math.floor(window / 1000) + 1);
      for (let i = 1; i < a.runs.length; i++) expect(a.runs[i]! - a.runs[i - 1]!).toBeGreaterThanOrEqual(990);
      expect(a.logs.at(-1)).toMatch(/^retention: purged 0 tombstones .* statements in \d+ ms$/);
      for (const url of [env.dbs.localUrl, env.dbs.cloudUrl]) expect(await names(url)).toEqual(['s3']);
    } finally {
      await a.close();
      await b.close();
    }
  }, 40_000);

  it('a pass asked for while retention runs waits for it (they never overlap)', async () => {
    const bus = new EventBus();
    const eng = new SyncEngine(env.local, env.cloud, bus, TEST_ENGINE);
    const spans: Array<[string, number]> = [];
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    const retention = {
      intervalMs: 60_000,
      async run() {
        spans.push(['retention-start', Date.now()]);
        started();
        await sleep(800);
        spans.push(['retention-end', Date.now()]);
      },
    };
    bus.on((e: Stamped) => {
      if (e.type === 'sync.pass.started') spans.push(['pass-start', Date.now()]);
    });
    const scheduler = new SyncScheduler(eng, env.cloud, bus, { intervalMs: 60_000, criticalTables: [], leaseTtlMs: 3000, owner: 'C', retention });
    scheduler.start();
    try {
      await running;
      const passes = spans.filter(([k]) => k === 'pass-start').length; // the first full pass ran before retention
      await scheduler.runNow({ direction: 'both' });
      const end = spans.find(([k]) => k === 'retention-end')![1];
      const next = spans.filter(([k]) => k === 'pass-start')[passes]![1];
      expect(next).toBeGreaterThanOrEqual(end);
    } finally {
      await scheduler.stop();
    }
  }, 20_000);

  it('cesar headless runs it with the configured settings and logs the counts', async () => {
    await insertAgents(env.dbs.localUrl, 'h', 2);
    await settle();
    await softDelete(env.dbs.localUrl, ['h1'], 2 * DAY);
    await settle();
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'cesar-retention-'));
    const child = spawn(process.execPath, [CLI, 'headless'], {
      cwd,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        LOCAL_DB_URL: env.dbs.localUrl,
        COCKROACH_DB_URL: env.dbs.cloudUrl,
        CESAR_API_PORT: '0',
        CESAR_SYNC_INTERVAL: '2s',
        CESAR_SYNC_OVERLAP: '200ms',
        CESAR_TOMBSTONE_RETENTION: '1d',
        CESAR_RETENTION_INTERVAL: '1s',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      await until(() => /retention: purged 2 tombstones \(local 1, cloud 1/.test(out), 20_000);
      for (const url of [env.dbs.localUrl, env.dbs.cloudUrl]) expect(await names(url)).toEqual(['h2']);
      const line = out.split('\n').find((l) => l.includes('retention: purged 2'))!;
      expect(JSON.parse(line)).toMatchObject({ level: 'info', event: 'log' });
    } finally {
      child.kill('SIGTERM');
      expect(await exited).toBe(143);
      fs.rmSync(cwd, { recursive: true, force: true });
    }
  }, 40_000);
});

describe('retention settings', () => {
  const load = (env: Record<string, string>) => loadConfig({ cwd: fs.mkdtempSync(path.join(os.tmpdir(), 'cesar-retention-cfg-')), env });

  it('defaults: tombstones 7d, conflicts 30d and 100000 rows, every 5m', () => {
    expect(load({}).retention).toEqual({ tombstoneMs: 7 * DAY, conflictMs: 30 * DAY, conflictMaxRows: 100_000, intervalMs: 300_000 });
  });

  it('accepts durations with days, and off or 0 to disable', () => {
    const c = load({ CESAR_TOMBSTONE_RETENTION: '36h', CESAR_CONFLICT_RETENTION: 'off', CESAR_CONFLICT_MAX_ROWS: 'off', CESAR_RETENTION_INTERVAL: '30s' });
    expect(c.retention).toEqual({ tombstoneMs: 36 * 3_600_000, conflictMs: null, conflictMaxRows: null, intervalMs: 30_000 });
    expect(load({ CESAR_TOMBSTONE_RETENTION: '0', CESAR_CONFLICT_RETENTION: '1.5d' }).retention).toMatchObject({ tombstoneMs: null, conflictMs: 1.5 * DAY });
  });

  it('a bad value is a configuration error (exit 2) naming the variable and the form', () => {
    let err: unknown;
    try {
      load({ CESAR_TOMBSTONE_RETENTION: '7 days', CESAR_CONFLICT_MAX_ROWS: '-1', CESAR_RETENTION_INTERVAL: '2d' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CesarError);
    expect((err as CesarError).exitCode).toBe(2);
    const message = (err as CesarError).message;
    expect(message).toContain('CESAR_TOMBSTONE_RETENTION: "7 days" is not allowed; use a number followed by s, m, h or d');
    expect(message).toContain('CESAR_CONFLICT_MAX_ROWS: "-1" is not allowed');
    expect(message).toContain('CESAR_RETENTION_INTERVAL: "2d" is not a duration');
  });
});

/** Polls `check` every 50 ms until it holds; fails after `timeoutMs`. */
async function until(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(50);
  }
}
