import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ROLES } from '../config/types.js';
import type { Stamped } from '../events/types.js';
import type { Runtime } from '../db/runtime.js';
import type { SyncScheduler } from '../sync/scheduler.js';
import { VERSION } from '../version.js';
import type { HealthMonitor } from './health.js';
import type { MigrationCache } from './migration-cache.js';
import { collectProcessMetrics } from './process-metrics.js';
import { TableStats } from './table-stats.js';

// Prometheus naming (headless.md): one prefix, `sync_`, which the old system's operators grep for;
// base units with the unit as suffix; `_total` on counters; a timestamp of the last success rather
// than "seconds since"; `_info` for build metadata. Every label value comes from a closed set (the
// tables of the migration files, two directions, two roles, ...): never an agent, row or pass id.

const DIRECTIONS = ['up', 'down'] as const;
const WINNERS = ['local', 'cloud'] as const;
const ERROR_KINDS = ['pass', 'table', 'row', 'migration'] as const;
const SCOPES = ['full', 'tables'] as const;
const MIGRATION_STATES = ['applied', 'pending', 'modified', 'failed', 'running', 'missing'] as const;
/** How long one rendering of the process_* and nodejs_* metrics is reused. */
const PROCESS_REUSE_MS = 1000;
/** Label value for a table not among the migration files' tables (keeps the label set closed). */
export const OTHER_TABLE = 'other';

/** What the metrics read from. */
export interface MetricsDeps {
  rt: Runtime;
  scheduler: SyncScheduler;
  health: HealthMonitor;
  migrations: MigrationCache;
  /** The synced tables of the migration files: the only table label values. */
  tables: string[];
  /** How long computed per-table lag and last-success values are reused (default 15 s). */
  tableStatsTtlMs?: number;
}

/** The API's metrics: a registry of its own (never the global one), fed by the event bus and computed on scrape. */
export interface ApiMetrics {
  registry: Registry;
  wsClients: Gauge;
  wsDropped: Counter<'reason'>;
  httpRequests: Counter<'route' | 'method' | 'status'>;
  /** The exposition text. */
  render(): Promise<string>;
  close(): void;
}

