import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { sql } from '../helpers/databases.js';
import { createSyncEnv, type SyncEnv } from '../helpers/sync-env.js';

// `cesar status`: the dashboard's content printed once, from the real binary.

let env: SyncEnv;

function withPassword(url: string, password: string): string {
  const u = new URL(url);
  u.password = password;
  return u.toString();
}

beforeAll(async () => {
  env = await createSyncEnv();
  await sql(env.dbs.localUrl, `INSERT INTO agents (name, agent_type, status) VALUES ('st-1', 'planner', 'idle'), ('st-2', 'worker', 'idle')`);
  await env.engine().runPass({ direction: 'both' });
  // the same agent changed on both sides: one conflict for the next pass
  await sql(env.dbs.localUrl, `UPDATE agents SET status = 'busy', updated_at = now() WHERE name = 'st-1'`);
  await sql(env.dbs.cloudUrl, `UPDATE agents SET status = 'paused', updated_at = now() + interval '1 second' WHERE name = 'st-1'`);
  await env.engine().runPass({ direction: 'both' });
}, 120_000);

afterAll(async () => {
  await env?.close();
});

describe('cesar status', () => {
  it('prints connections, migrations per database, sync state per table and the latest conflicts; exit 0', async () => {
    // a password in the URL must never be printed (the test server trusts local connections, so any will do)
    const r = await runCli(['status'], { LOCAL_DB_URL: withPassword(env.dbs.localUrl, 'Sup3rSecretPw'), COCKROACH_DB_URL: env.dbs.cloudUrl });
    expect(r.code, r.stderr).toBe(0);
    // the embedded test backend (no server reachable) reports its databases as embedded
    const server = process.env.CESAR_TEST_BACKEND === 'embedded' ? 'embedded PostgreSQL' : 'PostgreSQL';
    expect(r.stdout).toMatch(new RegExp(`local\\s+up\\s+${server}`));
    expect(r.stdout).toMatch(new RegExp(`cloud\\s+up\\s+${server}`));
    expect(r.stdout).toContain('Reads: local: development reads the local database.');
    // the schema was applied without the runner's bookkeeping: every file is pending
    expect(r.stdout).toContain('local: 11 pending');
    expect(r.stdout).toMatch(/agents\s+ok\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\s+\d+\s+\d+\s+\S+\s+1/);
    expect(r.stdout).toContain('Latest conflicts (1)');
    expect(r.stdout).toMatch(/agents\s+[0-9a-f-]{36}\s+cloud\s+lww\s+update-update/);
    expect(r.stdout).toContain('Both databases are reachable.');
    expect(r.stdout + r.stderr).not.toContain('Sup3rSecretPw');
  });

  it('--json gives the same content as one document', async () => {
    const r = await runCli(['status', '--json'], { LOCAL_DB_URL: env.dbs.localUrl, COCKROACH_DB_URL: env.dbs.cloudUrl });
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as {
      ok: boolean;
      readSource: { role: string };
      databases: Array<{ role: string; up: boolean; server?: { flavor: string } }>;
      migrations: Record<string, { counts: Record<string, number> }>;
      sync: Array<{ table: string; status: string; conflicts: number; lagSeconds: number | null }>;
      conflicts: Array<{ table: string; winner: string; reason: string }>;
    };
    expect(doc.ok).toBe(true);
    expect(doc.readSource.role).toBe('local');
    expect(doc.databases.map((d) => [d.role, d.up])).toEqual([['local', true], ['cloud', true]]);
    expect(doc.migrations.local!.counts.pending).toBe(11);
    expect(doc.migrations.cloud!.counts.pending).toBe(11);
    const agents = doc.sync.find((s) => s.table === 'agents')!;
    expect(agents).toMatchObject({ status: 'ok', conflicts: 1 });
    expect(agents.lagSeconds).not.toBeNull();
    expect(doc.sync.length).toBeGreaterThan(20);
    expect(doc.conflicts).toHaveLength(1);
    expect(doc.conflicts[0]).toMatchObject({ table: 'agents', winner: 'cloud', reason: 'update-update' });
  });

  it('shows the rows parked in sync_errors: per table, and the latest with their reason', async () => {
    // as the engine parks a row the cloud refused (src/sync/row-errors.ts)
    await sql(env.dbs.localUrl, `INSERT INTO sync_errors (table_name, direction, row_id, sql_state, message, attempts) VALUES ('agents', 'up', '6f1c2d3e-0000-4000-8000-00000000abcd', '23514', 'new row violates check constraint "agents_status_check"', 3)`);
    try {
      const r = await runCli(['status'], { LOCAL_DB_URL: env.dbs.localUrl, COCKROACH_DB_URL: env.dbs.cloudUrl });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/TABLE\s+STATUS\s+LAST PASS\s+UP\s+DOWN\s+LAG\s+CONFLICTS\s+PARKED/);
      expect(r.stdout).toMatch(/agents\s+ok\s+\S+ \S+ UTC\s+\d+\s+\d+\s+\S+\s+1\s+1/);
      expect(r.stdout).toContain('Parked rows: 1 in sync_errors (refused by the other side; retried every pass)');
      expect(r.stdout).toMatch(/agents\s+up\s+6f1c2d3e-0000-4000-8000-00000000abcd\s+23514\s+3\s+new row violates check constraint/);
      const json = await runCli(['status', '--json'], { LOCAL_DB_URL: env.dbs.localUrl, COCKROACH_DB_URL: env.dbs.cloudUrl });
      const doc = JSON.parse(json.stdout) as { parked: { total: number; rows: Array<{ table: string; rowId: string; sqlState: string; attempts: number }> }; sync: Array<{ table: string; parked: number }> };
      expect(doc.parked.total).toBe(1);
      expect(doc.parked.rows[0]).toMatchObject({ table: 'agents', rowId: '6f1c2d3e-0000-4000-8000-00000000abcd', sqlState: '23514', attempts: 3 });
      expect(doc.sync.find((t) => t.table === 'agents')?.parked).toBe(1);
    } finally {
      await sql(env.dbs.localUrl, 'DELETE FROM sync_errors');
    }
  });

  it('exits 1 and says which database is down, showing what it can', async () => {
    const r = await runCli(['status'], { LOCAL_DB_URL: env.dbs.localUrl, COCKROACH_DB_URL: 'postgres://crdb_app@127.0.0.1:1/nowhere', CESAR_CONNECT_TIMEOUT: '2s' });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/cloud\s+DOWN/);
    expect(r.stdout).toContain('cloud: unknown (database not reachable)');
    expect(r.stdout).toContain('Latest conflicts (1)');
    expect(r.stdout).toContain('Not every database is reachable.');
  });

  it('works on the embedded default without starting the demo workload or the scheduler', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cesar-status-'));
    try {
      const r = await runCli(['status', '--json'], { CESAR_DATA_DIR: dataDir }, { timeoutMs: 120_000 });
      expect(r.code, r.stderr).toBe(0);
      const doc = JSON.parse(r.stdout) as { embedded: boolean; ok: boolean; migrations: Record<string, { counts: Record<string, number> }>; conflicts: unknown[] };
      expect(doc.embedded).toBe(true);
      expect(doc.ok).toBe(true);
      // nothing ran: no migrations applied (the background applies them on the embedded demo), so no demo agents either
      expect(doc.migrations.local!.counts.pending).toBe(11);
      expect(doc.migrations.cloud!.counts.pending).toBe(11);
      expect(doc.conflicts).toEqual([]);
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }, 150_000);
});
