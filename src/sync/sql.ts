import type { Role } from '../config/types.js';
import type { SyncTable } from './registry.js';

/**
 * The statements the engine sends for a synced table. Every value travels as the text its type
 * prints (the session settings that change that text are pinned on every connection: ISO dates,
 * UTC, extra_float_digits 3) and is cast back to the column's own type, modifiers included, where
 * it lands. Text in, text out is exact for every type: JSON would turn -0 into 0, drop an array's
 * lower bound, confuse a JSON null with SQL NULL and 1.0 with 1.00.
 *
 * Batches are passed as one text[] parameter per column and expanded with a multi-array unnest:
 * portable to CockroachDB, which has neither arrays of JSONB nor json(b)_to_recordset
 * (cockroachdb.md, fact 10).
 */

/** Quotes an identifier (table and column names come from the catalog, but are quoted all the same). */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** The cast of a column's text on one side (`numeric(12,6)`, `text[]`...). */
export function castOf(table: SyncTable, side: Role, column: string): string {
  const t = table.types[side].get(column);
  if (!t) throw new Error(`column ${column} of ${table.name} is missing on the ${side} side`);
  return t.cast;
}

const EXPECTED = ident('__cesar_expected_ts');

/** `"a", "b", ...` with an optional alias prefix. */
function cols(table: SyncTable, prefix = ''): string {
  return table.columns.map((c) => `${prefix}${ident(c)}`).join(', ');
}

/** `unnest($k::text[], ...) AS x("a", "b", ...)`, the parameters numbered from `first`. */
function unnestColumns(names: string[], first = 1): string {
  const arrays = names.map((_, i) => `$${first + i}::text[]`).join(', ');
  return `unnest(${arrays}) AS x(${names.map(ident).join(', ')})`;
}

/** The incoming text of each column, cast to its type on `side`. */
function typedColumns(table: SyncTable, side: Role, columns = table.columns): string {
  return columns.map((c) => `x.${ident(c)}::${castOf(table, side, c)}`).join(', ');
}

/**
 * One keyset page of changes in (updated_at, id) order, after ($1, $2) when `after`, at most $n
 * rows and about $budget bytes: `keep` is false for the rows past the byte budget (the first row is
 * always kept, however large), and their variable-width columns come back NULL so that they cost
 * nothing; they are read again on the next page. Sizes are the stored sizes (pg_column_size), a
 * cheap estimate that reads no value.
 */
export function readPageSql(table: SyncTable, side: Role, after: boolean): string {
  const t = ident(table.name);
  const variable = table.columns.filter((c) => table.types[side].get(c)?.variable);
  const size = ['64', ...variable.map((c) => `COALESCE(pg_column_size(t.${ident(c)}), 0)`)].join(' + ');
  const [limit, budget] = after ? ['$3', '$4'] : ['$1', '$2'];
  const where = after ? `WHERE (t.updated_at, t.id) > ($1::${castOf(table, side, 'updated_at')}, $2::uuid)` : '';
  const outer = table.columns.map((c) => (variable.includes(c) ? `CASE WHEN s.cesar_keep THEN s.${ident(c)} END AS ${ident(c)}` : `s.${ident(c)}`));
  return `SELECT s.cesar_keep, ${outer.join(', ')}
            FROM (SELECT ${cols(table, 't.')},
                         (sum(${size}) OVER (ORDER BY t.updated_at, t.id ROWS UNBOUNDED PRECEDING) - (${size})) < ${budget}::INT8 AS cesar_keep
                    FROM ${t} AS t ${where}
                   ORDER BY t.updated_at, t.id
                   LIMIT ${limit}) AS s
           ORDER BY s.updated_at, s.id`;
}

/** Whole rows by id ($1 uuid[]), in (updated_at, id) order. */
export function readByIdsSql(table: SyncTable): string {
  return `SELECT ${cols(table, 't.')} FROM ${ident(table.name)} AS t WHERE t.id = ANY($1::uuid[]) ORDER BY t.updated_at, t.id`;
}

/**
 * Classifies incoming rows (one text[] per column, in table order) against the target, in one
 * statement: is the row there, its updated_at, and is it the same row. "Same" compares each
 * column as the target prints it, after casting the incoming text to the column's type on the
 * target: exact (1.0 and 1.00 differ, -0 and 0 differ, array bounds count), and insensitive to how
 * the source server prints a value.
 */
export function classifySql(table: SyncTable, target: Role): string {
  const same = table.columns.map((c) => `t.${ident(c)}::text IS NOT DISTINCT FROM (x.${ident(c)}::${castOf(table, target, c)})::text`).join('\n                  AND ');
  return `SELECT x."id" AS id, t.id IS NOT NULL AS present, t.updated_at AS target_ts,
                 (t.id IS NOT NULL AND ${same}) AS same
            FROM ${unnestColumns(table.columns)}
            LEFT JOIN ${ident(table.name)} AS t ON t.id = x."id"::uuid`;
}

/** Inserts rows the target does not have (one text[] per column); returns the ids written. */
export function insertSql(table: SyncTable, target: Role): string {
  return `INSERT INTO ${ident(table.name)} (${cols(table)})
          SELECT ${typedColumns(table, target)} FROM ${unnestColumns(table.columns)}
          ON CONFLICT (id) DO NOTHING
          RETURNING id`;
}

/**
 * Replaces rows that still hold the version they were classified with ($1: that updated_at per
 * row, then one text[] per column): a compare-and-swap, so a row changed since by someone else is
 * left alone (and looked at again by the next pass). Returns the ids written.
 */
export function updateSql(table: SyncTable, target: Role): string {
  const sets = table.columns
    .filter((c) => c !== 'id')
    .map((c) => `${ident(c)} = x.${ident(c)}::${castOf(table, target, c)}`)
    .join(', ');
  return `UPDATE ${ident(table.name)} AS t SET ${sets}
            FROM ${unnestColumns(['__cesar_expected_ts', ...table.columns])}
           WHERE t.id = x."id"::uuid AND t.updated_at = x.${EXPECTED}::${castOf(table, target, 'updated_at')}
          RETURNING t.id`;
}

/** Deletes rows only in the version that was seen ($1 ids, $2 their updated_at): a row changed since survives. */
export function deleteSql(table: SyncTable, side: Role): string {
  return `DELETE FROM ${ident(table.name)}
           WHERE (id, updated_at) IN (SELECT x.id::uuid, x.ts::${castOf(table, side, 'updated_at')} FROM unnest($1::text[], $2::text[]) AS x(id, ts))
          RETURNING id`;
}

/** Keys of a table in id order, a page at a time ($1 after this id or NULL, $2 limit). */
export function keyPageSql(table: SyncTable): string {
  return `SELECT t.id, t.updated_at FROM ${ident(table.name)} AS t
           WHERE ($1::uuid IS NULL OR t.id > $1::uuid)
           ORDER BY t.id LIMIT $2`;
}
