import { redactError } from '../../config/redact.js';
import { ROLES, type Role } from '../../config/types.js';
import type { LiveSource, Probes } from '../../status/live.js';
import { median, steadyLatency } from '../format/time.js';
import { computeLayout, listRows } from '../layout.js';
import type { DashboardStore } from '../state/store.js';
import type { DashboardState, DbView } from '../state/types.js';

/** Conflicts kept for the panel (it scrolls through these; older ones are in `cesar status`/SQL). */
const CONFLICT_ROWS = 100;

/** What the poller reads, each for one part of the screen. */
export type Task = 'agents' | 'sync' | 'lag' | 'conflicts' | 'migrations';
const TASKS: readonly Task[] = ['agents', 'sync', 'lag', 'conflicts', 'migrations'];

/**
 * Everything is read again at least this often, even when no event and no fingerprint says it
 * changed: what neither shows (an agent hard-deleted by another program, `DELETE FROM sync_state`,
 * a migration run by `cesar migrate` elsewhere) shows within this long.
 */
export const SAFETY_MS = 30_000;
/** The lag of the visible tables moves with time and with other programs' writes: read this often. */
export const LAG_MS = 15_000;
/** Reads asked for by events run at most this often per task (a pass at 100 rows/s emits many). */
const MIN_GAP_MS: Record<Task, number> = { agents: 1000, sync: 1000, lag: 5000, conflicts: 1000, migrations: 1000 };

/** Only replaces a slice when its content changed, so that an unchanged poll re-renders nothing. */
function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Reads from the databases what no event carries, and only when it may have changed.
 *
 * Every refresh: one timed `SELECT 1` per database (health and latency), and the agents'
 * fingerprint (the newest `updated_at` on each side, one index probe each): the visible page is
 * read again only when it moved. Sync state and conflicts change through passes: while this
 * process is the active syncer they are read when its own passes report a change (see bus.ts);
 * otherwise another process may be syncing, and they are read every refresh. Events ask for
 * reads through `invalidate`, coalesced to one read per task per second. A cycle never overlaps
 * the previous one; a slow database delays only its own refresh.
 */
export class Poller {
  private timer: NodeJS.Timeout | undefined;
  private timerAt = 0;
  private intervalMs = 2000;
  private cycling = false;
  private probes: Probes = { local: null, cloud: null };
  private readonly running = new Set<Task>();
  private readonly again = new Set<Task>();
  /** When each task was asked for (by an event or a key) is due; Infinity when nobody asked. */
  private readonly due: Record<Task, number> = { agents: 0, sync: 0, lag: 0, conflicts: 0, migrations: 0 };
  private readonly lastRead: Record<Task, number> = { agents: 0, sync: 0, lag: 0, conflicts: 0, migrations: 0 };
  private fingerprint: string | null = null;
  private stopped = false;
  private readonly lagCache = new Map<string, number | null>();
  /** The last few latencies per role: the header shows their median, so one slow probe on a busy host does not flash. */
  private readonly latencies: Record<Role, number[]> = { local: [], cloud: [] };
  /** Reads done, per task (tests and the benchmark's explanation of where the time goes). */
  readonly reads: Record<Task | 'health' | 'fingerprint', number> = { agents: 0, sync: 0, lag: 0, conflicts: 0, migrations: 0, health: 0, fingerprint: 0 };

  constructor(
    private readonly source: LiveSource,
    private readonly store: DashboardStore,
  ) {}

  /** Starts polling now and then every `intervalMs`. */
  start(intervalMs: number): void {
    this.intervalMs = intervalMs;
    void this.cycle();
  }

  /** Changes the interval (the `+`/`-` keys); the next cycle follows the new one. */
  setInterval(ms: number): void {
    this.intervalMs = ms;
    this.schedule(ms);
  }

  /**
   * Reads now, for a key press: the agents page only (a new page, sort or filter must answer at
   * once), or everything.
   */
  refresh(what: 'agents' | 'all' | 'migrations'): void {
    if (what === 'agents') return void this.run('agents');
    if (what === 'migrations') return this.invalidate(['migrations']);
    for (const t of TASKS) this.due[t] = 0;
    this.schedule(0);
  }

