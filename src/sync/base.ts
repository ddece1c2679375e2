import type { Queryable } from '../db/pool.js';
import type { Key } from './timestamps.js';

/**
 * The base of each row (see STATE_DDL in state.ts): the version both sides last held in common.
 * Reads and writes in the local database; writes always run in the caller's transaction, the one
 * that makes them true.
 */

/** The base versions (id -> updated_at) of some rows of a table. */
export async function readBase(db: Queryable, table: string, ids: readonly string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const { rows } = await db.query<{ row_id: string; row_ts: string }>(
    'SELECT row_id::text AS row_id, row_ts FROM sync_base WHERE table_name = $1 AND row_id = ANY($2::uuid[])',
    [table, ids],
  );
  return new Map(rows.map((r) => [r.row_id, r.row_ts]));
}

/** Records versions both sides now hold (upsert) and forgets rows both sides no longer have. */
export async function writeBase(client: Queryable, table: string, puts: readonly Key[], dels: readonly string[] = []): Promise<void> {
  if (puts.length > 0) {
    // two plain arrays (not JSON): the cheapest way to pass a batch of keys; the last of duplicates wins
    const latest = new Map(puts.map((k) => [k.id, k.ts]));
    await client.query(
      `INSERT INTO sync_base (table_name, row_id, row_ts)
       SELECT $1, k.id, k.ts FROM unnest($2::uuid[], $3::timestamptz[]) AS k (id, ts)
       ON CONFLICT (table_name, row_id) DO UPDATE SET row_ts = excluded.row_ts`,
      [table, [...latest.keys()], [...latest.values()]],
    );
  }
  if (dels.length > 0) {
    await client.query('DELETE FROM sync_base WHERE table_name = $1 AND row_id = ANY($2::uuid[])', [table, [...new Set(dels)]]);
  }
}

/** Base keys of a table in id order, a page at a time ($2 after this id or NULL, $3 limit): the third stream of the key scan. */
export const BASE_PAGE_SQL = `SELECT row_id AS id, row_ts AS updated_at FROM sync_base
                               WHERE table_name = $1 AND ($2::uuid IS NULL OR row_id > $2::uuid)
                               ORDER BY row_id LIMIT $3`;
