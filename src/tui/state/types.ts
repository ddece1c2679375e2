import type { ReadSource } from '../../config/priority.js';
import type { Environment, Role } from '../../config/types.js';
import type { AgentSort, AgentsData, ConflictRow, MigrationStatus, PassReport, SchedulerStatus, SyncRow } from '../../status/types.js';

export { AGENT_SORTS, type AgentRow, type AgentSort, type AgentsData, type Agreement, type SyncRow } from '../../status/types.js';

/** The five panels, in Tab and digit order. */
export const PANELS = ['agents', 'sync', 'conflicts', 'migrations', 'events'] as const;
export type PanelId = (typeof PANELS)[number];
export const PANEL_TITLES: Record<PanelId, string> = { agents: 'Agents', sync: 'Sync', conflicts: 'Conflicts', migrations: 'Migrations', events: 'Events' };

/** One database as the header shows it. */
export interface DbView {
  role: Role;
  configured: boolean;
  /** Password-free `user@host:port/db`. */
  label: string;
  up: boolean;
  /** Redacted reason when down. */
  error?: string;
  /** "PostgreSQL 15.20", "CockroachDB v24.3.0", "embedded PostgreSQL 17.4 (PGlite)". */
  server?: string;
  /** Shown latency (steadied, see steadyLatency). */
  latencyMs?: number;
  tls?: boolean;
}

/** Everything in the header that does not come from the scheduler. */
export interface HeaderData {
  environment: Environment;
  embedded: boolean;
  readonly: boolean;
  /** Null until the first probe. */
  readSource: ReadSource | null;
  dbs: Record<Role, DbView | null>;
  /** "API http://127.0.0.1:8000", "API off: port 8000 in use", or null when the background has no API. */
  api: string | null;
}






/** Each migration file on each database. */
export interface MigrationsData {
  byRole: Partial<Record<Role, MigrationStatus | { error: string }>>;
}

/** A line of the event log. */
export interface EventLine {
  at: string;
  level: 'info' | 'warn' | 'error';
  text: string;
}

/** A modal view over the panels. */
export type Overlay =
  | { kind: 'help' }
  | { kind: 'confirm-migrate' }
  | { kind: 'dry-run'; running: boolean; report?: PassReport; error?: string }
  | { kind: 'conflict'; id: string; row?: ConflictRow; error?: string };

/** A one-line notice above the footer. */
export interface Message {
  text: string;
  level: 'info' | 'warn' | 'error';
  /** Epoch ms after which it is no longer shown. */
  until: number;
}

/** State that belongs to the screen, not to the databases. */
export interface UiState {
  focus: PanelId;
  /** Selected index per panel (for agents: in the whole filtered list, not the page). */
  cursor: Record<PanelId, number>;
  /** First visible index per panel. */
  offset: Record<PanelId, number>;
  sort: { column: AgentSort; desc: boolean };
  /** The applied agents filter (name contains, case-insensitive). */
  filter: string;
  /** The filter being typed, or null when not editing. */
  editing: string | null;
  overlay: Overlay | null;
  message: Message | null;
  refreshMs: number;
}

/** The whole dashboard state: data from the databases and the engine, and the screen's own. */
export interface DashboardState {
  now: number;
  size: { columns: number; rows: number };
  header: HeaderData;
  scheduler: SchedulerStatus | null;
  agents: AgentsData;
  sync: { rows: SyncRow[]; error: string | null; spark: number[] };
  /** Per-table throughput history, same buckets as `sync.spark`. */
  tableSpark: Record<string, number[]>;
  conflicts: { rows: ConflictRow[]; error: string | null };
  migrations: MigrationsData;
  events: EventLine[];
  ui: UiState;
}
