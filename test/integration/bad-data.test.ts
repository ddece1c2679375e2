import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { createTestDatabases, sql, type TestDatabases } from '../helpers/databases.js';
import { applySchema } from '../helpers/schema.js';

// Bad data between the two sides (issue 8), through the built CLI as an operator meets it:
// schema drift (a table missing on one side, a column type that differs), rows that violate a
// constraint of the other side (in both directions, and a child whose parent is refused), and
// migration files that are not portable or not text. Each goes to a visible error state (exit
// code, sync_state, sync_errors, cesar status, cesar verify) while the rest of the data syncs.
// Already covered: a column only on one side (sync.test.ts, engine), a CHECK refused by the cloud
// (sync.test.ts, engine); edited, missing, out-of-order and unparsable migration files
// (migrate.test.ts), a statement failing mid-file (migrate-failure.test.ts), lint (migrate-cli.test.ts).

const real = process.env.CESAR_TEST_BACKEND !== 'embedded';
// every test here starts cesar processes; other suites share the machine's two cores
vi.setConfig({ testTimeout: 90_000 });
// each test runs several cesar processes one after the other: generous on a loaded machine
const SLOW = 120_000;
let dbs: TestDatabases;
let env: Record<string, string>;

beforeAll(async () => {
  dbs = await createTestDatabases();
  await applySchema(dbs.localUrl);
  await applySchema(dbs.cloudUrl);
  // long connect timeout: on a loaded machine a connection can take seconds
  env = { LOCAL_DB_URL: dbs.localUrl, COCKROACH_DB_URL: dbs.cloudUrl, CESAR_SYNC_OVERLAP: '0s', CESAR_CONNECT_TIMEOUT: '30s' };
}, 60_000);

afterAll(async () => {
  await dbs?.drop();
});

interface TableReport {
  table: string;
  direction: 'up' | 'down';
  status: string;
  error?: string;
  counts: { read: number; applied: number; errors: number };
}
interface PassJson {
  ok: boolean;
  tables: TableReport[];
  drift: Record<string, string>;
}

async function syncJson(args: string[] = []): Promise<{ code: number | null; doc: PassJson; stderr: string }> {
  const r = await runCli(['sync', '--json', ...args], env, { timeoutMs: 90_000 });
  let doc: PassJson;
  try {
    doc = JSON.parse(r.stdout) as PassJson;
  } catch {
    throw new Error(`cesar sync --json ${args.join(' ')} exited ${r.code} without a report; stderr: ${r.stderr.slice(0, 2000)}`);
  }
  return { code: r.code, doc, stderr: r.stderr };
}
const report = (doc: PassJson, table: string, direction: 'up' | 'down'): TableReport | undefined => doc.tables.find((t) => t.table === table && t.direction === direction);
const count = async (url: string, table: string, where = 'true'): Promise<number> => Number((await sql<{ n: string }>(url, `SELECT count(*) AS n FROM ${table} WHERE ${where}`))[0]!.n);
const parked = (table: string) => sql<{ row_id: string; direction: string; sql_state: string; message: string }>(dbs.localUrl, 'SELECT row_id::text AS row_id, direction, sql_state, message FROM sync_errors WHERE table_name = $1 ORDER BY row_id', [table]);
const insertAgents = (url: string, prefix: string, n: number) =>
  sql(url, `INSERT INTO agents (name, agent_type, description) SELECT $1 || g, 'worker', 'short' FROM generate_series(1, $2::int) g`, [prefix, n]);

/** The tables these passes are about (a full pass over 31 tables is slow on a loaded machine); the last test runs a full one. */
const ONLY = ['--table', 'agents', '--table', 'agent_sessions'];

