import os from 'node:os';
import { ensureTable, tableExists } from '../db/lease.js';
import type { Db } from '../db/pool.js';
import { withTransaction } from '../db/tx.js';
import type { HistoryRow, HistoryStatus } from './plan.js';

// schema_migrations: one row per migration per database. Operators read it and delete rows
// from it by hand (migrations.md), so its name, key and applied_at column stay as they were.
// Every write is a small transaction through withTransaction: the cloud role is SERIALIZABLE.

export const HISTORY_TABLE = 'schema_migrations';

// Column order is for operators reading `SELECT * ... ORDER BY applied_at DESC`: the long
// checksum goes last.
const TABLE_DDL = `CREATE TABLE IF NOT EXISTS schema_migrations (
  migration_name TEXT PRIMARY KEY,
  status TEXT NOT NULL DEFAULT 'applied' CHECK (status IN ('running', 'applied', 'failed')),
  applied_at TIMESTAMPTZ,
  execution_ms INT8,
  statements_done INT4 NOT NULL DEFAULT 0,
  statements_total INT4 NOT NULL DEFAULT 0,
  error TEXT,
  applied_by TEXT,
  started_at TIMESTAMPTZ,
  previous_migration TEXT,
  checksum TEXT
)`;

// A table left by the old shell runner has only some of these columns: add the rest, with the
// same defaults, so that its rows read as applied migrations of unknown checksum.
const UPGRADE_COLUMNS: Record<string, string> = {
  checksum: 'checksum TEXT',
  status: "status TEXT NOT NULL DEFAULT 'applied' CHECK (status IN ('running', 'applied', 'failed'))",
  started_at: 'started_at TIMESTAMPTZ',
  applied_at: 'applied_at TIMESTAMPTZ',
  execution_ms: 'execution_ms INT8',
  applied_by: 'applied_by TEXT',
  statements_done: 'statements_done INT4 NOT NULL DEFAULT 0',
  statements_total: 'statements_total INT4 NOT NULL DEFAULT 0',
  error: 'error TEXT',
  previous_migration: 'previous_migration TEXT',
};

/** `host:pid`, what applied_by records. */
export function runnerId(): string {
  return `${os.hostname()}:${process.pid}`;
}

/** True when schema_migrations exists (asked through information_schema: creates nothing). */
export function historyExists(db: Db): Promise<boolean> {
  return tableExists(db, HISTORY_TABLE);
}

/** Creates schema_migrations if needed and adds any column an older version of the table lacks. */
export async function ensureHistoryTable(db: Db): Promise<void> {
  await ensureTable(db, HISTORY_TABLE, TABLE_DDL);
  const present = await historyColumns(db);
  for (const [column, definition] of Object.entries(UPGRADE_COLUMNS)) {
    if (!present.has(column)) await db.query(`ALTER TABLE schema_migrations ADD COLUMN IF NOT EXISTS ${definition}`);
  }
}

// Every column but the key, with what a missing one reads as.
const READ_DEFAULTS: Record<string, string> = {
  checksum: 'NULL',
  status: "'applied'",
  started_at: 'NULL',
  applied_at: 'NULL',
  execution_ms: 'NULL',
  applied_by: 'NULL',
  statements_done: '0',
  statements_total: '0',
  error: 'NULL',
  previous_migration: 'NULL',
};

async function historyColumns(db: Db): Promise<Set<string>> {
  const r = await db.query<{ column_name: string }>(
    'SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1',
    [HISTORY_TABLE],
  );
  return new Set(r.rows.map((c) => c.column_name));
}

interface Raw {
  migration_name: string;
  checksum: string | null;
  status: HistoryStatus;
  started_at: string | null;
  applied_at: string | null;
  execution_ms: number | null;
  applied_by: string | null;
  statements_done: number;
  statements_total: number;
  error: string | null;
  previous_migration: string | null;
}

/** Every row of schema_migrations, by name; [] when the table does not exist. */
export async function readHistory(db: Db): Promise<HistoryRow[]> {
  if (!(await historyExists(db))) return [];
  // Read-only callers (status, dry-run) may meet an old runner's table: read what exists, default the rest.
  const present = await historyColumns(db);
  const select = Object.entries(READ_DEFAULTS)
    .map(([column, fallback]) => (present.has(column) ? column : `${fallback} AS ${column}`))
    .join(', ');
  const r = await db.query<Raw>(`SELECT migration_name, ${select} FROM schema_migrations ORDER BY migration_name`);
  return r.rows.map((row) => ({
    name: row.migration_name,
    // an old-runner row has no checksum: it is adopted (set to the file's) on the next run
    checksum: row.checksum ?? '',
    status: row.status,
    startedAt: row.started_at,
    appliedAt: row.applied_at,
    executionMs: row.execution_ms === null ? null : Number(row.execution_ms),
    appliedBy: row.applied_by,
    statementsDone: Number(row.statements_done),
    statementsTotal: Number(row.statements_total),
    error: row.error,
    previous: row.previous_migration,
  }));
}

