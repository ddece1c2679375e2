import { redactError } from '../config/redact.js';
import type { Role } from '../config/types.js';
import type { Queryable } from '../db/pool.js';
import { compareTs } from '../sync/timestamps.js';
import type { AgentRow, AgentSort, AgentsData, Agreement } from './types.js';

/** Counting stops here: "10000+" costs the same on a million agents as on ten thousand. */
export const COUNT_CAP = 10_000;

// Whitelisted ORDER BY expressions: the sort column never comes from text.
const ORDER: Record<AgentSort, string> = { name: 'name', type: 'agent_type', status: 'status', updated: 'updated_at' };

/** A LIKE pattern for "contains", with the filter's own % _ and \ taken literally. */
export function containsPattern(filter: string): string {
  return `%${filter.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** What to read: one page of the sorted, filtered agents. */
export interface AgentsQuery {
  sort: AgentSort;
  desc: boolean;
  filter: string;
  limit: number;
  offset: number;
}

/**
 * The page query: only `limit` rows leave the database, whatever the table's size. The filter is
 * a bound parameter (ILIKE $3), never spliced into the text.
 */
export function pageSql(q: AgentsQuery): { text: string; params: unknown[] } {
  const dir = q.desc ? 'DESC' : 'ASC';
  const params: unknown[] = [q.limit, q.offset];
  let where = 'deleted_at IS NULL';
  if (q.filter) {
    params.push(containsPattern(q.filter));
    where += ' AND name ILIKE $3';
  }
  return {
    text: `SELECT id::text AS id, name, agent_type, status, updated_at::text AS updated_at FROM agents WHERE ${where} ORDER BY ${ORDER[q.sort]} ${dir}, id ${dir} LIMIT $1 OFFSET $2`,
    params,
  };
}

/** The capped count of matching agents. */
export function countSql(filter: string, cap = COUNT_CAP): { text: string; params: unknown[] } {
  const params: unknown[] = [cap + 1];
  let where = 'deleted_at IS NULL';
  if (filter) {
    params.push(containsPattern(filter));
    where += ' AND name ILIKE $2';
  }
  return { text: `SELECT count(*) AS n FROM (SELECT 1 FROM agents WHERE ${where} LIMIT $1) AS t`, params };
}

/** Whether the other side holds the same version of a row: same updated_at, to the microsecond. */
export function agreement(mine: string, theirs: string | undefined): Agreement {
  if (theirs === undefined) return 'missing';
  try {
    return compareTs(mine, theirs) === 0 ? 'same' : 'differs';
  } catch {
    return mine === theirs ? 'same' : 'differs';
  }
}

/**
 * Reads the visible page from `read` (the database that serves reads) and, for those rows only,
 * their versions on `other`, to show whether both sides agree.
 */
export async function readAgentsPage(role: Role, read: Queryable, other: Queryable | undefined, q: AgentsQuery): Promise<AgentsData> {
  try {
    const count = countSql(q.filter);
    const [{ rows: countRows }, { rows }] = await Promise.all([
      read.query<{ n: number }>(count.text, count.params),
      read.query<{ id: string; name: string; agent_type: string; status: string; updated_at: string }>(pageSql(q).text, pageSql(q).params),
    ]);
    const n = Number(countRows[0]?.n ?? 0);
    let theirs: Map<string, string> | null = null;
    if (other && rows.length > 0) {
      try {
        const res = await other.query<{ id: string; updated_at: string }>('SELECT id::text AS id, updated_at::text AS updated_at FROM agents WHERE id = ANY($1::uuid[])', [rows.map((r) => r.id)]);
        theirs = new Map(res.rows.map((r) => [r.id, r.updated_at]));
      } catch {
        theirs = null; // the other side is down: agreement unknown, the page still shows
      }
    }
    const out: AgentRow[] = rows.map((r) => ({
      id: r.id,
      name: r.name,
      type: r.agent_type,
      status: r.status,
      updatedAt: r.updated_at,
      agree: theirs ? agreement(r.updated_at, theirs.get(r.id)) : 'unknown',
    }));
    return { role, rows: out, offset: q.offset, total: Math.min(n, COUNT_CAP), capped: n > COUNT_CAP, error: null };
  } catch (err) {
    return { role, rows: [], offset: q.offset, total: 0, capped: false, error: `agents on ${role}: ${redactError(err)}` };
  }
}

/**
 * A fingerprint of the agents on both sides: the newest `updated_at` of each (one probe of the
 * `(updated_at, id)` index each, whatever the table's size). Every write sets `updated_at`, so an
 * unchanged fingerprint means the visible page need not be read again. Not seen this way: a row
 * hard-deleted, or one committed late with an older stamp; the poller's periodic full read covers
 * those. Null when it cannot be read (the page read then shows why).
 */
export async function agentsFingerprint(role: Role, dbs: Partial<Record<Role, Queryable>>): Promise<string | null> {
  try {
    const sides = await Promise.all(
      (['local', 'cloud'] as const).map(async (r) => {
        const db = dbs[r];
        if (!db) return '-';
        const { rows } = await db.query<{ m: string | null }>('SELECT max(updated_at)::text AS m FROM agents');
        return rows[0]?.m ?? 'empty';
      }),
    );
    return `${role} ${sides.join(' ')}`;
  } catch {
    return null;
  }
}
