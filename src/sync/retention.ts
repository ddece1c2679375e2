import { formatDuration } from '../config/duration.js';
import { redactError } from '../config/redact.js';
import { ROLES, type Role } from '../config/types.js';
import type { Db, Queryable } from '../db/pool.js';
import { withTransaction, type RetryOptions } from '../db/tx.js';
import type { EventBus } from '../events/bus.js';
import type { SyncEngine } from './engine.js';
import type { SyncTable } from './registry.js';
import { ident } from './sql.js';
import { readStates, stateKey, stateTablesExist, type Direction, type TableState } from './state.js';

/** What retention purges; null turns that purge off. */
export interface RetentionSettings {
  /** Tombstones whose deleted_at is older than this are hard-deleted on both sides. */
  tombstoneMs: number | null;
  /** sync_conflicts rows older than this are deleted. */
  conflictMs: number | null;
  /** At most this many sync_conflicts rows are kept (the oldest go first). */
  conflictMaxRows: number | null;
}

/** Settings plus the bounds of one run. */
export interface RetentionOptions extends RetentionSettings {
  /** Rows per DELETE statement. */
  batchSize: number;
  /** DELETE statements per table and side (and per bookkeeping purge) in one run; the rest waits for the next run. */
  maxBatches: number;
  retry: RetryOptions;
}

export const DEFAULT_RETENTION_LIMITS: Pick<RetentionOptions, 'batchSize' | 'maxBatches' | 'retry'> = {
  batchSize: 1000,
  maxBatches: 100,
  retry: { maxAttempts: 10, baseDelayMs: 50, maxDelayMs: 2000 },
};

/** What one run purged. */
export interface RetentionReport {
  /** Tombstones purged per table and side (tables where nothing was purged are left out). */
  tombstones: Array<{ table: string; local: number; cloud: number }>;
  totals: { local: number; cloud: number };
  /** sync_conflicts rows deleted (too old, or beyond the row cap). */
  conflicts: number;
  /** sync_recent entries below their direction's watermark (never consulted again) deleted. */
  recent: number;
  /** DELETE statements sent. */
  statements: number;
  /** A bound of this run was reached: more is left for the next run. */
  more: boolean;
  ms: number;
}

/** A row of another table that points at a table's id (a foreign key column). */
export interface Reference {
  child: string;
  column: string;
}

// The direction that copies each side's rows to the other: its watermark says which versions it processed.
const COPIER: Record<Role, Direction> = { local: 'up', cloud: 'down' };

/** Foreign-key columns that reference each table's `id`, from the catalog (information_schema: portable). */
export async function readReferences(db: Queryable): Promise<Map<string, Reference[]>> {
  const { rows } = await db.query<{ parent: string; child: string; col: string }>(
    `SELECT DISTINCT pk.table_name AS parent, kcu.table_name AS child, kcu.column_name AS col
       FROM information_schema.referential_constraints rc
       JOIN information_schema.key_column_usage kcu
         ON kcu.constraint_schema = rc.constraint_schema AND kcu.constraint_name = rc.constraint_name
       JOIN information_schema.key_column_usage pk
         ON pk.constraint_schema = rc.unique_constraint_schema AND pk.constraint_name = rc.unique_constraint_name
        AND pk.ordinal_position = kcu.position_in_unique_constraint
      WHERE rc.constraint_schema = 'public' AND kcu.table_schema = 'public' AND pk.column_name = 'id'
      ORDER BY 1, 2, 3`,
  );
  const refs = new Map<string, Reference[]>();
  for (const r of rows) {
    if (!refs.has(r.parent)) refs.set(r.parent, []);
    refs.get(r.parent)!.push({ child: r.child, column: r.col });
  }
  return refs;
}

/**
 * One bounded batch of expired tombstones of a table on one side ($1 retention in ms, $2/$3 the
 * watermark of the direction that copies this side, $4 the batch size). Only versions that
 * direction has processed go, so a change not yet copied is never lost; a tombstone another row
 * still references is kept, so a purge never cascades into (or nulls the key of) a live row.
 * `DELETE ... WHERE id IN (SELECT ... LIMIT n)` is the batched delete both databases accept; the
 * id order makes both sides pick the same rows when a run is cut short by its bound.
 */
