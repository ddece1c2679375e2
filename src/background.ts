import { assertSafeBind, startApi, type ApiOptions, type ApiServer } from './api/index.js';
import { redactError } from './config/redact.js';
import type { Role } from './config/types.js';
import { startDemoWorkload } from './demo/workload.js';
import { defaultMigrationsDir, readMigrationFiles, runMigrations } from './migrations/index.js';
import type { Runtime } from './runtime.js';
import { createEngine, validateConfiguredTables, type SyncEngine } from './sync/index.js';
import { createRetention } from './sync/retention.js';
import { SyncScheduler } from './sync/scheduler.js';
import { EXIT, isCesarError } from './errors.js';

/** What to start besides the scheduler. */
export interface BackgroundOptions {
  /** Full-pass interval (default CESAR_SYNC_INTERVAL). */
  intervalMs?: number;
  /** Apply pending migrations on both databases first (always on the embedded demo). */
  migrate?: boolean;
  /** Run the demo workload (always on the embedded demo; on configured databases only with --demo). */
  demo?: boolean;
  /** Start scheduling (default true; tests may start it later). */
  start?: boolean;
  /**
   * The HTTP + WebSocket API: where to listen (default: CESAR_API_HOST / CESAR_API_PORT), or false
   * for none. A taken port is reported in `Background.api`, not thrown; a non-loopback host without
   * CESAR_API_TOKEN is a usage error (exit 2) before anything starts.
   */
  api?: ApiOptions | false;
}

/** The background work the dashboard and headless mode share. */
export interface Background {
  engine: SyncEngine;
  scheduler: SyncScheduler;
  /** Per database: migrations applied at start, or why they were not. */
  migrations: Partial<Record<Role, { applied: number } | { error: string }>>;
  /** The API's address, why it is not serving (e.g. `port 8000 in use`), or null when not asked for. */
  api: { url: string } | { error: string } | null;
  /** The running API server (null when not serving). */
  apiServer: ApiServer | null;
  close(): Promise<void>;
}

/**
 * Starts what runs behind the dashboard and headless mode: migrations when asked (failures are
 * reported, not fatal: the screen shows them and sync runs where the schema allows), the demo
 * workload on the embedded databases, and the sync scheduler.
 */
export async function startBackground(rt: Runtime, options: BackgroundOptions = {}): Promise<Background> {
  const apiOptions = options.api === false ? null : (options.api ?? { host: rt.config.api.host, port: rt.config.api.port });
  if (apiOptions) assertSafeBind(apiOptions.host, rt.config.api.token);
  await validateConfiguredTables(rt.config);
  const engine = createEngine(rt);
  const scheduler = new SyncScheduler(engine, rt.db('cloud'), rt.bus, {
    intervalMs: options.intervalMs ?? rt.config.syncIntervalMs,
    criticalTables: rt.config.criticalTables,
    // the embedded databases share this process with the screen: poll them no faster than twice a second
    criticalPollMs: rt.embedded ? Math.max(rt.config.criticalPollMs, 500) : rt.config.criticalPollMs,
    // one critical poll in this interval re-reads the late-commit window (each row is then re-read about 1.3 times)
    criticalWindowMs: Math.max(5000, 3 * rt.config.sync.overlapMs),
    leaseTtlMs: rt.config.sync.leaseTtlMs,
    retention: createRetention(engine, { local: rt.db('local'), cloud: rt.db('cloud') }, rt.bus, rt.config.retention),
  });
  // The API comes up first, so that liveness answers (and readiness says "starting") during migrations.
  let api: Background['api'] = null;
  let apiServer: ApiServer | null = null;
  if (apiOptions) {
    try {
      apiServer = await startApi({ rt, scheduler, engine }, apiOptions);
      api = { url: apiServer.url };
    } catch (err) {
      if (isCesarError(err) && err.exitCode === EXIT.usage) throw err;
      api = { error: isCesarError(err) ? err.message : redactError(err) };
      rt.bus.emit({ type: 'log', level: 'error', message: `api: ${api.error}; carrying on without it` });
    }
  }
  const migrations: Background['migrations'] = {};
  if (options.migrate ?? rt.config.embedded) {
    const files = await readMigrationFiles(defaultMigrationsDir());
    for (const role of ['local', 'cloud'] as const) {
      try {
        const r = await runMigrations(rt.db(role), { files, ttlMs: 60_000, waitMs: 60_000, bus: rt.bus });
        if (r.outcome === 'refused') migrations[role] = { error: r.problems.map((p) => p.message).join('; ') };
        else if (r.failed) migrations[role] = { error: r.failed.error };
        else migrations[role] = { applied: r.applied.length };
      } catch (err) {
        migrations[role] = { error: redactError(err) };
      }
      const m = migrations[role]!;
      rt.bus.emit({ type: 'log', level: 'error' in m ? 'error' : 'info', message: 'error' in m ? `migrations on ${role}: ${m.error}` : `migrations on ${role}: ${m.applied} applied` });
    }
  }
  const demo = options.demo ?? rt.config.embedded ? startDemoWorkload(rt.db('local'), rt.db('cloud'), rt.bus) : null;
  if (options.start !== false) scheduler.start();
  apiServer?.setPhase('running');
  let closing: Promise<void> | undefined;
  return {
    engine,
    scheduler,
    migrations,
    api,
    apiServer,
    close() {
      closing ??= (async () => {
        await Promise.all([apiServer?.close(), demo?.close()]);
        await scheduler.stop();
      })();
      return closing;
    },
  };
}
