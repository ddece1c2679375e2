import { readConflict, readConflicts, readSyncState } from '../../status/index.js';
import { validateTableNames } from '../../sync/index.js';
import type { Route } from '../context.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import { badRequest, HttpError, sendJson } from '../http.js';
import { checkQuery, isUuid, parseLimit } from '../validate.js';

/** GET /api/sync/state, /api/sync/conflicts, /api/sync/conflicts/:id, /api/migrations, /api/jobs/:id, /metrics. */
export const readRoutes: Route[] = [
  {
    method: 'GET',
    path: '/api/sync/state',
    async handler(ctx, { res, query }) {
      checkQuery(query, []);
      // bookkeeping lives in the local database
      const tables = await readSyncState(ctx.rt.db('local'));
      sendJson(res, 200, { scheduler: ctx.scheduler.status(), tables });
    },
  },
  {
    method: 'GET',
    path: '/api/sync/conflicts',
    async handler(ctx, { res, query }) {
      const q = checkQuery(query, ['table', 'limit', 'cursor']);
      const table = q.get('table');
      if (table !== undefined) await validateTableNames([table]);
      const limit = parseLimit(q.get('limit'));
      const before = q.has('cursor') ? decodeCursor(q.get('cursor')!) : undefined;
      const rows = await readConflicts(ctx.rt.db('local'), { limit: limit + 1, ...(before ? { before: { detectedAt: before.ts, id: before.id } } : {}), ...(table ? { table } : {}) });
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      sendJson(res, 200, { items: page, nextCursor: rows.length > limit && last ? encodeCursor({ ts: last.detectedAt, id: last.id }) : null });
    },
  },
  {
    method: 'GET',
    path: '/api/sync/conflicts/:id',
    async handler(ctx, { res, query, params }) {
      checkQuery(query, []);
      const id = params.id!;
      if (!isUuid(id)) throw badRequest(`${JSON.stringify(id.slice(0, 80))} is not a conflict id (a UUID)`);
      const conflict = await readConflict(ctx.rt.db('local'), id);
      if (!conflict) throw new HttpError(404, `no conflict ${id}`);
      sendJson(res, 200, { conflict });
    },
  },
  {
    method: 'GET',
    path: '/api/migrations',
    async handler(ctx, { res, query }) {
      checkQuery(query, []);
      sendJson(res, 200, { databases: await ctx.migrations.get(true) });
    },
  },
  {
    method: 'GET',
    path: '/api/jobs/:id',
    async handler(ctx, { res, query, params }) {
      checkQuery(query, []);
      const job = ctx.jobs.get(params.id!);
      if (!job) throw new HttpError(404, `no job ${JSON.stringify(params.id!.slice(0, 80))} (the last 100 are kept)`);
      sendJson(res, 200, { job });
    },
  },
  {
    method: 'GET',
    path: '/metrics',
    async handler(ctx, { res }) {
      const text = await ctx.metrics.render();
      res.writeHead(200, { 'Content-Type': ctx.metrics.registry.contentType, 'Cache-Control': 'no-store' });
      res.end(text);
    },
  },
];
