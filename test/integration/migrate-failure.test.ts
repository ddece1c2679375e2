import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { createTestDatabases, sql, type TestDatabases } from '../helpers/databases.js';

// A folder of three small migrations whose second one fails at statement 3 of 4 (line 7).
const BASE = 'CREATE TABLE IF NOT EXISTS base_t (id UUID PRIMARY KEY DEFAULT gen_random_uuid());\n';
const BROKEN = [
  '-- 002: four statements, the third references a table that does not exist',
  'CREATE TABLE IF NOT EXISTS two_t (id UUID PRIMARY KEY DEFAULT gen_random_uuid(), note TEXT);',
  'CREATE INDEX IF NOT EXISTS two_t_note_idx ON two_t (note);',
  '',
  '-- the bug',
  'INSERT INTO two_t (note)',
  '  SELECT note FROM missing_table;',
  'CREATE TABLE IF NOT EXISTS two_after_t (id UUID PRIMARY KEY DEFAULT gen_random_uuid());',
  '',
].join('\n');
const FIXED = BROKEN.replace('  SELECT note FROM missing_table;', "  SELECT 'fixed' WHERE NOT EXISTS (SELECT 1 FROM two_t WHERE note = 'fixed');");
const AFTER = 'CREATE TABLE IF NOT EXISTS three_t (id UUID PRIMARY KEY DEFAULT gen_random_uuid());\n';

const tmpDirs: string[] = [];
const opened: TestDatabases[] = [];
afterAll(async () => {
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
  await Promise.allSettled(opened.map((d) => d.drop()));
});

async function setup(): Promise<{ d: TestDatabases; dir: string }> {
  const d = await createTestDatabases();
  opened.push(d);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cesar-fail-'));
  tmpDirs.push(dir);
  fs.writeFileSync(path.join(dir, '001_base.sql'), BASE);
  fs.writeFileSync(path.join(dir, '002_broken.sql'), BROKEN);
  fs.writeFileSync(path.join(dir, '003_after.sql'), AFTER);
  return { d, dir };
}

const migrate = (d: TestDatabases, dir: string, args: string[] = []) =>
  runCli(['migrate', '--dir', dir, ...args], { LOCAL_DB_URL: d.localUrl, COCKROACH_DB_URL: d.cloudUrl });
const row = async (url: string, name: string) => (await sql(url, 'SELECT * FROM schema_migrations WHERE migration_name = $1', [name]))[0];
const exists = async (url: string, table: string) => (await sql(url, 'SELECT 1 FROM information_schema.tables WHERE table_name = $1', [table])).length === 1;

