import type { Db } from '../db/pool.js';
import type { SyncTable } from './registry.js';
import { rawRows, type Cell } from './rows.js';
import { ident } from './sql.js';
import { isTimestamp, microsToTs, tsToMicros } from './timestamps.js';

/** The comparison of one table on both sides. */
export interface TableDiff {
  table: string;
  localRows: number;
  cloudRows: number;
  /** Ids present locally but not in the cloud, and the reverse. */
  missingInCloud: number;
  missingInLocal: number;
  /** Ids on both sides whose rows differ. */
  mismatched: number;
  /** Up to `sampleLimit` ids of each kind. */
  samples: { missingInCloud: string[]; missingInLocal: string[]; mismatched: string[] };
}

/** True when a table's two sides hold the same rows. */
export function isClean(d: TableDiff): boolean {
  return d.missingInCloud === 0 && d.missingInLocal === 0 && d.mismatched === 0 && d.localRows === d.cloudRows;
}

/**
 * Compares both sides by primary key, in id-ordered pages (MOLT Verify style): counts, ids missing
 * on either side, and rows that differ. Rows are compared by column name (so a column order that
 * differs between the sides does not matter), each value as its server prints the stored value
 * under cesar's pinned session settings: exact (-0 is not 0, 1.0 is not 1.00, an array's bounds
 * count), not a rendering rounded by a database-level setting. Timestamps are compared as
 * instants (whatever offset notation a server prints); the other columns through an md5 of the
 * array of their texts, computed by the server, so a page stays small whatever the rows hold.
 */
export async function verifyTable(local: Db, cloud: Db, table: SyncTable, sampleLimit = 10, pageSize = 5000): Promise<TableDiff> {
  const count = async (db: Db) => Number((await db.query<{ n: number }>(`SELECT count(*) AS n FROM ${ident(table.name)}`)).rows[0]!.n);
  const [localRows, cloudRows] = await Promise.all([count(local), count(cloud)]);
  const d: TableDiff = { table: table.name, localRows, cloudRows, missingInCloud: 0, missingInLocal: 0, mismatched: 0, samples: { missingInCloud: [], missingInLocal: [], mismatched: [] } };
  const others = [...table.columns].filter((c) => c !== 'id').sort();
  const isTs = (c: string) => /^timestamp/.test(table.types.local.get(c)?.cast ?? '') && /^timestamp/.test(table.types.cloud.get(c)?.cast ?? '');
  const stamps = others.filter(isTs);
  const rest = others.filter((c) => !isTs(c));
  const hash = rest.length ? `md5(ARRAY[${rest.map((c) => `t.${ident(c)}::text`).join(', ')}]::text)` : `''`;
  const sql = `SELECT t.id, ${hash} AS h${stamps.map((c) => `, t.${ident(c)}`).join('')} FROM ${ident(table.name)} AS t
                WHERE ($1::uuid IS NULL OR t.id > $1::uuid) ORDER BY t.id LIMIT $2`;
  const canonical = (row: Cell[]): string => JSON.stringify(row.map((v, i) => (i >= 2 && v !== null && isTimestamp(v) ? microsToTs(tsToMicros(v)) : v)));
  const side = (db: Db) => {
    let buffer: Cell[][] = [];
    let after: string | null = null;
    let done = false;
    return {
      async peek(): Promise<Cell[] | undefined> {
        if (buffer.length === 0 && !done) {
          buffer = await rawRows(db, sql, [after, pageSize]);
          if (buffer.length < pageSize) done = true;
          if (buffer.length) after = buffer[buffer.length - 1]![0]!;
        }
        return buffer[0];
      },
      take(): Cell[] {
        return buffer.shift()!;
      },
    };
  };
  const note = (kind: keyof TableDiff['samples'], id: string) => {
    d[kind]++;
    if (d.samples[kind].length < sampleLimit) d.samples[kind].push(id);
  };
  const l = side(local);
  const c = side(cloud);
  for (;;) {
    const [a, b] = await Promise.all([l.peek(), c.peek()]);
    if (!a && !b) break;
    if (a && (!b || a[0]! < b[0]!)) note('missingInCloud', l.take()[0]!);
    else if (b && (!a || b[0]! < a[0]!)) note('missingInLocal', c.take()[0]!);
    else {
      const x = l.take();
      const y = c.take();
      if (canonical(x) !== canonical(y)) note('mismatched', x[0]!);
    }
  }
  return d;
}
