import type { Queryable } from '../db/pool.js';
import type { SyncTable } from './registry.js';
import { keyPageSql } from './sql.js';

/** One key as seen on one side. */
export interface KeyRow {
  id: string;
  ts: string;
  hash?: string;
}

/** A difference between the two sides for one id. */
export type KeyDiff =
  | { kind: 'only-local'; local: KeyRow }
  | { kind: 'only-cloud'; cloud: KeyRow }
  | { kind: 'mismatch'; local: KeyRow; cloud: KeyRow };

/**
 * Merge-joins both sides by primary key, a page at a time (memory stays bounded by the page size,
 * whatever the table size), and yields every id that is on one side only, or (with hashes) differs.
 * UUIDs sort the same way as their lower-case text on both databases.
 */
export async function* diffKeys(local: Queryable, cloud: Queryable, table: SyncTable, opts: { withHash: boolean; pageSize?: number }): AsyncGenerator<KeyDiff> {
  const size = opts.pageSize ?? 5000;
  const sql = keyPageSql(table, opts.withHash);
  const side = (db: Queryable) => {
    let buffer: KeyRow[] = [];
    let after: string | null = null;
    let done = false;
    return {
      async peek(): Promise<KeyRow | undefined> {
        if (buffer.length === 0 && !done) {
          const { rows } = await db.query<KeyRow>(sql, [after, size]);
          buffer = rows;
          if (rows.length < size) done = true;
          if (rows.length) after = rows[rows.length - 1]!.id;
        }
        return buffer[0];
      },
      take(): KeyRow {
        return buffer.shift()!;
      },
    };
  };
  const l = side(local);
  const c = side(cloud);
  for (;;) {
    const [a, b] = await Promise.all([l.peek(), c.peek()]);
    if (!a && !b) return;
    if (a && (!b || a.id < b.id)) {
      yield { kind: 'only-local', local: l.take() };
    } else if (b && (!a || b.id < a.id)) {
      yield { kind: 'only-cloud', cloud: c.take() };
    } else {
      const x = l.take();
      const y = c.take();
      if (opts.withHash && x.hash !== y.hash) yield { kind: 'mismatch', local: x, cloud: y };
    }
  }
}