/** Creates the registry with process metrics and the `sync_` series, zeroed for every known label set. */
export function createMetrics(deps: MetricsDeps): ApiMetrics {
  const { rt, scheduler, health, migrations } = deps;
  const registry = new Registry();
  // The process_* and nodejs_* metrics read /proc: about 9 ms per scrape on a busy 2-core machine,
  // taken from the event loop the sync shares. They get a registry of their own whose text serves
  // every scrape within a second (a client scraping in a loop cannot multiply that cost; issue 17);
  // the sync_ series are rendered fresh on every scrape.
  const processRegistry = new Registry();
  collectProcessMetrics(processRegistry);
  let processText: { at: number; text: Promise<string> } | null = null;
  const renderProcess = (): Promise<string> => {
    if (processText && Date.now() - processText.at < PROCESS_REUSE_MS) return processText.text;
    const text = processRegistry.metrics();
    processText = { at: Date.now(), text };
    text.catch(() => (processText = null));
    return text;
  };
  const known = new Set(deps.tables);
  const tableLabel = (t: string): string => (known.has(t) ? t : OTHER_TABLE);
  const stats = new TableStats(rt, deps.tables, deps.tableStatsTtlMs ?? 15_000);
  const roles = ROLES.filter((r) => rt.maybeDb(r));

  new Gauge({ name: 'sync_build_info', help: 'Build information; the value is always 1', labelNames: ['version', 'node_version'], registers: [registry] }).set({ version: VERSION, node_version: process.version }, 1);
  const applied = new Counter({ name: 'sync_rows_applied_total', help: 'Rows written to the target by sync passes, per table and direction (up = local to cloud)', labelNames: ['table', 'direction'], registers: [registry] });
  const conflicts = new Counter({ name: 'sync_conflicts_total', help: 'Conflicts resolved, per table and resolution (the side whose version won)', labelNames: ['table', 'resolution'], registers: [registry] });
  const errors = new Counter({ name: 'sync_errors_total', help: 'Errors: failed passes, tables that failed in a pass, rows parked in sync_errors, failed migrations', labelNames: ['kind'], registers: [registry] });
  const passes = new Counter({ name: 'sync_passes_total', help: 'Sync passes that ended, by scope (full pass or selected tables) and result', labelNames: ['scope', 'result'], registers: [registry] });
  const duration = new Histogram({
    name: 'sync_pass_duration_seconds',
    help: 'Duration of completed sync passes (dry runs excluded), by scope',
    labelNames: ['scope'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900],
    registers: [registry],
  });
  for (const t of deps.tables) {
    for (const d of DIRECTIONS) applied.inc({ table: t, direction: d }, 0);
    for (const w of WINNERS) conflicts.inc({ table: t, resolution: w }, 0);
  }
  for (const k of ERROR_KINDS) errors.inc({ kind: k }, 0);
  for (const s of SCOPES) {
    duration.zero({ scope: s });
    for (const r of ['completed', 'failed']) passes.inc({ scope: s, result: r }, 0);
  }

  new Gauge({
    name: 'sync_lag_seconds',
    help: 'Age of the oldest change a direction has not yet passed (0 when caught up), per table and direction; computed at most every 15 s',
    labelNames: ['table', 'direction'],
    registers: [registry],
    async collect() {
      for (const s of await stats.get()) this.set({ table: s.table, direction: s.direction }, s.lagSeconds);
    },
  });
  new Gauge({
    name: 'sync_last_success_timestamp_seconds',
    help: 'Unix time of the last successful sync of a table in a direction (0: never)',
    labelNames: ['table', 'direction'],
    registers: [registry],
    async collect() {
      for (const s of await stats.get()) this.set({ table: s.table, direction: s.direction }, s.lastSuccessSeconds);
    },
  });
  new Gauge({
    name: 'sync_migrations_pending',
    help: 'Migration files not yet applied, per database',
    labelNames: ['database'],
    registers: [registry],
    async collect() {
      const m = await migrations.get();
      for (const role of roles) {
        const s = m[role];
        if (s && 'counts' in s) this.set({ database: role }, s.counts.pending);
        else this.set({ database: role }, 0);
      }
    },
  });
  new Gauge({
    name: 'sync_migration_files',
    help: 'Migration files per database and state (applied, pending, modified, failed, running, missing)',
    labelNames: ['database', 'state'],
    registers: [registry],
    async collect() {
      const m = await migrations.get();
      for (const role of roles) {
        const s = m[role];
        for (const state of MIGRATION_STATES) this.set({ database: role, state }, s && 'counts' in s ? (s.counts[state] ?? 0) : 0);
      }
    },
  });
  const dbGauge = (name: string, help: string, pick: (up: boolean, latency: number | null) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['database'],
      registers: [registry],
      async collect() {
        const h = await health.check();
        for (const role of roles) this.set({ database: role }, pick(h.databases[role].up, h.databases[role].latencyMs));
      },
    });
  dbGauge('sync_database_up', 'Whether the database answered the last health probe (1) or not (0)', (up) => (up ? 1 : 0));
  dbGauge('sync_database_latency_seconds', 'Median round trip of the last health probe (0 when down)', (up, l) => (up && l !== null ? l / 1000 : 0));
  new Gauge({
    name: 'sync_lease_held',
    help: 'Whether this process holds the sync lease and runs passes (1) or stands by (0)',
    registers: [registry],
    collect() {
      this.set(scheduler.status().active ? 1 : 0);
    },
  });
  new Gauge({
    name: 'sync_last_pass_success_timestamp_seconds',
    help: 'Unix time of the last pass of this process that ended without error (0: none yet)',
    registers: [registry],
    collect() {
      const at = scheduler.status().lastSuccessAt;
      this.set(at ? Date.parse(at) / 1000 : 0);
    },
  });
  const wsClients = new Gauge({ name: 'sync_ws_clients', help: 'Connected WebSocket clients of /ws/events', registers: [registry] });
  wsClients.set(0);
  const wsDropped = new Counter({ name: 'sync_ws_dropped_total', help: 'WebSocket clients disconnected by the server: too slow to keep up (slow) or not answering pings (dead)', labelNames: ['reason'], registers: [registry] });
  for (const r of ['slow', 'dead']) wsDropped.inc({ reason: r }, 0);
  const httpRequests = new Counter({ name: 'sync_http_requests_total', help: 'HTTP requests answered, by route template, method and status code', labelNames: ['route', 'method', 'status'], registers: [registry] });

  // Per pass: what it is (scope, dry) and, per table and direction, the applied count already counted
  // (progress events carry running totals).
  const passesSeen = new Map<string, { scope: (typeof SCOPES)[number]; dry: boolean; started: number; applied: Map<string, number> }>();
  const off = rt.bus.on((e: Stamped) => {
    switch (e.type) {
      case 'sync.pass.started':
        if (passesSeen.size > 1000) passesSeen.clear(); // passes that never ended (cannot happen, but stay bounded)
        passesSeen.set(e.passId, { scope: e.tables.length ? 'tables' : 'full', dry: e.dryRun, started: performance.now(), applied: new Map() });
        break;
      case 'sync.pass.progress': {
        const p = passesSeen.get(e.passId);
        if (!p || p.dry) break;
        const key = `${e.table}/${e.direction}`;
        const delta = e.applied - (p.applied.get(key) ?? 0);
        p.applied.set(key, e.applied);
        if (delta > 0) applied.inc({ table: tableLabel(e.table), direction: e.direction }, delta);
        break;
      }
      case 'sync.pass.completed': {
        const p = passesSeen.get(e.passId);
        passesSeen.delete(e.passId);
        if (e.dryRun) break;
        const scope = p?.scope ?? 'full';
        passes.inc({ scope, result: 'completed' });
        duration.observe({ scope }, e.ms / 1000);
        if (e.errors > 0) errors.inc({ kind: 'row' }, e.errors);
        break;
      }
      case 'sync.pass.failed': {
        const p = passesSeen.get(e.passId);
        passesSeen.delete(e.passId);
        if (p?.dry) break;
        passes.inc({ scope: p?.scope ?? 'full', result: 'failed' });
        errors.inc({ kind: 'pass' });
        break;
      }
      case 'sync.conflict':
        conflicts.inc({ table: tableLabel(e.table), resolution: e.winner });
        break;
      case 'sync.table.error':
        errors.inc({ kind: 'table' });
        break;
      case 'migration.failed':
        errors.inc({ kind: 'migration' });
        break;
      default:
        break;
    }
  });

  return {
    registry,
    wsClients,
    wsDropped,
    httpRequests,
    render: async () => {
      const [own, proc] = await Promise.all([registry.metrics(), renderProcess()]);
      return `${proc.trimEnd()}\n\n${own}`;
    },
    close() {
      off();
      registry.clear();
      processRegistry.clear();
    },
  };
}
