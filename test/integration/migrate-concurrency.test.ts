import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDb } from '../../src/db/pool.js';
import { sleep } from '../../src/db/tx.js';
import { EventBus } from '../../src/events/bus.js';
import { readMigrationFiles } from '../../src/migrations/files.js';
import { runMigrations } from '../../src/migrations/runner.js';
import { CLI, runCli } from '../helpers/cli.js';
import { createTestDatabases, REPO, sql, type TestDatabases } from '../helpers/databases.js';

const tmpDirs: string[] = [];
const opened: TestDatabases[] = [];
afterAll(async () => {
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
  await Promise.allSettled(opened.map((d) => d.drop()));
});

async function freshDbs(options: { injectRate?: number } = {}): Promise<TestDatabases> {
  const d = await createTestDatabases(options);
  opened.push(d);
  return d;
}

/** The real migrations plus extra files, in a temporary folder. */
function folder(extra: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cesar-conc-'));
  tmpDirs.push(dir);
  const src = path.join(REPO, 'migrations');
  for (const f of fs.readdirSync(src)) fs.copyFileSync(path.join(src, f), path.join(dir, f));
  for (const [name, text] of Object.entries(extra)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

// Not idempotent on purpose: a second execution would leave two rows.
const COUNTED = 'CREATE TABLE IF NOT EXISTS run_log (id UUID PRIMARY KEY DEFAULT gen_random_uuid(), note TEXT);\nINSERT INTO run_log (note) VALUES (\'applied\');\n';
const SLOW_FIRST = 'SELECT pg_sleep(1.5);\n';

type Applied = { name: string };
type Target = { target: string; ok: boolean; applied: Applied[] };

describe('concurrent runners', () => {
  it('two processes started together apply each migration exactly once', async () => {
    const d = await freshDbs();
    const dir = folder({ '000_slow.sql': SLOW_FIRST, '012_counted.sql': COUNTED });
    const env = { LOCAL_DB_URL: d.localUrl, COCKROACH_DB_URL: d.cloudUrl };
    const [a, b] = await Promise.all([runCli(['migrate', '--json', '--dir', dir], env), runCli(['migrate', '--json', '--dir', dir], env)]);
    expect([a.code, b.code]).toEqual([0, 0]);
    const docs = [JSON.parse(a.stdout), JSON.parse(b.stdout)];
    const all = fs.readdirSync(dir).map((f) => f.replace(/\.sql$/, '')).sort();
    for (const target of ['local', 'cloud']) {
      const lists = docs.map((doc) => (doc.targets as Target[]).find((t) => t.target === target)!.applied.map((x) => x.name));
      // the two runners' applied lists partition the folder: nothing twice, nothing missed
      expect([...lists[0]!, ...lists[1]!].sort()).toEqual(all);
    }
    for (const url of [d.localUrl, d.cloudAdminUrl]) {
      expect(await sql(url, 'SELECT count(*)::INT4 AS n FROM run_log')).toEqual([{ n: 1 }]);
      const rows = await sql<{ status: string }>(url, 'SELECT status FROM schema_migrations');
      expect(rows).toHaveLength(13);
      expect(rows.every((r) => r.status === 'applied')).toBe(true);
    }
    // the one that waited said so, once per target at most, naming the holder
    const waits = (a.stderr + b.stderr).split('\n').filter((l) => l.includes('waiting for the migration lease held by'));
    expect(waits.length).toBeGreaterThanOrEqual(1);
    for (const target of ['local', 'cloud']) {
      expect(a.stderr.split('\n').filter((l) => l.startsWith(`cesar: ${target}: waiting`)).length).toBeLessThanOrEqual(1);
      expect(b.stderr.split('\n').filter((l) => l.startsWith(`cesar: ${target}: waiting`)).length).toBeLessThanOrEqual(1);
    }
    expect(waits[0]).toMatch(/held by .+:\d+:[0-9a-f]{4} since \d{4}-/);
  }, 60_000);

  it('two in-process runners on a cloud with injected 40001s: exactly once, events partition the files', async () => {
    const d = await freshDbs({ injectRate: process.env.CESAR_TEST_BACKEND === 'embedded' ? 0 : 0.15 });
    const dir = folder({ '012_counted.sql': COUNTED });
    const files = await readMigrationFiles(dir);
    const opts = { connectTimeoutMs: 5000, statementTimeoutMs: 30_000 };
    const runners = [0, 1].map(() => ({ db: openDb('cloud', d.cloudUrl, opts), bus: new EventBus(500) }));
    try {
      const results = await Promise.all(runners.map((r) => runMigrations(r.db, { files, ttlMs: 5000, waitMs: 30_000, pollMs: 50, bus: r.bus })));
      expect(results.map((r) => r.outcome)).toEqual(['done', 'done']);
      const applied = runners.map((r) => r.bus.history().filter((e) => e.type === 'migration.applied').map((e) => (e as { name: string }).name));
      expect([...applied[0]!, ...applied[1]!].sort()).toEqual(files.map((f) => f.name));
      const started = runners.flatMap((r) => r.bus.history().filter((e) => e.type === 'migration.started'));
      expect(started).toHaveLength(files.length);
      expect(await sql(d.cloudAdminUrl, 'SELECT count(*)::INT4 AS n FROM run_log')).toEqual([{ n: 1 }]);
      expect(await sql(d.cloudAdminUrl, "SELECT 1 FROM schema_migrations WHERE status <> 'applied'")).toEqual([]);
    } finally {
      await Promise.all(runners.map((r) => r.db.close()));
    }
  }, 60_000);
});

describe('a runner killed in the middle of a migration', () => {
  // PGlite runs one statement at a time for every connection, so nobody can observe the row
  // while pg_sleep runs: this needs the real server (which CI always has).
  it.skipIf(process.env.CESAR_TEST_BACKEND === 'embedded')('leaves the row running; a new run waits for the expired lease and re-runs it to applied', async () => {
    const d = await freshDbs();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cesar-kill-'));
    tmpDirs.push(dir);
    fs.writeFileSync(path.join(dir, '001_first.sql'), 'CREATE TABLE IF NOT EXISTS first_t (id UUID PRIMARY KEY DEFAULT gen_random_uuid());\n');
    fs.writeFileSync(
      path.join(dir, '002_slow.sql'),
      'CREATE TABLE IF NOT EXISTS before_sleep (id UUID PRIMARY KEY DEFAULT gen_random_uuid());\nSELECT pg_sleep(3);\nCREATE TABLE IF NOT EXISTS after_sleep (id UUID PRIMARY KEY DEFAULT gen_random_uuid());\n',
    );
    const env = { LOCAL_DB_URL: d.localUrl, COCKROACH_DB_URL: d.cloudUrl, CESAR_MIGRATE_LEASE_TTL: '2s' };
    // The victim's lease outlives the kill by up to 4s (its TTL), so the next run surely finds it live and waits.
    const child = spawn(process.execPath, [CLI, 'migrate', '--target', 'cloud', '--dir', dir], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', HOME: os.tmpdir(), ...env, CESAR_MIGRATE_LEASE_TTL: '4s' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let childOut = '';
    child.stdout!.on('data', (b: Buffer) => (childOut += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (childOut += b.toString()));
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    try {
      const deadline = Date.now() + 20_000;
      for (;;) {
        const rows = await sql(d.cloudAdminUrl, "SELECT 1 FROM information_schema.tables WHERE table_name = 'schema_migrations'");
        if (rows.length > 0 && (await sql(d.cloudAdminUrl, "SELECT 1 FROM schema_migrations WHERE migration_name = '002_slow' AND status = 'running'")).length > 0) break;
        if (Date.now() > deadline) throw new Error(`002_slow never showed as running; the runner said: ${childOut}`);
        await sleep(50);
      }
    } finally {
      child.kill('SIGKILL');
      await exited;
    }

    // right after the kill the lease is still live: status shows it running
    const status = JSON.parse((await runCli(['migrate', '--target', 'cloud', '--dir', dir, '--status', '--json'], env)).stdout).targets[0];
    expect(status.migrations[1]).toMatchObject({ name: '002_slow', state: 'running', statementsTotal: 3 });
    expect(status.lease.expired).toBe(false);

    const t0 = Date.now();
    const r = await runCli(['migrate', '--target', 'cloud', '--dir', dir, '--json'], env);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^cesar: cloud: waiting for the migration lease held by .+ since /);
    expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
    expect(Date.now() - t0).toBeLessThan(15_000);
    const doc = JSON.parse(r.stdout);
    expect(doc.targets[0].applied).toMatchObject([{ name: '002_slow', statements: 3, rerun: true }]);
    const row = (await sql(d.cloudAdminUrl, "SELECT * FROM schema_migrations WHERE migration_name = '002_slow'"))[0];
    expect(row).toMatchObject({ status: 'applied', statements_done: 3, statements_total: 3 });
    expect(await sql(d.cloudAdminUrl, "SELECT 1 FROM information_schema.tables WHERE table_name = 'after_sleep'")).toHaveLength(1);
    expect(await sql(d.cloudAdminUrl, 'SELECT * FROM cesar_leases')).toEqual([]);
  }, 60_000);

  it('a lease held by a live runner: --wait 1s gives up with exit 1 naming the holder', async () => {
    const d = await freshDbs();
    await sql(d.localUrl, 'CREATE TABLE cesar_leases (name TEXT PRIMARY KEY, owner TEXT NOT NULL, acquired_at TIMESTAMPTZ NOT NULL, heartbeat_at TIMESTAMPTZ NOT NULL, expires_at TIMESTAMPTZ NOT NULL)');
    await sql(d.localUrl, "INSERT INTO cesar_leases VALUES ('migrations', 'deploy-host:4242:abcd', now(), now(), now() + INTERVAL '5 minutes')");
    const t0 = Date.now();
    const r = await runCli(['migrate', '--target', 'local', '--wait', '1s'], { LOCAL_DB_URL: d.localUrl });
    expect(r.code).toBe(1);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
    expect(r.stderr).toContain('cesar: local: waiting for the migration lease held by deploy-host:4242:abcd since');
    expect(r.stdout).toContain('the migrations lease on the local database is held by deploy-host:4242:abcd since');
    expect(r.stdout).toContain('gave up after waiting 1s');
    // status and dry-run do not wait, and say who holds it
    const dry = await runCli(['migrate', '--target', 'local', '--dry-run'], { LOCAL_DB_URL: d.localUrl });
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('the migration lease is held by deploy-host:4242:abcd');
  }, 30_000);
});
