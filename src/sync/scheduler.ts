import { redactError } from '../config/redact.js';
import { ensureLeaseTable, leaseHolder, tryAcquireLease, type Lease } from '../db/lease.js';
import type { Db } from '../db/pool.js';
import { CesarError, isCesarError } from '../errors.js';
import type { EventBus } from '../events/bus.js';
import type { PassOptions, PassReport, SyncEngine } from './engine.js';

/** How the scheduler runs passes. */
export interface SchedulerOptions {
  /** Time between full passes (CESAR_SYNC_INTERVAL). */
  intervalMs: number;
  /** Tables synced within about a second of a change (CESAR_CRITICAL_TABLES). */
  criticalTables: string[];
  /** How often the critical tables are polled while active. */
  criticalPollMs: number;
  /**
   * Critical polls are tail passes (only rows committed since the last poll); one poll in this
   * interval re-reads the late-commit window and moves the watermark.
   */
  criticalWindowMs: number;
  /** The sync lease: one active syncer among all cesar processes on these databases. */
  leaseTtlMs: number;
  owner?: string;
  /** Cap of the backoff after failed passes. */
  maxBackoffMs: number;
  /**
   * Maintenance run every `intervalMs` while this process holds the lease and the last pass
   * succeeded (retention: src/sync/retention.ts). Never concurrent with a pass of this process.
   */
  retention?: { intervalMs: number; run(signal?: AbortSignal): Promise<unknown> };
}

export const DEFAULT_SCHEDULER_OPTIONS: Omit<SchedulerOptions, 'intervalMs' | 'criticalTables'> = {
  criticalPollMs: 200,
  criticalWindowMs: 5000,
  leaseTtlMs: 15_000,
  maxBackoffMs: 60_000,
};

/** What the dashboard and /health show about scheduling. */
export interface SchedulerStatus {
  /** True while this process holds the sync lease and runs passes. */
  active: boolean;
  /** Who holds the lease when we do not (null: nobody, or unknown). */
  standbyFor: string | null;
  paused: boolean;
  running: boolean;
  lastPassAt: string | null;
  lastSuccessAt: string | null;
  nextPassAt: string | null;
  lastError: string | null;
  consecutiveFailures: number;
  intervalMs: number;
}

/**
 * Runs passes on a schedule for the dashboard and headless mode: a full pass every interval, the
 * critical tables every `criticalPollMs`, passes on demand, with backoff after failures. Only the
 * holder of the sync lease (in the cloud database) runs passes; the others stand by and take over
 * within two lease periods when the holder dies.
 */
export class SyncScheduler {
  private readonly opts: SchedulerOptions;
  private lease: Lease | null = null;
  private timers: NodeJS.Timeout[] = [];
  private stopped = true;
  private paused = false;
  private nextFullAt = 0;
  private backoffUntil = 0;
  private state: Omit<SchedulerStatus, 'active' | 'paused' | 'running' | 'nextPassAt' | 'intervalMs'> = {
    standbyFor: null,
    lastPassAt: null,
    lastSuccessAt: null,
    lastError: null,
    consecutiveFailures: 0,
  };
  private ticking = false;
  private nextRetentionAt = 0;
  private nextWindowAt = 0;
  private retentionRun: Promise<void> | null = null;
  private stopping = new AbortController();
  private readonly statusListeners = new Set<(status: SchedulerStatus) => void>();
  private announced: SchedulerStatus | null = null;

  constructor(
    private readonly engine: SyncEngine,
    private readonly cloud: Db,
    private readonly bus: EventBus,
    options: Partial<SchedulerOptions> & Pick<SchedulerOptions, 'intervalMs' | 'criticalTables'>,
  ) {
    this.opts = { ...DEFAULT_SCHEDULER_OPTIONS, ...options };
  }

