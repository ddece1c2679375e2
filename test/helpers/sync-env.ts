import { openDb, type Db } from '../../src/db/pool.js';
import { EventBus } from '../../src/events/bus.js';
import { SyncEngine, type EngineOptions } from '../../src/sync/engine.js';
import { createTestDatabases, sql, type TestDatabases } from './databases.js';
import { applySchema } from './schema.js';

/** Two databases with the schema, pools on them, and an engine: what most sync tests need. */
export interface SyncEnv {
  dbs: TestDatabases;
  local: Db;
  cloud: Db;
  bus: EventBus;
  engine(options?: Partial<EngineOptions>): SyncEngine;
  /** Empties every synced table and cesar's bookkeeping, on both sides. */
  reset(): Promise<void>;
  close(): Promise<void>;
}

const OPTS = { connectTimeoutMs: 5000, statementTimeoutMs: 30_000 };

/** Fast engine settings for tests: no overlap needed on the real server's admin role, quick retries. */
export const TEST_ENGINE: Partial<EngineOptions> = { overlapMs: 200, retry: { maxAttempts: 20, baseDelayMs: 5, maxDelayMs: 200 } };

/** Creates the databases, applies the schema to both, opens pools. */
export async function createSyncEnv(options: { injectRate?: number; cloudUrl?: (dbs: TestDatabases) => string } = {}): Promise<SyncEnv> {
  const dbs = await createTestDatabases(options.injectRate ? { injectRate: options.injectRate } : {});
  await applySchema(dbs.localUrl);
  await applySchema(dbs.cloudUrl);
  const local = openDb('local', dbs.localUrl, OPTS);
  const cloud = openDb('cloud', options.cloudUrl ? options.cloudUrl(dbs) : dbs.cloudUrl, OPTS);
  const bus = new EventBus(5000);
  return {
    dbs,
    local,
    cloud,
    bus,
    engine: (o = {}) => new SyncEngine(local, cloud, bus, { ...TEST_ENGINE, ...o }),
    async reset() {
      for (const url of [dbs.localUrl, dbs.cloudUrl]) {
        await sql(url, 'TRUNCATE agents, llm_models CASCADE');
      }
      for (const t of ['sync_state', 'sync_conflicts', 'sync_errors', 'sync_base', 'sync_acks']) {
        await sql(dbs.localUrl, `DELETE FROM ${t}`).catch(() => undefined);
      }
      await sql(dbs.cloudAdminUrl, 'DELETE FROM cesar_changes').catch(() => undefined);
    },
    async close() {
      await local.close();
      await cloud.close();
      await dbs.drop();
    },
  };
}

/** `id -> row as JSON text` of a table, for comparing sides and snapshots. */
export async function snapshot(db: Db, table = 'agents'): Promise<Map<string, string>> {
  const { rows } = await db.query<{ id: string; doc: string }>(`SELECT id::text AS id, row_to_json(t)::text AS doc FROM ${table} t ORDER BY id`);
  return new Map(rows.map((r) => [r.id, r.doc]));
}
