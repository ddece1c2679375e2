import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { checksumOf } from '../../src/migrations/files.js';
import { CLI, runCli } from '../helpers/cli.js';
import { createTestDatabases, sql, type TestDatabases } from '../helpers/databases.js';

// `cesar migrate` under faults, as operators meet them: two deploys starting the runner at once
// with a slow statement in the middle of a file, and a runner killed (SIGKILL) in the middle of
// a file, on either database, while a second runner waits for it; then a clean run.
//
// Already covered by test/integration/migrate-concurrency.test.ts, not repeated here:
// - "concurrent runners > two processes started together apply each migration exactly once"
//   (the slow statement is a file of its own, 000_slow, before the real migrations);
// - "concurrent runners > two in-process runners on a cloud with injected 40001s: exactly once";
// - "a runner killed in the middle of a migration > leaves the row running; a new run waits for
//   the expired lease and re-runs it to applied" (--target cloud only, started after the kill);
// - "a lease held by a live runner: --wait 1s gives up with exit 1 naming the holder".
// What this file adds: the slow statement between others inside one file, observed from outside
// (per-statement progress, what is and is not applied yet); how often each statement really ran
// (a step log that is not idempotent on purpose); --target both with the kill on the local and on
// the cloud database; a second runner already waiting when the first dies (it must not start
// before the dead runner's lease expires, by the database's clock); checksums recorded equal to
// the files' and equal on both databases; a clean run afterwards that changes nothing.
//
// The runner's guarantees (src/migrations/runner.ts, README "cesar migrate"): statements run one
// at a time outside any transaction (CockroachDB DDL is not transactional), progress is recorded
// after each, so a file killed in the middle stays partly applied; the next runner re-runs it
// from statement 1, which is why files must be idempotent. The step log below makes that visible.

const real = process.env.CESAR_TEST_BACKEND !== 'embedded';
const TTL = '3s';
const TTL_MS = 3000;

const tmpDirs: string[] = [];
const opened: TestDatabases[] = [];
const children = new Set<ChildProcess>();

afterEach(() => {
  for (const c of children) c.kill('SIGKILL');
});
afterAll(async () => {
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
  await Promise.allSettled(opened.map((d) => d.drop()));
});

async function freshDbs(): Promise<TestDatabases> {
  const d = await createTestDatabases();
  opened.push(d);
  return d;
}

const SEED = '00000000-0000-4000-8000-000000000001';

/**
 * Three files; 002_slow has six statements and sleeps at statement 4. Every statement is portable
 * to CockroachDB. How long the sleep lasts is the test's to say, per database, through a table it
 * creates beforehand (mig_hold): long where a runner is to be caught (and killed) in the middle, so
 * that a second runner surely finds it there however slowly it starts on a loaded machine; short
 * elsewhere, and short for a re-run (statement 1 already ran once), so that the recovery is quick.
 */
