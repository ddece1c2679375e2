import { randomUUID } from 'node:crypto';
import { redactError } from '../config/redact.js';
import type { Role } from '../config/types.js';
import { sqlStateOf } from '../db/errors.js';
import type { Db } from '../db/pool.js';
import { withTransaction, type RetryOptions } from '../db/tx.js';
import { CesarError, isCesarError } from '../errors.js';
import type { EventBus } from '../events/bus.js';
import { executePlan, logConflicts, planBatch, rolesOf, writeBack, type BatchOutcome, type SourceRow } from './batch.js';
import type { Strategy } from './decide.js';
import { readHorizon, type Horizon } from './horizon.js';
import { followsContract, INTERNAL_TABLES, loadRegistry, readColumns, type Registry, type SyncTable } from './registry.js';
import { scanDeletes } from './deletes.js';
import { accumulate, batchCounts, countFuture, emptyReport, FUTURE_SKEW_MS, mergeOutcome, type PassReport, type TableReport } from './report.js';
import { clearRowErrors, isRowError, isUnreachable, recordRowErrors, type FailedRow } from './row-errors.js';
import { readByIdsSql, readPageSql } from './sql.js';
import {
  addCounts,
  ensureStateTables,
  readLedger,
  readStates,
  recordRecent,
  forgetRecent,
  recordBatch,
  recordPassEnd,
  stateKey,
  stateTablesExist,
  zeroCounts,
  type Direction,
  type TableState,
} from './state.js';
import { compareKeys, maxTs, NIL_UUID, type Key } from './timestamps.js';

export type { PassReport, TableReport } from './report.js';

/** What a direction knew when its pass started. */
interface Marks {
  /** The newest updated_at this direction had read. */
  sourceHigh: string | null;
  /** The newest updated_at the reverse direction had read (of this direction's target). */
  targetHigh: string | null;
  /** The reverse direction's watermark: it reads back only what lies above it. */
  reverseWatermark: Key | null;
}

/** How a pass runs: whether it writes, and whether cesar's bookkeeping tables exist to read (decided once per pass). */
interface PassMode {
  dryRun: boolean;
  bookkeeping: boolean;
  tail: boolean;
}

/** Engine settings (defaults in DEFAULT_ENGINE_OPTIONS). */
export interface EngineOptions {
  /** Rows per page and per write statement. */
  batchSize: number;
  /** Pages grow up to this size during bulk loads (every row of the previous page applied cleanly); default 4x batchSize. */
  maxBatchSize: number;
  overlapMs: number;
  maxHoldBackMs: number;
  /** Hard deletes are found by a key scan at most this often in `auto` mode. */
  deleteScanIntervalMs: number;
  defaultStrategy: Strategy;
  strategies: Record<string, Strategy>;
  retry: RetryOptions;
  /** How long the catalog-derived registry is reused before it is read again. */
  registryTtlMs: number;
}

export const DEFAULT_ENGINE_OPTIONS: EngineOptions = {
  batchSize: 500,
  maxBatchSize: 2000,
  overlapMs: 5000,
  maxHoldBackMs: 15 * 60_000,
  deleteScanIntervalMs: 10 * 60_000,
  defaultStrategy: 'lww',
  strategies: {},
  retry: { maxAttempts: 10, baseDelayMs: 50, maxDelayMs: 2000 },
  registryTtlMs: 30_000,
};

/** What to run. */
export interface PassOptions {
  direction: 'both' | Direction;
  /** Limit to these tables (already validated against the registry's names). */
  tables?: string[];
  dryRun?: boolean;
  /** Key scan for hard deletes: always, when due (default), or never. */
  deleteScan?: 'always' | 'auto' | 'never';
  /**
   * A tail pass reads only what was committed after the last row this process read of each table
   * (it skips re-reading the late-commit window) and leaves the watermark where it is: cheap
   * enough to run several times a second. Only a normal pass moves the watermark, so a row that
   * commits late is still found by the next normal pass.
   */
  tail?: boolean;
  signal?: AbortSignal;
}

/**
 * The bi-directional sync engine. Stateless between passes apart from caches: everything it must
 * remember lives in the local database (sync_state, sync_conflicts, sync_errors), so a killed
 * process loses nothing and another process can take over.
 */
