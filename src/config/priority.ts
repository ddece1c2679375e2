import type { Environment, Role } from './types.js';

/** Which database serves reads (agents panel, /api/agents), and whether that is a fallback. */
export interface ReadSource {
  /** The role to read from, or null when the rule allows none of the databases that are up. */
  role: Role | null;
  /** True when staging fell back to local because the cloud is down. */
  degraded: boolean;
  /** One line for people: why this role (or none). */
  reason: string;
}

/**
 * The environment priority rule, in one place:
 * development reads local; staging reads the cloud and falls back to local (degraded) when the
 * cloud is down; production reads the cloud only.
 */
export function chooseReadSource(environment: Environment, up: { local: boolean; cloud: boolean }): ReadSource {
  switch (environment) {
    case 'development':
      return up.local
        ? { role: 'local', degraded: false, reason: 'development reads the local database' }
        : { role: null, degraded: false, reason: 'development reads the local database, which is down' };
    case 'staging':
      if (up.cloud) return { role: 'cloud', degraded: false, reason: 'staging reads CockroachDB' };
      return up.local
        ? { role: 'local', degraded: true, reason: 'staging reads CockroachDB, which is down: falling back to local' }
        : { role: null, degraded: true, reason: 'staging: both databases are down' };
    case 'production':
      return up.cloud
        ? { role: 'cloud', degraded: false, reason: 'production reads CockroachDB' }
        : { role: null, degraded: false, reason: 'production reads CockroachDB only, which is down (no fallback)' };
  }
}