export function purgeTombstonesSql(table: SyncTable, refs: readonly Reference[]): string {
  const t = ident(table.name);
  const unreferenced = refs
    .map((r) => `AND NOT EXISTS (SELECT 1 FROM ${ident(r.child)} AS c WHERE c.${ident(r.column)} = x.id${r.child === table.name ? ' AND c.id <> x.id' : ''})`)
    .join('\n             ');
  return `DELETE FROM ${t} WHERE id IN (
    SELECT x.id FROM ${t} AS x
     WHERE x.deleted_at < now() - $1::FLOAT8 * INTERVAL '1 millisecond'
       AND (x.updated_at, x.id) <= ($2::timestamptz, $3::uuid)
       ${unreferenced}
     ORDER BY x.id
     LIMIT $4)`;
}

/**
 * Runs a batched DELETE until a batch comes back short or `maxBatches` is reached (then
 * `report.more` is set); returns the rows deleted. Each batch is its own retried transaction.
 */
async function drain(db: Db, sql: string, params: (limit: number) => unknown[], opts: RetentionOptions, report: RetentionReport, signal?: AbortSignal): Promise<number> {
  let total = 0;
  for (let i = 0; i < opts.maxBatches; i++) {
    signal?.throwIfAborted();
    const n = await withTransaction(db, async (c) => (await c.query(sql, params(opts.batchSize))).rowCount ?? 0, { ...opts.retry, ...(signal ? { signal } : {}) });
    report.statements++;
    total += n;
    if (n < opts.batchSize) return total;
  }
  report.more = true;
  return total;
}

/** Purges expired tombstones on both sides, children before parents (`tables` is in dependency order, parents first). */
async function purgeTombstones(ctx: RetentionContext, states: Map<string, TableState>, opts: RetentionOptions, report: RetentionReport, signal?: AbortSignal): Promise<void> {
  const retentionMs = opts.tombstoneMs!;
  const refs: Record<Role, Map<string, Reference[]>> = { local: await readReferences(ctx.local), cloud: await readReferences(ctx.cloud) };
  for (const table of [...ctx.tables].reverse()) {
    const purged = { table: table.name, local: 0, cloud: 0 };
    for (const role of ROLES) {
      const watermark = states.get(stateKey(table.name, COPIER[role]))?.watermark;
      if (!watermark) continue; // nothing of this side was ever copied: nothing may go
      const sql = purgeTombstonesSql(table, refs[role].get(table.name) ?? []);
      purged[role] = await drain(role === 'local' ? ctx.local : ctx.cloud, sql, (limit) => [retentionMs, watermark.ts, watermark.id, limit], opts, report, signal);
      report.totals[role] += purged[role];
    }
    if (purged.local + purged.cloud > 0) report.tombstones.push(purged);
  }
}

/** Deletes sync_conflicts rows older than the retention, then the oldest beyond the row cap. */
async function purgeConflicts(local: Db, opts: RetentionOptions, report: RetentionReport, signal?: AbortSignal): Promise<void> {
  if (opts.conflictMs !== null) {
    const sql = `DELETE FROM sync_conflicts WHERE id IN (
      SELECT id FROM sync_conflicts WHERE detected_at < now() - $1::FLOAT8 * INTERVAL '1 millisecond' LIMIT $2)`;
    report.conflicts += await drain(local, sql, (limit) => [opts.conflictMs, limit], opts, report, signal);
  }
  if (opts.conflictMaxRows !== null) {
    // the newest row beyond the cap: it and everything older go (detected_at is indexed)
    const { rows } = await local.query<{ ts: string; id: string }>(
      'SELECT detected_at::text AS ts, id::text AS id FROM sync_conflicts ORDER BY detected_at DESC, id DESC LIMIT 1 OFFSET $1',
      [opts.conflictMaxRows],
    );
    const edge = rows[0];
    if (edge) {
      const sql = `DELETE FROM sync_conflicts WHERE id IN (
        SELECT id FROM sync_conflicts WHERE (detected_at, id) <= ($1::timestamptz, $2::uuid) LIMIT $3)`;
      report.conflicts += await drain(local, sql, (limit) => [edge.ts, edge.id, limit], opts, report, signal);
    }
  }
}

