import type pg from 'pg';
import type { Db, Queryable } from '../db/pool.js';
import type { Key } from './timestamps.js';

/** A sync direction: up = local to cloud, down = cloud to local. */
export type Direction = 'up' | 'down';
export const DIRECTIONS: readonly Direction[] = ['up', 'down'];

/**
 * cesar's bookkeeping, in the local database. All portable SQL.
 * - `sync_state`: one row per table and direction (watermark, counters, status); `DELETE FROM
 *   sync_state` forces the next pass to re-read everything (a full re-sync).
 * - `sync_base`: per synced row, the version (updated_at) both sides last held in common. It is
 *   the evidence the engine needs to delete: a row missing on one side is deleted on the other
 *   only when its base says both sides had it and the other side still holds that version.
 *   Written in the same transaction as the write that makes it true (a local write), or, for a
 *   write to the cloud, recovered from the cloud's change log (`cesar_changes`) when the process
 *   died before recording it (`sync_acks` says which log entries are recorded).
 * - `sync_conflicts`, `sync_errors`: logged conflicts with both versions; parked rows.
 * - `cesar_site`: this local database's site id, generated once.
 */
export const STATE_DDL = [
  `CREATE TABLE IF NOT EXISTS sync_state (
    table_name TEXT NOT NULL,
    direction TEXT NOT NULL CHECK (direction IN ('up', 'down')),
    status TEXT NOT NULL DEFAULT 'idle' CHECK (status IN ('idle', 'running', 'ok', 'error', 'drift')),
    last_sync_at TIMESTAMPTZ,
    last_success_at TIMESTAMPTZ,
    watermark_ts TIMESTAMPTZ,
    watermark_id UUID,
    high_ts TIMESTAMPTZ,
    last_read INT8 NOT NULL DEFAULT 0,
    last_applied INT8 NOT NULL DEFAULT 0,
    last_skipped INT8 NOT NULL DEFAULT 0,
    last_conflicts INT8 NOT NULL DEFAULT 0,
    last_deleted INT8 NOT NULL DEFAULT 0,
    last_errors INT8 NOT NULL DEFAULT 0,
    last_duration_ms INT8 NOT NULL DEFAULT 0,
    total_read INT8 NOT NULL DEFAULT 0,
    total_applied INT8 NOT NULL DEFAULT 0,
    total_skipped INT8 NOT NULL DEFAULT 0,
    total_conflicts INT8 NOT NULL DEFAULT 0,
    total_deleted INT8 NOT NULL DEFAULT 0,
    total_errors INT8 NOT NULL DEFAULT 0,
    last_error TEXT,
    last_error_at TIMESTAMPTZ,
    last_delete_scan_at TIMESTAMPTZ,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (table_name, direction)
  )`,
  `CREATE TABLE IF NOT EXISTS sync_conflicts (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    table_name TEXT NOT NULL,
    row_id UUID NOT NULL,
    local_version JSONB,
    cloud_version JSONB,
    local_updated_at TIMESTAMPTZ,
    cloud_updated_at TIMESTAMPTZ,
    winner TEXT NOT NULL CHECK (winner IN ('local', 'cloud')),
    strategy TEXT NOT NULL,
    reason TEXT NOT NULL,
    pass_id TEXT,
    detected_at TIMESTAMPTZ NOT NULL DEFAULT now()
  )`,
  `CREATE INDEX IF NOT EXISTS sync_conflicts_detected_at_idx ON sync_conflicts (detected_at)`,
  `CREATE TABLE IF NOT EXISTS sync_errors (
    table_name TEXT NOT NULL,
    direction TEXT NOT NULL,
    row_id UUID NOT NULL,
    sql_state TEXT,
    message TEXT NOT NULL,
    attempts INT4 NOT NULL DEFAULT 1,
    first_seen_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_seen_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (table_name, direction, row_id)
  )`,
  `CREATE TABLE IF NOT EXISTS sync_base (
    table_name TEXT NOT NULL,
    row_id UUID NOT NULL,
    row_ts TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (table_name, row_id)
  )`,
  `CREATE TABLE IF NOT EXISTS sync_acks (
    batch_id UUID PRIMARY KEY,
    logged_at TIMESTAMPTZ NOT NULL,
    acked_at TIMESTAMPTZ NOT NULL DEFAULT now()
  )`,
  `CREATE INDEX IF NOT EXISTS sync_acks_logged_at_idx ON sync_acks (logged_at)`,
  `CREATE TABLE IF NOT EXISTS cesar_site (
    singleton INT4 PRIMARY KEY CHECK (singleton = 1),
    site_id TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
  )`,
];

/** The tables a dry run needs to find to read the bookkeeping (it never creates them). */
const STATE_TABLES = ['sync_state', 'sync_conflicts', 'sync_errors', 'sync_base', 'sync_acks', 'cesar_site'];

/** Creates the bookkeeping tables if missing (statement by statement: DDL is not transactional on CockroachDB). */
export async function ensureStateTables(db: Db): Promise<void> {
  for (const ddl of STATE_DDL) await db.query(ddl);
}