export class SyncEngine {
  private readonly opts: EngineOptions;
  private stateReady = false;
  private running: Promise<PassReport> | null = null;
  private cachedRegistry: { at: number; value: Promise<Registry> } | null = null;
  /** The last key this process read per table and direction (where a tail pass starts). */
  private readonly positions = new Map<string, Key>();
  /** Whether sync_errors may hold parked rows per table and direction (unknown counts as yes). */
  private readonly parked = new Map<string, boolean>();

  constructor(
    private readonly local: Db,
    private readonly cloud: Db,
    private readonly bus: EventBus,
    options: Partial<EngineOptions> = {},
  ) {
    const batchSize = options.batchSize ?? DEFAULT_ENGINE_OPTIONS.batchSize;
    // pages grow to 4x the configured batch during bulk loads, unless told otherwise
    const maxBatchSize = Math.max(batchSize, options.maxBatchSize ?? Math.min(4 * batchSize, 10_000));
    this.opts = { ...DEFAULT_ENGINE_OPTIONS, ...options, batchSize, maxBatchSize };
  }

  /**
   * The registry as the databases' catalogs describe it, reused for registryTtlMs (a pass every
   * second must not re-read the catalogs every second); `fresh` forces a new read.
   */
  registry(fresh = false): Promise<Registry> {
    const now = Date.now();
    if (fresh || !this.cachedRegistry || now - this.cachedRegistry.at > this.opts.registryTtlMs) {
      const value = loadRegistry(this.local, this.cloud);
      value.catch(() => (this.cachedRegistry = null));
      this.cachedRegistry = { at: now, value };
    }
    return this.cachedRegistry.value;
  }

  /** Forgets the cached registry (after an error that may come from a schema change). */
  invalidateRegistry(): void {
    this.cachedRegistry = null;
  }

  /** True while a pass runs in this process. */
  get busy(): boolean {
    return this.running !== null;
  }

  /** Runs one pass; passes in one process never overlap (a second call waits for the first). */
  async runPass(options: PassOptions): Promise<PassReport> {
    while (this.running) await this.running.catch(() => undefined);
    const pass = this.pass(options);
    this.running = pass;
    try {
      return await pass;
    } finally {
      this.running = null;
    }
  }

  private db(role: Role): Db {
    return role === 'local' ? this.local : this.cloud;
  }

  private strategyFor(table: string): Strategy {
    return this.opts.strategies[table] ?? this.opts.defaultStrategy;
  }

  private async pass(options: PassOptions): Promise<PassReport> {
    const started = performance.now();
    const passId = randomUUID().slice(0, 8);
    const dryRun = options.dryRun === true;
    const directions: Direction[] = options.direction === 'both' ? ['up', 'down'] : [options.direction];
    this.bus.emit({ type: 'sync.pass.started', passId, direction: options.direction, tables: options.tables ?? [], dryRun });
    try {
      const tail = options.tail === true && !dryRun;
      // a tail pass fails on its first statement if a database is down; the next normal pass records it
      if (!tail) await this.checkReachable(options);
      if (!dryRun && !this.stateReady) {
        await ensureStateTables(this.local);
        this.stateReady = true;
      }
      const registry = await this.registry();
      if (registry.drift.size > 0) this.invalidateRegistry(); // re-check drifted tables every pass
      const wanted = options.tables ? new Set(options.tables) : null;
      const scope = registry.tables.filter((t) => !wanted || wanted.has(t.name));
      const mode: PassMode = { dryRun, bookkeeping: !dryRun || (await stateTablesExist(this.local)), tail };
      const states = mode.bookkeeping ? await readStates(this.local) : new Map<string, TableState>();
      const flavors = { local: (await this.local.info()).flavor, cloud: (await this.cloud.info()).flavor };
      const reports: TableReport[] = [];
      const drift: Record<string, string> = {};
      for (const [name, why] of registry.drift) {
        if (wanted && !wanted.has(name)) continue;
        drift[name] = why;
        for (const direction of directions) {
          reports.push(emptyReport(name, direction, 'drift', why));
          if (!dryRun) await recordPassEnd(this.local, name, direction, { status: 'drift', counts: zeroCounts(), ms: 0, error: why });
          this.bus.emit({ type: 'sync.table.error', table: name, direction, error: why });
        }
      }
      for (const direction of directions) {
        for (const table of scope) {
          options.signal?.throwIfAborted();
          reports.push(await this.syncTable(table, direction, states, flavors, passId, mode));
        }
      }
      if (this.deleteScanDue(options, scope, states)) {
        const fresh = dryRun ? states : await readStates(this.local);
        // children before parents: a parent's delete cascades, so its children go first
        for (const table of [...scope].reverse()) {
          options.signal?.throwIfAborted();
          await scanDeletes({ local: this.local, cloud: this.cloud, batchSize: this.opts.batchSize, retry: this.opts.retry, bookkeeping: mode.bookkeeping }, table, fresh, reports, dryRun);
        }
      }
      const totals = zeroCounts();
      for (const r of reports) addCounts(totals, r.counts);
      const ok = reports.every((r) => r.status === 'ok');
      const ms = performance.now() - started;
      this.bus.emit({ type: 'sync.pass.completed', passId, ms: Math.round(ms), applied: totals.applied, conflicts: totals.conflicts, errors: totals.errors, dryRun });
      return { passId, direction: options.direction, dryRun, ok, ms, tables: reports, totals, drift };
    } catch (err) {
      const message = redactError(err);
      const sqlState = err instanceof CesarError ? err.sqlState : sqlStateOf(err);
      this.bus.emit({ type: 'sync.pass.failed', passId, error: message, ...(sqlState ? { sqlState } : {}) });
      throw err instanceof CesarError ? err : new CesarError('SYNC_FAILED', `sync pass failed: ${message}`, { ...(sqlState ? { sqlState } : {}), cause: err });
    }
  }

