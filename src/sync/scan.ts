import { BASE_PAGE_SQL } from './base.js';
import type { SyncTable } from './registry.js';
import { rawRows, type RawQueryable } from './rows.js';
import { keyPageSql } from './sql.js';

/** One id and the version (updated_at) each of the three streams holds for it. */
export interface KeyTriple {
  id: string;
  local?: string;
  cloud?: string;
  base?: string;
}

/** A reader of (id, updated_at) pairs in id order, a page at a time. */
type Fetch = (after: string | null, limit: number) => Promise<Array<[string, string]>>;

function pager(fetch: Fetch, size: number) {
  let buffer: Array<[string, string]> = [];
  let after: string | null = null;
  let done = false;
  return {
    async peek(): Promise<[string, string] | undefined> {
      if (buffer.length === 0 && !done) {
        buffer = await fetch(after, size);
        if (buffer.length < size) done = true;
        if (buffer.length) after = buffer[buffer.length - 1]![0];
      }
      return buffer[0];
    },
    take(): [string, string] {
      return buffer.shift()!;
    },
  };
}

/**
 * Merge-joins a table's keys on both sides with its base entries, by id, a page at a time (memory
 * stays bounded by the page size, whatever the table size), and yields every id where the three
 * do not all agree: on one side only, versions that differ, or a base that is missing or behind.
 * UUIDs sort the same way as their lower-case text on both databases.
 */
export async function* scanKeys(local: RawQueryable, cloud: RawQueryable, base: RawQueryable | null, table: SyncTable, pageSize = 5000): AsyncGenerator<KeyTriple> {
  const keys = (db: RawQueryable): Fetch => async (after, limit) => (await rawRows(db, keyPageSql(table), [after, limit])).map((r) => [r[0]!, r[1]!]);
  const l = pager(keys(local), pageSize);
  const c = pager(keys(cloud), pageSize);
  const b = pager(base ? async (after, limit) => (await rawRows(base, BASE_PAGE_SQL, [table.name, after, limit])).map((r) => [r[0]!, r[1]!]) : async () => [], pageSize);
  for (;;) {
    const [x, y, z] = await Promise.all([l.peek(), c.peek(), b.peek()]);
    const ids = [x?.[0], y?.[0], z?.[0]].filter((v): v is string => v !== undefined);
    if (ids.length === 0) return;
    const id = ids.reduce((m, v) => (v < m ? v : m));
    const t: KeyTriple = { id };
    if (x?.[0] === id) t.local = l.take()[1];
    if (y?.[0] === id) t.cloud = c.take()[1];
    if (z?.[0] === id) t.base = b.take()[1];
    if (t.local !== undefined && t.local === t.cloud && t.cloud === t.base) continue;
    yield t;
  }
}
