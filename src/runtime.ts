import type { Config, Role } from './config/types.js';
import { registerUrlSecrets } from './config/redact.js';
import { openDb, type Db } from './db/pool.js';
import { usageError } from './errors.js';
import { EventBus } from './events/bus.js';
import type { EmbeddedPair } from './db/embedded.js';

import { ROLE_VARIABLE, SIDE_POOLS, type Runtime, type SidePurpose } from './db/runtime.js';

export { notConfiguredReason, ROLE_VARIABLE, SIDE_POOLS, type Runtime, type SidePurpose } from './db/runtime.js';

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
