import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Runtime } from '../db/runtime.js';
import type { Access } from './auth.js';
import type { ApiLimits, ReadGate } from './limits.js';
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
  /** The bounded queue in front of the API's reads. */
  gate: ReadGate;
  limits: ApiLimits;
  /** True when the server listens beyond loopback: reads, /metrics and /ws/events then need a token. */
  publicBind: boolean;
}

/** One request as a handler sees it. */
export interface Request {
  req: IncomingMessage;
  res: ServerResponse;
  params: Record<string, string>;
  query: URLSearchParams;
  /** The request's path (for Link headers). */
  pathname: string;
  /** Whether the caller may see everything (only /health shows less otherwise). */
  full: boolean;
}

/** A route: method, path template (`:name` matches one segment) and handler. */
export interface Route {
  method: 'GET' | 'POST';
  path: string;
  /** Who may call it (auth.ts); `read` routes also wait their turn in the read queue. */
  access: Access;
  handler(ctx: ApiContext, r: Request): Promise<void>;
}
