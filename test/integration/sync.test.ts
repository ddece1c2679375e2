import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { verifyTable } from '../../src/sync/verify.js';
import { sql } from '../helpers/databases.js';
import { createSyncEnv, snapshot, type SyncEnv } from '../helpers/sync-env.js';

let env: SyncEnv;
beforeAll(async () => {
  env = await createSyncEnv();
}, 120_000);
afterAll(async () => {
  await env?.close();
});
beforeEach(async () => {
  await env.reset();
});

const both = { direction: 'both' as const, deleteScan: 'always' as const };

async function agentsTable() {
  const reg = await env.engine().registry();
  return reg.tables.find((t) => t.name === 'agents')!;
}

async function expectConverged(): Promise<void> {
  const d = await verifyTable(env.local, env.cloud, await agentsTable());
  expect(d).toMatchObject({ missingInCloud: 0, missingInLocal: 0, mismatched: 0 });
  expect(d.localRows).toBe(d.cloudRows);
}

async function insertAgents(url: string, prefix: string, n: number): Promise<void> {
  await sql(url, `INSERT INTO agents (name, agent_type, config) SELECT $1 || g, 'worker', jsonb_build_object('n', g, 'big', 12345678901234567) FROM generate_series(1, $2::int) g`, [prefix, n]);
}

/** xmin of every row: it changes whenever a row is rewritten, even with identical content. */
async function versions(url: string): Promise<string> {
  const rows = await sql<{ id: string; xmin: string }>(url, 'SELECT id::text, xmin::text FROM agents ORDER BY id');
  return rows.map((r) => `${r.id}:${r.xmin}`).join(',');
}

describe('sync passes', () => {
  it('copies new rows both ways, keeping updated_at to the microsecond and int8 digits', async () => {
    await insertAgents(env.dbs.localUrl, 'l', 120);
    await insertAgents(env.dbs.cloudUrl, 'c', 80);
    await sql(env.dbs.localUrl, "UPDATE agents SET updated_at = '2024-05-06 07:08:09.123456+00' WHERE name = 'l1'");
    const report = await env.engine().runPass(both);
    expect(report.ok).toBe(true);
    const up = report.tables.find((t) => t.table === 'agents' && t.direction === 'up')!;
    const down = report.tables.find((t) => t.table === 'agents' && t.direction === 'down')!;
    expect(up.inserted).toBe(120);
    expect(down.inserted).toBe(80);
    await expectConverged();
    const [row] = await sql<{ ts: string; big: string }>(env.dbs.cloudUrl, "SELECT updated_at::text AS ts, (config->>'big') AS big FROM agents WHERE name = 'l1'");
    expect(row!.ts).toBe('2024-05-06 07:08:09.123456+00');
    expect(row!.big).toBe('12345678901234567');
  });

  it('a re-run writes nothing: no row is rewritten on either side, nothing echoes back', async () => {
    await insertAgents(env.dbs.localUrl, 'l', 50);
    await insertAgents(env.dbs.cloudUrl, 'c', 50);
    await env.engine().runPass(both);
    const before = [await versions(env.dbs.localUrl), await versions(env.dbs.cloudAdminUrl)];
    const again = await env.engine().runPass(both);
    expect(again.totals.applied).toBe(0);
    expect(again.totals.conflicts).toBe(0);
    expect(again.totals.deleted).toBe(0);
    expect([await versions(env.dbs.localUrl), await versions(env.dbs.cloudAdminUrl)]).toEqual(before);
  });

  it('one-way modes move only their direction', async () => {
    await insertAgents(env.dbs.localUrl, 'l', 10);
    await insertAgents(env.dbs.cloudUrl, 'c', 7);
    await env.engine().runPass({ direction: 'up' });
    expect((await snapshot(env.cloud)).size).toBe(17);
    expect((await snapshot(env.local)).size).toBe(10);
    await env.engine().runPass({ direction: 'down' });
    expect((await snapshot(env.local)).size).toBe(17);
  });

  it('--table limits the pass to that table', async () => {
    await insertAgents(env.dbs.localUrl, 'l', 3);
    await sql(env.dbs.localUrl, "INSERT INTO llm_models (name, provider) VALUES ('m', 'ollama')");
    await env.engine().runPass({ direction: 'both', tables: ['llm_models'] });
    expect((await snapshot(env.cloud, 'llm_models')).size).toBe(1);
    expect((await snapshot(env.cloud)).size).toBe(0);
  });
});

