import { redact } from '../config/redact.js';
import { dbError, isConnectionError, SQLSTATE, sqlStateOf } from '../db/errors.js';
import { acquireLease, ensureLeaseTable, leaseHolder, type Lease, type LeaseHolder } from '../db/lease.js';
import type pg from 'pg';
import { checkout, type Db } from '../db/pool.js';
import { backoffDelay, sleep } from '../db/tx.js';
import { CesarError } from '../errors.js';
import type { EventBus } from '../events/bus.js';
import type { MigrationFile } from './files.js';
import { adoptChecksums, beginMigration, ensureHistoryTable, markApplied, markFailed, readHistory, recordProgress, repairRow } from './history.js';
import { inspectDatabase, MIGRATION_LEASE, prepareStatements, previousFile } from './inspect.js';
import { planMigrations, type HistoryStatus, type Plan, type Problem } from './plan.js';
import type { SqlStatement } from './split.js';

// Applies migrations to one database: one statement at a time, never inside an explicit
// transaction (CockroachDB's DDL is not transactional), with progress recorded after each,
// under a lease row so that concurrent runners apply each file exactly once.

/** How to take the migration lease. */
export interface LeaseSettings {
  ttlMs: number;
  /** How long to wait for another runner's lease before giving up (LEASE_HELD, exit 1). */
  waitMs: number;
  owner?: string;
  pollMs?: number;
  /** Called when the lease is held by someone else and we start waiting (once per holder). */
  onWait?: (holder: LeaseHolder) => void;
  signal?: AbortSignal;
}

/** What a run needs besides the database. */
export interface RunOptions extends LeaseSettings {
  files: readonly MigrationFile[];
  bus?: EventBus;
}

/** A migration applied by this run. */
export interface AppliedMigration {
  name: string;
  statements: number;
  ms: number;
  /** True when it had failed or been interrupted before and was run again from its first statement. */
  rerun: boolean;
}

/** The migration that stopped this run. */
export interface FailedMigration {
  name: string;
  /** 1-based index of the failing statement. */
  statement: number;
  of: number;
  line: number;
  /** Redacted "statement 3 of 4, line 12: ..." as recorded in schema_migrations.error. */
  error: string;
}

/** The outcome of a run on one database. */
export type RunResult =
  | { outcome: 'refused'; plan: Plan; problems: Problem[] }
  | { outcome: 'done'; plan: Plan; applied: AppliedMigration[]; failed?: FailedMigration; blocked: string[]; skipped: string[] };

/** Checks, then applies every pending (and re-runs every failed) migration, in order, under the lease. */
export async function runMigrations(db: Db, opts: RunOptions): Promise<RunResult> {
  const { files } = opts;
  // Checks first, with reads only: a refused run creates nothing, not even the tables.
  const first = await inspectDatabase(db, files);
  const early = await refusal(first.plan, files);
  if (early) return early;
  if (first.plan.counts.applied === first.plan.entries.length && first.plan.entries.every((e) => e.row?.checksum !== '')) {
    return { outcome: 'done', plan: first.plan, applied: [], blocked: [], skipped: [] };
  }

  await ensureHistoryTable(db);
  await ensureLeaseTable(db);
  const lease = await takeLease(db, opts, opts.bus);
  try {
    // Another runner may have applied everything while we waited: plan again from what is recorded now.
    // We hold the lease, so a `running` row was left by a runner that died.
    const plan = planMigrations(files, await readHistory(db), { leaseLive: false });
    const refused = await refusal(plan, files);
    if (refused) return refused;
    const legacy = plan.entries.filter((e) => e.state === 'applied' && e.row?.checksum === '' && e.fileChecksum);
    if (legacy.length > 0) await adoptChecksums(db, legacy.map((e) => ({ name: e.name, checksum: e.fileChecksum! })));
    const { statements } = await prepareStatements(files, plan.toApply);
    return await applyAll(db, plan, statements, lease, opts);
  } finally {
    await lease.release().catch(() => undefined);
  }
}

async function refusal(plan: Plan, files: readonly MigrationFile[]): Promise<RunResult | undefined> {
  const problems = [...plan.problems, ...(await prepareStatements(files, plan.toApply)).problems];
  return problems.length > 0 ? { outcome: 'refused', plan, problems } : undefined;
}

function takeLease(db: Db, s: LeaseSettings, bus: EventBus | undefined): Promise<Lease> {
  const { ttlMs, waitMs, owner, pollMs, onWait, signal } = s;
  return acquireLease(db, { name: MIGRATION_LEASE, ttlMs, waitMs, owner, pollMs, onWait, signal, bus });
}

