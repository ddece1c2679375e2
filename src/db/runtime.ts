// The runtime as every layer above the databases sees it: the interface only (src/runtime.ts, the
// composition root, builds it). It lives here, below sync/, status/ and api/, so that none of
// them imports the top-level composition file.
import type { Config, Role } from '../config/types.js';
import type { EventBus } from '../events/bus.js';
import type { EmbeddedPair } from './embedded.js';
import type { Db } from './pool.js';

/** Everything a command needs, built once from the configuration; `close()` releases it all. */
export interface Runtime {
  readonly config: Config;
  readonly bus: EventBus;
  /** The embedded demo databases, when running on them. */
  readonly embedded: EmbeddedPair | undefined;
  /** The pool for a role, or undefined when that role is not configured. */
  maybeDb(role: Role): Db | undefined;
  /** The pool for a role; a usage error (exit 2) naming the missing variable when not configured. */
  db(role: Role): Db;
  /**
   * A small pool of its own for `purpose`, opened on first use (undefined when the role is not
   * configured): 'api' for the API's reads, 'probe' for health probes. The sync, the lease
   * heartbeat and the probes thereby never wait for a connection behind API reads (issue 17).
   */
  sidePool(role: Role, purpose: SidePurpose): Db | undefined;
  close(): Promise<void>;
}

/** What a side pool is for, and its size: two connections serve the API's reads, one the health probes. */
export const SIDE_POOLS = { api: 2, probe: 1 } as const;
export type SidePurpose = keyof typeof SIDE_POOLS;

/** The variable that configures each role, for messages. */
export const ROLE_VARIABLE: Record<Role, string> = { local: 'LOCAL_DB_URL', cloud: 'COCKROACH_DB_URL' };

/** Why a role is unusable when its URL is not set, in one wording for every surface. */
export function notConfiguredReason(role: Role): string {
  return `not configured (set ${ROLE_VARIABLE[role]})`;
}