/** What beginMigration records. */
export interface BeginMigration {
  name: string;
  checksum: string;
  statementsTotal: number;
  /** The file just before this one in the folder, '' for the first. */
  previous: string;
  /** The migration lease that must still be ours (fencing: a runner that lost it writes nothing). */
  lease: { name: string; owner: string };
}

/**
 * Marks a migration `running` from statement 0 (a new row, or a failed/interrupted one re-run).
 * Returns false, writing nothing, when it is already applied or our lease is gone.
 */
export async function beginMigration(db: Db, m: BeginMigration): Promise<boolean> {
  const rows = await withTransaction(db, async (client) => {
    const r = await client.query(
      `INSERT INTO schema_migrations (migration_name, checksum, status, started_at, applied_at, execution_ms, applied_by,
                                      statements_done, statements_total, error, previous_migration)
       SELECT $1::TEXT, $2::TEXT, 'running', now(), NULL, NULL, $3::TEXT, 0, $4::INT4, NULL, $5::TEXT
        WHERE EXISTS (SELECT 1 FROM cesar_leases WHERE name = $6 AND owner = $7 AND expires_at > now())
       ON CONFLICT (migration_name) DO UPDATE SET
         checksum = excluded.checksum, status = 'running', started_at = excluded.started_at, applied_at = NULL,
         execution_ms = NULL, applied_by = excluded.applied_by, statements_done = 0,
         statements_total = excluded.statements_total, error = NULL, previous_migration = excluded.previous_migration
       WHERE schema_migrations.status <> 'applied'
       RETURNING migration_name`,
      [m.name, m.checksum, runnerId(), m.statementsTotal, m.previous, m.lease.name, m.lease.owner],
    );
    return r.rows;
  });
  return rows.length > 0;
}

/** Records that the first `done` statements of a running migration succeeded. */
export async function recordProgress(db: Db, name: string, done: number): Promise<void> {
  await withTransaction(db, async (client) => {
    await client.query("UPDATE schema_migrations SET statements_done = $2 WHERE migration_name = $1 AND status = 'running'", [name, done]);
  });
}

/** Marks a running migration applied. */
export async function markApplied(db: Db, name: string, executionMs: number): Promise<void> {
  await withTransaction(db, async (client) => {
    await client.query(
      `UPDATE schema_migrations SET status = 'applied', applied_at = now(), execution_ms = $2,
              statements_done = statements_total, error = NULL
        WHERE migration_name = $1 AND status = 'running'`,
      [name, Math.round(executionMs)],
    );
  });
}

/** Marks a running migration failed after `done` statements, with the (already redacted) error. */
export async function markFailed(db: Db, name: string, done: number, error: string, executionMs: number): Promise<void> {
  await withTransaction(db, async (client) => {
    await client.query(
      `UPDATE schema_migrations SET status = 'failed', statements_done = $2, error = $3, execution_ms = $4
        WHERE migration_name = $1 AND status = 'running'`,
      [name, done, error, Math.round(executionMs)],
    );
  });
}

/**
 * Marks a failed (or interrupted: `running` while we hold the lease) migration applied with the
 * file's current checksum. Returns the row's status when it was not repairable (undefined: no row).
 */
export async function repairRow(db: Db, name: string, checksum: string): Promise<{ repaired: true } | { repaired: false; status: HistoryStatus | undefined }> {
  return withTransaction(db, async (client) => {
    const r = await client.query(
      `UPDATE schema_migrations SET status = 'applied', checksum = $2, applied_at = now(), applied_by = $3, error = NULL
        WHERE migration_name = $1 AND status IN ('failed', 'running')
        RETURNING migration_name`,
      [name, checksum, `${runnerId()} (--repair)`],
    );
    if (r.rows.length > 0) return { repaired: true as const };
    const s = await client.query<{ status: HistoryStatus }>('SELECT status FROM schema_migrations WHERE migration_name = $1', [name]);
    return { repaired: false as const, status: s.rows[0]?.status };
  });
}

/** Fills in the checksum of applied rows that have none (left by the old shell runner). */
export async function adoptChecksums(db: Db, checksums: ReadonlyArray<{ name: string; checksum: string }>): Promise<void> {
  for (const { name, checksum } of checksums) {
    await withTransaction(db, async (client) => {
      await client.query("UPDATE schema_migrations SET checksum = $2 WHERE migration_name = $1 AND (checksum IS NULL OR checksum = '')", [name, checksum]);
    });
  }
}
