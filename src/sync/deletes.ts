import type { Role } from '../config/types.js';
import type { Db } from '../db/pool.js';
import { withTransaction, type RetryOptions } from '../db/tx.js';
import type { SyncTable } from './registry.js';
import { emptyReport, SAMPLES, type TableReport } from './report.js';
import { diffKeys } from './scan.js';
import { deleteSql } from './sql.js';
import { stateKey, type Direction, type TableState } from './state.js';
import { compareKeys, compareTs, type Key } from './timestamps.js';

/** What the delete scan needs from the engine. */
export interface ScanContext {
  local: Db;
  cloud: Db;
  batchSize: number;
  retry: RetryOptions;
  /** Whether cesar's bookkeeping tables exist (decided once per pass). */
  bookkeeping: boolean;
}

/**
 * Hard deletes, found by merge-joining both sides' keys. A row present on one side only is a
 * delete on the other side when the direction that copies it has already processed that very
 * version (its key is at or below that direction's watermark, or the version is in the recent
 * ledger): the other side did receive it, so it was deleted there since. Anything else is a row
 * still to copy, never a guess at a delete. Rows are deleted only in the version that was seen,
 * so a row updated meanwhile survives (an update wins over a delete).
 */
export async function scanDeletes(ctx: ScanContext, table: SyncTable, states: Map<string, TableState>, reports: TableReport[], dryRun: boolean): Promise<void> {
  const up = states.get(stateKey(table.name, 'up'))?.watermark ?? null;
  const down = states.get(stateKey(table.name, 'down'))?.watermark ?? null;
  if (!up && !down) return;
  const parked = ctx.bookkeeping ? (await ctx.local.query<{ row_id: string; direction: string }>('SELECT row_id::text AS row_id, direction FROM sync_errors WHERE table_name = $1', [table.name])).rows : [];
  const recent = ctx.bookkeeping
    ? (await ctx.local.query<{ row_id: string; direction: string; row_ts: string }>('SELECT row_id::text AS row_id, direction, row_ts::text AS row_ts FROM sync_recent WHERE table_name = $1', [table.name])).rows
    : [];
  const parkedSet = new Set(parked.map((p) => `${p.direction}/${p.row_id}`));
  const recentMap = new Map(recent.map((r) => [`${r.direction}/${r.row_id}`, r.row_ts]));
  const seenBy = (direction: Direction, watermark: Key | null, key: Key): boolean => {
    if (parkedSet.has(`${direction}/${key.id}`)) return false;
    if (watermark && compareKeys(key, watermark) <= 0) return true;
    const ts = recentMap.get(`${direction}/${key.id}`);
    return ts !== undefined && compareTs(ts, key.ts) === 0;
  };
  const onLocal: Key[] = [];
  const onCloud: Key[] = [];
  for await (const d of diffKeys(ctx.local, ctx.cloud, table, { withHash: false })) {
    if (d.kind === 'only-local' && seenBy('up', up, d.local)) onLocal.push(d.local);
    if (d.kind === 'only-cloud' && seenBy('down', down, d.cloud)) onCloud.push(d.cloud);
  }
  const apply = async (role: Role, keys: Key[]): Promise<number> => {
    if (dryRun || keys.length === 0) return keys.length;
    let n = 0;
    for (let i = 0; i < keys.length; i += ctx.batchSize) {
      const chunk = JSON.stringify(keys.slice(i, i + ctx.batchSize).map((k) => ({ id: k.id, updated_at: k.ts })));
      n += await withTransaction((role === 'local' ? ctx.local : ctx.cloud), async (c) => (await c.query(deleteSql(table), [chunk])).rowCount ?? 0, ctx.retry);
    }
    return n;
  };
  // deleted on the cloud -> delete locally (counted under "down"); deleted locally -> delete on the cloud ("up")
  const deletedLocal = await apply('local', onLocal);
  const deletedCloud = await apply('cloud', onCloud);
  for (const [direction, count, keys] of [['down', deletedLocal, onLocal], ['up', deletedCloud, onCloud]] as const) {
    let report = reports.find((r) => r.table === table.name && r.direction === direction);
    if (!report) {
      report = emptyReport(table.name, direction, 'ok');
      reports.push(report);
    }
    report.counts.deleted += count;
    report.samples.deleted.push(...keys.slice(0, SAMPLES).map((k) => k.id));
  }
  if (!dryRun) await recordScan(ctx.local, table.name, deletedLocal, deletedCloud);
}

/** Records the scan time and what it deleted, per direction. */
async function recordScan(local: Db, table: string, deletedLocal: number, deletedCloud: number): Promise<void> {
  await local.query(
    `UPDATE sync_state SET last_delete_scan_at = now(),
            last_deleted = CASE direction WHEN 'down' THEN $2::INT8 ELSE $3::INT8 END,
            total_deleted = total_deleted + CASE direction WHEN 'down' THEN $2::INT8 ELSE $3::INT8 END
      WHERE table_name = $1`,
    [table, deletedLocal, deletedCloud],
  );
}
