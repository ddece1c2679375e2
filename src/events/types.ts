import type { Role } from '../config/types.js';

/** Every event on the bus. `at` is an ISO timestamp set by the bus. */
export type CesarEvent =
  | { type: 'migration.started'; target: Role; name: string; statements: number }
  | { type: 'migration.applied'; target: Role; name: string; ms: number; statements: number }
  | { type: 'migration.failed'; target: Role; name: string; statement: number; error: string }
  | { type: 'sync.pass.started'; passId: string; direction: string; tables: string[]; dryRun: boolean }
  | { type: 'sync.pass.progress'; passId: string; table: string; direction: 'up' | 'down'; read: number; applied: number; skipped: number; conflicts: number }
  | { type: 'sync.pass.completed'; passId: string; ms: number; applied: number; conflicts: number; errors: number; dryRun: boolean }
  | { type: 'sync.pass.failed'; passId: string; error: string; sqlState?: string }
  | { type: 'sync.conflict'; table: string; rowId: string; winner: Role; strategy: string; reason: string }
  | { type: 'sync.table.error'; table: string; direction: 'up' | 'down'; error: string; sqlState?: string }
  | { type: 'lease.acquired' | 'lease.lost' | 'lease.released'; name: string; owner: string }
  | { type: 'agent.changed'; id: string; role: Role }
  | { type: 'db.status'; role: Role; up: boolean; error?: string }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string };

/** An event as delivered, with its timestamp. */
export type Stamped<E extends CesarEvent = CesarEvent> = E & { at: string };
export type EventType = CesarEvent['type'];
