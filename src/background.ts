import { redactError } from './config/redact.js';
import type { Role } from './config/types.js';
import { startDemoWorkload } from './demo/workload.js';
import { defaultMigrationsDir, readMigrationFiles, runMigrations } from './migrations/index.js';
import type { Runtime } from './runtime.js';
import { createEngine, type SyncEngine } from './sync/index.js';
import { SyncScheduler } from './sync/scheduler.js';

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
}

/** The background work the dashboard and headless mode share. */
export interface Background {
  engine: SyncEngine;
  scheduler: SyncScheduler;
  /** Per database: migrations applied at start, or why they were not. */
  migrations: Partial<Record<Role, { applied: number } | { error: string }>>;
  close(): Promise<void>;
}

/**
 * Starts what runs behind the dashboard and headless mode: migrations when asked (failures are
 * reported, not fatal: the screen shows them and sync runs where the schema allows), the demo
 * workload on the embedded databases, and the sync scheduler.
 */
export async function startBackground(rt: Runtime, options: BackgroundOptions = {}): Promise<Background> {
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
  const engine = createEngine(rt);
  const scheduler = new SyncScheduler(engine, rt.db('cloud'), rt.bus, {
    intervalMs: options.intervalMs ?? rt.config.syncIntervalMs,
    criticalTables: rt.config.criticalTables,
    leaseTtlMs: rt.config.sync.leaseTtlMs,
  });
  if (options.start !== false) scheduler.start();
  return {
    engine,
    scheduler,
    migrations,
    async close() {
      await demo?.close();
      await scheduler.stop();
    },
  };
}
