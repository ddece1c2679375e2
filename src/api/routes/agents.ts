import type { Role } from '../../config/types.js';
import type { Db } from '../../db/pool.js';
import type { ApiContext, Route } from '../context.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import { badRequest, HttpError, sendJson } from '../http.js';
import { checkQuery, isUuid, parseLimit } from '../validate.js';

/** The statuses the agents table allows (its CHECK constraint). */
export const AGENT_STATUSES = ['idle', 'active', 'busy', 'paused', 'error', 'offline'] as const;

// Timestamps as text: microseconds intact, and the cursor carries them exactly.
const COLUMNS = `id::text AS id, name, agent_type, status, description, capabilities, version, max_concurrent_tasks,
  last_heartbeat_at::text AS last_heartbeat_at, created_at::text AS created_at, updated_at::text AS updated_at, deleted_at::text AS deleted_at`;

interface AgentRow {
  id: string;
  name: string;
  agent_type: string;
  status: string;
  description: string | null;
  capabilities: unknown;
  config?: unknown;
  version: number;
  max_concurrent_tasks: number;
  last_heartbeat_at: string | null;
  created_at: string;
  updated_at: string;
  deleted_at: string | null;
}

function toAgent(r: AgentRow): Record<string, unknown> {
  return {
    id: r.id,
    name: r.name,
    agentType: r.agent_type,
    status: r.status,
    description: r.description,
    capabilities: r.capabilities,
    ...('config' in r ? { config: r.config } : {}),
    version: r.version,
    maxConcurrentTasks: r.max_concurrent_tasks,
    lastHeartbeatAt: r.last_heartbeat_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    deletedAt: r.deleted_at,
  };
}

/** The database the environment rule picks for reads (chooseReadSource), or 503 naming why none. */
async function readDb(ctx: ApiContext): Promise<{ db: Db; role: Role; degraded: boolean }> {
  const { readSource } = await ctx.health.check();
  if (!readSource.role) throw new HttpError(503, `no database to read from: ${readSource.reason}`);
  return { db: ctx.rt.db(readSource.role), role: readSource.role, degraded: readSource.degraded };
}

/** GET /api/agents and /api/agents/:id. */
export const agentRoutes: Route[] = [
  {
    method: 'GET',
    path: '/api/agents',
    async handler(ctx, { res, query }) {
      const q = checkQuery(query, ['status', 'limit', 'cursor']);
      const status = q.get('status');
      if (status !== undefined && !(AGENT_STATUSES as readonly string[]).includes(status)) {
        throw badRequest(`status: ${JSON.stringify(status)} is not allowed; use one of ${AGENT_STATUSES.join(', ')}`);
      }
      const limit = parseLimit(q.get('limit'));
      const cursor = q.has('cursor') ? decodeCursor(q.get('cursor')!) : undefined;
      const { db, role, degraded } = await readDb(ctx);
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
      const { rows } = await db.query<AgentRow>(`SELECT ${COLUMNS} FROM agents WHERE ${where.join(' AND ')} ORDER BY updated_at DESC, id DESC LIMIT $${params.length}`, params);
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      const nextCursor = rows.length > limit && last ? encodeCursor({ ts: last.updated_at, id: last.id }) : null;
      sendJson(res, 200, { database: role, degraded, items: page.map(toAgent), nextCursor });
    },
  },
  {
    method: 'GET',
    path: '/api/agents/:id',
    async handler(ctx, { res, query, params }) {
      checkQuery(query, []);
      const id = params.id!;
      if (!isUuid(id)) throw badRequest(`${JSON.stringify(id.slice(0, 80))} is not an agent id (a UUID)`);
      const { db, role, degraded } = await readDb(ctx);
      const { rows } = await db.query<AgentRow>(`SELECT ${COLUMNS}, config FROM agents WHERE id = $1::uuid`, [id]);
      if (!rows[0]) throw new HttpError(404, `no agent ${id} in the ${role} database`);
      sendJson(res, 200, { database: role, degraded, agent: toAgent(rows[0]) });
    },
  },
];