  /** Fails fast, and visibly in the local sync_state, when a database is unreachable. */
  private async checkReachable(options: PassOptions): Promise<void> {
    const results = await Promise.allSettled([this.local.query('SELECT 1'), this.cloud.query('SELECT 1')]);
    const [l, c] = results;
    if (l.status === 'rejected') throw l.reason;
    if (c.status === 'fulfilled') return;
    await this.recordUnreachable(c.reason, options);
    throw c.reason;
  }

  /**
   * Records an unreachable cloud in the local sync_state of every table and direction in scope, so
   * `SELECT * FROM sync_state` shows why nothing moves; also used when the cloud is already down
   * before a pass starts (`cesar sync` taking the lease). Before the first pass nothing is known
   * yet, so the scope is then every table of the local schema that follows the contract. Never
   * throws: the caller reports the error anyway.
   */
  async recordUnreachable(err: unknown, options: Pick<PassOptions, 'direction' | 'tables' | 'dryRun'>): Promise<void> {
    if (options.dryRun) return;
    const error = redactError(err);
    const directions: Direction[] = options.direction === 'both' ? ['up', 'down'] : [options.direction];
    try {
      if (!this.stateReady) {
        await ensureStateTables(this.local);
        this.stateReady = true;
      }
      let names = [...(await readStates(this.local)).values()].map((s) => s.table);
      if (names.length === 0) {
        names = [...(await readColumns(this.local))].filter(([name, cols]) => !INTERNAL_TABLES.has(name) && followsContract(cols)).map(([name]) => name);
      }
      for (const name of new Set(names.filter((t) => !options.tables || options.tables.includes(t)))) {
        for (const direction of directions) {
          await recordPassEnd(this.local, name, direction, { status: 'error', counts: zeroCounts(), ms: 0, error });
        }
      }
    } catch {
      // the local database failing too: nothing to record it in
    }
  }

  private deleteScanDue(options: PassOptions, scope: SyncTable[], states: Map<string, TableState>): boolean {
    const mode = options.deleteScan ?? 'auto';
    if (mode !== 'auto') return mode === 'always';
    if (options.direction !== 'both') return false;
    const now = Date.now();
    return scope.some((t) => {
      const last = states.get(stateKey(t.name, 'up'))?.lastDeleteScanAt;
      return !last || now - Date.parse(last.replace(' ', 'T').replace(/\+00$/, 'Z')) >= this.opts.deleteScanIntervalMs;
    });
  }