describe('a migration that fails in statement 3 of 4', () => {
  it('is reported with its index and line, recorded failed, and blocks the later ones until fixed', async () => {
    const { d, dir } = await setup();
    const urls = [d.localUrl, d.cloudAdminUrl];

    const r = await migrate(d, dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/002_broken\s+FAILED at statement 3/);
    expect(r.stdout).toContain('002_broken FAILED: statement 3 of 4, line 7: relation "missing_table" does not exist [42P01]');
    expect(r.stdout).toContain('not applied, blocked by 002_broken: 003_after');
    expect(r.stdout).toContain('--repair 002_broken');
    for (const url of urls) {
      expect(await row(url, '001_base')).toMatchObject({ status: 'applied' });
      expect(await row(url, '002_broken')).toMatchObject({
        status: 'failed',
        statements_done: 2,
        statements_total: 4,
        error: 'statement 3 of 4, line 7: relation "missing_table" does not exist [42P01]',
        applied_at: null,
      });
      expect(await row(url, '003_after')).toBeUndefined();
      expect(await exists(url, 'two_t')).toBe(true); // statements 1 and 2 ran: DDL is not transactional on CockroachDB
      expect(await exists(url, 'two_after_t')).toBe(false);
      expect(await exists(url, 'three_t')).toBe(false);
    }

    // status names the failure and the blocked file; a failed migration makes status exit 1
    const status = await migrate(d, dir, ['--status', '--json']);
    expect(status.code).toBe(1);
    for (const t of JSON.parse(status.stdout).targets) {
      const [, broken, after] = t.migrations;
      expect(broken).toMatchObject({ state: 'failed', statementsDone: 2, statementsTotal: 4 });
      expect(broken.error).toContain('statement 3 of 4, line 7');
      expect(after).toMatchObject({ state: 'pending', blockedBy: '002_broken' });
    }
    const text = await migrate(d, dir, ['--status', '--target', 'local']);
    expect(text.stdout).toMatch(/003_after\s+pending\s+-\s+blocked by 002_broken/);

    // the next run (file not fixed yet) re-runs it, fails again, and says the later one is blocked by it
    const again = await migrate(d, dir, ['--json']);
    expect(again.code).toBe(1);
    for (const t of JSON.parse(again.stdout).targets) {
      expect(t.applied).toEqual([]);
      expect(t.failed).toMatchObject({ name: '002_broken', statement: 3, of: 4, line: 7 });
      expect(t.blocked).toEqual(['003_after']);
    }

    // the dry-run shows the re-run from statement 1
    const dry = await migrate(d, dir, ['--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('would re-run (failed) from statement 1 002_broken (4 statements)');

    // fixing the file (its checksum changes: that is the fix) and re-running applies it and the rest
    fs.writeFileSync(path.join(dir, '002_broken.sql'), FIXED);
    const fixed = await migrate(d, dir, ['--json']);
    expect(fixed.stderr).toBe('');
    expect(fixed.code).toBe(0);
    for (const t of JSON.parse(fixed.stdout).targets) {
      expect(t.applied.map((a: { name: string; rerun: boolean }) => [a.name, a.rerun])).toEqual([
        ['002_broken', true],
        ['003_after', false],
      ]);
    }
    for (const url of urls) {
      expect(await row(url, '002_broken')).toMatchObject({ status: 'applied', statements_done: 4, error: null });
      expect(await exists(url, 'three_t')).toBe(true);
      expect(await sql(url, 'SELECT note FROM two_t')).toEqual([{ note: 'fixed' }]);
    }
  });

  it('--repair marks the failed migration applied with the current checksum; refuses for any other status', async () => {
    const { d, dir } = await setup();
    expect((await migrate(d, dir)).code).toBe(1);

    // the operator fixes the local database by hand, and the file so that it matches
    await sql(d.localUrl, 'CREATE TABLE IF NOT EXISTS two_after_t (id UUID PRIMARY KEY DEFAULT gen_random_uuid())');
    fs.writeFileSync(path.join(dir, '002_broken.sql'), FIXED);

    const repaired = await migrate(d, dir, ['--target', 'local', '--repair', '002_broken.sql']);
    expect(repaired.code).toBe(0);
    expect(repaired.stdout).toContain('002_broken marked applied with checksum');
    const localRow = await row(d.localUrl, '002_broken');
    expect(localRow).toMatchObject({ status: 'applied', error: null, statements_done: 2 });
    expect(String(localRow!.applied_by)).toMatch(/\(--repair\)$/);
    const status = JSON.parse((await migrate(d, dir, ['--status', '--json', '--target', 'local'])).stdout).targets[0];
    const entry = status.migrations[1];
    expect(entry).toMatchObject({ name: '002_broken', state: 'applied' });
    expect(entry.recordedChecksum).toBe(entry.checksum);
    expect(await sql(d.localUrl, 'SELECT * FROM cesar_leases')).toEqual([]);

    // applied now: a second repair is refused; the cloud is still failed and can be repaired there
    const twice = await migrate(d, dir, ['--target', 'local', '--repair', '002_broken']);
    expect(twice.code).toBe(1);
    expect(twice.stdout).toContain('002_broken is applied on the local database: --repair only marks a failed migration as applied.');
    const pending = await migrate(d, dir, ['--target', 'cloud', '--repair', '003_after']);
    expect(pending.code).toBe(1);
    expect(pending.stdout).toContain('003_after was never run on the cloud database');
    // both targets: repaired on the cloud, refused on local (already applied): exit 1, each said
    const both = await migrate(d, dir, ['--repair', '002_broken', '--json']);
    expect(both.code).toBe(1);
    expect(JSON.parse(both.stdout).targets.map((t: { target: string; repaired: boolean }) => [t.target, t.repaired])).toEqual([
      ['local', false],
      ['cloud', true],
    ]);

    // the run afterwards applies what was blocked, on both
    const run = await migrate(d, dir, ['--json']);
    expect(run.code).toBe(0);
    for (const t of JSON.parse(run.stdout).targets) expect(t.applied.map((a: { name: string }) => a.name)).toEqual(['003_after']);
  });
});
