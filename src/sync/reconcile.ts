import type { Role } from '../config/types.js';
import type { Db } from '../db/pool.js';
import { withTransaction } from '../db/tx.js';
import { isCesarError } from '../errors.js';
import { writeBase } from './base.js';
import { applyBatch, readRows, tableRun, type BatchOutcome, type TableRun } from './batch.js';
import { acknowledge, logChange } from './changes.js';
import { crashPoint, isSimulatedCrash } from './crash.js';
import type { Strategy } from './decide.js';
import type { SyncTable } from './registry.js';
import { emptyReport, SAMPLES, accumulate, type TableReport } from './report.js';
import { isRowError } from './row-errors.js';
import { rawRows } from './rows.js';
import { scanKeys } from './scan.js';
import { deleteSql } from './sql.js';
import { recordScan, type Direction } from './state.js';
import { sameTs, type Key } from './timestamps.js';
import type { RetryOptions } from '../db/tx.js';

/** What the key scan needs from the engine. */
export interface ReconcileContext {
  local: Db;
  cloud: Db;
  siteId: string;
  passId: string;
  batchSize: number;
  retry: RetryOptions;
  strategy: Strategy;
  /** Whether cesar's bookkeeping tables exist (decided once per pass). */
  bookkeeping: boolean;
  dryRun: boolean;
}

/**
 * The key scan of one table: both sides' keys merged by id with the base (what both sides last
 * held in common), so that everything polling by updated_at cannot see is found and settled:
 *
 * - a row on one side only, with no base: never on both sides, so it is copied (a write stamped
 *   in the past, a transaction that committed late). Never deleted: absence is not evidence.
 * - a row on one side only whose base says both sides had it: if that side still holds the base
 *   version, the other side deleted it, and the delete is propagated (only that version: a row
 *   changed meanwhile survives); if it changed since, the update wins over the delete (copied,
 *   logged as an update-delete conflict).
 * - a row on both sides with different versions: the side that still holds the base version did
 *   not change, the other side's version is copied; both changed: a conflict, decided as in a pass.
 * - identical versions without a base (a full re-sync, rows written on both sides alike): compared
 *   in full and the base recorded when identical (a tie conflict when not).
 * - a base for a row gone from both sides: forgotten.
 *
 * Copies go through the same batches as a pass. Returns the rows it deleted on each side.
 */