  /** Syncs one table in one direction: keyset pages from the watermark, each batch applied and recorded. */
  private async syncTable(
    table: SyncTable,
    direction: Direction,
    states: Map<string, TableState>,
    flavors: Record<Role, string>,
    passId: string,
    mode: PassMode,
  ): Promise<TableReport> {
    const started = performance.now();
    const { source } = rolesOf(direction);
    const src = this.db(source);
    const report = emptyReport(table.name, direction, 'ok');
    const state = states.get(stateKey(table.name, direction));
    const otherState = states.get(stateKey(table.name, direction === 'up' ? 'down' : 'up'));
    const marks: Marks = { sourceHigh: state?.highTs ?? null, targetHigh: otherState?.highTs ?? null, reverseWatermark: otherState?.watermark ?? null };
    // the bookkeeping of the last batch applied, which may still run while the next one is applied
    let booked: Promise<void> = Promise.resolve();
    try {
      const horizon: Horizon | null = mode.tail ? null : await readHorizon(src, flavors[source], this.opts);
      if (horizon?.capped) {
        this.bus.emit({ type: 'log', level: 'warn', message: `${table.name} ${direction}: a transaction open since ${horizon.heldBy ?? '?'} is older than the hold-back limit; rows it commits late may need a full re-sync` });
      }
      // rows parked by earlier passes first, so a row that fails again is counted once
      if (!mode.tail) await this.retryFailedRows(table, direction, marks, passId, report, mode);
      let futureRows = 0;
      let watermark: Key | null = state?.watermark ?? null;
      const position = this.positions.get(stateKey(table.name, direction));
      let after: Key | null = mode.tail && position && (!watermark || compareKeys(position, watermark) > 0) ? position : watermark;
      let high = marks.sourceHigh;
      // Pages start at batchSize and double, up to maxBatchSize, while every row of the page before
      // went through with no conflict and no refused row (a bulk load); any of those resets them.
      let size = this.opts.batchSize;
      const readPage = (from: Key | null, limit: number) => {
        const page = src.query<SourceRow>(readPageSql(table, from !== null), from ? [from.ts, from.id, limit] : [limit]).then((r) => ({ rows: r.rows, limit }));
        page.catch(() => undefined); // awaited below; a prefetch abandoned by a failing batch must not be an unhandled rejection
        return page;
      };
      let next = readPage(after, size);
      for (;;) {
        const { rows, limit } = await next;
        if (rows.length === 0) break;
        const last = rows[rows.length - 1]!;
        after = { ts: last.ts, id: last.id };
        // read the next page while this one is applied: the two databases work at the same time
        // (reading a page early is like reading it a moment earlier; the horizon covers late commits)
        if (rows.length >= limit) next = readPage(after, Math.min(size * 2, this.opts.maxBatchSize));
        if (horizon) {
          watermark = advance(watermark, after, horizon);
          futureRows += countFuture(rows, horizon.now);
        }
        high = maxTs(high, last.ts);
        const outcome = await this.applyToTarget(table, direction, rows, marks, mode);
        // The bookkeeping of a batch (one local transaction, after its data committed) runs while
        // the next batch is applied; batches record in order, at most one behind.
        await booked;
        if (!mode.dryRun) {
          booked = this.recordApplied(table, direction, rows, marks, passId, { watermark, high }, outcome);
          booked.catch(() => undefined); // awaited before the next record, after the loop, or on error
        }
        accumulate(report, outcome, rows.length);
        size = outcome.conflicts.length === 0 && outcome.failed.length === 0 ? Math.min(size * 2, this.opts.maxBatchSize) : this.opts.batchSize;
        this.bus.emit({ type: 'sync.pass.progress', passId, table: table.name, direction, read: report.counts.read, applied: report.counts.applied, skipped: report.counts.skipped, conflicts: report.counts.conflicts });
        if (rows.length < limit) break;
      }
      await booked;
      if (!mode.dryRun && after) this.positions.set(stateKey(table.name, direction), after);
      if (!mode.dryRun && watermark && state?.watermark !== watermark) await forgetRecent(this.local, table.name, direction, watermark);
      if (futureRows > 0) {
        // clock policy (README): a future-stamped version wins until real time catches up; it is flagged, not altered
        report.futureStamped = futureRows;
        this.bus.emit({ type: 'log', level: 'warn', message: `${table.name} ${direction}: ${futureRows} row(s) stamped more than ${FUTURE_SKEW_MS / 1000}s ahead of the ${rolesOf(direction).source} clock (a writer's clock is ahead; such versions win conflicts until the clock catches up)` });
      }
      // a tail pass that found nothing leaves sync_state alone (it runs several times a second)
      if (!mode.dryRun && !(mode.tail && report.counts.read === 0)) {
        await recordPassEnd(this.local, table.name, direction, { status: 'ok', counts: report.counts, ms: performance.now() - started });
      }
    } catch (err) {
      await booked.catch(() => undefined); // the last batch's bookkeeping settles before the pass end is recorded
      report.status = 'error';
      report.error = redactError(err);
      // a missing table or column, or a type mismatch, may be a schema change: read the catalogs again next pass
      this.invalidateRegistry();
      if (isUnreachable(err)) {
        if (!mode.dryRun) await recordPassEnd(this.local, table.name, direction, { status: 'error', counts: report.counts, ms: performance.now() - started, error: report.error }).catch(() => undefined);
        throw err;
      }
      const sqlState = err instanceof CesarError ? err.sqlState : sqlStateOf(err);
      this.bus.emit({ type: 'sync.table.error', table: table.name, direction, error: report.error, ...(sqlState ? { sqlState } : {}) });
      if (!mode.dryRun) {
        await recordPassEnd(this.local, table.name, direction, { status: 'error', counts: report.counts, ms: performance.now() - started, error: report.error }).catch(() => undefined);
      }
    }
    report.ms = performance.now() - started;
    return report;
  }