describe('schema drift', () => {
  it('a table missing in the cloud: that table is refused as drift (exit 1, sync_state, status, verify), every other table syncs', async () => {
    await sql(dbs.cloudAdminUrl, 'DROP TABLE replay_events'); // a leaf: nothing references it
    try {
      await dropped();
    } finally {
      // the migration file is applied again on the cloud
      await applySchema(dbs.cloudUrl, ['011_hippocampal_replay_tracking.sql']);
    }
    const fixed = await syncJson();
    expect(fixed.doc.drift).toEqual({});
    expect(fixed.code).toBe(0);
  }, SLOW);

  async function dropped(): Promise<void> {
    await insertAgents(dbs.localUrl, 'drift-', 4);
    const { code, doc } = await syncJson();
    expect(code).toBe(1);
    expect(doc.ok).toBe(false);
    expect(doc.drift.replay_events).toBe('table replay_events exists only in the local database');
    expect(report(doc, 'agents', 'up')).toMatchObject({ status: 'ok', counts: { applied: 4 } });
    expect(await count(dbs.cloudAdminUrl, 'agents')).toBe(4);
    const [state] = await sql<{ status: string; last_error: string }>(dbs.localUrl, "SELECT status, last_error FROM sync_state WHERE table_name = 'replay_events' AND direction = 'up'");
    expect(state).toMatchObject({ status: 'drift', last_error: expect.stringContaining('exists only in the local database') });

    const status = JSON.parse((await runCli(['status', '--json'], env)).stdout) as { sync: Array<{ table: string; status: string; lastError: string | null }> };
    // the difference is shown with the status (it was left out: only 'error' rows showed their last error)
    expect(status.sync.find((s) => s.table === 'replay_events')).toMatchObject({ status: 'drift', lastError: expect.stringMatching(/^(up|down): table replay_events exists only in the local database$/) });
    const verify = await runCli(['verify', '--json', '--table', 'replay_events', '--table', 'agents'], env);
    expect(verify.code).toBe(1);
    const v = JSON.parse(verify.stdout) as { clean: boolean; drift: Array<{ table: string; why: string }>; tables: Array<{ table: string }> };
    expect(v.drift).toEqual([{ table: 'replay_events', why: 'table replay_events exists only in the local database' }]);
    expect(v.tables.map((t) => t.table)).toEqual(['agents']);
  }

  it('a column whose type differs (TEXT locally, VARCHAR(8) in the cloud) is not drift: rows that do not fit are parked with their SQLSTATE, the rest sync', async () => {
    await sql(dbs.cloudAdminUrl, 'ALTER TABLE agents ALTER COLUMN description TYPE VARCHAR(8)');
    try {
      await insertAgents(dbs.localUrl, 'fits-', 5);
      await sql(dbs.localUrl, "INSERT INTO agents (name, agent_type, description) VALUES ('too-long-1', 'worker', 'a description longer than eight'), ('too-long-2', 'worker', 'another long one')");
      const { code, doc } = await syncJson(['--direction', 'up', ...ONLY]);
      const up = report(doc, 'agents', 'up')!;
      expect(up.counts).toMatchObject({ applied: 5, errors: 2 });
      expect(doc.drift).toEqual({});
      const rows = await parked('agents');
      expect(rows).toHaveLength(2);
      expect(rows.every((r) => r.sql_state === '22001' && r.direction === 'up')).toBe(true);
      expect(await count(dbs.cloudAdminUrl, 'agents', "name LIKE 'fits-%'")).toBe(5);
      expect(await count(dbs.cloudAdminUrl, 'agents', "name LIKE 'too-long-%'")).toBe(0);
      // observed: a pass whose only problem is parked rows exits 0 (the table synced; the rows wait in sync_errors)
      expect(code).toBe(0);
    } finally {
      await sql(dbs.cloudAdminUrl, 'ALTER TABLE agents ALTER COLUMN description TYPE TEXT');
    }
    // parked rows are retried every pass: once the column fits, they go through
    const again = await syncJson(['--direction', 'up', ...ONLY]);
    expect(again.code).toBe(0);
    expect(await parked('agents')).toEqual([]);
    expect(await count(dbs.cloudAdminUrl, 'agents', "name LIKE 'too-long-%'")).toBe(2);
  }, SLOW);
});

