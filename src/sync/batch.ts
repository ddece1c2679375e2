import type pg from 'pg';
import { redactError } from '../config/redact.js';
import type { Role } from '../config/types.js';
import { sqlStateOf } from '../db/errors.js';
import type { Db } from '../db/pool.js';
import { withTransaction, type RetryOptions } from '../db/tx.js';
import { CesarError, isCesarError } from '../errors.js';
import { readBase, writeBase } from './base.js';
import { acknowledge, logChange, logConflicts, type ChangeEntry, type ConflictLog } from './changes.js';
import { crashPoint, isSimulatedCrash } from './crash.js';
import { decide, type ConflictInfo, type Decision, type Strategy } from './decide.js';
import type { SyncTable } from './registry.js';
import { clearRowErrors, isRowError, recordRowErrors, type FailedRow } from './row-errors.js';
import { columnArrays, jsonColumns, rawRows, rowDoc, toSyncRows, type SyncRow } from './rows.js';
import { classifySql, insertSql, readByIdsSql, updateSql } from './sql.js';
import { recordBatch, type Counts, type Direction } from './state.js';
import type { Key } from './timestamps.js';

/** The role each side of a direction plays. */
export function rolesOf(direction: Direction): { source: Role; target: Role } {
  return direction === 'up' ? { source: 'local', target: 'cloud' } : { source: 'cloud', target: 'local' };
}

/** The reverse direction. */
export function reverse(direction: Direction): Direction {
  return direction === 'up' ? 'down' : 'up';
}

/** Everything one table's pass in one direction needs, decided once. */
export interface TableRun {
  table: SyncTable;
  direction: Direction;
  source: Role;
  target: Role;
  local: Db;
  cloud: Db;
  /** This local database's site id (names the change log entries it writes). */
  siteId: string;
  strategy: Strategy;
  passId: string;
  dryRun: boolean;
  /** cesar's bookkeeping tables exist (a dry run on a new database has none to read). */
  bookkeeping: boolean;
  retry: RetryOptions;
  /**
   * Base versions written to the cloud by this run whose local bookkeeping may not have committed
   * yet (it overlaps the next batch): read before the base table, so that a row read twice in one
   * run is not taken for a conflict.
   */
  pendingBase: Map<string, string>;
}

/** Creates the context of one table's pass in one direction. */
export function tableRun(
  table: SyncTable,
  direction: Direction,
  dbs: { local: Db; cloud: Db },
  settings: { siteId: string; strategy: Strategy; passId: string; dryRun: boolean; bookkeeping: boolean; retry: RetryOptions },
): TableRun {
  return { table, direction, ...rolesOf(direction), ...dbs, ...settings, pendingBase: new Map() };
}

function dbOf(run: TableRun, role: Role): Db {
  return role === 'local' ? run.local : run.cloud;
}

/** A conflict the target won: the source gets the target's version. */
interface KeepTarget {
  row: SyncRow;
  targetRow: SyncRow;
  conflict: ConflictInfo;
}

/** What one batch did (or, dry, would do). */
export interface BatchOutcome {
  inserted: string[];
  updated: string[];
  /** Rows left as they are (identical, or the target's change is newer, or deleted there). */
  skipped: number;
  /** Conflicts resolved (logged), with both versions. */
  conflicts: ConflictLog[];
  /** Ids whose source got the target's version (conflicts the target won). */
  writtenBack: string[];
  /** Rows the target refused (parked under this direction). */
  failed: FailedRow[];
  /** Target winners the source refused (parked under the reverse direction). */
  failedBack: FailedRow[];
  /** Change log entries of cloud writes, acknowledged by the bookkeeping. */
  entries: ChangeEntry[];
  /** Identical rows whose base is not recorded yet (recorded by the bookkeeping when the target is the cloud). */
  sameBase: Key[];
  /** Conflicts the target won, still to be written back to the source. */
  keep: KeepTarget[];
}

function emptyOutcome(): BatchOutcome {
  return { inserted: [], updated: [], skipped: 0, conflicts: [], writtenBack: [], failed: [], failedBack: [], entries: [], sameBase: [], keep: [] };
}

