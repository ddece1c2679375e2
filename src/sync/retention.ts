import { formatDuration } from '../config/duration.js';
import { redactError } from '../config/redact.js';
import type { Role } from '../config/types.js';
import type { Db, Queryable } from '../db/pool.js';
import { withTransaction, type RetryOptions } from '../db/tx.js';
import type { EventBus } from '../events/bus.js';
import { writeBase } from './base.js';
import { acknowledge, logChange } from './changes.js';
import { crashPoint } from './crash.js';
import type { SyncEngine } from './engine.js';
import type { SyncTable } from './registry.js';
import { rawRows } from './rows.js';
import { castOf, ident } from './sql.js';
import { stateTablesExist } from './state.js';
import type { Key } from './timestamps.js';

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

/** `AND NOT EXISTS (...)` for every row that points at `x.id`: a tombstone still referenced is kept. */
function unreferenced(table: SyncTable, refs: readonly Reference[]): string {
  return refs
    .map((r) => `AND NOT EXISTS (SELECT 1 FROM ${ident(r.child)} AS c WHERE c.${ident(r.column)} = x.id${r.child === table.name ? ' AND c.id <> x.id' : ''})`)
    .join('\n             ');
}

/**
 * One bounded batch of purge candidates, read locally ($1 retention in ms, $2 table name, $3 the
 * batch size, $4 after this id or NULL): expired tombstones whose version is the base (both sides
 * hold it: nothing of the row waits to be copied) and that no local row references.
 */
export function purgeCandidatesSql(table: SyncTable, refs: readonly Reference[]): string {
  const t = ident(table.name);
  return `SELECT x.id, x.updated_at FROM ${t} AS x
            JOIN sync_base AS b ON b.table_name = $2 AND b.row_id = x.id AND b.row_ts = x.updated_at
           WHERE x.deleted_at < now() - $1::FLOAT8 * INTERVAL '1 millisecond'
             AND ($4::uuid IS NULL OR x.id > $4::uuid)
             ${unreferenced(table, refs)}
           ORDER BY x.id
           LIMIT $3`;
}

/**
 * Deletes candidates on one side ($1 ids, $2 their updated_at) in exactly that version and only
 * when nothing on that side references them, so a purge never cascades into (or nulls the key of)
 * a live row. Returns the ids deleted.
 */
export function purgeTombstonesSql(table: SyncTable, side: Role, refs: readonly Reference[]): string {
  const t = ident(table.name);
  return `DELETE FROM ${t} WHERE id IN (
    SELECT x.id FROM ${t} AS x
      JOIN unnest($1::text[], $2::text[]) AS k (id, ts) ON x.id = k.id::uuid AND x.updated_at = k.ts::${castOf(table, side, 'updated_at')}
     WHERE true ${unreferenced(table, refs)})
    RETURNING id`;
}

/** Purges expired tombstones on both sides, children before parents (`tables` is in dependency order, parents first). */
async function purgeTombstones(ctx: RetentionContext, opts: RetentionOptions, report: RetentionReport, signal?: AbortSignal): Promise<void> {
  const retentionMs = opts.tombstoneMs!;
  const refs: Record<Role, Map<string, Reference[]>> = { local: await readReferences(ctx.local), cloud: await readReferences(ctx.cloud) };
  const retry = { ...opts.retry, ...(signal ? { signal } : {}) };
  for (const table of [...ctx.tables].reverse()) {
    const purged = { table: table.name, local: 0, cloud: 0 };
    let after: string | null = null;
    for (let i = 0; i < opts.maxBatches; i++) {
      signal?.throwIfAborted();
      const rows = await rawRows(ctx.local, purgeCandidatesSql(table, refs.local.get(table.name) ?? []), [retentionMs, table.name, opts.batchSize, after]);
      report.statements++;
      if (rows.length === 0) break;
      after = rows[rows.length - 1]![0]!;
      const keys = rows.map((r) => ({ id: r[0]!, ts: r[1]! }));
      const n = await purgeBatch(ctx, table, keys, refs, retry);
      report.statements += 3;
      purged.local += n.local;
      purged.cloud += n.cloud;
      if (rows.length < opts.batchSize) break;
      if (i === opts.maxBatches - 1) report.more = true;
    }
    report.totals.local += purged.local;
    report.totals.cloud += purged.cloud;
    if (purged.local + purged.cloud > 0) report.tombstones.push(purged);
  }
}