  /**
   * Applies one page: data on the target (retried transaction), then winners written back to the
   * source, then the bookkeeping (conflicts, errors, watermark) in the local database. The watermark
   * therefore always commits after the data it covers. Rows the target refuses (constraint
   * violations) are isolated one by one and parked in sync_errors; the rest of the page goes through.
   */
  private async applyBatch(
    table: SyncTable,
    direction: Direction,
    rows: SourceRow[],
    marks: Marks,
    passId: string,
    mode: PassMode,
    progress: { watermark: Key | null; high: string | null },
  ): Promise<BatchOutcome & { failed: FailedRow[] }> {
    const applied = await this.applyToTarget(table, direction, rows, marks, mode);
    if (!mode.dryRun) await this.recordApplied(table, direction, rows, marks, passId, progress, applied);
    return applied;
  }

  /** The data half of a batch: the target's transaction (retried, halved on refusal), then winners written back to the cloud. */
  private async applyToTarget(
    table: SyncTable,
    direction: Direction,
    rows: SourceRow[],
    marks: Marks,
    mode: PassMode,
  ): Promise<BatchOutcome & { failed: FailedRow[] }> {
    const { source, target } = rolesOf(direction);
    const strategy = this.strategyFor(table.name);
    const { seen, known } = mode.bookkeeping ? await readLedger(this.local, table.name, direction, rows.map((r) => r.id)) : { seen: new Map<string, string>(), known: new Map<string, string>() };
    if (mode.dryRun) {
      const plan = await planBatch(this.db(target), table, direction, rows, marks, strategy, seen, false, known);
      return { ...(await executePlan(null, table, direction, plan)), failed: [] };
    }
    const applyRows = (batch: SourceRow[]) =>
      withTransaction(
        this.db(target),
        async (client) => {
          if (target === 'local') await client.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
          return executePlan(client, table, direction, await planBatch(client, table, direction, batch, marks, strategy, seen, true, known));
        },
        this.opts.retry,
      );
    const failed: FailedRow[] = [];
    // A batch the target refuses (a constraint violation) or that keeps losing serialization races
    // (retries exhausted under contention) is halved and each half applied on its own: smaller
    // transactions contend less, and a bad row is isolated in O(k log n) transactions. A single
    // row that violates a constraint is parked; a single row that still cannot win fails the pass.
    const applySplitting = async (batch: SourceRow[]): Promise<BatchOutcome> => {
      try {
        return await applyRows(batch);
      } catch (err) {
        const rowError = isRowError(err);
        if (!rowError && !isCesarError(err, 'RETRIES_EXHAUSTED')) throw err;
        if (batch.length === 1) {
          if (!rowError) throw err;
          const sqlState = err instanceof CesarError ? err.sqlState : sqlStateOf(err);
          failed.push({ id: batch[0]!.id, ...(sqlState ? { sqlState } : {}), message: redactError(err) });
          return { inserted: [], updated: [], skipped: 0, conflicts: [], writeBacks: [] };
        }
        const mid = batch.length >> 1;
        const out = await applySplitting(batch.slice(0, mid));
        mergeOutcome(out, await applySplitting(batch.slice(mid)));
        return out;
      }
    };
    const outcome = await applySplitting(rows);
    if (outcome.writeBacks.length && source === 'cloud') {
      await withTransaction(this.cloud, (c) => writeBack(c, table, outcome.writeBacks), this.opts.retry);
    }
    return { ...outcome, failed };
  }

