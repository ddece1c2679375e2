import { randomUUID } from 'node:crypto';
import { redactError } from '../config/redact.js';
import type { Role } from '../config/types.js';
import { sqlStateOf } from '../db/errors.js';
import type { Db } from '../db/pool.js';
import type { RetryOptions } from '../db/tx.js';
import { CesarError } from '../errors.js';
import type { EventBus } from '../events/bus.js';
import { applyBatch, parkedIds, readRows, rolesOf, tableRun, type BatchOutcome, type TableRun } from './batch.js';
import { ensureChangeLog, recoverChanges, trimChanges } from './changes.js';
import { crashPoint, isSimulatedCrash } from './crash.js';
import type { Strategy } from './decide.js';
import { readHorizon, type Horizon } from './horizon.js';
import { reconcileTable } from './reconcile.js';
import { followsContract, INTERNAL_TABLES, loadRegistry, readColumns, type Registry, type SyncTable } from './registry.js';
import { accumulate, countFuture, emptyReport, FUTURE_SKEW_MS, type PassReport, type TableReport } from './report.js';
import { isUnreachable } from './row-errors.js';
import { rawRows, toSyncRows, type SyncRow } from './rows.js';
import { readPageSql } from './sql.js';
import { addCounts, DIRECTIONS, ensureStateTables, readSiteId, readStates, recordPassEnd, stateKey, stateTablesExist, zeroCounts, type Direction, type TableState } from './state.js';
import { compareKeys, maxTs, NIL_UUID, type Key } from './timestamps.js';

export type { PassReport, TableReport } from './report.js';

/** How a pass runs: whether it writes, and whether cesar's bookkeeping tables exist to read (decided once per pass). */
interface PassMode {
  dryRun: boolean;
  bookkeeping: boolean;
  tail: boolean;
  passId: string;
}