describe('rows that violate a constraint on the other side', () => {
  it('down: a CHECK only the local side has parks those cloud rows locally (23514), visible in sync_errors, sync_state and every pass report; the other rows arrive', async () => {
    await sql(dbs.localUrl, "ALTER TABLE agents ADD CONSTRAINT local_no_evil CHECK (name NOT LIKE 'evil-%')");
    try {
      await insertAgents(dbs.cloudUrl, 'cloud-good-', 10);
      await insertAgents(dbs.cloudUrl, 'evil-', 2);
      const { code, doc } = await syncJson(['--direction', 'down', ...ONLY]);
      expect(code).toBe(0);
      expect(report(doc, 'agents', 'down')!.counts).toMatchObject({ applied: 10, errors: 2 });
      const rows = (await parked('agents')).filter((r) => r.direction === 'down');
      expect(rows).toHaveLength(2);
      expect(rows.every((r) => r.sql_state === '23514' && r.message.includes('local_no_evil'))).toBe(true);
      expect(await count(dbs.localUrl, 'agents', "name LIKE 'cloud-good-%'")).toBe(10);
      // parked rows are retried every pass, and each pass reports them (cesar status has no column for
      // them). The text report said "Nothing to sync: both sides are up to date." here before the fix.
      const again = await runCli(['sync', '--direction', 'down', ...ONLY], env);
      expect(again.code).toBe(0);
      expect(again.stdout).not.toContain('Nothing to sync');
      expect(again.stdout).toMatch(/^agents\s+down\s+ok\s+0\s+0\s+0\s+0\s+0\s+0\s+2\s/m);
      expect(again.stdout).toContain('2 row errors');
      const [state] = await sql<{ total_errors: string }>(dbs.localUrl, "SELECT total_errors FROM sync_state WHERE table_name = 'agents' AND direction = 'down'");
      expect(Number(state!.total_errors)).toBeGreaterThanOrEqual(2);
    } finally {
      await sql(dbs.localUrl, 'ALTER TABLE agents DROP CONSTRAINT local_no_evil');
    }
    expect((await syncJson(['--direction', 'down', ...ONLY])).code).toBe(0);
    expect(await parked('agents')).toEqual([]);
    expect(await count(dbs.localUrl, 'agents', "name LIKE 'evil-%'")).toBe(2);
  }, SLOW);

  it.skipIf(!real)('up: a parent refused by the cloud parks it (23514) and its child (23503, foreign key); the sibling rows and children sync; both follow once fixed', async () => {
    await sql(dbs.cloudAdminUrl, "ALTER TABLE agents ADD CONSTRAINT cloud_no_bad_parent CHECK (name <> 'bad-parent')");
    try {
      const [bad] = await sql<{ id: string }>(dbs.localUrl, "INSERT INTO agents (name, agent_type) VALUES ('bad-parent', 'worker') RETURNING id::text AS id");
      const [good] = await sql<{ id: string }>(dbs.localUrl, "INSERT INTO agents (name, agent_type) VALUES ('good-parent', 'worker') RETURNING id::text AS id");
      await sql(dbs.localUrl, 'INSERT INTO agent_sessions (agent_id, host_name) VALUES ($1, $2), ($3, $4), ($3, $5)', [bad!.id, 'orphan-session', good!.id, 'good-session-1', 'good-session-2']);
      const { code, doc } = await syncJson(['--direction', 'up', ...ONLY]);
      expect(code).toBe(0);
      expect(report(doc, 'agents', 'up')!.counts.errors).toBe(1);
      expect(report(doc, 'agent_sessions', 'up')!.counts).toMatchObject({ applied: 2, errors: 1 });
      expect((await parked('agents')).filter((r) => r.direction === 'up').map((r) => [r.row_id, r.sql_state])).toEqual([[bad!.id, '23514']]);
      expect((await parked('agent_sessions')).map((r) => [r.direction, r.sql_state])).toEqual([['up', '23503']]);
      expect(await count(dbs.cloudAdminUrl, 'agent_sessions', "host_name LIKE 'good-session-%'")).toBe(2);
    } finally {
      await sql(dbs.cloudAdminUrl, 'ALTER TABLE agents DROP CONSTRAINT cloud_no_bad_parent');
    }
    // parents are applied before children within a pass, so one pass brings both
    expect((await syncJson(['--direction', 'up', ...ONLY])).code).toBe(0);
    expect(await parked('agents')).toEqual([]);
    expect(await parked('agent_sessions')).toEqual([]);
    expect(await count(dbs.cloudAdminUrl, 'agent_sessions', "host_name = 'orphan-session'")).toBe(1);
  }, SLOW);

  it('after all of the above, a full pass converges and cesar verify finds both sides identical', async () => {
    expect((await syncJson()).code).toBe(0);
    const verify = await runCli(['verify'], env);
    expect(verify.stdout).toContain('Both databases hold the same rows.');
    expect(verify.code).toBe(0);
  }, SLOW);
});