/**
 * Purges one batch of candidates: in the cloud first (with its change log entry), then locally
 * with the base, in the version both hold. A tombstone the cloud kept (something there references
 * it now, or it changed) is kept locally too. One the cloud purged but the local side kept (a
 * local row came to reference it meanwhile) loses its base, so the next key scan copies it back
 * up instead of taking its absence in the cloud for a delete to propagate (which could cascade).
 * A crash between the two commits leaves the base: the key scan then finishes the delete locally.
 */
async function purgeBatch(ctx: RetentionContext, table: SyncTable, keys: Key[], refs: Record<Role, Map<string, Reference[]>>, retry: RetryOptions): Promise<{ local: number; cloud: number }> {
  const params = (ks: Key[]) => [ks.map((k) => k.id), ks.map((k) => k.ts)];
  const { cloudIds, entry } = await withTransaction(
    ctx.cloud,
    async (client) => {
      const ids = new Set((await rawRows(client, purgeTombstonesSql(table, 'cloud', refs.cloud.get(table.name) ?? []), params(keys))).map((r) => r[0]!));
      const dels = keys.filter((k) => ids.has(k.id));
      return { cloudIds: ids, entry: dels.length ? await logChange(client, ctx.siteId, table.name, [], dels, []) : null };
    },
    retry,
  );
  if (entry) crashPoint('scan:delete-committed');
  const gone = keys.filter((k) => cloudIds.has(k.id));
  return withTransaction(
    ctx.local,
    async (client) => {
      const localIds = new Set(gone.length ? (await rawRows(client, purgeTombstonesSql(table, 'local', refs.local.get(table.name) ?? []), params(gone))).map((r) => r[0]!) : []);
      await writeBase(client, table.name, [], gone.map((k) => k.id));
      if (entry) await acknowledge(client, [entry]);
      return { local: localIds.size, cloud: cloudIds.size };
    },
    retry,
  );
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

/** The databases, this site's id and the synced tables (dependency order, parents first). */
export interface RetentionContext {
  local: Db;
  cloud: Db;
  siteId: string;
  tables: SyncTable[];
}

/**
 * One retention run: expired tombstones on both sides, old or surplus sync_conflicts rows. Every
 * DELETE is bounded (`batchSize` rows, `maxBatches` statements per
 * table and side); `signal` (the sync lease) stops it between statements. It must not run while
 * a pass runs in this process (the scheduler serialises them).
 */
export async function runRetention(ctx: RetentionContext, opts: RetentionOptions, signal?: AbortSignal): Promise<RetentionReport> {
  const started = performance.now();
  const report: RetentionReport = { tombstones: [], totals: { local: 0, cloud: 0 }, conflicts: 0, statements: 0, more: false, ms: 0 };
  // before the first pass there is no bookkeeping: nothing is known on both sides, so nothing may go
  if (await stateTablesExist(ctx.local)) {
    if (opts.tombstoneMs !== null) await purgeTombstones(ctx, opts, report, signal);
    await purgeConflicts(ctx.local, opts, report, signal);
  }
  report.ms = performance.now() - started;
  return report;
}

/** The log line of a run, with its counts. */
export function describeRetention(r: RetentionReport): string {
  const perTable = r.tombstones.map((t) => `${t.table} ${t.local}/${t.cloud}`).join(', ');
  return (
    `retention: purged ${r.totals.local + r.totals.cloud} tombstones (local ${r.totals.local}, cloud ${r.totals.cloud}${perTable ? `; local/cloud per table: ${perTable}` : ''}), ` +
    `${r.conflicts} sync_conflicts rows; ${r.statements} statements in ${Math.round(r.ms)} ms` +
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
        const report = await runRetention({ ...dbs, siteId: await engine.site(), tables }, opts, signal);
        bus.emit({ type: 'log', level: 'info', message: describeRetention(report) });
        return report;
      } catch (err) {
        bus.emit({ type: 'log', level: 'warn', message: `retention failed: ${redactError(err)}; next try in ${formatDuration(settings.intervalMs)}` });
        throw err;
      }
    },
  };
}