/** True when every bookkeeping table exists (a dry run must not create them). */
export async function stateTablesExist(db: Queryable): Promise<boolean> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'public' AND table_name = ANY($1::text[])`,
    [STATE_TABLES],
  );
  return Number(rows[0]!.n) === STATE_TABLES.length;
}

/**
 * This local database's site id: generated once and stored in it (`cesar_site`), so it survives
 * restarts and is the same for every cesar process on this database.
 */
export async function readSiteId(db: Db, generated: string): Promise<string> {
  await db.query('INSERT INTO cesar_site (singleton, site_id) VALUES (1, $1) ON CONFLICT (singleton) DO NOTHING', [generated]);
  const { rows } = await db.query<{ site_id: string }>('SELECT site_id FROM cesar_site WHERE singleton = 1');
  return rows[0]!.site_id;
}

/** What a direction of a table remembers between passes. */
export interface TableState {
  table: string;
  direction: Direction;
  /** Resume point: everything at or before it has been read and applied. Held back for late commits. */
  watermark: Key | null;
  /** The newest updated_at ever read in this direction. */
  highTs: string | null;
  lastDeleteScanAt: string | null;
}

interface StateRow {
  table_name: string;
  direction: Direction;
  watermark_ts: string | null;
  watermark_id: string | null;
  high_ts: string | null;
  last_delete_scan_at: string | null;
}

/** Reads every table's state, keyed `table/direction`. */
export async function readStates(db: Queryable): Promise<Map<string, TableState>> {
  const { rows } = await db.query<StateRow>(
    `SELECT table_name, direction, watermark_ts, watermark_id::text AS watermark_id, high_ts, last_delete_scan_at FROM sync_state`,
  );
  return new Map(
    rows.map((r) => [
      stateKey(r.table_name, r.direction),
      {
        table: r.table_name,
        direction: r.direction,
        watermark: r.watermark_ts && r.watermark_id ? { ts: r.watermark_ts, id: r.watermark_id } : null,
        highTs: r.high_ts,
        lastDeleteScanAt: r.last_delete_scan_at,
      },
    ]),
  );
}

/** Map key for a table's direction. */
export function stateKey(table: string, direction: Direction): string {
  return `${table}/${direction}`;
}

/** Counters of one batch or one pass. */
export interface Counts {
  read: number;
  applied: number;
  skipped: number;
  conflicts: number;
  deleted: number;
  errors: number;
}

/** Zeroed counters. */
export function zeroCounts(): Counts {
  return { read: 0, applied: 0, skipped: 0, conflicts: 0, deleted: 0, errors: 0 };
}

/** Adds b into a. */
export function addCounts(a: Counts, b: Counts): void {
  for (const k of Object.keys(a) as Array<keyof Counts>) a[k] += b[k];
}

// The row is created first, then updated: one UPDATE statement is then the only place each field is written.
const ENSURE_ROW = `INSERT INTO sync_state (table_name, direction) VALUES ($1, $2) ON CONFLICT (table_name, direction) DO NOTHING`;

/**
 * Records a batch: advances the watermark (never backwards: the caller passes the max) and the
 * high mark, adds to the totals. Runs inside the caller's transaction so it commits with, or after,
 * the data it covers.
 */
export async function recordBatch(client: pg.PoolClient, table: string, direction: Direction, watermark: Key | null, highTs: string | null, c: Counts): Promise<void> {
  await client.query(ENSURE_ROW, [table, direction]);
  await client.query(
    `UPDATE sync_state SET status = 'running', updated_at = now(),
       watermark_ts = COALESCE($3::timestamptz, watermark_ts),
       watermark_id = CASE WHEN $3::timestamptz IS NULL THEN watermark_id ELSE $4::uuid END,
       high_ts = CASE WHEN high_ts IS NULL OR $5::timestamptz > high_ts THEN $5::timestamptz ELSE high_ts END,
       total_read = total_read + $6, total_applied = total_applied + $7, total_skipped = total_skipped + $8,
       total_conflicts = total_conflicts + $9, total_deleted = total_deleted + $10, total_errors = total_errors + $11
     WHERE table_name = $1 AND direction = $2`,
    [table, direction, watermark?.ts ?? null, watermark?.id ?? null, highTs, c.read, c.applied, c.skipped, c.conflicts, c.deleted, c.errors],
  );
}

/** Records the end of a table's pass in one direction: last-pass counters, status, error. */
export async function recordPassEnd(
  db: Db,
  table: string,
  direction: Direction,
  outcome: { status: 'ok' | 'error' | 'drift'; counts: Counts; ms: number; error?: string },
): Promise<void> {
  const c = outcome.counts;
  const ok = outcome.status === 'ok';
  await db.query(ENSURE_ROW, [table, direction]);
  await db.query(
    `UPDATE sync_state SET status = $3, updated_at = now(), last_sync_at = now(),
       last_success_at = CASE WHEN $3 = 'ok' THEN now() ELSE last_success_at END,
       last_read = $4, last_applied = $5, last_skipped = $6, last_conflicts = $7, last_deleted = $8, last_errors = $9,
       last_duration_ms = $10,
       last_error = $11, last_error_at = CASE WHEN $11::text IS NULL THEN last_error_at ELSE now() END
     WHERE table_name = $1 AND direction = $2`,
    [table, direction, outcome.status, c.read, c.applied, c.skipped, c.conflicts, c.deleted, c.errors, Math.round(outcome.ms), ok ? null : (outcome.error ?? null)],
  );
}

/**
 * Records a key scan of a table: its time on both directions' rows (created when missing, so an
 * empty table is not scanned again on every pass), and the rows it deleted on each side.
 */
export async function recordScan(db: Db, table: string, deletedLocal: number, deletedCloud: number): Promise<void> {
  for (const direction of DIRECTIONS) await db.query(ENSURE_ROW, [table, direction]);
  await db.query(
    `UPDATE sync_state SET last_delete_scan_at = now(),
            last_deleted = CASE direction WHEN 'down' THEN $2::INT8 ELSE $3::INT8 END,
            total_deleted = total_deleted + CASE direction WHEN 'down' THEN $2::INT8 ELSE $3::INT8 END
      WHERE table_name = $1`,
    [table, deletedLocal, deletedCloud],
  );
}
