import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultMigrationsDir } from '../../src/migrations/files.js';
import { runCli } from '../helpers/cli.js';
import { createTestDatabases, REPO, sql, type TestDatabases } from '../helpers/databases.js';

// `cesar migrate` flags, modes that need no database, failures per target, and the wrapper script.
const MIGRATIONS = path.join(REPO, 'migrations');
const NAMES = fs.readdirSync(MIGRATIONS).filter((f) => f.endsWith('.sql')).sort();
const tmpDirs: string[] = [];
const opened: TestDatabases[] = [];

afterAll(async () => {
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
  await Promise.allSettled(opened.map((d) => d.drop()));
});

async function freshDbs(): Promise<TestDatabases> {
  const d = await createTestDatabases();
  opened.push(d);
  return d;
}

describe('cesar migrate --lint, flags, wrapper', () => {
  it('--lint on the real folder: exit 0, no database needed', async () => {
    const r = await runCli(['migrate', '--lint'], { LOCAL_DB_URL: 'postgres://nobody@127.0.0.1:1/x', COCKROACH_DB_URL: 'postgres://nobody@127.0.0.1:1/y' });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('No portability findings');
  });

  it('--lint on a folder with a SERIAL column: exit 1 with file:line: rule: message', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cesar-lint-'));
    tmpDirs.push(dir);
    fs.writeFileSync(path.join(dir, '001_bad.sql'), '-- a comment\n\nCREATE TABLE IF NOT EXISTS t (\n  id SERIAL PRIMARY KEY\n);\n');
    const r = await runCli(['migrate', '--lint', '--dir', dir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`${path.join(dir, '001_bad.sql')}:4: serial: `);
    const json = JSON.parse((await runCli(['migrate', '--lint', '--json', '--dir', dir])).stdout);
    expect(json.findings[0]).toMatchObject({ line: 4, rule: 'serial' });
  });

  it('usage errors exit 2: two modes, bad target, bad --wait, unknown --dir, unknown --repair', async () => {
    const d = { LOCAL_DB_URL: 'postgres://nobody@127.0.0.1:1/x' };
    const modes = await runCli(['migrate', '--status', '--dry-run'], d);
    expect(modes.code).toBe(2);
    expect(modes.stderr).toContain('cannot be combined');
    expect((await runCli(['migrate', '--target', 'moon'], d)).code).toBe(2);
    const wait = await runCli(['migrate', '--wait', 'soon'], d);
    expect(wait.code).toBe(2);
    expect(wait.stderr).toContain('--wait');
    const dir = await runCli(['migrate', '--dir', '/nonexistent/migrations'], d);
    expect(dir.code).toBe(2);
    expect(dir.stderr).toContain('migrations directory not found');
    const repair = await runCli(['migrate', '--repair', '999_nothing'], d);
    expect(repair.code).toBe(2);
    expect(repair.stderr).toContain('no 999_nothing.sql');
    const ttl = await runCli(['migrate', '--status'], { ...d, CESAR_MIGRATE_LEASE_TTL: 'forever' });
    expect(ttl.code).toBe(2);
    expect(ttl.stderr).toContain('CESAR_MIGRATE_LEASE_TTL');
    const help = await runCli(['migrate', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--dry-run');
  });

  it('an explicitly named target that is not configured is a usage error; with both, the other still runs', async () => {
    const d = await freshDbs();
    const named = await runCli(['migrate', '--target', 'cloud'], { LOCAL_DB_URL: d.localUrl });
    expect(named.code).toBe(2);
    expect(named.stderr).toContain('COCKROACH_DB_URL');
    const both = await runCli(['migrate', '--status', '--json'], { LOCAL_DB_URL: d.localUrl });
    expect(both.code).toBe(1);
    const doc = JSON.parse(both.stdout);
    expect(doc.targets[0]).toMatchObject({ target: 'local', ok: true });
    expect(doc.targets[1]).toMatchObject({ target: 'cloud', ok: false, error: 'not configured (set COCKROACH_DB_URL)' });
  });

  it('an unreachable target is reported redacted, and the other target still runs', async () => {
    const d = await freshDbs();
    const r = await runCli(['migrate', '--json'], { LOCAL_DB_URL: 'postgres://app:Sup3rSecretPw@127.0.0.1:1/x', COCKROACH_DB_URL: d.cloudUrl });
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(doc.targets[0]).toMatchObject({ target: 'local', ok: false });
    expect(doc.targets[0].error).toContain('ECONNREFUSED');
    expect(doc.targets[1]).toMatchObject({ target: 'cloud', ok: true });
    expect(doc.targets[1].applied).toHaveLength(11);
    expect(r.stdout + r.stderr).not.toContain('Sup3rSecretPw');
  });

  it('the default folder is the package migrations/ (from src under vitest as from dist)', () => {
    expect(defaultMigrationsDir()).toBe(MIGRATIONS);
    expect(NAMES).toHaveLength(11);
  });

  it('scripts/apply_migrations_cockroach.sh runs `cesar migrate --target cloud` with every argument', async () => {
    const d = await freshDbs();
    const script = path.join(REPO, 'scripts/apply_migrations_cockroach.sh');
    expect(fs.statSync(script).mode & 0o111).not.toBe(0);
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'cesar-wrap-'));
    tmpDirs.push(cwd);
    const env = { PATH: process.env.PATH ?? '', HOME: os.tmpdir(), LOCAL_DB_URL: d.localUrl, COCKROACH_DB_URL: d.cloudUrl };
    const { stdout } = await promisify(execFile)(script, ['--json'], { cwd, env });
    const doc = JSON.parse(stdout);
    expect(doc.targets.map((t: { target: string }) => t.target)).toEqual(['cloud']);
    expect(doc.targets[0].applied).toHaveLength(11);
    expect(await sql(d.localUrl, "SELECT 1 FROM information_schema.tables WHERE table_name = 'schema_migrations'")).toHaveLength(0);
    const status = await promisify(execFile)(script, ['--status', '--json'], { cwd, env });
    expect(JSON.parse(status.stdout).targets[0].counts.applied).toBe(11);
  });

  it("upgrades the old shell runner's schema_migrations (name, applied_at) and adopts its rows", async () => {
    const d = await freshDbs();
    const env = { LOCAL_DB_URL: d.localUrl };
    await sql(d.localUrl, 'CREATE TABLE schema_migrations (migration_name VARCHAR(255) PRIMARY KEY, applied_at TIMESTAMP DEFAULT now())');
    await sql(d.localUrl, fs.readFileSync(path.join(MIGRATIONS, NAMES[0]!), 'utf8'));
    await sql(d.localUrl, "INSERT INTO schema_migrations (migration_name) VALUES ('001_phase_a_foundation')");
    const status = JSON.parse((await runCli(['migrate', '--target', 'local', '--status', '--json'], env)).stdout).targets[0];
    expect(status.counts).toMatchObject({ applied: 1, pending: 10 });
    expect(status.migrations[0]).toMatchObject({ state: 'applied', recordedChecksum: null });
    const r = await runCli(['migrate', '--target', 'local', '--json'], env);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).targets[0].applied).toHaveLength(10);
    const rows = await sql<{ status: string; checksum: string }>(d.localUrl, 'SELECT status, checksum FROM schema_migrations ORDER BY migration_name');
    expect(rows).toHaveLength(11);
    expect(rows.every((x) => x.status === 'applied' && /^[0-9a-f]{64}$/.test(x.checksum))).toBe(true);
  });
});
