import type pg from 'pg';
import type { Db, Queryable } from '../db/pool.js';
import type { Key } from './timestamps.js';

/** A sync direction: up = local to cloud, down = cloud to local. */
export type Direction = 'up' | 'down';
export const DIRECTIONS: readonly Direction[] = ['up', 'down'];

/**
 * cesar's bookkeeping, in the local database. All portable SQL. `sync_state` has one row per
 * table and direction; `DELETE FROM sync_state` forces the next pass to be a full re-sync.
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
  // Versions processed above the watermark: they will be read again (late-commit overlap), and a
  // version found here was copied before, so its absence on the target means a delete there.
  `CREATE TABLE IF NOT EXISTS sync_recent (
    table_name TEXT NOT NULL,
    direction TEXT NOT NULL,
    row_id UUID NOT NULL,
    row_ts TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (table_name, direction, row_id)
  )`,
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
];

/** Creates the bookkeeping tables if missing (statement by statement: DDL is not transactional on CockroachDB). */
export async function ensureStateTables(db: Db): Promise<void> {
  for (const ddl of STATE_DDL) await db.query(ddl);
}

/** True when sync_state exists (dry-run must not create it). */
export async function stateTablesExist(db: Db): Promise<boolean> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'public' AND table_name IN ('sync_state', 'sync_conflicts', 'sync_errors', 'sync_recent')`,
  );
  return Number(rows[0]!.n) === 4;
}

/** What a direction of a table remembers between passes. */
export interface TableState {
  table: string;
  direction: Direction;
  /** Resume point: everything at or before it has been read and applied. Held back for late commits. */
  watermark: Key | null;
  /** The newest updated_at ever read in this direction (for conflict detection). */
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
    `SELECT table_name, direction, watermark_ts::text AS watermark_ts, watermark_id::text AS watermark_id,
            high_ts::text AS high_ts, last_delete_scan_at::text AS last_delete_scan_at FROM sync_state`,
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
 * The ledger of a page's ids, both directions in one query: `seen`, the versions this direction
 * already processed; `known`, the versions the reverse direction knows on this direction's target
 * (it read them, or cesar wrote them there: echoes and written-back winners).
 */
export async function readLedger(db: Queryable, table: string, direction: Direction, ids: string[]): Promise<{ seen: Map<string, string>; known: Map<string, string> }> {
  const reverse: Direction = direction === 'up' ? 'down' : 'up';
  const { rows } = await db.query<{ row_id: string; row_ts: string; direction: string }>(
    'SELECT row_id::text AS row_id, row_ts::text AS row_ts, direction FROM sync_recent WHERE table_name = $1 AND direction IN ($2, $3) AND row_id = ANY($4::uuid[])',
    [table, direction, reverse, ids],
  );
  const seen = new Map<string, string>();
  const known = new Map<string, string>();
  for (const r of rows) (r.direction === direction ? seen : known).set(r.row_id, r.row_ts);
  return { seen, known };
}

/** Remembers versions that will be read again (above the watermark, or echoes for the other direction). */
export async function recordRecent(client: pg.PoolClient, table: string, direction: Direction, versions: Key[]): Promise<void> {
  if (versions.length === 0) return;
  // two plain arrays (not JSON): the cheapest way to pass a batch of keys
  await client.query(
    `INSERT INTO sync_recent (table_name, direction, row_id, row_ts)
     SELECT $1, $2, k.id, k.ts FROM unnest($3::uuid[], $4::timestamptz[]) AS k (id, ts)
     ON CONFLICT (table_name, direction, row_id) DO UPDATE SET row_ts = excluded.row_ts`,
    [table, direction, versions.map((v) => v.id), versions.map((v) => v.ts)],
  );
}

/**
 * Forgets the versions a direction's watermark has passed (they are never consulted again): once
 * per table and pass, not per batch, so a large pass pays one scan of the table's entries.
 */
export async function forgetRecent(db: Queryable, table: string, direction: Direction, watermark: Key): Promise<void> {
  await db.query('DELETE FROM sync_recent WHERE table_name = $1 AND direction = $2 AND row_ts < $3::timestamptz', [table, direction, watermark.ts]);
}