async function applyAll(db: Db, plan: Plan, statements: Map<string, SqlStatement[]>, lease: Lease, opts: RunOptions): Promise<RunResult> {
  const applied: AppliedMigration[] = [];
  const skipped: string[] = [];
  const target = db.role;
  for (const [i, name] of plan.toApply.entries()) {
    const file = opts.files.find((f) => f.name === name)!;
    const stmts = statements.get(name) ?? [];
    const entry = plan.entries.find((e) => e.name === name);
    if (lease.lost.aborted) throw lease.lost.reason;
    opts.signal?.throwIfAborted();
    const began = await beginMigration(db, {
      name,
      checksum: file.checksum,
      statementsTotal: stmts.length,
      previous: previousFile(opts.files, name),
      lease: { name: lease.name, owner: lease.owner },
    });
    if (!began) {
      await assertStillHeld(db, lease);
      skipped.push(name); // applied by someone else: the primary key is the last guard
      continue;
    }
    opts.bus?.emit({ type: 'migration.started', target, name, statements: stmts.length });
    const t0 = performance.now();
    // A file runs on a session of its own, closed after it: a SET in a migration (or set_config)
    // applies to the rest of that file, as with psql, and never reaches the pool's sessions, which
    // must keep the settings cesar pins (src/db/pool.ts).
    const session = await checkout(db);
    try {
      for (const stmt of stmts) {
        if (lease.lost.aborted) throw lease.lost.reason;
        // interrupted (Ctrl-C): stop between statements; the file stays `running` and is re-run from
        // its first statement by the next runner, which finds the lease released, not held
        opts.signal?.throwIfAborted();
        try {
          await execute(db, session.client, stmt.text, opts.signal);
        } catch (err) {
          if (err instanceof CesarError && err.code === 'INTERRUPTED') throw err; // not the statement's failure
          if (isConnectionError(err)) throw dbError(err, target, `${name}, statement ${stmt.index + 1} of ${stmts.length}`);
          const failed = describeFailure(name, stmt, stmts.length, err);
          await markFailed(db, name, stmt.index, failed.error, performance.now() - t0);
          opts.bus?.emit({ type: 'migration.failed', target, name, statement: failed.statement, error: failed.error });
          return { outcome: 'done', plan, applied, failed, blocked: plan.toApply.slice(i + 1), skipped };
        }
        // markApplied records the last one
        if (stmt.index + 1 < stmts.length) await recordProgress(db, name, stmt.index + 1);
      }
    } finally {
      session.release(true);
    }
    const ms = performance.now() - t0;
    await markApplied(db, name, ms);
    opts.bus?.emit({ type: 'migration.applied', target, name, ms, statements: stmts.length });
    applied.push({ name, statements: stmts.length, ms, rerun: entry?.state === 'failed' });
  }
  return { outcome: 'done', plan, applied, blocked: [], skipped };
}

/** Runs one statement on its own (on the file's session); a 40001 is retried (every migration statement is idempotent). */
async function execute(db: Db, client: pg.PoolClient, text: string, signal?: AbortSignal): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      db.interrupt?.throwIfAborted(); // a client, unlike db.query, does not check
      await client.query(text);
      return;
    } catch (err) {
      const state = sqlStateOf(err);
      const retryable = state === SQLSTATE.serializationFailure || state === SQLSTATE.deadlock;
      if (!retryable || attempt >= 8) throw err;
      await sleep(backoffDelay(attempt), signal);
    }
  }
}

function describeFailure(name: string, stmt: SqlStatement, total: number, err: unknown): FailedMigration {
  const e = err as { message?: string; code?: string; position?: string };
  // The server points at the offending character; count lines up to it for the exact line.
  const position = Number(e.position);
  const line = Number.isInteger(position) && position > 0 ? stmt.line + (stmt.text.slice(0, position - 1).match(/\n/g)?.length ?? 0) : stmt.line;
  const state = sqlStateOf(err);
  const message = redact(`${e.message ?? String(err)}${state ? ` [${state}]` : ''}`);
  return { name, statement: stmt.index + 1, of: total, line, error: `statement ${stmt.index + 1} of ${total}, line ${line}: ${message}` };
}

async function assertStillHeld(db: Db, lease: Lease): Promise<void> {
  if (lease.lost.aborted) throw lease.lost.reason;
  const holder = await leaseHolder(db, lease.name);
  if (!holder || holder.owner !== lease.owner || holder.expired) {
    throw new CesarError('LEASE_LOST', `lost the ${lease.name} lease on the ${db.role} database (now held by ${holder?.owner ?? 'nobody'}); stopped before running anything more.`);
  }
}

/** The outcome of --repair on one database. */
export type RepairResult = { repaired: true; name: string } | { repaired: false; name: string; status: HistoryStatus | 'pending'; message: string };

/**
 * Marks a failed migration applied with the file's current checksum, after the operator fixed the
 * database by hand. Refuses for any other status. Takes the lease, so it never races a runner.
 */
export async function repairMigration(db: Db, file: MigrationFile, opts: LeaseSettings & { bus?: EventBus }): Promise<RepairResult> {
  const { plan, historyTable } = await inspectDatabase(db, [file]);
  const entry = plan.entries.find((e) => e.name === file.name);
  if (!historyTable || !entry?.row) {
    return { repaired: false, name: file.name, status: 'pending', message: `${file.name} was never run on the ${db.role} database: there is nothing to repair.` };
  }
  if (entry.state === 'running') {
    return { repaired: false, name: file.name, status: 'running', message: `${file.name} is running on the ${db.role} database right now (${entry.row.appliedBy ?? 'another runner'}): wait for it.` };
  }
  await ensureLeaseTable(db);
  const lease = await takeLease(db, opts, opts.bus);
  try {
    const r = await repairRow(db, file.name, file.checksum);
    if (r.repaired) return { repaired: true, name: file.name };
    const status = r.status ?? 'pending';
    return { repaired: false, name: file.name, status, message: `${file.name} is ${status} on the ${db.role} database: --repair only marks a failed migration as applied.` };
  } finally {
    await lease.release().catch(() => undefined);
  }
}
