import type { ConflictRow } from '../../status/sync-state.js';
import type { PassReport } from '../../status/types.js';

/**
 * What the screen can ask of the rest of cesar. The real implementation drives the scheduler and
 * the databases (data/actions.ts); component tests pass fakes.
 */
export interface DashboardActions {
  /** A real pass now: every table, or only `tables`. Rejects with LEASE_HELD on a standby. */
  syncNow(tables?: string[]): Promise<PassReport>;
  /** What a full pass would change; writes nothing. */
  dryRun(): Promise<PassReport>;
  /** Applies pending migrations to both databases; resolves to a one-line summary. */
  migrate(): Promise<string>;
  /** Pauses or resumes scheduled passes. */
  setPaused(paused: boolean): void;
  /** Reads again now, instead of at the next refresh. */
  refresh(what: 'agents' | 'all'): void;
  /** One conflict with both versions. */
  readConflict(id: string): Promise<ConflictRow | null>;
  /** Changes how often the databases are polled. */
  setRefreshMs(ms: number): void;
  /** Leaves the dashboard with this exit code. */
  quit(code: number): void;
}
