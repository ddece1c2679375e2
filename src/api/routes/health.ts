import { ROLES } from '../../config/types.js';
import { VERSION } from '../../version.js';
import type { ApiContext, Route } from '../context.js';
import { sendJson } from '../http.js';
import { checkQuery } from '../validate.js';

/** The status word of /health: `ok` (up), `degraded` (reads served, something is down or a fallback), `down` (no database to read from). */
export type HealthStatus = 'ok' | 'degraded' | 'down';

/**
 * The /health document, also sent as `health` in the WebSocket snapshot (one shape for both:
 * `readSource.database` names the database that serves reads).
 */
export async function healthView(ctx: ApiContext): Promise<{ code: number; body: Record<string, unknown> & { status: HealthStatus } }> {
  const h = await ctx.health.check();
  const s = ctx.scheduler.status();
  const readUp = h.readSource.role !== null;
  const allUp = ROLES.every((r) => !h.databases[r].configured || h.databases[r].up);
  const status: HealthStatus = !readUp ? 'down' : h.readSource.degraded || !allUp ? 'degraded' : 'ok';
  return {
    code: readUp ? 200 : 503,
    body: {
      status,
      version: VERSION,
      environment: ctx.rt.config.environment,
      embedded: ctx.rt.config.embedded,
      draining: ctx.phase() === 'draining',
      readSource: { database: h.readSource.role, degraded: h.readSource.degraded, reason: h.readSource.reason },
      databases: h.databases,
      sync: {
        active: s.active,
        standbyFor: s.standbyFor,
        running: s.running,
        paused: s.paused,
        lastPassAt: s.lastPassAt,
        lastSuccessAt: s.lastSuccessAt,
        nextPassAt: s.nextPassAt,
        lastError: s.lastError,
        consecutiveFailures: s.consecutiveFailures,
        intervalMs: s.intervalMs,
      },
      uptimeSeconds: Math.round((Date.now() - ctx.startedAt) / 1000),
    },
  };
}

/** GET /health, /livez, /readyz. The status code is the contract; the body is for people. */
export const healthRoutes: Route[] = [
  {
    method: 'GET',
    path: '/livez',
    access: 'open',
    // touches nothing: a database outage must not make an orchestrator restart us
    async handler(_ctx, { res, query }) {
      checkQuery(query, []);
      sendJson(res, 200, { status: 'alive' });
    },
  },
  {
    method: 'GET',
    path: '/readyz',
    access: 'open',
    async handler(ctx, { res, query }) {
      checkQuery(query, []);
      const phase = ctx.phase();
      if (phase !== 'running') {
        sendJson(res, 503, { status: 'not ready', reason: phase === 'draining' ? 'shutting down' : 'starting' });
        return;
      }
      const h = await ctx.health.check();
      const down = ROLES.filter((r) => h.databases[r].configured && !h.databases[r].up);
      if (down.length > 0) {
        // which database, but not its error text: /readyz is open to anyone who can reach the port
        sendJson(res, 503, { status: 'not ready', reason: `${down.join(' and ')} database${down.length > 1 ? 's' : ''} unreachable` });
        return;
      }
      sendJson(res, 200, { status: 'ready' });
    },
  },
  {
    method: 'GET',
    path: '/health',
    access: 'health',
    async handler(ctx, { res, query, full }) {
      checkQuery(query, []);
      const { code, body } = await healthView(ctx);
      // without a read grant on a public bind: the status word only (issue 17)
      sendJson(res, code, full ? body : { status: body.status });
    },
  },
];