/**
 * sync_recent entries below their direction's watermark are never consulted again (a version at
 * or below the watermark counts as processed without them). The engine drops them when the
 * watermark moves; a table that went quiet keeps its last ones, which this clears.
 */
async function purgeRecent(local: Db, states: Map<string, TableState>, opts: RetentionOptions, report: RetentionReport, signal?: AbortSignal): Promise<void> {
  const sql = `DELETE FROM sync_recent WHERE table_name = $1 AND direction = $2 AND row_id IN (
    SELECT row_id FROM sync_recent WHERE table_name = $1 AND direction = $2 AND row_ts < $3::timestamptz LIMIT $4)`;
  for (const s of states.values()) {
    if (!s.watermark) continue;
    const w = s.watermark;
    report.recent += await drain(local, sql, (limit) => [s.table, s.direction, w.ts, limit], opts, report, signal);
  }
}

/** The databases and the synced tables (dependency order, parents first). */
export interface RetentionContext {
  local: Db;
  cloud: Db;
  tables: SyncTable[];
}

/**
 * One retention run: expired tombstones on both sides, old or surplus sync_conflicts rows, dead
 * sync_recent entries. Every DELETE is bounded (`batchSize` rows, `maxBatches` statements per
 * table and side); `signal` (the sync lease) stops it between statements. It must not run while
 * a pass runs in this process (the scheduler serialises them).
 */
export async function runRetention(ctx: RetentionContext, opts: RetentionOptions, signal?: AbortSignal): Promise<RetentionReport> {
  const started = performance.now();
  const report: RetentionReport = { tombstones: [], totals: { local: 0, cloud: 0 }, conflicts: 0, recent: 0, statements: 0, more: false, ms: 0 };
  // before the first pass there is no bookkeeping: nothing was processed, so nothing may go
  if (await stateTablesExist(ctx.local)) {
    const states = await readStates(ctx.local);
    if (opts.tombstoneMs !== null) await purgeTombstones(ctx, states, opts, report, signal);
    await purgeConflicts(ctx.local, opts, report, signal);
    await purgeRecent(ctx.local, states, opts, report, signal);
  }
  report.ms = performance.now() - started;
  return report;
}

/** The log line of a run, with its counts. */
export function describeRetention(r: RetentionReport): string {
  const perTable = r.tombstones.map((t) => `${t.table} ${t.local}/${t.cloud}`).join(', ');
  return (
    `retention: purged ${r.totals.local + r.totals.cloud} tombstones (local ${r.totals.local}, cloud ${r.totals.cloud}${perTable ? `; local/cloud per table: ${perTable}` : ''}), ` +
    `${r.conflicts} sync_conflicts rows, ${r.recent} stale sync_recent entries; ${r.statements} statements in ${Math.round(r.ms)} ms` +
    (r.more ? '; more is left for the next run' : '')
  );
}

/** What the scheduler runs every `intervalMs` while it holds the sync lease. */
export interface RetentionHook {
  intervalMs: number;
  run(signal?: AbortSignal): Promise<RetentionReport>;
}

/** The scheduler's retention: the engine's registry, the configured settings, a log event with the counts per run. */
export function createRetention(
  engine: SyncEngine,
  dbs: { local: Db; cloud: Db },
  bus: EventBus,
  settings: RetentionSettings & { intervalMs: number },
  limits: Partial<Pick<RetentionOptions, 'batchSize' | 'maxBatches' | 'retry'>> = {},
): RetentionHook {
  const opts: RetentionOptions = { ...DEFAULT_RETENTION_LIMITS, ...limits, tombstoneMs: settings.tombstoneMs, conflictMs: settings.conflictMs, conflictMaxRows: settings.conflictMaxRows };
  return {
    intervalMs: settings.intervalMs,
    async run(signal) {
      try {
        const { tables } = await engine.registry();
        const report = await runRetention({ ...dbs, tables }, opts, signal);
        bus.emit({ type: 'log', level: 'info', message: describeRetention(report) });
        return report;
      } catch (err) {
        bus.emit({ type: 'log', level: 'warn', message: `retention failed: ${redactError(err)}; next try in ${formatDuration(settings.intervalMs)}` });
        throw err;
      }
    },
  };
}