function folder(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cesar-migfault-'));
  tmpDirs.push(dir);
  const files: Record<string, string> = {
    '001_steps.sql': 'CREATE TABLE IF NOT EXISTS mig_steps (id UUID PRIMARY KEY DEFAULT gen_random_uuid(), step TEXT NOT NULL, at TIMESTAMPTZ NOT NULL DEFAULT now());\n',
    '002_slow.sql': [
      "-- the step log is not idempotent on purpose: it counts how often each statement ran",
      "INSERT INTO mig_steps (step) VALUES ('002:1');",
      'CREATE TABLE IF NOT EXISTS before_sleep (id UUID PRIMARY KEY DEFAULT gen_random_uuid(), note TEXT);',
      `INSERT INTO before_sleep (id, note) VALUES ('${SEED}', 'seed') ON CONFLICT (id) DO NOTHING;`,
      "SELECT pg_sleep(CASE WHEN (SELECT count(*) FROM mig_steps WHERE step = '002:1') > 1 THEN 0.2::FLOAT8 ELSE (SELECT max(seconds) FROM mig_hold) END);",
      'CREATE TABLE IF NOT EXISTS after_sleep (id UUID PRIMARY KEY DEFAULT gen_random_uuid());',
      "INSERT INTO mig_steps (step) VALUES ('002:6');",
      '',
    ].join('\n'),
    '003_after.sql': "INSERT INTO mig_steps (step) VALUES ('003:1');\n",
  };
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

/** How long statement 4 of 002_slow sleeps on its first run, per database (created as the application roles see it). */
async function hold(d: TestDatabases, seconds: { local: number; cloud: number }): Promise<void> {
  for (const [url, s] of [[d.localUrl, seconds.local], [d.cloudUrl, seconds.cloud]] as const) {
    await sql(url, 'CREATE TABLE mig_hold (id UUID PRIMARY KEY DEFAULT gen_random_uuid(), seconds FLOAT8 NOT NULL)');
    await sql(url, 'INSERT INTO mig_hold (seconds) VALUES ($1)', [s]);
  }
}

const NAMES = ['001_steps', '002_slow', '003_after'];
const TOTALS: Record<string, number> = { '001_steps': 1, '002_slow': 6, '003_after': 1 };

interface Runner {
  child: ChildProcess;
  out(): string;
  err(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  /** Resolves when stderr matches (already or later); rejects on exit or after timeoutMs. */
  waitErr(re: RegExp, timeoutMs?: number): Promise<string>;
}

/** `cesar migrate --json --dir DIR ...` as a child process, output collected as it comes. */
function startMigrate(dir: string, env: Record<string, string>, extra: string[] = []): Runner {
  const child = spawn(process.execPath, [CLI, 'migrate', '--json', '--dir', dir, ...extra], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '', HOME: os.tmpdir(), NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let out = '';
  let err = '';
  const listeners = new Set<() => void>();
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => {
    err += b.toString();
    for (const l of listeners) l();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.on('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal, at: Date.now() });
      for (const l of listeners) l();
    }),
  );
  const waitErr = (re: RegExp, timeoutMs = 20_000): Promise<string> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`stderr never matched ${re} within ${timeoutMs} ms: ${err}`)), timeoutMs);
      const done = (e?: Error): void => {
        clearTimeout(timer);
        listeners.delete(check);
        if (e) reject(e);
        else resolve(err);
      };
      const check = (): void => {
        if (re.test(err)) done();
        else if (child.exitCode !== null || child.signalCode !== null) done(new Error(`the runner exited (${child.exitCode ?? child.signalCode}) before stderr matched ${re}: ${err}; stdout: ${out}`));
      };
      listeners.add(check);
      check();
    });
  return { child, out: () => out, err: () => err, exited, waitErr };
}

interface Progress {
  status: string;
  statements_done: number;
  statements_total: number;
  before_t: number;
  after_t: number;
  first_runs: number;
}

/**
 * 002_slow as seen from outside, in one statement (one snapshot): its history row, whether the
 * tables of statements 2 and 5 exist, how often statement 1 ran. Null until the tables exist.
 */
async function progress(url: string): Promise<Progress | null> {
  const rows = await sql<Progress>(
    url,
    `SELECT m.status, m.statements_done, m.statements_total,
            (SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'before_sleep')::INT4 AS before_t,
            (SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'after_sleep')::INT4 AS after_t,
            (SELECT count(*) FROM mig_steps WHERE step = '002:1')::INT4 AS first_runs
       FROM schema_migrations m WHERE m.migration_name = '002_slow'`,
  ).catch(() => []);
  return rows[0] ?? null;
}

