import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { createTestDatabases, REPO, sql, type TestDatabases } from '../helpers/databases.js';

const MIGRATIONS = path.join(REPO, 'migrations');
const NAMES = fs.readdirSync(MIGRATIONS).filter((f) => f.endsWith('.sql')).sort().map((f) => f.replace(/\.sql$/, ''));
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

/** A temporary copy of the real migrations folder. */
function copyOfMigrations(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cesar-mig-'));
  tmpDirs.push(dir);
  for (const f of fs.readdirSync(MIGRATIONS)) fs.copyFileSync(path.join(MIGRATIONS, f), path.join(dir, f));
  return dir;
}

const migrate = (d: TestDatabases, args: string[], env: Record<string, string> = {}) =>
  runCli(['migrate', ...args], { LOCAL_DB_URL: d.localUrl, COCKROACH_DB_URL: d.cloudUrl, ...env });

/** Both databases as a superuser sees them. */
const urls = (d: TestDatabases) => [d.localUrl, d.cloudAdminUrl];

async function history(url: string): Promise<Array<Record<string, unknown>>> {
  return sql(url, 'SELECT * FROM schema_migrations ORDER BY migration_name');
}

async function catalog(url: string): Promise<string[]> {
  const rows = await sql<{ k: string }>(
    url,
    `SELECT 't:' || table_schema || '.' || table_name AS k FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema')
     UNION ALL SELECT 'c:' || table_schema || '.' || table_name || '.' || column_name || ':' || data_type FROM information_schema.columns WHERE table_schema NOT IN ('pg_catalog', 'information_schema')
     UNION ALL SELECT 'i:' || schemaname || '.' || indexname FROM pg_indexes WHERE schemaname NOT IN ('pg_catalog', 'information_schema')
     ORDER BY 1`,
  );
  return rows.map((r) => r.k);
}