describe('page size', () => {
  /** Rows read so far after each page of a pass (the progress events), up only. */
  async function pagesOf(options: Parameters<SyncEnv['engine']>[0]): Promise<number[]> {
    const report = await env.engine(options).runPass({ direction: 'up' });
    return env.bus
      .history()
      .filter((e) => e.type === 'sync.pass.progress' && e.passId === report.passId)
      .map((e) => (e as { read: number }).read);
  }

  it('pages double from the batch size up to 4x while every row applies cleanly, and start again from it after a conflict', async () => {
    await insertAgents(env.dbs.localUrl, 'p', 1000);
    // 100, 200, 400, then the last 300 (a page of 400 that comes back short)
    expect(await pagesOf({ batchSize: 100 })).toEqual([100, 300, 700, 1000]);
    await env.engine().runPass(both); // the down direction reads the cloud once: later cloud edits are changes
    await expectConverged();
    // every row changes locally; the 250th in key order also changes in the cloud, later (a conflict in the second page)
    await sql(env.dbs.localUrl, `UPDATE agents SET status = 'busy', updated_at = clock_timestamp()`);
    const [row] = await sql<{ id: string }>(env.dbs.localUrl, 'SELECT id::text AS id FROM agents ORDER BY updated_at, id OFFSET 249 LIMIT 1');
    await sql(env.dbs.cloudUrl, `UPDATE agents SET status = 'paused', updated_at = clock_timestamp() WHERE id = $1`, [row!.id]);
    // 100 clean, 200 with the conflict (the next page, already being read, is 400), then 200, 400: the
    // 1,001st row is the cloud's winner, written back to local during the pass and read after the others
    expect(await pagesOf({ batchSize: 100 })).toEqual([100, 300, 700, 900, 1001]);
    const [conflict] = await sql<{ winner: string }>(env.dbs.localUrl, 'SELECT winner FROM sync_conflicts WHERE row_id = $1', [row!.id]);
    expect(conflict?.winner).toBe('cloud');
  });

  it('a maximum equal to the batch size keeps pages fixed', async () => {
    await insertAgents(env.dbs.localUrl, 'f', 250);
    expect(await pagesOf({ batchSize: 100, maxBatchSize: 100 })).toEqual([100, 200, 250]);
  });
});