export async function reconcileTable(ctx: ReconcileContext, table: SyncTable, reports: TableReport[]): Promise<{ deleted: { local: number; cloud: number }; parked: Record<Direction, string[]> }> {
  const runs: Record<Direction, TableRun> = {
    up: tableRun(table, 'up', ctx, ctx),
    down: tableRun(table, 'down', ctx, ctx),
  };
  const copy: Record<Direction, string[]> = { up: [], down: [] };
  const del: Record<Role, Key[]> = { local: [], cloud: [] };
  const forget: string[] = [];
  const deleted = { local: 0, cloud: 0 };
  // rows parked by a pass are retried by id on every pass: the scan leaves them to that
  const parked = new Set(
    ctx.bookkeeping ? (await ctx.local.query<{ k: string }>("SELECT direction || '/' || row_id::text AS k FROM sync_errors WHERE table_name = $1", [table.name])).rows.map((r) => r.k) : [],
  );
  const newlyParked: Record<Direction, string[]> = { up: [], down: [] };
  const copyOf = (direction: Direction, id: string) => {
    if (!parked.has(`${direction}/${id}`)) copy[direction].push(id);
  };
  const samples: Record<Role, string[]> = { local: [], cloud: [] };
  const report = (direction: Direction): TableReport => {
    let r = reports.find((x) => x.table === table.name && x.direction === direction);
    if (!r) {
      r = emptyReport(table.name, direction, 'ok');
      reports.push(r);
    }
    return r;
  };
  const flushCopies = async (direction: Direction, force = false) => {
    const ids = copy[direction];
    if (ids.length === 0 || (!force && ids.length < ctx.batchSize)) return;
    copy[direction] = [];
    // a dry run's directions already listed what they would copy: its scan reports deletes only
    if (ctx.dryRun) return;
    const run = runs[direction];
    const rows = await readRows(run, run.source, ids);
    if (rows.length === 0) return;
    const { outcome, booked } = await applyBatch(run, rows, { watermark: null, high: null });
    await booked;
    accumulate(report(direction), outcome, rows.length);
    newlyParked[direction].push(...outcome.failed.map((f) => f.id));
  };
  const flushDeletes = async (role: Role, force = false) => {
    const keys = del[role];
    if (keys.length === 0 || (!force && keys.length < ctx.batchSize)) return;
    del[role] = [];
    for (const k of keys) if (samples[role].length < SAMPLES) samples[role].push(k.id);
    deleted[role] += ctx.dryRun ? keys.length : await deleteOn(ctx, runs, role, keys);
  };
  const flushForget = async (force = false) => {
    if (forget.length === 0 || (!force && forget.length < ctx.batchSize) || ctx.dryRun) return;
    const ids = forget.splice(0);
    await ctx.local.query('DELETE FROM sync_base WHERE table_name = $1 AND row_id = ANY($2::uuid[])', [table.name, ids]);
  };

  for await (const t of scanKeys(ctx.local, ctx.cloud, ctx.bookkeeping ? ctx.local : null, table)) {
    const { local: l, cloud: c, base: b } = t;
    if (l !== undefined && c === undefined) {
      if (b !== undefined && sameTs(l, b)) del.local.push({ id: t.id, ts: l }); // the cloud deleted the version both had
      else copyOf('up', t.id); // new here, or changed here since: never deleted on a guess
    } else if (l === undefined && c !== undefined) {
      if (b !== undefined && sameTs(c, b)) del.cloud.push({ id: t.id, ts: c });
      else copyOf('down', t.id);
    } else if (l === undefined && c === undefined) {
      forget.push(t.id);
    } else if (sameTs(l!, c!)) {
      // same version on both sides, base missing or behind: compare in full (a pass records the base, or resolves a tie)
      if (!sameTs(l!, b)) copyOf('up', t.id);
    } else if (b !== undefined && sameTs(l!, b)) {
      copyOf('down', t.id); // only the cloud changed
    } else {
      copyOf('up', t.id); // only local changed, or both (a conflict, decided the same from either side)
    }
    await flushCopies('up');
    await flushCopies('down');
    await flushDeletes('local');
    await flushDeletes('cloud');
    await flushForget();
  }
  await flushCopies('up', true);
  await flushCopies('down', true);
  await flushDeletes('local', true);
  await flushDeletes('cloud', true);
  await flushForget(true);
  // deleted in the cloud -> deleted locally (counted under "down"); deleted locally -> deleted in the cloud ("up")
  report('down').counts.deleted += deleted.local;
  report('down').samples.deleted.push(...samples.local);
  report('up').counts.deleted += deleted.cloud;
  report('up').samples.deleted.push(...samples.cloud);
  if (!ctx.dryRun) await recordScan(ctx.local, table.name, deleted.local, deleted.cloud);
  return { deleted, parked: newlyParked };
}

/**
 * Deletes rows on one side in the version the scan saw (compare-and-swap), with their base.
 * Locally that is one transaction. In the cloud, the delete commits with its change log entry,
 * then the base goes; a crash between the two leaves the base, which the next scan finds with the
 * row gone from both sides, and forgets. A delete the database refuses (a row still referenced
 * under ON DELETE RESTRICT) is left for the next scan, its children having gone first by then.
 */
async function deleteOn(ctx: ReconcileContext, runs: Record<Direction, TableRun>, role: Role, keys: Key[]): Promise<number> {
  const table = runs.up.table;
  const del = async (batch: Key[]): Promise<number> => {
    try {
      if (role === 'local') {
        return await withTransaction(
          ctx.local,
          async (client) => {
            const gone = (await rawRows(client, deleteSql(table, 'local'), [batch.map((k) => k.id), batch.map((k) => k.ts)])).map((r) => r[0]!);
            await writeBase(client, table.name, [], gone);
            return gone.length;
          },
          ctx.retry,
        );
      }
      const { gone, entry } = await withTransaction(
        ctx.cloud,
        async (client) => {
          const ids = (await rawRows(client, deleteSql(table, 'cloud'), [batch.map((k) => k.id), batch.map((k) => k.ts)])).map((r) => r[0]!);
          const dels = batch.filter((k) => ids.includes(k.id));
          return { gone: ids, entry: dels.length ? await logChange(client, ctx.siteId, table.name, [], dels, []) : null };
        },
        ctx.retry,
      );
      if (entry) crashPoint('scan:delete-committed');
      await withTransaction(
        ctx.local,
        async (client) => {
          await writeBase(client, table.name, [], gone);
          if (entry) await acknowledge(client, [entry]);
        },
        ctx.retry,
      );
      return gone.length;
    } catch (err) {
      if (isSimulatedCrash(err)) throw err;
      if (!isRowError(err) && !isCesarError(err, 'RETRIES_EXHAUSTED')) throw err;
      if (batch.length === 1) return 0;
      const mid = batch.length >> 1;
      return (await del(batch.slice(0, mid))) + (await del(batch.slice(mid)));
    }
  };
  return del(keys);
}

export type { BatchOutcome };
