import type pg from 'pg';
import { sqlStateOf } from '../db/errors.js';
import { CesarError } from '../errors.js';
import type { Direction } from './state.js';

/** A row the target refused, parked in sync_errors. */
export interface FailedRow {
  id: string;
  sqlState?: string;
  message: string;
}

/** A constraint or data error caused by the rows themselves (isolate them), not by the connection. */
export function isRowError(err: unknown): boolean {
  const state = err instanceof CesarError ? err.sqlState : sqlStateOf(err);
  return state !== undefined && (state.startsWith('23') || state.startsWith('22'));
}

/** The database is gone: the whole pass stops. */
export function isUnreachable(err: unknown): boolean {
  return err instanceof CesarError && err.code === 'DB_UNREACHABLE';
}

/** Parks refused rows (or counts another attempt), in the caller's transaction. */
export async function recordRowErrors(client: pg.PoolClient, table: string, direction: Direction, failed: FailedRow[]): Promise<void> {
  for (const f of failed) {
    await client.query(
      `INSERT INTO sync_errors (table_name, direction, row_id, sql_state, message) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (table_name, direction, row_id) DO UPDATE SET sql_state = excluded.sql_state, message = excluded.message,
         attempts = sync_errors.attempts + 1, last_seen_at = now()`,
      [table, direction, f.id, f.sqlState ?? null, f.message],
    );
  }
}

/** Unparks rows that went through. */
export async function clearRowErrors(client: pg.PoolClient, table: string, direction: Direction, ids: string[]): Promise<void> {
  if (ids.length) await client.query('DELETE FROM sync_errors WHERE table_name = $1 AND direction = $2 AND row_id = ANY($3::uuid[])', [table, direction, ids]);
}

