import { validateTableNames } from '../../sync/index.js';
import type { ApiContext, Request, Route } from '../context.js';
import { badRequest, HttpError, readJsonBody, sendJson } from '../http.js';
import type { Job } from '../jobs.js';
import { checkBody, checkQuery } from '../validate.js';

/** The body, then the state; the token was checked before the handler ran, so nothing is read from an unauthenticated client. */
async function authorisedBody(ctx: ApiContext, r: Request): Promise<Record<string, unknown>> {
  checkQuery(r.query, []);
  const body = await readJsonBody(r.req);
  if (ctx.phase() !== 'running') throw new HttpError(503, ctx.phase() === 'draining' ? 'shutting down: no new work is accepted' : 'starting: try again in a moment');
  return body;
}

function accepted(r: Request, job: Job): void {
  sendJson(r.res, 202, { id: job.id, kind: job.kind, status: job.status, request: job.request, job: `/api/jobs/${job.id}`, events: '/ws/events' }, { Location: `/api/jobs/${job.id}` });
}

/** POST /api/sync and /api/migrate: start work in the background, answer 202 with the job id. */
export const workRoutes: Route[] = [
  {
    method: 'POST',
    path: '/api/sync',
    access: 'write',
    async handler(ctx, r) {
      const body = checkBody(await authorisedBody(ctx, r), {
        direction: { type: 'string', choices: ['both', 'up', 'down'] },
        tables: { type: 'string[]', maxItems: 100 },
        dryRun: { type: 'boolean' },
      });
      let tables: string[] | undefined;
      if (body.tables !== undefined) {
        if ((body.tables as string[]).length === 0) throw badRequest('tables: give at least one table, or leave tables out for every table');
        // checked against the migration files' tables before anything runs (unknown: 400 listing the valid names)
        tables = await validateTableNames(body.tables as string[]);
      }
      const job = ctx.jobs.startSync({ direction: (body.direction as 'both' | 'up' | 'down' | undefined) ?? 'both', dryRun: body.dryRun === true, ...(tables ? { tables } : {}) });
      accepted(r, job);
    },
  },
  {
    method: 'POST',
    path: '/api/migrate',
    access: 'write',
    async handler(ctx, r) {
      const body = checkBody(await authorisedBody(ctx, r), {
        target: { type: 'string', choices: ['local', 'cloud', 'both'] },
        dryRun: { type: 'boolean' },
      });
      const job = ctx.jobs.startMigrate({ target: (body.target as 'local' | 'cloud' | 'both' | undefined) ?? 'both', dryRun: body.dryRun === true });
      accepted(r, job);
    },
  },
];