describe('conflicts', () => {
  async function conflictOn(strategy: 'lww' | 'local-wins' | 'cloud-wins', localTs: string, cloudTs: string) {
    await insertAgents(env.dbs.localUrl, 'x', 1);
    await env.engine().runPass(both);
    await sql(env.dbs.localUrl, `UPDATE agents SET status = 'busy', updated_at = $1`, [localTs]);
    await sql(env.dbs.cloudUrl, `UPDATE agents SET status = 'paused', updated_at = $1`, [cloudTs]);
    const report = await env.engine({ defaultStrategy: strategy }).runPass(both);
    const [row] = await sql<{ status: string; ts: string }>(env.dbs.localUrl, 'SELECT status, updated_at::text AS ts FROM agents');
    const logged = await sql<{ winner: string; reason: string; strategy: string; lv: string; cv: string; lts: string; cts: string }>(
      env.dbs.localUrl,
      `SELECT winner, reason, strategy, local_version->>'status' AS lv, cloud_version->>'status' AS cv,
              local_updated_at::text AS lts, cloud_updated_at::text AS cts FROM sync_conflicts`,
    );
    await expectConverged();
    return { report, row: row!, logged };
  }

  it('passes in one direction only (the old cron) log no conflict for rows cesar itself wrote, and still catch a real one', async () => {
    await insertAgents(env.dbs.localUrl, 'o', 50);
    await env.engine().runPass({ direction: 'up' });
    await sql(env.dbs.localUrl, `UPDATE agents SET status = 'busy', updated_at = clock_timestamp()`);
    const second = await env.engine().runPass({ direction: 'up' });
    expect(second.totals).toMatchObject({ applied: 50, conflicts: 0 });
    // a real change in the cloud since: the row changed on both sides
    await sql(env.dbs.cloudUrl, `UPDATE agents SET status = 'paused', updated_at = clock_timestamp() WHERE name = 'o7'`);
    await sql(env.dbs.localUrl, `UPDATE agents SET status = 'idle', updated_at = clock_timestamp() WHERE name = 'o7'`);
    const third = await env.engine().runPass({ direction: 'up' });
    expect(third.totals.conflicts).toBe(1);
    const logged = await sql<{ winner: string; reason: string }>(env.dbs.localUrl, 'SELECT winner, reason FROM sync_conflicts');
    expect(logged).toEqual([{ winner: 'local', reason: 'update-update' }]);
  });

  it('last writer wins at microsecond precision, logged once with both versions', async () => {
    const { report, row, logged } = await conflictOn('lww', '2030-01-01 00:00:00.000002+00', '2030-01-01 00:00:00.000001+00');
    expect(row.status).toBe('busy');
    expect(report.totals.conflicts).toBe(1);
    expect(logged).toEqual([{ winner: 'local', reason: 'update-update', strategy: 'lww', lv: 'busy', cv: 'paused', lts: '2030-01-01 00:00:00.000002+00', cts: '2030-01-01 00:00:00.000001+00' }]);
    const events = env.bus.history().filter((e) => e.type === 'sync.conflict' && e.at >= new Date(Date.now() - 10_000).toISOString());
    expect(events.length).toBeGreaterThanOrEqual(1);
  });

  it('the later cloud version wins too', async () => {
    const { row, logged } = await conflictOn('lww', '2030-01-01 00:00:00.000001+00', '2030-01-01 00:00:00.000002+00');
    expect(row.status).toBe('paused');
    expect(logged.map((l) => l.winner)).toEqual(['cloud']);
  });

  it('equal timestamps: the cloud wins, deterministically', async () => {
    const { row, logged } = await conflictOn('lww', '2030-01-01 00:00:00.5+00', '2030-01-01 00:00:00.5+00');
    expect(row.status).toBe('paused');
    expect(logged).toMatchObject([{ winner: 'cloud', reason: 'tie' }]);
  });

  it('local-wins keeps the older local version on both sides', async () => {
    const { row, logged } = await conflictOn('local-wins', '2030-01-01 00:00:00+00', '2030-01-02 00:00:00+00');
    expect(row.status).toBe('busy');
    expect(logged).toMatchObject([{ winner: 'local', strategy: 'local-wins' }]);
  });

  it('cloud-wins keeps the older cloud version on both sides', async () => {
    const { row, logged } = await conflictOn('cloud-wins', '2030-01-02 00:00:00+00', '2030-01-01 00:00:00+00');
    expect(row.status).toBe('paused');
    expect(logged).toMatchObject([{ winner: 'cloud', strategy: 'cloud-wins' }]);
  });
});

describe('deletes', () => {
  it('soft deletes sync as updates', async () => {
    await insertAgents(env.dbs.localUrl, 'l', 5);
    await env.engine().runPass(both);
    await sql(env.dbs.localUrl, "UPDATE agents SET deleted_at = now(), updated_at = now() WHERE name = 'l3'");
    await env.engine().runPass(both);
    const [row] = await sql<{ deleted: boolean }>(env.dbs.cloudUrl, "SELECT deleted_at IS NOT NULL AS deleted FROM agents WHERE name = 'l3'");
    expect(row!.deleted).toBe(true);
  });

  it('hard deletes propagate both ways, and new rows are never taken for deletes', async () => {
    await insertAgents(env.dbs.localUrl, 'l', 6);
    await env.engine().runPass(both);
    await sql(env.dbs.localUrl, "DELETE FROM agents WHERE name IN ('l1', 'l2')");
    await sql(env.dbs.cloudUrl, "DELETE FROM agents WHERE name = 'l3'");
    // written after the pass on each side: not yet on the other side, and must not be deleted
    await insertAgents(env.dbs.localUrl, 'newlocal', 2);
    await insertAgents(env.dbs.cloudUrl, 'newcloud', 2);
    const report = await env.engine().runPass(both);
    expect(report.totals.deleted).toBe(3);
    const names = async (url: string) => (await sql<{ name: string }>(url, 'SELECT name FROM agents ORDER BY name')).map((r) => r.name);
    const expected = ['l4', 'l5', 'l6', 'newcloud1', 'newcloud2', 'newlocal1', 'newlocal2'];
    expect(await names(env.dbs.localUrl)).toEqual(expected);
    expect(await names(env.dbs.cloudUrl)).toEqual(expected);
  });

  it('delete versus update: an update made after the last pass wins over the delete, and is logged', async () => {
    await insertAgents(env.dbs.localUrl, 'l', 2);
    await env.engine().runPass(both);
    await sql(env.dbs.localUrl, "DELETE FROM agents WHERE name = 'l1'");
    await sql(env.dbs.cloudUrl, "UPDATE agents SET status = 'busy', updated_at = now() + interval '1 second' WHERE name = 'l1'");
    await env.engine().runPass(both);
    const [row] = await sql<{ status: string }>(env.dbs.localUrl, "SELECT status FROM agents WHERE name = 'l1'");
    expect(row?.status).toBe('busy');
    const logged = await sql<{ winner: string; reason: string; lv: unknown }>(env.dbs.localUrl, 'SELECT winner, reason, local_version AS lv FROM sync_conflicts');
    expect(logged).toEqual([{ winner: 'cloud', reason: 'update-delete', lv: null }]);
    await expectConverged();
  });
});

