import type { Role } from '../config/types.js';
// What the read side returns: the rows the dashboard, `cesar status` and the API show, and the
// core types they are made of (re-exported here, so that the screen never imports the core).
export type { PassReport, TableReport } from '../sync/engine.js';
export type { SchedulerStatus } from '../sync/scheduler.js';
export type { FileState } from '../migrations/index.js';
export type { MigrationStatus } from './migrations.js';
export type { ConflictRow } from './sync-state.js';
export type { ParkedRow } from './parked.js';

/** Whether the other database holds the same version of an agent. */
export type Agreement = 'same' | 'differs' | 'missing' | 'unknown';

/** One row of the agents panel. */
export interface AgentRow {
  id: string;
  name: string;
  type: string;
  status: string;
  updatedAt: string;
  agree: Agreement;
}

export const AGENT_SORTS = ['name', 'type', 'status', 'updated'] as const;
export type AgentSort = (typeof AGENT_SORTS)[number];

/** The visible page of agents, as read from the database that serves reads. */
export interface AgentsData {
  role: Role | null;
  rows: AgentRow[];
  /** Offset of rows[0] in the sorted, filtered list. */
  offset: number;
  /** Matching agents, counted up to a cap (see `capped`). */
  total: number;
  /** True when there are more than `total` (counting stopped at the cap). */
  capped: boolean;
  error: string | null;
}

/** One synced table in the sync panel. */
export interface SyncRow {
  table: string;
  /** Worst of the two directions; 'never' before the first pass. */
  status: 'idle' | 'running' | 'ok' | 'error' | 'drift' | 'never';
  lastSyncAt: string | null;
  /** Rows applied to the cloud / to local in the table's last pass. */
  up: number;
  down: number;
  /** Age of the oldest unsynced change, worst direction; null when unknown. */
  lagSeconds: number | null;
  conflicts: number;
  /** Rows the other side refused, parked in sync_errors (both directions), retried every pass. */
  parked: number;
  lastError: string | null;
}