function merge(into: BatchOutcome, o: BatchOutcome): void {
  into.inserted.push(...o.inserted);
  into.updated.push(...o.updated);
  into.skipped += o.skipped;
  into.conflicts.push(...o.conflicts);
  into.writtenBack.push(...o.writtenBack);
  into.failed.push(...o.failed);
  into.failedBack.push(...o.failedBack);
  into.entries.push(...o.entries);
  into.sameBase.push(...o.sameBase);
  into.keep.push(...o.keep);
}

/** The counters of a batch. */
export function batchCounts(o: BatchOutcome, read: number): Counts {
  return {
    read,
    applied: o.inserted.length + o.updated.length + o.writtenBack.length,
    skipped: o.skipped,
    conflicts: o.conflicts.length,
    deleted: 0,
    errors: o.failed.length + o.failedBack.length,
  };
}

function conflictLog(run: TableRun, id: string, info: ConflictInfo, sourceRow: SyncRow | null, targetRow: SyncRow | null): ConflictLog {
  const doc = (role: Role) => rowDoc(run.table, role === run.source ? sourceRow : targetRow, jsonColumns(run.table, role));
  return { table: run.table.name, rowId: id, localDoc: doc('local'), cloudDoc: doc('cloud'), winner: info.winner, strategy: info.strategy, reason: info.reason, passId: run.passId };
}

/**
 * Runs `apply` on a batch; a batch the database refuses (a constraint or data error of some row)
 * or that keeps losing serialization races is halved and each half applied on its own: a bad row
 * is isolated in O(k log n) transactions and parked, the rest goes through.
 */
async function splitting<T>(items: T[], apply: (batch: T[]) => Promise<BatchOutcome>, park: (item: T, err: unknown) => FailedRow): Promise<BatchOutcome> {
  try {
    return await apply(items);
  } catch (err) {
    if (isSimulatedCrash(err)) throw err;
    const rowError = isRowError(err);
    if (!rowError && !isCesarError(err, 'RETRIES_EXHAUSTED')) throw err;
    if (items.length === 1) {
      if (!rowError) throw err;
      const out = emptyOutcome();
      out.failed.push(park(items[0]!, err));
      return out;
    }
    const mid = items.length >> 1;
    const out = await splitting(items.slice(0, mid), apply, park);
    merge(out, await splitting(items.slice(mid), apply, park));
    return out;
  }
}

function failure(id: string, err: unknown): FailedRow {
  const sqlState = err instanceof CesarError ? err.sqlState : sqlStateOf(err);
  return { id, ...(sqlState ? { sqlState } : {}), message: redactError(err) };
}

interface Classified {
  present: boolean;
  ts: string | null;
  same: boolean;
}

async function classify(run: TableRun, q: Db | pg.PoolClient, rows: SyncRow[]): Promise<Map<string, Classified>> {
  const res = await rawRows(q, classifySql(run.table, run.target), columnArrays(run.table, rows));
  return new Map(res.map((r) => [r[0]!, { present: r[1] === 't', ts: r[2] ?? null, same: r[3] === 't' }]));
}

/** The base of each row: what this run wrote (not yet recorded, maybe), else the table. */
async function baseOf(run: TableRun, ids: string[]): Promise<Map<string, string>> {
  const base = run.bookkeeping ? await readBase(run.local, run.table.name, ids) : new Map<string, string>();
  for (const id of ids) {
    const pending = run.pendingBase.get(id);
    if (pending !== undefined) base.set(id, pending);
  }
  return base;
}

function decideAll(run: TableRun, rows: SyncRow[], classified: Map<string, Classified>, base: Map<string, string>): Decision[] {
  return rows.map((row) => {
    const c = classified.get(row.id);
    if (!c) throw new Error(`classification lost row ${row.id} of ${run.table.name}`);
    return decide({ sourceTs: row.ts, target: c.present ? { ts: c.ts!, same: c.same } : null, baseTs: base.get(row.id) ?? null }, run.source, run.strategy);
  });
}

/**
 * Applies a batch of source rows: the data half (the target's transaction, then winners written
 * back to the source) and the bookkeeping half (one local transaction). Returns the outcome; the
 * bookkeeping is returned as a promise so that the caller can overlap it with the next batch.
 * `progress` is the watermark and high mark to record (null for rows retried by id).
 */
