import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { isLoopbackHost } from '../config/load.js';
import { redactError } from '../config/redact.js';
import { CesarError, usageError } from '../errors.js';
import type { Runtime } from '../runtime.js';
import { readSyncState } from '../status/index.js';
import type { SyncEngine } from '../sync/engine.js';
import { schemaRegistry } from '../sync/index.js';
import type { SyncScheduler } from '../sync/scheduler.js';
import type { ApiContext, Phase } from './context.js';
import { applyCors, originAllowed } from './cors.js';
import { HealthMonitor } from './health.js';
import { HttpError, sendError } from './http.js';
import { Jobs } from './jobs.js';
import { createMetrics, type ApiMetrics } from './metrics.js';
import { MigrationCache } from './migration-cache.js';
import { matchRoute } from './routes/index.js';
import { DEFAULT_HUB, EventHub, type HubOptions } from './ws.js';

/** Where and how to serve. Token and CORS origins default to the runtime's configuration. */
export interface ApiOptions {
  host: string;
  /** 0: an OS-assigned port (the actual one is in `url`). */
  port: number;
  hub?: Partial<HubOptions>;
  /** Reuse of per-table lag and last-success values in /metrics (default 15 s). */
  tableStatsTtlMs?: number;
  /** Migrations folder (default: the package's). */
  migrationsDir?: string;
}

/** A running API. */
export interface ApiServer {
  /** e.g. http://127.0.0.1:8000 */
  readonly url: string;
  readonly metrics: ApiMetrics;
  /** `running` makes /readyz answer 200 (when the databases are up). */
  setPhase(phase: Phase): void;
  /**
   * Shutdown, in the order orchestrators expect: readiness fails, new connections are refused,
   * WebSockets close with 1001, requests in flight get up to `graceMs`, then every socket is cut.
   */
  close(graceMs?: number): Promise<void>;
}

/** What the API serves. */
export interface ApiDeps {
  rt: Runtime;
  scheduler: SyncScheduler;
  engine: SyncEngine;
}

/** Refuses (usage error, exit 2) to listen beyond the loopback interface without CESAR_API_TOKEN. */
export function assertSafeBind(host: string, token: string | undefined): void {
  if (!isLoopbackHost(host) && !token) {
    throw usageError('API_NEEDS_TOKEN', `refusing to serve the API on ${host} without a token: a non-loopback address needs CESAR_API_TOKEN (at least 16 characters, e.g. \`openssl rand -hex 24\`), or bind to 127.0.0.1.`);
  }
}

/** Starts the HTTP + WebSocket API. Throws CesarError API_PORT_IN_USE when the port is taken. */
export async function startApi(deps: ApiDeps, options: ApiOptions): Promise<ApiServer> {
  const { rt, scheduler, engine } = deps;
  const api = rt.config.api;
  assertSafeBind(options.host, api.token);
  let phase: Phase = 'starting';
  const tables = (await schemaRegistry(...(options.migrationsDir ? [options.migrationsDir] : []))).map((t) => t.name);
  const health = new HealthMonitor(rt);
  const migrations = new MigrationCache(rt, rt.bus, options.migrationsDir);
  const metrics = createMetrics({ rt, scheduler, health, migrations, tables, ...(options.tableStatsTtlMs !== undefined ? { tableStatsTtlMs: options.tableStatsTtlMs } : {}) });
  const snapshot = async (): Promise<Record<string, unknown>> => {
    const local = rt.maybeDb('local');
    const [state, migrationState] = await Promise.all([
      local ? readSyncState(local).catch((err: unknown) => ({ error: redactError(err) })) : { error: 'the local database is not configured' },
      migrations.get(),
    ]);
    return { sync: { scheduler: scheduler.status(), tables: state }, migrations: migrationState, health: health.peek() };
  };
  const hub = new EventHub(rt.bus, snapshot, metrics, { ...DEFAULT_HUB, ...options.hub });
  const jobs = new Jobs(rt, scheduler, engine, options.migrationsDir);
  const ctx: ApiContext = { rt, scheduler, engine, health, migrations, jobs, metrics, hub, tables, phase: () => phase, startedAt: Date.now() };

  const server = http.createServer({ requestTimeout: 30_000, headersTimeout: 10_000, keepAliveTimeout: 5_000 }, (req, res) => void handle(ctx, req, res));
  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => undefined);
    const path = (req.url ?? '').split('?')[0];
    const refuse = (status: string) => socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    if (path !== '/ws/events') return refuse('404 Not Found');
    if (!originAllowed(req, api.corsOrigins)) return refuse('403 Forbidden');
    if (phase === 'draining') return refuse('503 Service Unavailable');
    hub.upgrade(req, socket, head);
  });
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') reject(new CesarError('API_PORT_IN_USE', `port ${options.port} in use`));
      else reject(new CesarError('API_LISTEN', `cannot listen on ${options.host}:${options.port}: ${redactError(err)}`));
    });
    server.listen({ host: options.host, port: options.port }, resolve);
  }).catch(async (err: unknown) => {
    await hub.close(0);
    migrations.close();
    metrics.close();
    throw err;
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' || address.address.includes(':') ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;

  let closing: Promise<void> | undefined;
  return {
    url,
    metrics,
    setPhase(p) {
      if (phase !== 'draining') phase = p;
    },
    close(graceMs = 2000) {
      closing ??= (async () => {
        phase = 'draining';
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        await hub.close(Math.min(graceMs, 1000));
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([closed, new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
        clearTimeout(timer);
        server.closeAllConnections();
        await closed;
        migrations.close();
        metrics.close();
      })();
      return closing;
    },
  };
}

async function handle(ctx: ApiContext, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const method = req.method ?? 'GET';
  // kept here: once a body is abandoned mid-stream the request is destroyed and req.socket becomes null
  const socket = req.socket;
  let template = 'unmatched';
  res.on('finish', () => {
    const m = ['GET', 'HEAD', 'POST', 'OPTIONS'].includes(method) ? method : 'other';
    ctx.metrics.httpRequests.inc({ route: template, method: m, status: String(res.statusCode) });
  });
  res.setHeader('X-Content-Type-Options', 'nosniff');
  if (ctx.phase() === 'draining') res.setHeader('Connection', 'close');
  try {
    let pathname: string;
    let query: URLSearchParams;
    try {
      const u = new URL(req.url ?? '/', 'http://localhost');
      pathname = u.pathname;
      query = u.searchParams;
    } catch {
      throw new HttpError(400, 'malformed request URL');
    }
    const corsOk = applyCors(req, res, ctx.rt.config.api.corsOrigins);
    const match = matchRoute(method, pathname);
    if (match.template) template = match.template;
    if (match.allowed.length === 0) throw new HttpError(404, `no such endpoint: ${method} ${pathname.slice(0, 200)}; see README.md (API)`);
    if (method === 'OPTIONS') {
      // a preflight: answered for allowed origins only
      if (req.headers.origin && !corsOk) throw new HttpError(403, 'origin not allowed: list it in CESAR_API_CORS_ORIGINS');
      res.writeHead(204, { Allow: [...match.allowed, 'OPTIONS'].join(', ') });
      res.end();
      return;
    }
    if (!match.route) throw new HttpError(405, `${method} is not allowed on ${match.template}; use ${match.allowed.join(' or ')}`, { Allow: match.allowed.join(', ') });
    await match.route.handler(ctx, { req, res, params: match.params, query });
  } catch (err) {
    sendError(res, err);
    // an upload too large even to drain: drop the connection once the answer is out
    if (err instanceof HttpError && err.closeConnection) res.once('finish', () => socket.destroy());
  }
}