/** Polls until 002_slow is running at its sleep (statements 1 to 3 recorded done). */
async function untilSleeping(url: string, who: Runner, timeoutMs = 20_000): Promise<Progress> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const p = await progress(url);
    if (p && p.status === 'running' && p.statements_done === 3) return p;
    if (who.child.exitCode !== null) throw new Error(`the runner exited (${who.child.exitCode}) before 002_slow slept: ${who.err()} ${who.out()}`);
    if (Date.now() > deadline) throw new Error(`002_slow never reached its sleep; last seen ${JSON.stringify(p)}; runner: ${who.err()} ${who.out()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** How many times each step of the log ran. */
async function steps(url: string): Promise<Record<string, number>> {
  const rows = await sql<{ step: string; n: number }>(url, 'SELECT step, count(*)::INT4 AS n FROM mig_steps GROUP BY step ORDER BY step');
  return Object.fromEntries(rows.map((r) => [r.step, r.n]));
}

interface HistoryRow {
  migration_name: string;
  status: string;
  statements_done: number;
  statements_total: number;
  checksum: string;
  applied_by: string;
  previous_migration: string;
  error: string | null;
  started_epoch: number;
  applied_epoch: number;
}

async function history(url: string): Promise<HistoryRow[]> {
  return sql<HistoryRow>(
    url,
    `SELECT migration_name, status, statements_done, statements_total, checksum, applied_by, previous_migration, error,
            extract(epoch FROM started_at)::FLOAT8 AS started_epoch, extract(epoch FROM applied_at)::FLOAT8 AS applied_epoch
       FROM schema_migrations ORDER BY migration_name`,
  );
}

/** schema_migrations complete: every file applied with all its statements, the file's checksum, the chain of previous files. */
function expectComplete(rows: HistoryRow[], dir: string): void {
  expect(rows.map((r) => r.migration_name)).toEqual(NAMES);
  NAMES.forEach((name, i) => {
    const r = rows[i]!;
    expect(r).toMatchObject({ status: 'applied', statements_done: TOTALS[name], statements_total: TOTALS[name], error: null, previous_migration: i === 0 ? '' : NAMES[i - 1] });
    expect(r.checksum).toBe(checksumOf(fs.readFileSync(path.join(dir, `${name}.sql`), 'utf8')));
    expect(r.applied_by).toMatch(/^.+:\d+$/);
    expect(r.applied_epoch).toBeGreaterThanOrEqual(r.started_epoch);
  });
}

const tableCount = async (url: string, table: string): Promise<number> =>
  (await sql<{ n: number }>(url, 'SELECT count(*)::INT4 AS n FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1', [table]))[0]!.n;

type TargetDoc = { target: string; ok: boolean; applied: Array<{ name: string; statements: number; rerun: boolean }>; skipped: string[] };
const targetOf = (stdout: string, target: string): TargetDoc => (JSON.parse(stdout) as { targets: TargetDoc[] }).targets.find((t) => t.target === target)!;

describe('cesar migrate under faults', () => {
  it('the files are portable to CockroachDB (lint finds nothing)', async () => {
    const r = await runCli(['migrate', '--lint', '--dir', folder()]);
    expect(r.stdout).toContain('No portability findings');
    expect(r.code).toBe(0);
  });

  // PGlite runs one statement at a time for every connection: nobody can watch a file while it sleeps there.
  it.skipIf(!real)('two runners at once, a slow statement mid-file: the second waits, each statement runs once per database, both exit 0, history complete with the files\' checksums', async () => {
    const d = await freshDbs();
    const dir = folder();
    await hold(d, { local: 4, cloud: 0.2 });
    const env = { LOCAL_DB_URL: d.localUrl, COCKROACH_DB_URL: d.cloudUrl, CESAR_MIGRATE_LEASE_TTL: TTL };
    const runners = [startMigrate(dir, env), startMigrate(dir, env)];
    // whichever took the local lease is inside 002_slow: statements 1 to 3 applied and recorded, 5 not yet
    const mid = await Promise.race(runners.map((r) => untilSleeping(d.localUrl, r)));
    expect(mid).toEqual({ status: 'running', statements_done: 3, statements_total: 6, before_t: 1, after_t: 0, first_runs: 1 });
    // the cloud is untouched while the local database is being migrated (local first, then cloud)
    expect(await tableCount(d.cloudAdminUrl, 'mig_steps')).toBe(0);

    const exits = await Promise.all(runners.map((r) => r.exited));
    expect(exits.map((e) => e.code), runners.map((r) => r.err() + r.out()).join('\n---\n')).toEqual([0, 0]);
    // the runner's design: the second one waits for the lease (it says so, naming the holder), it does not fail
    const waiting = runners.map((r) => r.err()).join('').split('\n').filter((l) => /^cesar: (local|cloud): waiting for the migration lease held by .+:\d+:[0-9a-f]{4} since /.test(l));
    expect(waiting.length).toBeGreaterThanOrEqual(1);
    for (const target of ['local', 'cloud']) {
      const docs = runners.map((r) => targetOf(r.out(), target));
      expect(docs.every((t) => t.ok)).toBe(true);
      // the two applied lists partition the folder: nothing twice, nothing missed
      expect(docs.flatMap((t) => t.applied.map((a) => a.name)).sort()).toEqual(NAMES);
      expect(docs.flatMap((t) => t.applied).every((a) => !a.rerun)).toBe(true);
    }
    const local = await history(d.localUrl);
    const cloud = await history(d.cloudAdminUrl);
    expectComplete(local, dir);
    expectComplete(cloud, dir);
    expect(cloud.map((r) => r.checksum)).toEqual(local.map((r) => r.checksum));
    for (const url of [d.localUrl, d.cloudAdminUrl]) {
      // every statement ran exactly once on each database
      expect(await steps(url)).toEqual({ '002:1': 1, '002:6': 1, '003:1': 1 });
      expect(await sql(url, 'SELECT id::TEXT AS id, note FROM before_sleep')).toEqual([{ id: SEED, note: 'seed' }]);
      expect(await tableCount(url, 'after_sleep')).toBe(1);
      expect(await sql(url, 'SELECT * FROM cesar_leases')).toEqual([]);
    }
  }, 60_000);

  // PGlite cannot host a statement observed while it sleeps (see above).
  it.skipIf(!real).each(['local', 'cloud'] as const)(
    'a runner killed (SIGKILL) mid-file on the %s database while a second waits: the second starts only after the dead lease expires, re-runs the file from statement 1, exits 0; a clean run then changes nothing',
    async (victim) => {
      const d = await freshDbs();
      const dir = folder();
      // the victim's first run sleeps far longer than the test lasts: it is killed in the middle
      await hold(d, { local: victim === 'local' ? 60 : 0.2, cloud: victim === 'cloud' ? 60 : 0.2 });
      const urls = { local: d.localUrl, cloud: d.cloudAdminUrl };
      const victimUrl = urls[victim];
      const other = victim === 'local' ? 'cloud' : 'local';
      const env = { LOCAL_DB_URL: d.localUrl, COCKROACH_DB_URL: d.cloudUrl, CESAR_MIGRATE_LEASE_TTL: TTL };
      const a = startMigrate(dir, env);
      await untilSleeping(victimUrl, a, 30_000);
      if (victim === 'cloud') expectComplete(await history(d.localUrl), dir); // --target both: local first, all of it

      // B waits behind A's live lease, naming it
      const b = startMigrate(dir, env, ['--wait', '30s']);
      await b.waitErr(new RegExp(`^cesar: ${victim}: waiting for the migration lease held by .+:${a.child.pid}:[0-9a-f]{4} since `, 'm'));

      const killedAt = Date.now();
      a.child.kill('SIGKILL');
      expect((await a.exited).signal).toBe('SIGKILL');
      // the dead runner's lease is still live for up to a TTL: nobody may take it before it expires
      const [lease] = await sql<{ owner: string; expired: boolean; expires_epoch: number; now_epoch: number }>(
        victimUrl,
        "SELECT owner, expires_at < now() AS expired, extract(epoch FROM expires_at)::FLOAT8 AS expires_epoch, extract(epoch FROM now())::FLOAT8 AS now_epoch FROM cesar_leases WHERE name = 'migrations'",
      );
      expect(lease!.owner).toContain(`:${a.child.pid}:`);
      expect(lease!.expired).toBe(false);
      expect(lease!.expires_epoch - lease!.now_epoch).toBeLessThanOrEqual(TTL_MS / 1000 + 0.1);
      // what the kill left: statements 1 to 3 applied and recorded, the rest not (no transaction per file)
      expect(await progress(victimUrl)).toEqual({ status: 'running', statements_done: 3, statements_total: 6, before_t: 1, after_t: 0, first_runs: 1 });

      const bExit = await b.exited;
      expect(bExit.code, b.err() + b.out()).toBe(0);
      // B waited for the expiry (the time the lease had left when we read it), then re-ran the file (a short sleep now)
      console.log(`${victim}: B finished ${bExit.at - killedAt} ms after the kill (lease had ${Math.round((lease!.expires_epoch - lease!.now_epoch) * 1000)} ms left)`);
      expect(bExit.at - killedAt).toBeLessThan(TTL_MS + 10_000);
      expect(b.err().split('\n').filter((l) => l.includes('waiting for the migration lease'))).toHaveLength(1);

      // B re-ran 002_slow from statement 1, only after the dead lease had expired (database clock)
      const victimHist = await history(victimUrl);
      const slow = victimHist.find((r) => r.migration_name === '002_slow')!;
      expect(slow.started_epoch).toBeGreaterThanOrEqual(lease!.expires_epoch);
      expect(slow.applied_by).toBe(`${os.hostname()}:${b.child.pid}`);
      const firstRuns = await sql<{ at: number }>(victimUrl, "SELECT extract(epoch FROM at)::FLOAT8 AS at FROM mig_steps WHERE step = '002:1' ORDER BY at");
      expect(firstRuns).toHaveLength(2);
      expect(firstRuns[0]!.at).toBeLessThan(lease!.expires_epoch);
      expect(firstRuns[1]!.at).toBeGreaterThanOrEqual(lease!.expires_epoch);
      const bVictim = targetOf(b.out(), victim);
      expect(bVictim.applied).toEqual([
        { name: '002_slow', statements: 6, ms: expect.any(Number), rerun: true },
        { name: '003_after', statements: 1, ms: expect.any(Number), rerun: false },
      ]);
      // the other database: untouched by A on a local kill (B applies it all), finished by A on a cloud kill
      expect(targetOf(b.out(), other).applied.map((x) => x.name)).toEqual(victim === 'local' ? NAMES : []);

      const local = await history(d.localUrl);
      const cloud = await history(d.cloudAdminUrl);
      expectComplete(local, dir);
      expectComplete(cloud, dir);
      expect(cloud.map((r) => r.checksum)).toEqual(local.map((r) => r.checksum));
      // statement 1 of the interrupted file ran twice where it was interrupted (re-run from statement 1),
      // everything else once; the idempotent statements left the right state on both
      expect(await steps(victimUrl)).toEqual({ '002:1': 2, '002:6': 1, '003:1': 1 });
      expect(await steps(urls[other])).toEqual({ '002:1': 1, '002:6': 1, '003:1': 1 });
      for (const url of [d.localUrl, d.cloudAdminUrl]) {
        expect(await sql(url, 'SELECT id::TEXT AS id, note FROM before_sleep')).toEqual([{ id: SEED, note: 'seed' }]);
        expect(await tableCount(url, 'after_sleep')).toBe(1);
        expect(await sql(url, 'SELECT * FROM cesar_leases')).toEqual([]);
      }

      // a clean run: nothing to do, exit 0, history untouched; --status agrees
      const clean = await runCli(['migrate', '--json', '--dir', dir], env);
      expect(clean.code, clean.stderr + clean.stdout).toBe(0);
      expect(clean.stderr).toBe('');
      for (const t of ['local', 'cloud']) expect(targetOf(clean.stdout, t).applied).toEqual([]);
      expect(await history(d.localUrl)).toEqual(local);
      expect(await history(d.cloudAdminUrl)).toEqual(cloud);
      const st = await runCli(['migrate', '--status', '--json', '--dir', dir], env);
      expect(st.code).toBe(0);
      for (const t of (JSON.parse(st.stdout) as { targets: Array<{ migrations: Array<{ name: string; state: string; recordedChecksum: string; checksum: string }> }> }).targets) {
        expect(t.migrations.map((m) => [m.name, m.state])).toEqual(NAMES.map((n) => [n, 'applied']));
        for (const m of t.migrations) expect(m.recordedChecksum).toBe(m.checksum);
      }
    },
    90_000,
  );
});