describe('migration files that are not portable, or not SQL', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
  const folder = (files: Record<string, string | Buffer>): string => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'cesar-badmig-'));
    dirs.push(d);
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(d, name), text);
    return d;
  };
  const ok = (t: string) => `CREATE TABLE IF NOT EXISTS ${t} (id UUID PRIMARY KEY DEFAULT gen_random_uuid());\n`;
  let d: TestDatabases;
  beforeAll(async () => {
    d = await createTestDatabases();
  });
  afterAll(async () => {
    await d?.drop();
  });

  it('a file of binary garbage, and one in another encoding, refuse the run before anything is executed', async () => {
    for (const [name, content] of [
      ['002_binary.sql', Buffer.from([0x00, 0x01, 0xff, 0xfe, 0x43, 0x52, 0x45, 0x41, 0x54, 0x45, 0x0a, 0x89, 0x50, 0x4e, 0x47])],
      ['002_utf16.sql', Buffer.from(`\uFEFF${ok('np_utf16')}`, 'utf16le')],
    ] as Array<[string, Buffer]>) {
      const dir = folder({ '001_ok.sql': ok('np_first'), [name]: content });
      const r = await runCli(['migrate', '--dir', dir], { LOCAL_DB_URL: d.localUrl, COCKROACH_DB_URL: d.cloudUrl });
      expect(r.code, name).toBe(1);
      expect(r.stdout).toContain(`${name} cannot be parsed`);
      for (const url of [d.localUrl, d.cloudAdminUrl]) expect(await sql(url, "SELECT 1 FROM information_schema.tables WHERE table_name IN ('np_first', 'schema_migrations')")).toEqual([]);
    }
  }, SLOW);

  it.skipIf(!real)('a non-portable construct (SERIAL): --lint names it; a run applies it on PostgreSQL but the cloud refuses it (0A000), marks it failed and blocks what follows there', async () => {
    const dir = folder({ '001_ok.sql': ok('np_one'), '002_serial.sql': 'CREATE TABLE IF NOT EXISTS np_serial (\n  id SERIAL PRIMARY KEY\n);\n', '003_after.sql': ok('np_three') });
    const lint = await runCli(['migrate', '--lint', '--dir', dir]);
    expect(lint.code).toBe(1);
    expect(lint.stdout).toContain(`${path.join(dir, '002_serial.sql')}:2: serial: `);
    const r = await runCli(['migrate', '--dir', dir, '--json'], { LOCAL_DB_URL: d.localUrl, COCKROACH_DB_URL: d.cloudUrl });
    expect(r.code).toBe(1);
    const [local, cloud] = (JSON.parse(r.stdout) as { targets: Array<{ target: string; ok: boolean; applied: Array<{ name: string }>; failed: { name: string; error: string } | null; blocked: string[] }> }).targets;
    expect(local).toMatchObject({ target: 'local', ok: true, failed: null });
    expect(local!.applied.map((a) => a.name)).toEqual(['001_ok', '002_serial', '003_after']);
    expect(cloud).toMatchObject({ target: 'cloud', ok: false, blocked: ['003_after'] });
    expect(cloud!.failed).toMatchObject({ name: '002_serial', error: expect.stringMatching(/SERIAL.*\[0A000\]/) });
    expect(await sql(d.cloudAdminUrl, "SELECT status FROM schema_migrations WHERE migration_name = '002_serial'")).toEqual([{ status: 'failed' }]);
    expect(await sql(d.cloudAdminUrl, "SELECT 1 FROM information_schema.tables WHERE table_name IN ('np_serial', 'np_three')")).toEqual([]);
  }, SLOW);
});