/** Engine settings (defaults in DEFAULT_ENGINE_OPTIONS). */
export interface EngineOptions {
  /** Rows per page and per write statement. */
  batchSize: number;
  /** Pages grow up to this size during bulk loads (every row of the previous page applied cleanly); default 4x batchSize. */
  maxBatchSize: number;
  /** About how many bytes (stored size) one page carries; a single larger row still goes, alone. */
  pageBytes: number;
  overlapMs: number;
  maxHoldBackMs: number;
  /** Hard deletes (and what polling cannot see) are found by a key scan at most this often in `auto` mode. */
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
  pageBytes: 8 * 1024 * 1024,
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
  /** Key scan (hard deletes, writes polling cannot see): always, when due (default), or never. */
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
 * remember lives in the local database (sync_state, sync_base, sync_conflicts, sync_errors) and
 * the cloud's change log, so a killed process loses nothing and another process can take over.
 */
export class SyncEngine {
  private readonly opts: EngineOptions;
  private prepared = false;
  private siteId: string | null = null;
  /** Set until a pass has checked the change log for cloud writes a dead process never recorded. */
  private needsRecovery = true;
  private running: Promise<PassReport> | null = null;
  private cachedRegistry: { at: number; value: Promise<Registry> } | null = null;
  /** The last key this process read per table and direction (where a tail pass starts). */
  private readonly positions = new Map<string, Key>();
  private lastTrim = 0;

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
    } catch (err) {
      // a pass cut short may have committed cloud writes it did not record: look before the next one writes
      this.needsRecovery = true;
      throw err;
    } finally {
      this.running = null;
    }
  }

  private strategyFor(table: string): Strategy {
    return this.opts.strategies[table] ?? this.opts.defaultStrategy;
  }

  /** Creates cesar's tables (local bookkeeping, the cloud's change log) once per process, and reads the site id. */
  private async prepare(): Promise<string> {
    if (!this.prepared) {
      await ensureStateTables(this.local);
      await ensureChangeLog(this.cloud);
      this.prepared = true;
    }
    this.siteId ??= await readSiteId(this.local, randomUUID());
    return this.siteId;
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
      const bookkeeping = !dryRun || (await stateTablesExist(this.local));
      const siteId = dryRun ? (bookkeeping ? await this.readSite() : 'dry-run') : await this.prepare();
      const registry = await this.registry();
      if (registry.drift.size > 0) this.invalidateRegistry(); // re-check drifted tables every pass
      if (!dryRun && this.needsRecovery) {
        const recovered = await recoverChanges(this.local, this.cloud, siteId, this.opts.retry, new Set(registry.tables.map((t) => t.name)));
        if (recovered > 0) {
          this.bus.emit({ type: 'log', level: 'info', message: `recorded ${recovered} cloud write(s) of an earlier pass that stopped before recording them` });
          crashPoint('recovery:committed');
        }
        this.needsRecovery = false;
      }
      const wanted = options.tables ? new Set(options.tables) : null;
      const scope = registry.tables.filter((t) => !wanted || wanted.has(t.name));
      const mode: PassMode = { dryRun, bookkeeping, tail, passId };
      const states = bookkeeping ? await readStates(this.local) : new Map<string, TableState>();
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
      const runOf = (table: SyncTable, direction: Direction): TableRun =>
        tableRun(table, direction, { local: this.local, cloud: this.cloud }, { siteId, strategy: this.strategyFor(table.name), passId, dryRun, bookkeeping, retry: this.opts.retry });
      for (const direction of directions) {
        for (const table of scope) {
          options.signal?.throwIfAborted();
          reports.push(await this.syncTable(runOf(table, direction), states, flavors, mode));
        }
      }
      if (this.deleteScanDue(options, scope, states)) {
        const ctx = { local: this.local, cloud: this.cloud, siteId, passId, batchSize: this.opts.batchSize, retry: this.opts.retry, bookkeeping, dryRun };
        // children before parents: a parent's delete cascades, so its children go first
        const parked = new Map<string, Record<Direction, string[]>>();
        for (const table of [...scope].reverse()) {
          options.signal?.throwIfAborted();
          parked.set(table.name, (await reconcileTable({ ...ctx, strategy: this.strategyFor(table.name) }, table, reports)).parked);
        }
        // a child the scan copied before its new parent (children first) was parked: now that the
        // parents are there, try those once more, parents first
        for (const table of scope) {
          for (const direction of DIRECTIONS) {
            const ids = parked.get(table.name)?.[direction] ?? [];
            if (ids.length === 0) continue;
            const report = reports.find((r) => r.table === table.name && r.direction === direction) ?? emptyReport(table.name, direction, 'ok');
            await this.retryParked(runOf(table, direction), report, ids);
          }
        }
        if (!dryRun && Date.now() - this.lastTrim > 10 * 60_000) {
          this.lastTrim = Date.now();
          // housekeeping: a failure here costs nothing but space, and is tried again later
          await trimChanges(this.local, this.cloud, siteId, this.opts.retry).catch((err: unknown) => {
            if (isSimulatedCrash(err)) throw err;
            this.bus.emit({ type: 'log', level: 'warn', message: `trimming the change log failed: ${redactError(err)}` });
          });
        }
      }
      const totals = zeroCounts();
      for (const r of reports) addCounts(totals, r.counts);
      const ok = reports.every((r) => r.status === 'ok');
      const ms = performance.now() - started;
      this.bus.emit({ type: 'sync.pass.completed', passId, ms: Math.round(ms), applied: totals.applied, conflicts: totals.conflicts, errors: totals.errors, dryRun });
      return { passId, direction: options.direction, dryRun, ok, ms, tables: reports, totals, drift };
    } catch (err) {
      if (isSimulatedCrash(err)) throw err;
      const message = redactError(err);
      const sqlState = err instanceof CesarError ? err.sqlState : sqlStateOf(err);
      this.bus.emit({ type: 'sync.pass.failed', passId, error: message, ...(sqlState ? { sqlState } : {}) });
      throw err instanceof CesarError ? err : new CesarError('SYNC_FAILED', `sync pass failed: ${message}`, { ...(sqlState ? { sqlState } : {}), cause: err });
    }
  }

  /** This local database's site id (creating cesar's tables on first use). */
  async site(): Promise<string> {
    return this.prepare();
  }

  /** The site id of a database whose bookkeeping exists, without creating anything (dry runs). */
  private async readSite(): Promise<string> {
    if (this.siteId) return this.siteId;
    const { rows } = await this.local.query<{ site_id: string }>('SELECT site_id FROM cesar_site WHERE singleton = 1');
    return rows[0]?.site_id ?? 'dry-run';
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
      await ensureStateTables(this.local);
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
    if (options.direction !== 'both' || options.tail) return false;
    const now = Date.now();
    return scope.some((t) => {
      const last = states.get(stateKey(t.name, 'up'))?.lastDeleteScanAt;
      return !last || now - Date.parse(last.replace(' ', 'T').replace(/\+00$/, 'Z')) >= this.opts.deleteScanIntervalMs;
    });
  }

  /** Syncs one table in one direction: keyset pages from the watermark, each batch applied and recorded. */
  private async syncTable(run: TableRun, states: Map<string, TableState>, flavors: Record<Role, string>, mode: PassMode): Promise<TableReport> {
    const started = performance.now();
    const { table, direction, source } = run;
    const src = source === 'local' ? this.local : this.cloud;
    const report = emptyReport(table.name, direction, 'ok');
    const state = states.get(stateKey(table.name, direction));
    // the bookkeeping of the last batch applied, which may still run while the next one is applied
    let booked: Promise<void> = Promise.resolve();
    try {
      const horizon: Horizon | null = mode.tail ? null : await readHorizon(src, flavors[source], this.opts);
      if (horizon?.capped) {
        this.bus.emit({ type: 'log', level: 'warn', message: `${table.name} ${direction}: a transaction open since ${horizon.heldBy ?? '?'} is older than the hold-back limit; rows it commits late are found by the next key scan` });
      }
      // rows parked by earlier passes first, so a row that fails again is counted once
      if (!mode.tail) await this.retryParked(run, report);
      let futureRows = 0;
      let watermark: Key | null = state?.watermark ?? null;
      const position = this.positions.get(stateKey(table.name, direction));
      let after: Key | null = mode.tail && position && (!watermark || compareKeys(position, watermark) > 0) ? position : watermark;
      let high = state?.highTs ?? null;
      // Pages start at batchSize and double, up to maxBatchSize, while every row of the page before
      // went through with no conflict and no refused row (a bulk load); any of those resets them.
      let size = this.opts.batchSize;
      const readPage = (from: Key | null, limit: number) => {
        const sql = readPageSql(table, source, from !== null);
        const params = from ? [from.ts, from.id, limit, this.opts.pageBytes] : [limit, this.opts.pageBytes];
        const page = rawRows(src, sql, params).then((raw) => {
          const kept = raw.filter((r) => r[0] === 't');
          // more may follow when the page is full, or when the byte budget cut it short
          return { rows: toSyncRows(table, kept, 1), more: raw.length >= limit || kept.length < raw.length };
        });
        page.catch(() => undefined); // awaited below; a prefetch abandoned by a failing batch must not be an unhandled rejection
        return page;
      };
      let next = readPage(after, size);
      for (;;) {
        const { rows, more } = await next;
        if (rows.length === 0) break;
        const last = rows[rows.length - 1]!;
        after = { ts: last.ts, id: last.id };
        // read the next page while this one is applied: the two databases work at the same time
        // (reading a page early is like reading it a moment earlier; the horizon covers late commits)
        if (more) next = readPage(after, Math.min(size * 2, this.opts.maxBatchSize));
        if (horizon) {
          watermark = advance(watermark, after, horizon);
          futureRows += countFuture(rows, horizon.now);
        }
        high = maxTs(high, last.ts);
        const applied = await applyBatch(run, rows, { watermark, high }, booked);
        booked = applied.booked;
        this.afterBatch(run, applied.outcome);
        accumulate(report, applied.outcome, rows.length);
        const o = applied.outcome;
        size = o.conflicts.length === 0 && o.failed.length === 0 ? Math.min(size * 2, this.opts.maxBatchSize) : this.opts.batchSize;
        this.bus.emit({ type: 'sync.pass.progress', passId: mode.passId, table: table.name, direction, read: report.counts.read, applied: report.counts.applied, skipped: report.counts.skipped, conflicts: report.counts.conflicts });
        if (!more) break;
      }
      await booked;
      if (!mode.dryRun && after) this.positions.set(stateKey(table.name, direction), after);
      if (futureRows > 0) {
        // clock policy (README): a future-stamped version wins until real time catches up; it is flagged, not altered
        report.futureStamped = futureRows;
        this.bus.emit({ type: 'log', level: 'warn', message: `${table.name} ${direction}: ${futureRows} row(s) stamped more than ${FUTURE_SKEW_MS / 1000}s ahead of the ${source} clock (a writer's clock is ahead; such versions win conflicts until the clock catches up)` });
      }
      // a tail pass that found nothing leaves sync_state alone (it runs several times a second)
      if (!mode.dryRun && !(mode.tail && report.counts.read === 0)) {
        await recordPassEnd(this.local, table.name, direction, { status: 'ok', counts: report.counts, ms: performance.now() - started });
      }
    } catch (err) {
      await booked.catch(() => undefined); // the last batch's bookkeeping settles before the pass end is recorded
      // a simulated crash stops here (the bookkeeping in flight has landed, as it may in a real kill)
      if (isSimulatedCrash(err)) throw err;
      report.status = 'error';
      report.error = redactError(err);
      this.needsRecovery = true;
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

  /** Events for what a batch did: conflicts, and agents changed (the dashboard and WebSocket clients follow them). */
  private afterBatch(run: TableRun, o: BatchOutcome): void {
    if (run.dryRun) return;
    if (run.table.name === 'agents') {
      for (const id of [...o.inserted, ...o.updated].slice(0, 200)) this.bus.emit({ type: 'agent.changed', id, role: run.target });
      for (const id of o.writtenBack.slice(0, 200)) this.bus.emit({ type: 'agent.changed', id, role: run.source });
    }
    for (const c of o.conflicts.slice(0, 1000)) {
      this.bus.emit({ type: 'sync.conflict', table: c.table, rowId: c.rowId, winner: c.winner, strategy: c.strategy, reason: c.reason });
    }
  }

  /**
   * Rows parked in sync_errors are read again from the source and retried on every pass: a row
   * refused by a constraint goes through as soon as the cause is gone. A parked row that is gone
   * from the source is unparked (the key scan settles what that means).
   */
  private async retryParked(run: TableRun, report: TableReport, only?: string[]): Promise<void> {
    if (run.dryRun || !run.bookkeeping) return;
    const ids = only ?? (await parkedIds(this.local, run.table.name, run.direction));
    if (ids.length === 0) return;
    const rows: SyncRow[] = await readRows(run, run.source, ids);
    const present = new Set(rows.map((r) => r.id));
    const gone = ids.filter((id) => !present.has(id));
    if (gone.length) await this.local.query('DELETE FROM sync_errors WHERE table_name = $1 AND direction = $2 AND row_id = ANY($3::uuid[])', [run.table.name, run.direction, gone]);
    if (rows.length === 0) return;
    const { outcome, booked } = await applyBatch(run, rows, { watermark: null, high: null });
    await booked;
    this.afterBatch(run, outcome);
    report.counts.applied += outcome.inserted.length + outcome.updated.length + outcome.writtenBack.length;
    report.counts.conflicts += outcome.conflicts.length;
    // a row refused again was counted when it was first parked (in this pass, or an earlier one)
    if (only === undefined) report.counts.errors += outcome.failed.length + outcome.failedBack.length;
  }
}

/** The watermark after reading up to `key`: never past the horizon, never backwards. */
export function advance(current: Key | null, key: Key, horizon: Horizon): Key {
  const cap: Key = { ts: horizon.ts, id: NIL_UUID };
  const next = compareKeys(key, cap) > 0 ? cap : key;
  return current && compareKeys(current, next) > 0 ? current : next;
}

export { rolesOf };
