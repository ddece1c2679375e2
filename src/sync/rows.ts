import type pg from 'pg';
import { dbError } from '../db/errors.js';
import type { Db } from '../db/pool.js';
import type { SyncTable } from './registry.js';

/** A value as its column's type prints it (pinned session settings), or null. */
export type Cell = string | null;

/** One row as read from a side: every column's text, in the registry's column order. */
export interface SyncRow {
  id: string;
  /** updated_at as printed. */
  ts: string;
  values: Cell[];
}

// Every column comes back as the text the server sent: no JavaScript type in between (a number
// would drop digits, a Date microseconds, a parsed JSON its formatting).
const RAW = (value: string): string => value;
const RAW_TYPES: pg.CustomTypesConfig = { getTypeParser: (() => RAW) as pg.CustomTypesConfig['getTypeParser'] };

/** Something raw rows can be read through: a pool, or a client inside a transaction. */
export type RawQueryable = Db | pg.PoolClient;

/** Runs a statement and returns its rows as arrays of text cells. Errors name the role (through a Db). */
export async function rawRows(q: RawQueryable, text: string, values: unknown[]): Promise<Cell[][]> {
  const config = { text, values, rowMode: 'array' as const, types: RAW_TYPES };
  if ('role' in q && 'pool' in q) {
    try {
      return (await q.pool.query<Cell[]>(config)).rows;
    } catch (err) {
      throw dbError(err, q.role, 'query failed');
    }
  }
  return (await q.query<Cell[]>(config)).rows;
}

/** Turns raw rows (columns in the registry's order, starting at `offset`) into sync rows. */
export function toSyncRows(table: SyncTable, raw: Cell[][], offset = 0): SyncRow[] {
  const idAt = table.columns.indexOf('id') + offset;
  const tsAt = table.columns.indexOf('updated_at') + offset;
  return raw.map((r) => ({ id: r[idAt]!, ts: r[tsAt]!, values: offset ? r.slice(offset) : r }));
}

/** The batch as one text[] per column (the parameters of the multi-array unnest statements). */
export function columnArrays(table: SyncTable, rows: readonly SyncRow[]): Cell[][] {
  return table.columns.map((_, i) => rows.map((r) => r.values[i] ?? null));
}

/** Approximate bytes of a row's text (for bounding what a batch carries). */
export function rowBytes(row: SyncRow): number {
  let n = 16;
  for (const v of row.values) n += v === null ? 1 : v.length;
  return n;
}

/**
 * A row as a JSON document, for the conflict log and the screens: JSON columns as themselves,
 * everything else as the string its type prints (exact: numbers keep every digit), NULL as null.
 */
export function rowDoc(table: SyncTable, row: SyncRow | null, jsonColumns: ReadonlySet<string>): string | null {
  if (!row) return null;
  const parts = table.columns.map((c, i) => {
    const v = row.values[i] ?? null;
    return `${JSON.stringify(c)}:${v === null ? 'null' : jsonColumns.has(c) ? v : JSON.stringify(v)}`;
  });
  return `{${parts.join(',')}}`;
}

/** The columns of a table whose values are JSON on a side (embedded as JSON in documents). */
export function jsonColumns(table: SyncTable, side: 'local' | 'cloud'): Set<string> {
  return new Set(table.columns.filter((c) => /^jsonb?$/.test(table.types[side].get(c)?.cast ?? '')));
}
