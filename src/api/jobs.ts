import { randomUUID } from 'node:crypto';
import { redactError } from '../config/redact.js';
import { ROLES, type Role } from '../config/types.js';
import { CesarError } from '../errors.js';
import { defaultMigrationsDir, planDryRun, readMigrationFiles, runMigrations } from '../migrations/index.js';
import type { Runtime } from '../db/runtime.js';
import type { PassReport, SyncEngine } from '../sync/engine.js';
import type { SyncScheduler } from '../sync/scheduler.js';
import { HttpError } from './http.js';

/** Work started by POST /api/sync or /api/migrate; progress is on the event bus, the outcome here. */
export interface Job {
  id: string;
  kind: 'sync' | 'migrate';
  status: 'running' | 'succeeded' | 'failed';
  request: Record<string, unknown>;
  startedAt: string;
  finishedAt: string | null;
  result: unknown;
  error: string | null;
}

/** A sync request after validation. */
export interface SyncRequest {
  direction: 'both' | 'up' | 'down';
  tables?: string[];
  dryRun: boolean;
}

/** A migration request after validation. */
export interface MigrateRequest {
  target: 'local' | 'cloud' | 'both';
  dryRun: boolean;
}

const KEEP = 100;
// A migration job waits this long for another runner's migration lease before failing.
const MIGRATION_LEASE_WAIT_MS = 30_000;

/** Starts and remembers jobs: at most one of each kind at a time (a second gets 409). */
export class Jobs {
  private readonly jobs = new Map<string, Job>();
  private readonly running = new Map<Job['kind'], Promise<void>>();

  constructor(
    private readonly rt: Runtime,
    private readonly scheduler: SyncScheduler,
    private readonly engine: SyncEngine,
    private readonly migrationsDir = defaultMigrationsDir(),
  ) {}

  /** A job by id (the last 100 are kept). */
  get(id: string): Job | undefined {
    return this.jobs.get(id);
  }

  /** Starts a sync pass through the scheduler (so the lease rules apply). */
  startSync(req: SyncRequest): Job {
    const status = this.scheduler.status();
    if (!req.dryRun && !status.active && status.standbyFor) {
      throw new HttpError(409, `another cesar is the active syncer (${status.standbyFor}); this one stands by. Send the request to the active one, or use dryRun.`);
    }
    return this.start('sync', { ...req }, async () => {
      const report = await this.scheduler.runNow({ direction: req.direction, dryRun: req.dryRun, ...(req.tables ? { tables: req.tables } : {}) });
      return { ok: report.ok, result: summarise(report) };
    });
  }

  /** Applies (or, dry, plans) migrations on the target databases, local first. */
  startMigrate(req: MigrateRequest): Job {
    const targets: Role[] = req.target === 'both' ? [...ROLES] : [req.target];
    for (const t of targets) this.rt.db(t); // not configured: usage error, 400
    return this.start('migrate', { ...req }, async () => {
      const files = await readMigrationFiles(this.migrationsDir);
      const result: Record<string, unknown> = {};
      let ok = true;
      for (const target of targets) {
        const db = this.rt.db(target);
        try {
          if (req.dryRun) {
            const { inspection: ins, statements, problems } = await planDryRun(db, files);
            const all = problems.map((p) => p.message);
            ok &&= all.length === 0;
            result[target] = { wouldApply: ins.plan.toApply.map((name) => ({ name, statements: statements.get(name)?.length ?? 0 })), problems: all, counts: ins.plan.counts };
          } else {
            const r = await runMigrations(db, { files, ttlMs: 60_000, waitMs: MIGRATION_LEASE_WAIT_MS, bus: this.rt.bus });
            if (r.outcome === 'refused') {
              ok = false;
              result[target] = { outcome: 'refused', problems: r.problems.map((p) => p.message) };
            } else {
              ok &&= !r.failed;
              result[target] = { outcome: 'done', applied: r.applied.map((a) => a.name), failed: r.failed ?? null, blocked: r.blocked, skipped: r.skipped };
            }
          }
        } catch (err) {
          ok = false;
          result[target] = { error: redactError(err) };
        }
      }
      // a new table or column: the sync engine reads the catalogs again
      if (!req.dryRun) this.engine.invalidateRegistry();
      return { ok, result };
    });
  }

  /** Waits up to `ms` for running jobs to end. */
  async settle(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const done = await Promise.race([
      Promise.all(this.running.values()).then(() => true),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms))),
    ]);
    clearTimeout(timer);
    return done;
  }

  private start(kind: Job['kind'], request: Record<string, unknown>, work: () => Promise<{ ok: boolean; result: unknown }>): Job {
    if (this.running.has(kind)) {
      const current = [...this.jobs.values()].find((j) => j.kind === kind && j.status === 'running');
      throw new HttpError(409, `a ${kind} job is already running${current ? ` (${current.id})` : ''}; wait for its events or GET /api/jobs/${current?.id ?? '<id>'}`, {}, current ? { running: current.id } : {});
    }
    const job: Job = { id: randomUUID(), kind, status: 'running', request, startedAt: new Date().toISOString(), finishedAt: null, result: null, error: null };
    this.jobs.set(job.id, job);
    for (const id of this.jobs.keys()) {
      if (this.jobs.size <= KEEP) break;
      if (this.jobs.get(id)!.status !== 'running') this.jobs.delete(id);
    }
    const bus = this.rt.bus;
    bus.emit({ type: 'log', level: 'info', message: `api: ${kind} job ${job.id} started (${describe(request)})` });
    const p = work().then(
      ({ ok, result }) => {
        job.status = ok ? 'succeeded' : 'failed';
        job.result = result;
        if (!ok) job.error = `the ${kind} did not succeed everywhere: see result`;
      },
      (err: unknown) => {
        job.status = 'failed';
        job.error = err instanceof CesarError ? err.message : redactError(err);
      },
    ).finally(() => {
      job.finishedAt = new Date().toISOString();
      this.running.delete(kind);
      bus.emit({ type: 'log', level: job.status === 'succeeded' ? 'info' : 'error', message: `api: ${kind} job ${job.id} ${job.status}${job.error ? `: ${job.error}` : ''}` });
    });
    this.running.set(kind, p);
    return job;
  }
}

function describe(request: Record<string, unknown>): string {
  return Object.entries(request)
    .map(([k, v]) => `${k} ${Array.isArray(v) ? v.join(',') : String(v)}`)
    .join(', ');
}

/** The part of a pass report worth keeping in a job: totals and what went wrong. */
function summarise(r: PassReport): Record<string, unknown> {
  return {
    passId: r.passId,
    direction: r.direction,
    dryRun: r.dryRun,
    ok: r.ok,
    ms: Math.round(r.ms),
    totals: r.totals,
    tables: r.tables
      .filter((t) => t.status !== 'ok' || t.counts.read + t.counts.deleted > 0)
      .map((t) => ({ table: t.table, direction: t.direction, status: t.status, counts: t.counts, inserted: t.inserted, updated: t.updated, ...(t.error ? { error: t.error } : {}) })),
    drift: r.drift,
  };
}
