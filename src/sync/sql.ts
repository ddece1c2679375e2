import type { SyncTable } from './registry.js';

/** Quotes an identifier (table and column names come from the catalog, but are quoted all the same). */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * One keyset page of changes: rows after (ts, id), as exact JSON text (no JavaScript types in
 * between: timestamps keep microseconds, int8 and numeric keep every digit).
 */
export function readPageSql(table: SyncTable, after: boolean): string {
  const t = ident(table.name);
  const where = after ? 'WHERE (t.updated_at, t.id) > ($1::timestamptz, $2::uuid)' : '';
  return `SELECT t.id::text AS id, t.updated_at::text AS ts, row_to_json(t)::text AS doc
            FROM ${t} AS t ${where}
           ORDER BY t.updated_at, t.id
           LIMIT ${after ? '$3' : '$1'}`;
}

/** Rows by id (to retry rows that failed before). */
export function readByIdsSql(table: SyncTable): string {
  return `SELECT t.id::text AS id, t.updated_at::text AS ts, row_to_json(t)::text AS doc
            FROM ${ident(table.name)} AS t WHERE t.id = ANY($1::uuid[]) ORDER BY t.updated_at, t.id`;
}

/**
 * Classifies incoming rows against the target in one statement, comparing in SQL (exact):
 * $1 the rows as a JSON array, $2 the source's high mark before this pass (did the row exist
 * before it?), $3 the high mark of the other direction (has the target changed since it was last
 * read?). The target's version is returned for conflict candidates only (it is logged).
 *
 * With `insertMissing`, the same statement also inserts the rows the target does not have, except
 * the ids in $4 (versions this direction already copied: missing means deleted on the target), so
 * that an initial load parses each page once instead of twice. `inserted` tells which rows it
 * wrote; correctness does not depend on whether the read sees them (on CockroachDB a read in the
 * same statement may), since an inserted row is classified as missing either way. A row inserted
 * concurrently by another transaction after this one's snapshot makes ON CONFLICT raise a
 * serialization failure (40001) under REPEATABLE READ and SERIALIZABLE, and the batch is retried.
 */
export function classifySql(table: SyncTable, insertMissing = false): string {
  const t = ident(table.name);
  const targetChanged = 'COALESCE(t.updated_at > $3::timestamptz, true)';
  const existed = table.hasCreatedAt ? 'COALESCE(i.created_at <= $2::timestamptz, false)' : 'false';
  const cols = table.columns.map(ident).join(', ');
  const found = insertMissing ? '(t.id IS NOT NULL AND w.id IS NULL)' : 't.id IS NOT NULL';
  const with_ = insertMissing
    ? `WITH i AS (SELECT * FROM jsonb_populate_recordset(NULL::${t}, $1::jsonb)),
            w AS (INSERT INTO ${t} (${cols})
                  SELECT ${cols} FROM i WHERE NOT (i.id = ANY($4::uuid[]))
                  ON CONFLICT (id) DO NOTHING
                  RETURNING id)`
    : '';
  const from = insertMissing
    ? `FROM i LEFT JOIN ${t} AS t ON t.id = i.id LEFT JOIN w ON w.id = i.id`
    : `FROM jsonb_populate_recordset(NULL::${t}, $1::jsonb) AS i LEFT JOIN ${t} AS t ON t.id = i.id`;
  return `${with_}
          SELECT i.id::text AS id,
                 NOT ${found} AS missing,
                 ${insertMissing ? 'w.id IS NOT NULL' : 'false'} AS inserted,
                 (${found} AND row_to_json(t)::jsonb = row_to_json(i)::jsonb) AS same,
                 CASE WHEN NOT ${found} THEN NULL WHEN i.updated_at > t.updated_at THEN 1
                      WHEN i.updated_at < t.updated_at THEN -1 ELSE 0 END AS cmp,
                 CASE WHEN NOT ${found} THEN false ELSE ${targetChanged} END AS target_changed,
                 ${existed} AS existed_before,
                 t.updated_at::text AS target_ts,
                 CASE WHEN ${found} AND NOT (row_to_json(t)::jsonb = row_to_json(i)::jsonb) AND ${targetChanged}
                      THEN row_to_json(t)::text END AS target_doc
            ${from}`;
}

/** How an upsert treats an existing target row. */
export type Guard = 'newer' | 'newer-or-tie' | 'force';

/**
 * Multi-row upsert from a JSON array ($1), keeping the source's updated_at. The guard re-checks
 * last-writer-wins at write time, so a concurrent newer write on the target is never overwritten.
 */
export function upsertSql(table: SyncTable, guard: Guard): string {
  const t = ident(table.name);
  const cols = table.columns.map(ident).join(', ');
  const sets = table.columns
    .filter((c) => c !== 'id')
    .map((c) => `${ident(c)} = excluded.${ident(c)}`)
    .join(', ');
  const where =
    guard === 'force' ? '' : guard === 'newer' ? 'WHERE t.updated_at < excluded.updated_at' : 'WHERE t.updated_at <= excluded.updated_at';
  return `INSERT INTO ${t} AS t (${cols})
          SELECT ${cols} FROM jsonb_populate_recordset(NULL::${t}, $1::jsonb)
          ON CONFLICT (id) DO UPDATE SET ${sets} ${where}`;
}

/** Keys of a table in id order, a page at a time ($1 after this id or NULL, $2 limit). */
export function keyPageSql(table: SyncTable, withHash: boolean): string {
  const hash = withHash ? ', md5(row_to_json(t)::text) AS hash' : '';
  return `SELECT t.id::text AS id, t.updated_at::text AS ts${hash}
            FROM ${ident(table.name)} AS t
           WHERE ($1::uuid IS NULL OR t.id > $1::uuid)
           ORDER BY t.id LIMIT $2`;
}

/** Deletes rows only in the exact version that was seen ($1: JSON array of {id, updated_at}); a row changed since survives. */
export function deleteSql(table: SyncTable): string {
  const t = ident(table.name);
  return `DELETE FROM ${t} WHERE (id, updated_at) IN (SELECT id, updated_at FROM jsonb_populate_recordset(NULL::${t}, $1::jsonb))`;
}

/** Builds a JSON array text from JSON texts, without parsing them. */
export function jsonArray(docs: readonly string[]): string {
  return `[${docs.join(',')}]`;
}