  /**
   * The bookkeeping half of a batch, in one local transaction after the data committed: winners
   * written back to a local source, conflicts, parked rows, the watermark and the ledger; then
   * the events.
   */
  private async recordApplied(
    table: SyncTable,
    direction: Direction,
    rows: SourceRow[],
    marks: Marks,
    passId: string,
    progress: { watermark: Key | null; high: string | null },
    applied: BatchOutcome & { failed: FailedRow[] },
  ): Promise<void> {
    const { source, target } = rolesOf(direction);
    const { failed, ...outcome } = applied;
    const counts = batchCounts(outcome, rows.length, failed.length);
    await withTransaction(
      this.local,
      async (client) => {
        if (outcome.writeBacks.length && source === 'local') await writeBack(client, table, outcome.writeBacks);
        await logConflicts(client, outcome.conflicts, passId);
        await recordRowErrors(client, table.name, direction, failed);
        if (failed.length) this.parked.set(stateKey(table.name, direction), true);
        // rows that went through are unparked (nothing to do when none can be parked)
        if (this.parked.get(stateKey(table.name, direction)) !== false) await clearRowErrors(client, table.name, direction, [...outcome.inserted, ...outcome.updated]);
        await recordBatch(client, table.name, direction, progress.watermark, progress.high, counts);
        // What this batch wrote to the target will be read back by the reverse direction as an
        // echo; remember those versions for it, so that if the origin deletes one before then, the
        // echo is recognised (and the delete propagated) instead of the row being resurrected.
        const ts = new Map(rows.map((r) => [r.id, r.ts]));
        const echoes = [...outcome.inserted, ...outcome.updated]
          .map((id) => ({ id, ts: ts.get(id)! }))
          .filter((k) => !marks.reverseWatermark || compareKeys(k, marks.reverseWatermark) > 0);
        await recordRecent(client, table.name, direction === 'up' ? 'down' : 'up', echoes);
        // likewise a winner written back to the source is a version this direction already knows
        await recordRecent(client, table.name, direction, outcome.writeBacks.map((w) => ({ id: w.id, ts: w.ts })));
        if (progress.watermark) {
          const w = progress.watermark;
          const above = rows.filter((r) => compareKeys({ ts: r.ts, id: r.id }, w) > 0).map((r) => ({ ts: r.ts, id: r.id }));
          await recordRecent(client, table.name, direction, above);
        }
      },
      this.opts.retry,
    );
    if (table.name === 'agents') {
      // the dashboard's agents panel and WebSocket clients follow agents changed by sync
      for (const id of [...outcome.inserted, ...outcome.updated].slice(0, 200)) this.bus.emit({ type: 'agent.changed', id, role: target });
      for (const w of outcome.writeBacks.slice(0, 200)) this.bus.emit({ type: 'agent.changed', id: w.id, role: source });
    }
    for (const c of outcome.conflicts.slice(0, 1000)) {
      this.bus.emit({ type: 'sync.conflict', table: table.name, rowId: c.rowId, winner: c.winner, strategy: c.strategy, reason: c.reason });
    }
  }

  /** Rows parked in sync_errors are read again from the source and retried every pass. */
  private async retryFailedRows(table: SyncTable, direction: Direction, marks: Marks, passId: string, report: TableReport, mode: PassMode): Promise<void> {
    if (mode.dryRun) return;
    const { rows: parked } = await this.local.query<{ row_id: string }>(
      'SELECT row_id::text AS row_id FROM sync_errors WHERE table_name = $1 AND direction = $2 ORDER BY row_id LIMIT 1000',
      [table.name, direction],
    );
    this.parked.set(stateKey(table.name, direction), parked.length > 0);
    if (parked.length === 0) return;
    const src = this.db(rolesOf(direction).source);
    const { rows } = await src.query<SourceRow>(readByIdsSql(table), [parked.map((p) => p.row_id)]);
    const gone = parked.map((p) => p.row_id).filter((id) => !rows.some((r) => r.id === id));
    if (gone.length) await this.local.query('DELETE FROM sync_errors WHERE table_name = $1 AND direction = $2 AND row_id = ANY($3::uuid[])', [table.name, direction, gone]);
    if (rows.length === 0) return;
    const outcome = await this.applyBatch(table, direction, rows, marks, passId, mode, { watermark: null, high: null });
    report.counts.applied += outcome.inserted.length + outcome.updated.length;
    report.counts.errors += outcome.failed.length;
  }

}

/** The watermark after reading up to `key`: never past the horizon, never backwards. */
export function advance(current: Key | null, key: Key, horizon: Horizon): Key {
  const cap: Key = { ts: horizon.ts, id: NIL_UUID };
  const next = compareKeys(key, cap) > 0 ? cap : key;
  return current && compareKeys(current, next) > 0 ? current : next;
}

