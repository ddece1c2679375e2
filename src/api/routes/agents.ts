import type { Role } from '../../config/types.js';
import type { Db } from '../../db/pool.js';
import type { ApiContext, Route } from '../context.js';
import { decodeCursor } from '../cursor.js';
import { requireApiDb } from '../db.js';
import { badRequest, HttpError, sendJson } from '../http.js';
import { DEGRADED_HEADER, isoRows, READ_SOURCE_HEADER, sendPage } from '../rows.js';
import { checkQuery, isUuid, parseLimit } from '../validate.js';

/** The statuses the agents table allows (its CHECK constraint). */
export const AGENT_STATUSES = ['idle', 'active', 'busy', 'paused', 'error', 'offline'] as const;

/** An agents row as the API sends it: every column of the table, timestamps in ISO form. */
interface AgentRow {
  id: string;
  updated_at: string;
  [column: string]: unknown;
}

/** The database the environment rule picks for reads (chooseReadSource), or 503 naming why none. */
async function readDb(ctx: ApiContext): Promise<{ db: Db; role: Role; headers: Record<string, string> }> {
  const { readSource } = await ctx.health.check();
  if (!readSource.role) throw new HttpError(503, `no database to read from: ${readSource.reason}`);
  return {
    db: requireApiDb(ctx.rt, readSource.role),
    role: readSource.role,
    headers: { [READ_SOURCE_HEADER]: readSource.role, [DEGRADED_HEADER]: String(readSource.degraded) },
  };
}

/** GET /api/agents and /api/agents/:id: rows of the agents table, as the original API returned them. */
export const agentRoutes: Route[] = [
  {
    method: 'GET',
    path: '/api/agents',
    access: 'read',
    async handler(ctx, { res, query, pathname }) {
      const q = checkQuery(query, ['status', 'limit', 'cursor']);
      const status = q.get('status');
      if (status !== undefined && !(AGENT_STATUSES as readonly string[]).includes(status)) {
        throw badRequest(`status: ${JSON.stringify(status)} is not allowed; use one of ${AGENT_STATUSES.join(', ')}`);
      }
      const limit = parseLimit(q.get('limit'));
      const cursor = q.has('cursor') ? decodeCursor(q.get('cursor')!) : undefined;
      const { db, headers } = await readDb(ctx);
      const where = ['deleted_at IS NULL'];
      const params: unknown[] = [];
      if (status) {
        params.push(status);
        where.push(`status = $${params.length}`);
      }
      if (cursor) {
        params.push(cursor.ts, cursor.id);
        where.push(`(updated_at, id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
      }
      // newest first, keyset on (updated_at, id): one more row than asked tells whether a next page exists
      params.push(limit + 1);
      const rows = isoRows(await db.query<AgentRow>(`SELECT * FROM agents WHERE ${where.join(' AND ')} ORDER BY updated_at DESC, id DESC LIMIT $${params.length}`, params));
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      sendPage(res, pathname, query, { rows: page, next: rows.length > limit && last ? { ts: last.updated_at, id: last.id } : null }, headers);
    },
  },
  {
    method: 'GET',
    path: '/api/agents/:id',
    access: 'read',
    async handler(ctx, { res, query, params }) {
      checkQuery(query, []);
      const id = params.id!;
      if (!isUuid(id)) throw badRequest(`${JSON.stringify(id.slice(0, 80))} is not an agent id (a UUID)`);
      const { db, role, headers } = await readDb(ctx);
      const [row] = isoRows(await db.query<AgentRow>('SELECT * FROM agents WHERE id = $1::uuid', [id]));
      if (!row) throw new HttpError(404, `no agent ${id} in the ${role} database`, headers);
      sendJson(res, 200, row, headers);
    },
  },
];
