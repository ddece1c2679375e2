import type { Db } from '../db/pool.js';
import type { SyncTable } from './registry.js';
import { diffKeys } from './scan.js';
import { ident } from './sql.js';

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
 * on either side, and rows whose content hash (md5 of the row as JSON) differs.
 */
export async function verifyTable(local: Db, cloud: Db, table: SyncTable, sampleLimit = 10): Promise<TableDiff> {
  const count = async (db: Db) => Number((await db.query<{ n: number }>(`SELECT count(*) AS n FROM ${ident(table.name)}`)).rows[0]!.n);
  const [localRows, cloudRows] = await Promise.all([count(local), count(cloud)]);
  const d: TableDiff = { table: table.name, localRows, cloudRows, missingInCloud: 0, missingInLocal: 0, mismatched: 0, samples: { missingInCloud: [], missingInLocal: [], mismatched: [] } };
  for await (const diff of diffKeys(local, cloud, table, { withHash: true })) {
    const [kind, id] =
      diff.kind === 'only-local' ? (['missingInCloud', diff.local.id] as const) : diff.kind === 'only-cloud' ? (['missingInLocal', diff.cloud.id] as const) : (['mismatched', diff.local.id] as const);
    d[kind]++;
    if (d.samples[kind].length < sampleLimit) d.samples[kind].push(id);
  }
  return d;
}