  /** Starts the loop; the first full pass runs as soon as the lease is held. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.stopping = new AbortController();
    this.nextFullAt = Date.now();
    const tick = setInterval(() => void this.tick(), Math.min(this.opts.criticalPollMs, 1000));
    tick.unref();
    this.timers.push(tick);
    void this.tick();
    this.announce();
  }

  /** Stops scheduling, waits for a running pass to finish, releases the lease. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping.abort(new CesarError('STOPPING', 'the scheduler is stopping'));
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    while (this.engine.busy) await new Promise((r) => setTimeout(r, 20));
    await this.retentionRun;
    await this.releaseLease();
    this.announce();
  }

  /** Pauses scheduled passes (on-demand passes still run). */
  setPaused(paused: boolean): void {
    this.paused = paused;
    this.announce();
  }

  /** Changes the interval of full passes; the next pass moves accordingly. */
  setInterval(ms: number): void {
    this.nextFullAt = this.nextFullAt - this.opts.intervalMs + ms;
    this.opts.intervalMs = ms;
    this.announce();
  }

  /** The scheduling state, for screens and health checks. */
  status(): SchedulerStatus {
    return {
      ...this.state,
      active: this.lease !== null,
      paused: this.paused,
      running: this.engine.busy,
      nextPassAt: this.lease && !this.paused ? new Date(Math.max(this.nextFullAt, this.backoffUntil)).toISOString() : null,
      intervalMs: this.opts.intervalMs,
    };
  }

  /**
   * Calls `listener` with the status each time it changes (a pass starts or ends, the lease is
   * taken or lost, a pause, a backoff), so that screens need not poll status(); returns the
   * unsubscribe function.
   */
  onStatus(listener: (status: SchedulerStatus) => void): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  /** Tells the status listeners when status() differs from what they heard last. */
  private announce(): void {
    if (this.statusListeners.size === 0) return;
    const now = this.status();
    const last = this.announced;
    if (last && (Object.keys(now) as Array<keyof SchedulerStatus>).every((k) => now[k] === last[k])) return;
    this.announced = now;
    for (const listener of this.statusListeners) {
      try {
        listener(now);
      } catch {
        // a screen's bug must not stop scheduling
      }
    }
  }

  /**
   * Runs a pass now. A dry run needs no lease (it writes nothing); a real pass needs this process
   * to be the active syncer, otherwise it fails with LEASE_HELD naming the active one.
   */
  async runNow(options: PassOptions): Promise<PassReport> {
    if (!options.dryRun && !(await this.ensureLease())) {
      this.announce();
      const holder = await leaseHolder(this.cloud, 'sync').catch(() => null);
      throw new CesarError('LEASE_HELD', `another cesar is the active syncer${holder ? ` (${holder.owner}, lease expires ${holder.expiresAt})` : ''}; this one stands by`);
    }
    // a pass never overlaps a retention run: a purge must not race a pass that copies the same rows
    while (this.retentionRun) await this.retentionRun;
    const report = await this.recorded(() => this.engine.runPass({ ...options, ...(this.lease ? { signal: this.lease.lost } : {}) }));
    if (!options.tables && !options.dryRun && options.direction === 'both') this.nextFullAt = Date.now() + this.opts.intervalMs;
    return report;
  }

