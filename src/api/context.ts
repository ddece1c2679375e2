import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Runtime } from '../runtime.js';
import type { SyncEngine } from '../sync/engine.js';
import type { SyncScheduler } from '../sync/scheduler.js';
import type { HealthMonitor } from './health.js';
import type { Jobs } from './jobs.js';
import type { ApiMetrics } from './metrics.js';
import type { MigrationCache } from './migration-cache.js';
import type { EventHub } from './ws.js';

/** Where the server is in its life: readiness fails outside `running`. */
export type Phase = 'starting' | 'running' | 'draining';

/** What every handler may use. */
export interface ApiContext {
  rt: Runtime;
  scheduler: SyncScheduler;
  engine: SyncEngine;
  health: HealthMonitor;
  migrations: MigrationCache;
  jobs: Jobs;
  metrics: ApiMetrics;
  hub: EventHub;
  /** The synced tables of the migration files. */
  tables: string[];
  phase(): Phase;
  startedAt: number;
}

/** One request as a handler sees it. */
export interface Request {
  req: IncomingMessage;
  res: ServerResponse;
  params: Record<string, string>;
  query: URLSearchParams;
}

/** A route: method, path template (`:name` matches one segment) and handler. */
export interface Route {
  method: 'GET' | 'POST';
  path: string;
  handler(ctx: ApiContext, r: Request): Promise<void>;
}