describe('crash safety and re-sync', () => {
  // PGlite serialises transactions across connections: a transaction held open during a pass makes
  // the pass wait for it, so this scenario cannot be set up on the embedded test backend.
  it.skipIf(process.env.CESAR_TEST_BACKEND === 'embedded')('a row committed late (transaction open across a pass) is not lost', async () => {
    await insertAgents(env.dbs.localUrl, 'l', 3);
    const pg = await import('pg');
    const writer = new pg.default.Client({ connectionString: env.dbs.localUrl });
    await writer.connect();
    try {
      await writer.query('BEGIN');
      await writer.query("UPDATE agents SET status = 'busy', updated_at = now() WHERE name = 'l2'");
      await new Promise((r) => setTimeout(r, 50));
      await insertAgents(env.dbs.localUrl, 'after', 2); // committed after the open transaction started
      await env.engine().runPass(both);
      await writer.query('COMMIT');
    } finally {
      await writer.end();
    }
    await env.engine().runPass(both);
    const [row] = await sql<{ status: string }>(env.dbs.cloudUrl, "SELECT status FROM agents WHERE name = 'l2'");
    expect(row!.status).toBe('busy');
    await expectConverged();
  });

  it.skipIf(process.env.CESAR_TEST_BACKEND === 'embedded')('tail passes read only what is new and leave the watermark; the next normal pass finds a late commit', async () => {
    const engine = env.engine(); // one engine: tail passes start where this process last read
    await insertAgents(env.dbs.localUrl, 't', 3);
    await engine.runPass(both);
    const mark = async () => (await sql<{ w: string }>(env.dbs.localUrl, "SELECT watermark_ts::text || ' ' || watermark_id::text AS w FROM sync_state WHERE table_name = 'agents' AND direction = 'up'"))[0]!.w;
    const before = await mark();
    const pg = await import('pg');
    const writer = new pg.default.Client({ connectionString: env.dbs.localUrl });
    await writer.connect();
    try {
      await writer.query('BEGIN');
      await writer.query("UPDATE agents SET status = 'busy', updated_at = now() WHERE name = 't2'");
      await new Promise((r) => setTimeout(r, 50));
      await insertAgents(env.dbs.localUrl, 'new', 2); // committed after the open transaction started
      const first = await engine.runPass({ direction: 'both', tail: true });
      expect(first.totals.applied).toBe(2);
      await writer.query('COMMIT'); // t2's version is older than what the tail pass read
    } finally {
      await writer.end();
    }
    const second = await engine.runPass({ direction: 'both', tail: true });
    expect(second.totals.read).toBe(0); // nothing after the last row read: t2 is behind it
    expect(await mark()).toBe(before); // tail passes never move the watermark
    const [missed] = await sql<{ status: string }>(env.dbs.cloudUrl, "SELECT status FROM agents WHERE name = 't2'");
    expect(missed!.status).not.toBe('busy');
    await engine.runPass(both); // a normal pass re-reads from the watermark
    const [row] = await sql<{ status: string }>(env.dbs.cloudUrl, "SELECT status FROM agents WHERE name = 't2'");
    expect(row!.status).toBe('busy');
    await expectConverged();
  });

  it('DELETE FROM sync_state forces a full re-sync that converges without duplicates', async () => {
    await insertAgents(env.dbs.localUrl, 'l', 40);
    await insertAgents(env.dbs.cloudUrl, 'c', 30);
    await env.engine().runPass(both);
    await sql(env.dbs.localUrl, 'DELETE FROM sync_state');
    await sql(env.dbs.cloudUrl, "UPDATE agents SET status = 'busy', updated_at = now() WHERE name = 'c1'");
    const report = await env.engine().runPass(both);
    expect(report.totals.read).toBeGreaterThanOrEqual(70 * 2);
    expect(report.totals.applied).toBe(1);
    await expectConverged();
    expect((await snapshot(env.local)).size).toBe(70);
  });

  it('dry-run writes nothing at all, not even its bookkeeping tables', async () => {
    await sql(env.dbs.localUrl, 'DROP TABLE IF EXISTS sync_state, sync_conflicts, sync_errors');
    await insertAgents(env.dbs.localUrl, 'l', 5);
    await insertAgents(env.dbs.cloudUrl, 'c', 4);
    const before = [await versions(env.dbs.localUrl), await versions(env.dbs.cloudAdminUrl)];
    const report = await env.engine().runPass({ ...both, dryRun: true });
    expect(report.tables.find((t) => t.table === 'agents' && t.direction === 'up')!.inserted).toBe(5);
    expect(report.tables.find((t) => t.table === 'agents' && t.direction === 'down')!.inserted).toBe(4);
    expect([await versions(env.dbs.localUrl), await versions(env.dbs.cloudAdminUrl)]).toEqual(before);
    const tables = await sql(env.dbs.localUrl, "SELECT 1 FROM information_schema.tables WHERE table_name IN ('sync_state', 'sync_conflicts', 'sync_errors')");
    expect(tables).toEqual([]);
  });
});

