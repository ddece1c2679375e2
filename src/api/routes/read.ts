import type pg from 'pg';
import type { Db } from '../../db/pool.js';
import { isCesarError } from '../../errors.js';
import { validateTableNames } from '../../sync/index.js';
import type { Route } from '../context.js';
import { decodeCursor } from '../cursor.js';
import { requireApiDb } from '../db.js';
import { badRequest, HttpError, sendJson } from '../http.js';
import { isoRows, READ_SOURCE_HEADER, sendPage } from '../rows.js';
import { checkQuery, isUuid, parseLimit } from '../validate.js';

// cesar's bookkeeping (sync_state, sync_conflicts) lives in the local database.
const LOCAL = { [READ_SOURCE_HEADER]: 'local' };

/** Runs a read of a bookkeeping table; before the first pass created it, the answer is no rows. */
async function bookkeeping<R extends pg.QueryResultRow>(db: Db, text: string, params: unknown[] = []): Promise<R[]> {
  try {
    return isoRows(await db.query<R>(text, params));
  } catch (err) {
    if (isCesarError(err) && err.sqlState === '42P01') return []; // undefined_table
    throw err;
  }
}

// The list leaves out the two row versions (each as large as a row): GET /api/sync/conflicts/:id has them.
const CONFLICT_LIST_COLUMNS = 'id, table_name, row_id, local_updated_at, cloud_updated_at, winner, strategy, reason, pass_id, detected_at';

/** GET /api/sync/state, /api/sync/scheduler, /api/sync/conflicts[/:id], /api/migrations, /api/jobs/:id, /metrics. */
export const readRoutes: Route[] = [
  {
    method: 'GET',
    path: '/api/sync/state',
    access: 'read',
    async handler(ctx, { res, query }) {
      checkQuery(query, []);
      // every table and direction: a few dozen rows, not paged
      const rows = await bookkeeping(requireApiDb(ctx.rt, 'local'), 'SELECT * FROM sync_state ORDER BY table_name, direction');
      sendJson(res, 200, rows, LOCAL);
    },
  },
  {
    method: 'GET',
    path: '/api/sync/scheduler',
    access: 'read',
    async handler(ctx, { res, query }) {
      checkQuery(query, []);
      sendJson(res, 200, ctx.scheduler.status());
    },
  },
  {
    method: 'GET',
    path: '/api/sync/conflicts',
    access: 'read',
    async handler(ctx, { res, query, pathname }) {
      const q = checkQuery(query, ['table', 'limit', 'cursor']);
      const table = q.get('table');
      if (table !== undefined) await validateTableNames([table]);
      const limit = parseLimit(q.get('limit'));
      const before = q.has('cursor') ? decodeCursor(q.get('cursor')!) : undefined;
      const where: string[] = [];
      const params: unknown[] = [];
      if (before) {
        params.push(before.ts, before.id);
        where.push(`(detected_at, id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
      }
      if (table) {
        params.push(table);
        where.push(`table_name = $${params.length}`);
      }
      params.push(limit + 1);
      const rows = await bookkeeping<{ id: string; detected_at: string }>(
        requireApiDb(ctx.rt, 'local'),
        `SELECT ${CONFLICT_LIST_COLUMNS} FROM sync_conflicts ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY detected_at DESC, id DESC LIMIT $${params.length}`,
        params,
      );
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      sendPage(res, pathname, query, { rows: page, next: rows.length > limit && last ? { ts: last.detected_at, id: last.id } : null }, LOCAL);
    },
  },
  {
    method: 'GET',
    path: '/api/sync/conflicts/:id',
    access: 'read',
    async handler(ctx, { res, query, params }) {
      checkQuery(query, []);
      const id = params.id!;
      if (!isUuid(id)) throw badRequest(`${JSON.stringify(id.slice(0, 80))} is not a conflict id (a UUID)`);
      const [row] = await bookkeeping(requireApiDb(ctx.rt, 'local'), 'SELECT * FROM sync_conflicts WHERE id = $1::uuid', [id]);
      if (!row) throw new HttpError(404, `no conflict ${id}`, LOCAL);
      sendJson(res, 200, row, LOCAL);
    },
  },
  {
    method: 'GET',
    path: '/api/migrations',
    access: 'read',
    async handler(ctx, { res, query }) {
      checkQuery(query, []);
      sendJson(res, 200, await ctx.migrations.get(true));
    },
  },
  {
    method: 'GET',
    path: '/api/jobs/:id',
    access: 'read',
    async handler(ctx, { res, query, params }) {
      checkQuery(query, []);
      const job = ctx.jobs.get(params.id!);
      if (!job) throw new HttpError(404, `no job ${JSON.stringify(params.id!.slice(0, 80))} (the last 100 are kept)`);
      sendJson(res, 200, job);
    },
  },
  {
    method: 'GET',
    path: '/metrics',
    access: 'metrics',
    async handler(ctx, { res }) {
      const text = await ctx.metrics.render();
      res.writeHead(200, { 'Content-Type': ctx.metrics.registry.contentType, 'Cache-Control': 'no-store' });
      res.end(text);
    },
  },
];
