import type { Background } from '../background.js';
import { ROLES } from '../config/types.js';
import { CesarError } from '../errors.js';
import { defaultMigrationsDir, readMigrationFiles, runMigrations, type RunResult } from '../migrations/index.js';
import type { Runtime } from '../runtime.js';
import type { LiveSource } from '../status/live.js';
import { redactError } from '../config/redact.js';
import type { DashboardActions } from '../tui/state/actions.js';
import type { Poller } from '../tui/data/poller.js';

/** One database's migration run in a few words. */
export function migrationOutcome(role: string, r: RunResult): string {
  if (r.outcome === 'refused') return `${role}: refused (${r.problems[0]?.message ?? 'see cesar migrate status'})`;
  if (r.failed) return `${role}: ${r.applied.length} applied, ${r.failed.name} failed: ${r.failed.error}`;
  return `${role}: ${r.applied.length ? `${r.applied.length} applied` : 'up to date'}`;
}

/** The dashboard's actions on the real scheduler and databases. */
export function realActions(deps: { rt: Runtime; source: LiveSource; background: () => Background | null; poller: Poller; quit: (code: number) => void }): DashboardActions {
  const bg = (): Background => {
    const b = deps.background();
    if (!b) throw new CesarError('STARTING', 'the sync scheduler is still starting (the embedded demo applies its migrations first); try again in a moment');
    return b;
  };
  return {
    async syncNow(tables) {
      return bg().scheduler.runNow({ direction: 'both', ...(tables ? { tables } : {}) });
    },
    async dryRun() {
      return bg().scheduler.runNow({ direction: 'both', dryRun: true });
    },
    async migrate() {
      const files = await readMigrationFiles(defaultMigrationsDir());
      const parts: string[] = [];
      for (const role of ROLES) {
        const db = deps.rt.maybeDb(role);
        if (!db) continue;
        try {
          parts.push(migrationOutcome(role, await runMigrations(db, { files, ttlMs: 60_000, waitMs: 30_000, bus: deps.rt.bus })));
        } catch (err) {
          parts.push(`${role}: ${redactError(err)}`);
        }
      }
      deps.poller.refresh('migrations');
      return `migrations: ${parts.join('; ')}`;
    },
    setPaused(paused) {
      deps.background()?.scheduler.setPaused(paused);
    },
    refresh(what) {
      deps.poller.refresh(what);
    },
    readConflict(id) {
      return deps.source.conflict(id);
    },
    setRefreshMs(ms) {
      deps.poller.setInterval(ms);
    },
    quit(code) {
      deps.quit(code);
    },
  };
}
