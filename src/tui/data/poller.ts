import { redactError } from '../../config/redact.js';
import { ROLES, type Role } from '../../config/types.js';
import type { Db } from '../../db/pool.js';
import type { Runtime } from '../../runtime.js';
import { median } from '../../db/probe.js';
import { steadyLatency } from '../format/time.js';
import { computeLayout, listRows } from '../layout.js';
import type { DashboardStore } from '../state/store.js';
import type { DashboardState, DbView } from '../state/types.js';
import { readAgentsPage } from './agents.js';
import { latestConflicts, probeAll, readMigrations, readSourceOf, readSyncRows, upDbs, type Probes } from './snapshot.js';

/** Conflicts kept for the panel (it scrolls through these; older ones are in `cesar status`/SQL). */
const CONFLICT_ROWS = 100;
/** Migration files change rarely: read them every this many refreshes, and after a migration event. */
const MIGRATIONS_EVERY = 5;

type Task = 'agents' | 'sync' | 'conflicts' | 'migrations';

/** Only replaces a slice when its content changed, so that an unchanged poll re-renders nothing. */
function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Polls the databases every refresh interval for what other processes change (this process's own
 * engine is seen sooner, through the bus). Each panel's query reads only what is visible. A slow
 * database delays only its own refresh: a cycle never overlaps the previous one.
 */
export class Poller {
  private timer: NodeJS.Timeout | undefined;
  private intervalMs = 2000;
  private cycling = false;
  private cycles = 0;
  private probes: Probes = { local: null, cloud: null };
  private dbs: Partial<Record<Role, Db>> = {};
  private readonly running = new Set<Task>();
  private readonly again = new Set<Task>();
  private migrationsDue = true;
  private stopped = false;
  private readonly lagCache = new Map<string, number | null>();
  /** The last few latencies per role: the header shows their median, so one slow probe on a busy host does not flash. */
  private readonly latencies: Record<Role, number[]> = { local: [], cloud: [] };

  constructor(
    private readonly rt: Runtime,
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
    this.schedule();
  }

  /** Reads now: the agents page only, or everything. */
  refresh(what: 'agents' | 'all' | 'migrations'): void {
    if (what === 'agents') return void this.run('agents');
    if (what === 'migrations') this.migrationsDue = true;
    void this.cycle();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.cycle(), this.intervalMs);
    this.timer.unref?.();
  }

  private async cycle(): Promise<void> {
    if (this.stopped || this.cycling) return;
    this.cycling = true;
    try {
      await this.readHeader();
      const tasks: Task[] = ['agents', 'sync', 'conflicts'];
      if (this.migrationsDue || this.cycles % MIGRATIONS_EVERY === 0) tasks.push('migrations');
      this.migrationsDue = false;
      this.cycles++;
      await Promise.all(tasks.map((t) => this.run(t)));
    } finally {
      this.cycling = false;
      this.schedule();
    }
  }

  private async readHeader(): Promise<void> {
    const before = this.probes;
    const probes = await probeAll(this.rt, 3);
    this.probes = probes;
    this.dbs = upDbs(this.rt, probes);
    const readSource = readSourceOf(this.rt, probes);
    const prev = this.store.get().header.dbs;
    const view = (r: Role): DbView | null => {
      const p = probes[r];
      const db = this.rt.maybeDb(r);
      if (!p || !db) return { role: r, configured: false, label: '', up: false };
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
    const dbs = { local: view('local'), cloud: view('cloud') };
    this.store.update((s) => (same(s.header.dbs, dbs) && same(s.header.readSource, readSource) ? s : { ...s, header: { ...s.header, dbs, readSource } }));
    // a database going down or coming back is an event: it shows in the log and in headless clients
    for (const r of ROLES) {
      const was = before[r];
      const now = probes[r];
      if (was && now && was.up !== now.up) this.rt.bus.emit({ type: 'db.status', role: r, up: now.up, ...(now.error ? { error: now.error } : {}) });
    }
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
    try {
      await this.read(task);
    } catch (err) {
      this.fail(task, redactError(err));
    } finally {
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
        const read = role ? this.dbs[role] : undefined;
        if (!role || !read) {
          this.store.update((x) => ({ ...x, agents: { ...x.agents, role: null, rows: [], error: null } }));
          return;
        }
        const other = this.dbs[role === 'local' ? 'cloud' : 'local'];
        const page = listRows(layout.panels.agents);
        const { sort, filter } = s.ui;
        const data = await readAgentsPage(role, read, other, { sort: sort.column, desc: sort.desc, filter, limit: page, offset: s.ui.offset.agents });
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
        const page = listRows(layout.panels.sync);
        const { rows, lags } = await readSyncRows(this.dbs, (all) => all.slice(s.ui.offset.sync, s.ui.offset.sync + page).map((r) => r.table));
        for (const [t, v] of lags) this.lagCache.set(t, v);
        const withCache = rows.map((r) => (r.lagSeconds === null && this.lagCache.has(r.table) ? { ...r, lagSeconds: this.lagCache.get(r.table)! } : r));
        const error = this.dbs.local ? null : 'the local database is down: sync state is kept there';
        this.store.update((x) => clampCursor(same(x.sync.rows, withCache) && x.sync.error === error ? x : { ...x, sync: { ...x.sync, rows: withCache, error } }, 'sync'));
        return;
      }
      case 'conflicts': {
        const local = this.dbs.local;
        const rows = local ? await latestConflicts(local, CONFLICT_ROWS) : [];
        const error = local ? null : 'the local database is down: conflicts are logged there';
        this.store.update((x) => clampCursor(same(x.conflicts, { rows, error }) ? x : { ...x, conflicts: { rows, error } }, 'conflicts'));
        return;
      }
      case 'migrations': {
        const byRole = await readMigrations(this.dbs);
        for (const r of ROLES) if (this.probes[r] && !this.probes[r]!.up) byRole[r] = { error: 'database down' };
        this.store.update((x) => (same(x.migrations.byRole, byRole) ? x : { ...x, migrations: { byRole } }));
        return;
      }
    }
  }

  private fail(task: Task, error: string): void {
    this.store.update((x) => {
      if (task === 'agents') return { ...x, agents: { ...x.agents, error } };
      if (task === 'sync') return { ...x, sync: { ...x.sync, error } };
      if (task === 'conflicts') return { ...x, conflicts: { ...x.conflicts, error } };
      return x;
    });
  }
}

/** Keeps a panel's cursor inside its list after the list changed. */
function clampCursor(s: DashboardState, panel: 'agents' | 'sync' | 'conflicts'): DashboardState {
  const length = panel === 'agents' ? s.agents.total : panel === 'sync' ? s.sync.rows.length : s.conflicts.rows.length;
  const cursor = Math.max(0, Math.min(s.ui.cursor[panel], length - 1));
  if (cursor === s.ui.cursor[panel]) return s;
  return { ...s, ui: { ...s.ui, cursor: { ...s.ui.cursor, [panel]: cursor } } };
}
