import { tableExists } from '../db/lease.js';
import type { Db } from '../db/pool.js';
import type { Direction } from '../sync/state.js';

/** A row the other side refused, parked in sync_errors and retried every pass. */
export interface ParkedRow {
  table: string;
  direction: Direction;
  rowId: string;
  sqlState: string | null;
  message: string;
  attempts: number;
  firstSeenAt: string;
  lastSeenAt: string;
}

// sync_errors is created by the first pass and never dropped: once seen, it is not looked up again
const known = new WeakSet<Db>();

async function hasTable(local: Db): Promise<boolean> {
  if (known.has(local)) return true;
  if (!(await tableExists(local, 'sync_errors'))) return false;
  known.add(local);
  return true;
}

/** Parked rows per table (both directions together); empty before the first pass. */
export async function parkedCounts(local: Db): Promise<Map<string, number>> {
  if (!(await hasTable(local))) return new Map();
  const { rows } = await local.query<{ table_name: string; n: string | number }>('SELECT table_name, count(*) AS n FROM sync_errors GROUP BY table_name');
  return new Map(rows.map((r) => [r.table_name, Number(r.n)]));
}

/** The parked rows seen most recently, newest first, and how many there are in all. */
export async function readParked(local: Db, limit: number): Promise<{ total: number; rows: ParkedRow[] }> {
  if (!(await hasTable(local))) return { total: 0, rows: [] };
  const [{ rows: count }, { rows }] = await Promise.all([
    local.query<{ n: string | number }>('SELECT count(*) AS n FROM sync_errors'),
    local.query<Record<string, unknown>>(
      `SELECT table_name, direction, row_id::text AS row_id, sql_state, message, attempts,
              first_seen_at::text AS first_seen_at, last_seen_at::text AS last_seen_at
         FROM sync_errors ORDER BY last_seen_at DESC, table_name, direction, row_id LIMIT $1`,
      [limit],
    ),
  ]);
  return {
    total: Number(count[0]?.n ?? 0),
    rows: rows.map((r) => ({
      table: String(r.table_name),
      direction: r.direction as Direction,
      rowId: String(r.row_id),
      sqlState: (r.sql_state as string | null) ?? null,
      message: String(r.message),
      attempts: Number(r.attempts),
      firstSeenAt: String(r.first_seen_at),
      lastSeenAt: String(r.last_seen_at),
    })),
  };
}