  /**
   * Something changed these (an event of this process): read them soon, at most once a second
   * each, or no sooner than `gapMs` after their last read (for changes that can wait).
   */
  invalidate(tasks: readonly Task[], gapMs = 0): void {
    for (const t of tasks) this.due[t] = Math.min(this.due[t], this.lastRead[t] + Math.max(MIN_GAP_MS[t], gapMs));
    this.schedule(Math.max(0, Math.min(...tasks.map((t) => this.due[t])) - Date.now()));
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  /** Runs the next cycle in `ms` unless one is due sooner. */
  private schedule(ms: number): void {
    if (this.stopped) return;
    const at = Date.now() + ms;
    if (this.timer && this.timerAt <= at) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.cycle();
    }, ms);
    this.timer.unref?.();
  }

  private async cycle(): Promise<void> {
    if (this.stopped) return;
    if (this.cycling) return this.schedule(100);
    this.cycling = true;
    try {
      await this.readHeader();
      const now = Date.now();
      const due = (t: Task, every: number): boolean => this.due[t] <= now || now - this.lastRead[t] >= every;
      // another process may be syncing (this one stands by, is read-only, or is starting)
      const others = this.store.get().scheduler?.active !== true;
      const tasks: Task[] = [];
      if ((await this.agentsMoved()) || due('agents', SAFETY_MS)) tasks.push('agents');
      if (due('sync', others ? 0 : SAFETY_MS)) tasks.push('sync');
      if (due('lag', LAG_MS) || this.lagUnknown()) tasks.push('lag');
      if (due('conflicts', others ? 0 : SAFETY_MS)) tasks.push('conflicts');
      if (due('migrations', SAFETY_MS)) tasks.push('migrations');
      await Promise.all(tasks.map((t) => this.run(t)));
    } finally {
      this.cycling = false;
      // what this cycle read goes to the screen now, in one frame: a change shows within one refresh
      this.store.flush();
      // events that came in during the cycle (or too soon after the last read) ask again
      const next = Math.min(...TASKS.map((t) => this.due[t]));
      this.schedule(Math.max(0, Math.min(this.intervalMs, next - Date.now())));
    }
  }

  /** The databases' health: one timed round trip each (the read side does the full probe when needed). */
  private async readHeader(): Promise<void> {
    const before = this.probes;
    this.reads.health++;
    const { probes, readSource } = await this.source.health();
    this.probes = probes;
    const prev = this.store.get().header.dbs;
    const view = (r: Role): DbView | null => {
      const p = probes[r];
      if (!p || !this.source.configured(r)) return { role: r, configured: false, label: '', up: false };
      return {
        role: r,
        configured: true,
        label: p.label,
        up: p.up,
        ...(p.error ? { error: p.error } : {}),
        ...(p.server ? { server: p.server.label } : {}),
        ...(p.up && p.latencyMs !== undefined ? { latencyMs: steadyLatency(prev[r]?.latencyMs, this.smoothed(r, p.latencyMs)) } : {}),
        ...(p.tls !== undefined ? { tls: p.tls } : {}),
      };
    };
    this.store.update((s) => {
      // unchanged parts keep their objects: a panel that shows only the read source must not re-render for a latency
      const dbs = { local: keep(s.header.dbs.local, view('local')), cloud: keep(s.header.dbs.cloud, view('cloud')) };
      const rs = keep(s.header.readSource, readSource);
      return dbs.local === s.header.dbs.local && dbs.cloud === s.header.dbs.cloud && rs === s.header.readSource ? s : { ...s, header: { ...s.header, dbs, readSource: rs } };
    });
    for (const r of ROLES) {
      const was = before[r];
      const now = probes[r];
      if (!was || !now || was.up === now.up) continue;
      // a database going down or coming back is an event (the log, headless clients), and everything read from it is stale
      this.source.bus.emit({ type: 'db.status', role: r, up: now.up, ...(now.error ? { error: now.error } : {}) });
      for (const t of TASKS) this.due[t] = 0;
    }
  }

  /** True when the newest agent version on either side moved since the page was read (or cannot be told). */
  private async agentsMoved(): Promise<boolean> {
    const role = this.store.get().header.readSource?.role ?? null;
    if (!role || !this.source.isUp(role)) return this.fingerprint !== null;
    this.reads.fingerprint++;
    const print = await this.source.agentsFingerprint(role);
    if (print === null) return true;
    if (print === this.fingerprint) return false;
    this.fingerprint = print;
    return true;
  }

  /** The sync panel's visible tables, and whether one of them has no lag read yet (scrolled into view). */
  private visibleTables(): string[] {
    const s = this.store.get();
    const page = listRows(computeLayout(s.size.columns, s.size.rows).panels.sync);
    return s.sync.rows.slice(s.ui.offset.sync, s.ui.offset.sync + page).map((r) => r.table);
  }

  private lagUnknown(): boolean {
    return this.visibleTables().some((t) => !this.lagCache.has(t)) && Date.now() - this.lastRead.lag >= MIN_GAP_MS.lag;
  }

  private smoothed(role: Role, ms: number): number {
    const recent = this.latencies[role];
    recent.push(ms);
    if (recent.length > 5) recent.shift();
    return median(recent);
  }

  /** Runs a task unless it is running already; then it runs once more when done (latest parameters win). */
  private async run(task: Task): Promise<void> {
    if (this.stopped) return;
    if (this.running.has(task)) {
      this.again.add(task);
      return;
    }
    this.running.add(task);
    this.due[task] = Infinity;
    this.lastRead[task] = Date.now();
    this.reads[task]++;
    try {
      await this.read(task);
    } catch (err) {
      this.fail(task, redactError(err));
    } finally {
      // a read asked for by a key (a new page, sort or filter) shows at once; a cycle flushes all its reads together
      if (!this.cycling) this.store.flush();
      this.running.delete(task);
      if (this.again.delete(task)) void this.run(task);
    }
  }

  private async read(task: Task): Promise<void> {
    const s = this.store.get();
    const layout = computeLayout(s.size.columns, s.size.rows);
    switch (task) {
      case 'agents': {
        const role = s.header.readSource?.role ?? null;
        const page = listRows(layout.panels.agents);
        const { sort, filter } = s.ui;
        const reading = role ? this.source.agentsPage(role, { sort: sort.column, desc: sort.desc, filter, limit: page, offset: s.ui.offset.agents }) : null;
        if (!role || !reading) {
          this.fingerprint = null;
          this.store.update((x) => (x.agents.role === null && x.agents.rows.length === 0 && x.agents.error === null ? x : { ...x, agents: { ...x.agents, role: null, rows: [], error: null } }));
          return;
        }
        const data = await reading;
        this.store.update((x) => {
          // a newer filter or sort was chosen while this query ran: its own query will answer
          if (x.ui.filter !== filter || x.ui.sort !== sort) return x;
          const next = same(x.agents, data) ? x : { ...x, agents: data };
          return clampCursor(next, 'agents');
        });
        // the list shrank under the window (agents deleted, filter narrowed): read the last page
        if (data.total > 0 && data.offset >= data.total) {
          this.store.ui((ui) => ({ offset: { ...ui.offset, agents: Math.max(0, data.total - page) } }));
          this.again.add('agents');
        }
        return;
      }
      case 'sync': {
        const rows = await this.source.syncRows();
        this.showSync(rows.map((r) => (this.lagCache.has(r.table) ? { ...r, lagSeconds: this.lagCache.get(r.table)! } : r)));
        return;
      }
      case 'lag': {
        const lags = await this.source.lags(this.visibleTables());
        for (const [t, v] of lags) this.lagCache.set(t, v);
        const rows = this.store.get().sync.rows;
        this.showSync(rows.map((r) => (lags.has(r.table) ? { ...r, lagSeconds: lags.get(r.table)! } : r)));
        return;
      }
      case 'conflicts': {
        const reading = this.source.conflicts(CONFLICT_ROWS);
        const rows = reading ? await reading : [];
        const error = reading ? null : 'the local database is down: conflicts are logged there';
        this.store.update((x) => clampCursor(same(x.conflicts, { rows, error }) ? x : { ...x, conflicts: { rows, error } }, 'conflicts'));
        return;
      }
      case 'migrations': {
        const byRole = await this.source.migrations();
        for (const r of ROLES) if (this.probes[r] && !this.probes[r]!.up) byRole[r] = { error: 'database down' };
        this.store.update((x) => (same(x.migrations.byRole, byRole) ? x : { ...x, migrations: { byRole } }));
        return;
      }
    }
  }

  private showSync(rows: DashboardState['sync']['rows']): void {
    const error = this.source.isUp('local') ? null : 'the local database is down: sync state is kept there';
    this.store.update((x) => clampCursor(same(x.sync.rows, rows) && x.sync.error === error ? x : { ...x, sync: { ...x.sync, rows, error } }, 'sync'));
  }

  private fail(task: Task, error: string): void {
    this.store.update((x) => {
      if (task === 'agents') return { ...x, agents: { ...x.agents, error } };
      if (task === 'sync' || task === 'lag') return { ...x, sync: { ...x.sync, error } };
      if (task === 'conflicts') return { ...x, conflicts: { ...x.conflicts, error } };
      return x;
    });
  }
}

/** The old value when the new one has the same content (so that its reference, and what shows it, stay). */
function keep<T>(old: T, fresh: T): T {
  return same(old, fresh) ? old : fresh;
}

/** Keeps a panel's cursor inside its list after the list changed. */
function clampCursor(s: DashboardState, panel: 'agents' | 'sync' | 'conflicts'): DashboardState {
  const length = panel === 'agents' ? s.agents.total : panel === 'sync' ? s.sync.rows.length : s.conflicts.rows.length;
  const cursor = Math.max(0, Math.min(s.ui.cursor[panel], length - 1));
  if (cursor === s.ui.cursor[panel]) return s;
  return { ...s, ui: { ...s.ui, cursor: { ...s.ui.cursor, [panel]: cursor } } };
}