export async function applyBatch(
  run: TableRun,
  rows: SyncRow[],
  progress: { watermark: Key | null; high: string | null },
  /** The previous batch's bookkeeping: batches record in order. */
  after: Promise<void> = Promise.resolve(),
): Promise<{ outcome: BatchOutcome; booked: Promise<void> }> {
  const base = await baseOf(run, rows.map((r) => r.id));
  if (run.dryRun) return { outcome: await dryRun(run, rows, base), booked: after };
  const outcome = await splitting(rows, (batch) => targetTransaction(run, batch, base), (row, err) => failure(row.id, err));
  if (outcome.inserted.length + outcome.updated.length > 0) crashPoint('batch:target-committed');
  const keep = outcome.keep;
  outcome.keep = [];
  if (keep.length > 0) {
    const back = await splitting(keep, (items) => sourceTransaction(run, items), (item, err) => failure(item.row.id, err));
    outcome.writtenBack.push(...back.writtenBack);
    outcome.conflicts.push(...back.conflicts);
    outcome.entries.push(...back.entries);
    outcome.failedBack.push(...back.failed);
    outcome.skipped += keep.length - back.writtenBack.length - back.failed.length;
    crashPoint('batch:source-committed');
  }
  // cloud writes this run made: their base is recorded by the bookkeeping below, which the next batch may overtake
  for (const e of outcome.entries) for (const k of e.puts) run.pendingBase.set(k.id, k.ts);
  for (const k of outcome.sameBase) run.pendingBase.set(k.id, k.ts);
  const booked = after.then(() => bookkeeping(run, rows.length, outcome, progress));
  booked.catch(() => undefined); // awaited by the caller; a rejection must not go unhandled meanwhile
  return { outcome, booked };
}

/** The target's transaction: classify, decide, write; the base and conflicts with it when the target is local, a change log entry when it is the cloud. */
async function targetTransaction(run: TableRun, batch: SyncRow[], base: Map<string, string>): Promise<BatchOutcome> {
  return withTransaction(
    dbOf(run, run.target),
    async (client) => {
      if (run.target === 'local') await client.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
      const out = emptyOutcome();
      const classified = await classify(run, client, batch);
      const decisions = decideAll(run, batch, classified, base);
      // the target's versions of conflicting rows: logged, and written back when they win
      const conflictIds = batch.filter((_, i) => decisions[i]!.action === 'keep-target' || (decisions[i]!.action === 'write' && (decisions[i] as { conflict?: ConflictInfo }).conflict)).map((r) => r.id);
      const targetRows = conflictIds.length ? new Map(toSyncRows(run.table, await rawRows(client, readByIdsSql(run.table), [conflictIds])).map((r) => [r.id, r])) : new Map<string, SyncRow>();
      const inserts: SyncRow[] = [];
      const updates: SyncRow[] = [];
      batch.forEach((row, i) => {
        const d = decisions[i]!;
        if (d.action === 'write') (d.insert ? inserts : updates).push(row);
        else if (d.action === 'keep-target') {
          const targetRow = targetRows.get(row.id);
          if (targetRow) out.keep.push({ row, targetRow, conflict: d.conflict });
          else out.skipped++; // gone since it was classified: the next pass looks again
        } else {
          out.skipped++;
          if (d.why === 'same' && d.recordBase) out.sameBase.push({ id: row.id, ts: row.ts });
        }
      });
      const inserted = new Set(inserts.length ? (await rawRows(client, insertSql(run.table, run.target), columnArrays(run.table, inserts))).map((r) => r[0]!) : []);
      const expected = updates.map((r) => classified.get(r.id)!.ts);
      const updated = new Set(updates.length ? (await rawRows(client, updateSql(run.table, run.target), [expected, ...columnArrays(run.table, updates)])).map((r) => r[0]!) : []);
      const written: Key[] = [];
      batch.forEach((row, i) => {
        const d = decisions[i]!;
        if (d.action !== 'write') return;
        if (!inserted.has(row.id) && !updated.has(row.id)) {
          out.skipped++; // the target changed under the compare-and-swap: the next pass looks again
          return;
        }
        (d.insert ? out.inserted : out.updated).push(row.id);
        written.push({ id: row.id, ts: row.ts });
        if (d.conflict) out.conflicts.push(conflictLog(run, row.id, d.conflict, row, targetRows.get(row.id) ?? null));
      });
      // the base and the conflicts commit with the write: in this transaction when the target is
      // the local database; in the cloud's change log entry otherwise (recorded locally when acknowledged)
      if (run.target === 'local') {
        await writeBase(client, run.table.name, [...written, ...out.sameBase]);
        await logConflicts(client, out.conflicts);
        out.sameBase = [];
      } else if (written.length > 0) {
        out.entries.push(await logChange(client, run.siteId, run.table.name, written, [], out.conflicts));
      }
      return out;
    },
    run.retry,
  );
}