describe('cesar migrate on fresh databases', () => {
  let d: TestDatabases;
  beforeAll(async () => {
    d = await freshDbs();
  });

  it('status before anything: 11 pending per target, nothing created', async () => {
    const r = await migrate(d, ['--status', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ mode: 'status', ok: true });
    expect(doc.targets.map((t: { target: string }) => t.target)).toEqual(['local', 'cloud']);
    for (const t of doc.targets) {
      expect(t).toMatchObject({ ok: true, historyTable: false, lease: null, problems: [] });
      expect(t.counts).toMatchObject({ applied: 0, pending: 11, modified: 0, failed: 0, running: 0, missing: 0 });
      expect(t.migrations.map((m: { name: string }) => m.name)).toEqual(NAMES);
      expect(t.migrations[0]).toMatchObject({ state: 'pending', appliedAt: null, recordedChecksum: null });
      expect(t.migrations[0].checksum).toMatch(/^[0-9a-f]{64}$/);
    }
  });

  it('--dry-run writes nothing anywhere and prints the SQL per target', async () => {
    const before = await Promise.all(urls(d).map(catalog));
    const r = await migrate(d, ['--dry-run']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('dry run');
    expect(r.stdout).toContain('CREATE TABLE IF NOT EXISTS agents (');
    expect(r.stdout.match(/would apply 001_phase_a_foundation/g)).toHaveLength(2);
    expect(r.stdout).toMatch(/-- 001_phase_a_foundation: statement 1 of \d+, line 8/);
    const after = await Promise.all(urls(d).map(catalog));
    expect(after).toEqual(before);
    for (const cat of after) {
      expect(cat).not.toContain('t:public.schema_migrations');
      expect(cat).not.toContain('t:public.cesar_leases');
    }
    const json = JSON.parse((await migrate(d, ['--dry-run', '--json'])).stdout);
    expect(json.mode).toBe('dry-run');
    const plan = json.targets[1].plan;
    expect(plan.map((p: { name: string }) => p.name)).toEqual(NAMES);
    expect(plan[0]).toMatchObject({ action: 'apply' });
    expect(plan[0].statements[0]).toMatchObject({ index: 1, line: 8 });
    expect(plan[0].statements[0].sql).toMatch(/^CREATE TABLE IF NOT EXISTS agents/);
  });

  it('applies all 11 on both, then a re-run applies 0', async () => {
    const r = await migrate(d, ['--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ mode: 'apply', ok: true });
    for (const t of doc.targets) {
      expect(t.applied.map((a: { name: string }) => a.name)).toEqual(NAMES);
      expect(t).toMatchObject({ ok: true, failed: null, blocked: [], skipped: [] });
    }
    for (const url of urls(d)) {
      const rows = await history(url);
      expect(rows.map((x) => x.migration_name)).toEqual(NAMES);
      for (const row of rows) {
        expect(row.status).toBe('applied');
        expect(row.checksum).toMatch(/^[0-9a-f]{64}$/);
        expect(row.statements_done).toBe(row.statements_total);
        expect(row.applied_by).toMatch(/^.+:\d+$/);
        expect(row.error).toBeNull();
      }
      expect(await sql(url, "SELECT 1 FROM information_schema.tables WHERE table_name = 'agents'")).toHaveLength(1);
      // the operator's command from the seed documentation still works, and the lease was released
      expect(await sql(url, 'SELECT * FROM schema_migrations ORDER BY applied_at DESC;')).toHaveLength(11);
      expect(await sql(url, 'SELECT * FROM cesar_leases')).toHaveLength(0);
    }
    const again = await migrate(d, ['--json']);
    expect(again.code).toBe(0);
    for (const t of JSON.parse(again.stdout).targets) expect(t.applied).toEqual([]);
    const text = await migrate(d, []);
    expect(text.stdout).toMatch(/^local \(.*\)\n  up to date: 11 of 11 applied/m);
  });

  it('status after: 11 applied per target with the time applied', async () => {
    const r = await migrate(d, ['--status', '--json']);
    expect(r.code).toBe(0);
    for (const t of JSON.parse(r.stdout).targets) {
      expect(t.counts).toMatchObject({ applied: 11, pending: 0 });
      expect(t.historyTable).toBe(true);
      for (const m of t.migrations) {
        expect(m.state).toBe('applied');
        expect(m.recordedChecksum).toBe(m.checksum);
        expect(m.appliedAt).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d/);
      }
    }
    const text = await migrate(d, ['--status', '--target', 'cloud']);
    expect(text.stdout).toMatch(/^ {2}MIGRATION\s+STATE\s+APPLIED AT\s+DETAIL$/m);
    expect(text.stdout).toMatch(/^ {2}001_phase_a_foundation\s+applied\s+\d{4}-/m);
    expect(text.stdout).toContain('11 applied, 0 pending');
    expect(text.stdout).not.toMatch(/^local/m);
  });

  it('DELETE of one history row re-applies exactly that migration', async () => {
    const name = '003_phase_b_cognitive_memory';
    for (const url of urls(d)) await sql(url, `DELETE FROM schema_migrations WHERE migration_name = '${name}';`);
    const status = JSON.parse((await migrate(d, ['--status', '--json'])).stdout);
    for (const t of status.targets) {
      expect(t.problems).toEqual([]);
      expect(t.migrations.find((m: { name: string }) => m.name === name).state).toBe('pending');
    }
    const r = await migrate(d, ['--json']);
    expect(r.code).toBe(0);
    for (const t of JSON.parse(r.stdout).targets) expect(t.applied.map((a: { name: string }) => a.name)).toEqual([name]);
    for (const url of urls(d)) expect((await history(url)).every((x) => x.status === 'applied')).toBe(true);
  });
});

describe('checks that refuse a run', () => {
  let d: TestDatabases;
  let dir: string;
  beforeAll(async () => {
    d = await freshDbs();
    dir = copyOfMigrations();
    expect((await migrate(d, ['--dir', dir])).code).toBe(0);
  });

  it('an edited applied file: refused naming the file and both checksums, nothing executed', async () => {
    const file = path.join(dir, '002_routing_rules.sql');
    const original = fs.readFileSync(file, 'utf8');
    const before = await Promise.all(urls(d).map(history));
    try {
      fs.appendFileSync(file, '\n-- an innocent-looking edit\n');
      fs.writeFileSync(path.join(dir, '012_new.sql'), 'CREATE TABLE IF NOT EXISTS should_not_exist (id UUID PRIMARY KEY DEFAULT gen_random_uuid());\n');
      const recorded = String(before[0]!.find((x) => x.migration_name === '002_routing_rules')!.checksum);
      for (const args of [[], ['--dry-run']]) {
        const r = await migrate(d, ['--dir', dir, ...args]);
        expect(r.code).toBe(1);
        expect(r.stdout).toContain('002_routing_rules.sql was edited after it was applied');
        expect(r.stdout).toContain(recorded);
        const json = JSON.parse((await migrate(d, ['--dir', dir, '--json', ...args])).stdout);
        const problem = json.targets[0].problems[0];
        expect(problem).toMatchObject({ kind: 'modified', name: '002_routing_rules' });
        const current = json.targets[0].migrations.find((m: { name: string }) => m.name === '002_routing_rules').checksum;
        expect(current).not.toBe(recorded);
        expect(problem.message).toContain(current);
      }
      expect(await Promise.all(urls(d).map(history))).toEqual(before);
      for (const url of urls(d)) expect(await sql(url, "SELECT 1 FROM information_schema.tables WHERE table_name = 'should_not_exist'")).toHaveLength(0);
      const status = await migrate(d, ['--dir', dir, '--status']);
      expect(status.code).toBe(1);
      expect(status.stdout).toMatch(/002_routing_rules\s+modified/);
    } finally {
      fs.writeFileSync(file, original);
      fs.rmSync(path.join(dir, '012_new.sql'));
    }
  });

  it('CRLF line endings do not count as an edit', async () => {
    const file = path.join(dir, '004_phase_c_knowledge_graph.sql');
    const original = fs.readFileSync(file, 'utf8');
    try {
      fs.writeFileSync(file, original.replace(/\n/g, '\r\n'));
      const r = await migrate(d, ['--dir', dir]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('up to date');
    } finally {
      fs.writeFileSync(file, original);
    }
  });

  it('a file applied in the database but missing from the folder is reported', async () => {
    const file = path.join(dir, '011_hippocampal_replay_tracking.sql');
    const saved = fs.readFileSync(file);
    try {
      fs.rmSync(file);
      const r = await migrate(d, ['--dir', dir]);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain('011_hippocampal_replay_tracking is recorded in schema_migrations (applied at');
      expect(r.stdout).toContain('is not in the migrations folder');
      const status = JSON.parse((await migrate(d, ['--dir', dir, '--status', '--json'])).stdout);
      expect(status.targets[1].counts).toMatchObject({ applied: 10, missing: 1 });
    } finally {
      fs.writeFileSync(file, saved);
    }
  });

  it('a pending file that sorts before an applied one is reported', async () => {
    const file = path.join(dir, '005a_late_branch.sql');
    try {
      fs.writeFileSync(file, 'CREATE TABLE IF NOT EXISTS late_branch (id UUID PRIMARY KEY DEFAULT gen_random_uuid());\n');
      const r = await migrate(d, ['--dir', dir]);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain('005a_late_branch.sql is pending but sorts before 006_phase_e_continual_learning');
      expect(r.stdout).toContain('sorts after 011_hippocampal_replay_tracking');
      for (const url of urls(d)) expect(await sql(url, "SELECT 1 FROM information_schema.tables WHERE table_name = 'late_branch'")).toHaveLength(0);
      const status = await migrate(d, ['--dir', dir, '--status']);
      expect(status.stdout).toMatch(/005a_late_branch\s+pending\s+-\s+OUT OF ORDER/);
    } finally {
      fs.rmSync(file);
    }
  });

  it('a file the parser rejects refuses the run before anything runs', async () => {
    const file = path.join(dir, '012_broken_syntax.sql');
    try {
      fs.writeFileSync(file, 'CREATE TABLE IF NOT EXISTS ok_table (id UUID PRIMARY KEY);\nCREATE TABLEE nope (id INT4);\n');
      const r = await migrate(d, ['--dir', dir]);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/012_broken_syntax\.sql cannot be parsed: .*line 2/);
      for (const url of urls(d)) expect(await sql(url, "SELECT 1 FROM information_schema.tables WHERE table_name = 'ok_table'")).toHaveLength(0);
    } finally {
      fs.rmSync(file);
    }
  });
});
