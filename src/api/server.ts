import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { isLoopbackHost, listenHost } from '../config/load.js';
import { redactError } from '../config/redact.js';
import { CesarError, isCesarError, usageError } from '../errors.js';
import type { Runtime } from '../db/runtime.js';
import type { SyncEngine } from '../sync/engine.js';
import { schemaRegistry } from '../sync/index.js';
import type { SyncScheduler } from '../sync/scheduler.js';
import { authorize, bearer, grantOf } from './auth.js';
import type { ApiContext, Phase } from './context.js';
import { applyCors, originAllowed } from './cors.js';
import { apiDb } from './db.js';
import { HealthMonitor } from './health.js';
import { hostAllowed } from './host.js';
import { HttpError, sendError, toHttpError } from './http.js';
import { clientAddress, ClientCounter, DEFAULT_LIMITS, ReadGate, type ApiLimits } from './limits.js';
import { Jobs } from './jobs.js';
import { createMetrics, type ApiMetrics } from './metrics.js';
import { MigrationCache } from './migration-cache.js';
import { healthView } from './routes/health.js';
import { matchRoute } from './routes/index.js';
import { isoRows } from './rows.js';
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
  /** The read queue and the per-client limits (DEFAULT_LIMITS). */
  limits?: Partial<ApiLimits>;
  /** Time a client has to send its request headers (default 10 s), checked every second. */
  headersTimeoutMs?: number;
}

// Node checks header and request timeouts every connectionsCheckingInterval (30 s by default), so a
// 10 s header timeout cut slow clients at up to 40 s (issue 17): check every second.
const CONNECTION_CHECK_MS = 1000;

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
  const limits: ApiLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const gate = new ReadGate(limits);
  // The snapshot's parts, each with the shape of its own endpoint: /api/sync/scheduler,
  // /api/sync/state, /api/migrations and /health.
  let ctx: ApiContext | undefined;
  const snapshot = async (): Promise<Record<string, unknown>> => {
    const local = apiDb(rt, 'local');
    const [state, migrationState, h] = await Promise.all([
      local
        ? local.query('SELECT * FROM sync_state ORDER BY table_name, direction').then(
            (r) => isoRows(r),
            (err: unknown) => (isCesarError(err) && err.sqlState === '42P01' ? [] : { error: redactError(err) }),
          )
        : { error: 'the local database is not configured' },
      migrations.get(),
      healthView(ctx!),
    ]);
    return { sync: { scheduler: scheduler.status(), tables: state }, migrations: migrationState, health: h.body };
  };
  const hub = new EventHub(rt.bus, () => gate.run(snapshot), metrics, { ...DEFAULT_HUB, ...options.hub });
  const jobs = new Jobs(rt, scheduler, engine, options.migrationsDir);
  const publicBind = !isLoopbackHost(options.host);
  ctx = { rt, scheduler, engine, health, migrations, jobs, metrics, hub, tables, phase: () => phase, startedAt: Date.now(), gate, limits, publicBind };
  const requestsPerClient = new ClientCounter(limits.perClientRequests, 'requests in flight', limits.retryAfterSeconds);
  const socketsPerClient = new ClientCounter(limits.perClientSockets, 'WebSocket connections', limits.retryAfterSeconds);
  const served = ctx;

  const server = http.createServer(
    { requestTimeout: 30_000, headersTimeout: options.headersTimeoutMs ?? 10_000, keepAliveTimeout: 5_000, connectionsCheckingInterval: CONNECTION_CHECK_MS },
    (req, res) => void handle(served, req, res, options.host, requestsPerClient),
  );
  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => undefined);
    const path = (req.url ?? '').split('?')[0];
    const refuse = (status: string, headers: Record<string, string> = {}) =>
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}Content-Length: 0\r\n\r\n`);
    if (!hostAllowed(req, options.host, api.hostnames)) return refuse('421 Misdirected Request');
    if (path !== '/ws/events') return refuse('404 Not Found');
    if (!originAllowed(req, api.corsOrigins)) return refuse('403 Forbidden');
    if (phase === 'draining') return refuse('503 Service Unavailable');
    let release: () => void;
    try {
      release = socketsPerClient.take(clientAddress(req.socket.remoteAddress));
    } catch (err) {
      const e = toHttpError(err);
      return refuse('429 Too Many Requests', e.headers);
    }
    // On a public bind the client authenticates with its Authorization header, or else with its first message.
    let verify: ((token: string) => boolean) | undefined;
    if (publicBind) {
      const given = bearer(req);
      if (given === undefined) {
        verify = (token) => ['read', 'write'].includes(grantOf(token, api) ?? '');
      } else {
        try {
          authorize(req, 'read', api, true);
        } catch (err) {
          release();
          const e = toHttpError(err);
          return refuse(e.status === 403 ? '403 Forbidden' : '401 Unauthorized', e.headers);
        }
      }
    }
    hub.upgrade(req, socket, head, { release, ...(verify ? { verify } : {}) });
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) return;
    // headers or body not received within the timeouts: 408, anything else the parser refused: 400
    const status = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') reject(new CesarError('API_PORT_IN_USE', `port ${options.port} in use`));
      else reject(new CesarError('API_LISTEN', `cannot listen on ${options.host}:${options.port}: ${redactError(err)}`));
    });
    server.listen({ host: listenHost(options.host), port: options.port }, resolve);
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

async function handle(ctx: ApiContext, req: http.IncomingMessage, res: http.ServerResponse, boundHost: string, perClient: ClientCounter): Promise<void> {
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
  let release: (() => void) | undefined;
  try {
    // before anything else: a request for another name (DNS rebinding) learns nothing, not even 404
    if (!hostAllowed(req, boundHost, ctx.rt.config.api.hostnames)) {
      throw new HttpError(421, `this server does not answer for ${JSON.stringify((req.headers.host ?? '').slice(0, 100))}: use a loopback name, the address it listens on, or a name listed in CESAR_API_HOSTNAMES`);
    }
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
    const route = match.route;
    // health probes of orchestrators are never turned away; everything else counts against its client
    if (route.access !== 'open') {
      release = perClient.take(clientAddress(socket.remoteAddress));
      res.once('close', release);
    }
    const { full } = authorize(req, route.access, ctx.rt.config.api, ctx.publicBind);
    const r = { req, res, params: match.params, query, pathname, full };
    // a read holds its turn until its answer is written out: sending a large page costs the event
    // loop as much as reading it, and both count against the read concurrency
    if (route.access === 'read') await ctx.gate.run(async () => {
      await route.handler(ctx, r);
      if (!res.writableFinished && !res.destroyed) await new Promise<void>((done) => { res.once('finish', done); res.once('close', done); });
    });
    else await route.handler(ctx, r);
  } catch (err) {
    sendError(res, err);
    // an upload too large even to drain: drop the connection once the answer is out
    if (err instanceof HttpError && err.closeConnection) res.once('finish', () => socket.destroy());
  } finally {
    release?.();
  }
}