/** Writes target winners back to the source (compare-and-swap on the source's version). */
async function sourceTransaction(run: TableRun, items: KeepTarget[]): Promise<BatchOutcome> {
  return withTransaction(
    dbOf(run, run.source),
    async (client) => {
      if (run.source === 'local') await client.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
      const out = emptyOutcome();
      const rows = items.map((i) => i.targetRow);
      const updated = new Set((await rawRows(client, updateSql(run.table, run.source), [items.map((i) => i.row.ts), ...columnArrays(run.table, rows)])).map((r) => r[0]!));
      const written: Key[] = [];
      const conflicts: ConflictLog[] = [];
      for (const item of items) {
        if (!updated.has(item.row.id)) continue;
        out.writtenBack.push(item.row.id);
        written.push({ id: item.row.id, ts: item.targetRow.ts });
        conflicts.push(conflictLog(run, item.row.id, item.conflict, item.row, item.targetRow));
      }
      if (run.source === 'local') {
        await writeBase(client, run.table.name, written);
        await logConflicts(client, conflicts);
      } else if (written.length > 0) {
        out.entries.push(await logChange(client, run.siteId, run.table.name, written, [], conflicts));
      }
      out.conflicts = conflicts;
      return out;
    },
    run.retry,
  );
}

/**
 * The bookkeeping of a batch, one local transaction after its data committed: the base and
 * conflicts of the cloud writes (acknowledging their log entries), parked and unparked rows, the
 * watermark and the counters.
 */
async function bookkeeping(run: TableRun, read: number, o: BatchOutcome, progress: { watermark: Key | null; high: string | null }): Promise<void> {
  const back = reverse(run.direction);
  await withTransaction(
    run.local,
    async (client) => {
      await acknowledge(client, o.entries);
      if (o.sameBase.length) await writeBase(client, run.table.name, o.sameBase);
      await recordRowErrors(client, run.table.name, run.direction, o.failed);
      await recordRowErrors(client, run.table.name, back, o.failedBack);
      await clearRowErrors(client, run.table.name, run.direction, [...o.inserted, ...o.updated]);
      await clearRowErrors(client, run.table.name, back, o.writtenBack);
      await recordBatch(client, run.table.name, run.direction, progress.watermark, progress.high, batchCounts(o, read));
    },
    run.retry,
  );
  crashPoint('batch:bookkeeping-committed');
}

/** A dry run: classify and decide, outside any transaction, and report what a real batch would do. */
async function dryRun(run: TableRun, rows: SyncRow[], base: Map<string, string>): Promise<BatchOutcome> {
  const out = emptyOutcome();
  const classified = await classify(run, dbOf(run, run.target), rows);
  const decisions = decideAll(run, rows, classified, base);
  rows.forEach((row, i) => {
    const d = decisions[i]!;
    if (d.action === 'write') (d.insert ? out.inserted : out.updated).push(row.id);
    else if (d.action === 'keep-target') out.writtenBack.push(row.id);
    else out.skipped++;
    const conflict = d.action === 'skip' ? undefined : d.conflict;
    if (conflict) out.conflicts.push(conflictLog(run, row.id, conflict, row, null));
  });
  return out;
}

/** Rows parked for this table and direction, retried by id at the start of each pass. */
export async function parkedIds(local: Db, table: string, direction: Direction): Promise<string[]> {
  const { rows } = await local.query<{ row_id: string }>('SELECT row_id::text AS row_id FROM sync_errors WHERE table_name = $1 AND direction = $2 ORDER BY row_id LIMIT 1000', [table, direction]);
  return rows.map((r) => r.row_id);
}

/** Reads rows of a table by id from one side (whole rows, exact text). */
export async function readRows(run: TableRun, role: Role, ids: string[]): Promise<SyncRow[]> {
  if (ids.length === 0) return [];
  return toSyncRows(run.table, await rawRows(dbOf(run, role), readByIdsSql(run.table), [ids]));
}

export { clearRowErrors };
