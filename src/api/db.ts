import type { Role } from '../config/types.js';
import type { Db } from '../db/pool.js';
import type { Runtime } from '../db/runtime.js';

/**
 * The API's own pool for a role (undefined when the role is not configured). Every read the API
 * makes goes through it, so that API load can exhaust only these connections, never the ones the
 * sync, the lease heartbeat and the health probes use (issue 17).
 */
export function apiDb(rt: Runtime, role: Role): Db | undefined {
  return rt.sidePool(role, 'api');
}

/** apiDb, or the runtime's usage error naming the variable to set. */
export function requireApiDb(rt: Runtime, role: Role): Db {
  return apiDb(rt, role) ?? rt.db(role);
}