describe('bad rows and schema drift', () => {
  it('a row the other side refuses is parked visibly; the rest of the table syncs; it goes through once fixed', async () => {
    await sql(env.dbs.cloudUrl, "ALTER TABLE agents ADD CONSTRAINT no_bad_names CHECK (name <> 'bad')");
    try {
      await insertAgents(env.dbs.localUrl, 'ok', 20);
      await sql(env.dbs.localUrl, "INSERT INTO agents (name, agent_type) VALUES ('bad', 'worker')");
      const report = await env.engine().runPass(both);
      const up = report.tables.find((t) => t.table === 'agents' && t.direction === 'up')!;
      expect(up.counts.applied).toBe(20);
      expect(up.counts.errors).toBe(1);
      const parked = await sql<{ sql_state: string; message: string }>(env.dbs.localUrl, 'SELECT sql_state, message FROM sync_errors');
      expect(parked).toHaveLength(1);
      expect(parked[0]!.sql_state).toBe('23514');
      const [state] = await sql<{ total_errors: string }>(env.dbs.localUrl, "SELECT total_errors FROM sync_state WHERE table_name = 'agents' AND direction = 'up'");
      expect(Number(state!.total_errors)).toBe(1);
    } finally {
      await sql(env.dbs.cloudUrl, 'ALTER TABLE agents DROP CONSTRAINT no_bad_names');
    }
    await env.engine().runPass(both);
    expect(await sql(env.dbs.localUrl, 'SELECT * FROM sync_errors')).toEqual([]);
    await expectConverged();
  });

  it('a table with a column missing on one side is refused with the difference; other tables still sync', async () => {
    await sql(env.dbs.localUrl, 'ALTER TABLE llm_models ADD COLUMN IF NOT EXISTS local_only TEXT');
    try {
      await insertAgents(env.dbs.localUrl, 'l', 3);
      const report = await env.engine().runPass(both);
      expect(report.ok).toBe(false);
      expect(report.drift.llm_models).toContain('local_only only in local');
      expect((await snapshot(env.cloud)).size).toBe(3);
      const [state] = await sql<{ status: string; last_error: string }>(env.dbs.localUrl, "SELECT status, last_error FROM sync_state WHERE table_name = 'llm_models' AND direction = 'up'");
      expect(state).toMatchObject({ status: 'drift' });
      expect(state!.last_error).toContain('local_only');
    } finally {
      await sql(env.dbs.localUrl, 'ALTER TABLE llm_models DROP COLUMN IF EXISTS local_only');
    }
  });
});
