import { ROLES } from '../../config/types.js';
import { VERSION } from '../../version.js';
import type { Route } from '../context.js';
import { sendJson } from '../http.js';
import { checkQuery } from '../validate.js';

/** GET /health, /livez, /readyz. The status code is the contract; the body is for people. */
export const healthRoutes: Route[] = [
  {
    method: 'GET',
    path: '/livez',
    // touches nothing: a database outage must not make an orchestrator restart us
    async handler(_ctx, { res, query }) {
      checkQuery(query, []);
      sendJson(res, 200, { status: 'alive' });
    },
  },
  {
    method: 'GET',
    path: '/readyz',
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
        sendJson(res, 503, { status: 'not ready', reason: `${down.join(' and ')} database${down.length > 1 ? 's' : ''} unreachable`, databases: Object.fromEntries(down.map((r) => [r, h.databases[r].error])) });
        return;
      }
      sendJson(res, 200, { status: 'ready' });
    },
  },
  {
    method: 'GET',
    path: '/health',
    async handler(ctx, { res, query }) {
      checkQuery(query, []);
      const h = await ctx.health.check();
      const s = ctx.scheduler.status();
      const readUp = h.readSource.role !== null;
      const allUp = ROLES.every((r) => !h.databases[r].configured || h.databases[r].up);
      const status = !readUp ? 'down' : h.readSource.degraded || !allUp ? 'degraded' : 'ok';
      sendJson(res, readUp ? 200 : 503, {
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
      });
    },
  },
];
