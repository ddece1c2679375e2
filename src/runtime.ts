import type { Config, Role } from './config/types.js';
import { registerUrlSecrets } from './config/redact.js';
import { openDb, type Db } from './db/pool.js';
import { usageError } from './errors.js';
import { EventBus } from './events/bus.js';
import type { EmbeddedPair } from './db/embedded.js';

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

/**
 * Builds the runtime: starts the embedded databases when configured so, and opens one pool per role.
 * `interrupt`: once aborted, the pools refuse new statements (see Db.interrupt).
 */
export async function openRuntime(config: Config, options: { bus?: EventBus; poolSize?: number; interrupt?: AbortSignal } = {}): Promise<Runtime> {
  const bus = options.bus ?? new EventBus();
  let embedded: EmbeddedPair | undefined;
  let urls = config.urls;
  if (config.embedded) {
    const { startEmbedded } = await import('./db/embedded.js');
    embedded = await startEmbedded({ dataDir: config.dataDir });
    urls = { local: embedded.local.url, cloud: embedded.cloud.url };
    registerUrlSecrets(urls.local);
    registerUrlSecrets(urls.cloud);
  }
  const dbOptions = {
    connectTimeoutMs: config.timeouts.connectMs,
    statementTimeoutMs: config.timeouts.statementMs,
    ...(options.poolSize ? { max: options.poolSize } : {}),
    ...(options.interrupt ? { interrupt: options.interrupt } : {}),
  };
  const dbs: Partial<Record<Role, Db>> = {};
  for (const role of ['local', 'cloud'] as const) {
    const url = urls[role];
    if (url) dbs[role] = openDb(role, url, dbOptions);
  }
  const side = new Map<string, Db>();
  let closed = false;
  return {
    config: { ...config, urls },
    bus,
    embedded,
    maybeDb: (role) => dbs[role],
    db(role) {
      const db = dbs[role];
      if (!db) throw usageError('NOT_CONFIGURED', `the ${role} database is not configured: set ${ROLE_VARIABLE[role]} (see .env.example).`);
      return db;
    },
    sidePool(role, purpose) {
      const url = urls[role];
      if (!url || closed) return undefined;
      const key = `${role}/${purpose}`;
      let db = side.get(key);
      if (!db) {
        db = openDb(role, url, { ...dbOptions, max: SIDE_POOLS[purpose] });
        side.set(key, db);
      }
      return db;
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([...Object.values(dbs), ...side.values()].map((db) => db.close()));
      await embedded?.close();
    },
  };
}