  private async tick(): Promise<void> {
    if (this.stopped || this.ticking) return;
    this.ticking = true;
    try {
      // while backing off, the cloud is not asked for the lease either (it may be the thing that is down)
      if (Date.now() < this.backoffUntil) return;
      if (!(await this.ensureLease())) return;
      if (this.paused || this.engine.busy) return;
      if (Date.now() >= this.nextFullAt) {
        this.nextFullAt = Date.now() + this.opts.intervalMs;
        await this.recorded(() => this.engine.runPass({ direction: 'both', ...(this.lease ? { signal: this.lease.lost } : {}) })).catch((err: unknown) => {
          this.nextFullAt = 0; // a failed full pass is retried once the backoff ends, not an interval later
          throw err;
        });
      } else if (this.opts.retention && Date.now() >= this.nextRetentionAt && this.state.consecutiveFailures === 0) {
        await this.runRetention(this.opts.retention);
      } else if (this.opts.criticalTables.length > 0) {
        const tail = Date.now() < this.nextWindowAt;
        if (!tail) this.nextWindowAt = Date.now() + this.opts.criticalWindowMs;
        await this.recorded(() =>
          this.engine.runPass({ direction: 'both', tables: this.opts.criticalTables, deleteScan: 'never', tail, ...(this.lease ? { signal: this.lease.lost } : {}) }),
        );
      }
    } catch {
      // recorded() keeps the error in the status and the event bus; the next tick retries after backoff
    } finally {
      this.ticking = false;
      this.announce();
    }
  }

  /** Runs retention under the lease (it stops between statements when the lease is lost or the scheduler stops). */
  private async runRetention(retention: NonNullable<SchedulerOptions['retention']>): Promise<void> {
    this.nextRetentionAt = Date.now() + retention.intervalMs;
    const signal = AbortSignal.any([this.stopping.signal, ...(this.lease ? [this.lease.lost] : [])]);
    // the hook reports its own outcome (a log event); a failed run is simply tried again next interval
    this.retentionRun = retention.run(signal).then(
      () => undefined,
      () => undefined,
    );
    try {
      await this.retentionRun;
    } finally {
      this.retentionRun = null;
    }
  }

  private async recorded(run: () => Promise<PassReport>): Promise<PassReport> {
    this.state.lastPassAt = new Date().toISOString();
    try {
      const running = run();
      this.announce(); // the engine is busy from the call on
      const report = await running;
      this.state.lastSuccessAt = new Date().toISOString();
      this.state.lastError = report.ok ? null : report.tables.find((t) => t.error)?.error ?? null;
      this.state.consecutiveFailures = 0;
      this.backoffUntil = 0;
      return report;
    } catch (err) {
      this.backOff(err);
      throw err;
    } finally {
      this.announce();
    }
  }

  /** Counts a failure and waits longer before the next attempt: 1 s, 2 s, 4 s ... capped (the cloud may be down for a while). */
  private backOff(err: unknown): void {
    this.state.lastError = redactError(err);
    this.state.consecutiveFailures++;
    const delay = Math.min(this.opts.maxBackoffMs, 1000 * 2 ** Math.min(this.state.consecutiveFailures - 1, 16));
    this.backoffUntil = Date.now() + delay;
  }

  /** Holds the lease, taking it when free or expired; false while another process holds it. */
  private async ensureLease(): Promise<boolean> {
    if (this.lease && !this.lease.lost.aborted) return true;
    if (this.lease?.lost.aborted) {
      this.lease = null;
      this.bus.emit({ type: 'log', level: 'warn', message: 'lost the sync lease: standing by' });
    }
    try {
      await ensureLeaseTable(this.cloud);
      this.lease = await tryAcquireLease(this.cloud, { name: 'sync', ttlMs: this.opts.leaseTtlMs, bus: this.bus, ...(this.opts.owner ? { owner: this.opts.owner } : {}) });
      if (this.lease) {
        this.state.standbyFor = null;
        this.nextFullAt = Math.min(this.nextFullAt, Date.now());
        return true;
      }
      this.state.standbyFor = (await leaseHolder(this.cloud, 'sync'))?.owner ?? null;
    } catch (err) {
      // the lease lives in the cloud: failing to reach it is a failed attempt like a failed pass
      // (backed off, and recorded in sync_state), not something to retry on every tick
      this.backOff(err);
      if (isCesarError(err, 'DB_UNREACHABLE')) await this.engine.recordUnreachable(err, { direction: 'both' });
    }
    return false;
  }

  private async releaseLease(): Promise<void> {
    const lease = this.lease;
    this.lease = null;
    await lease?.release().catch(() => undefined);
  }
}
