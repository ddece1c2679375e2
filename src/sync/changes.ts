import type { Db, Queryable } from '../db/pool.js';
import { withTransaction, type RetryOptions } from '../db/tx.js';
import { writeBase } from './base.js';
import { ident } from './sql.js';
import type { Key } from './timestamps.js';

/**
 * The change log in the cloud: one row per transaction in which cesar wrote rows of a table to
 * the cloud (or deleted them there), written in that same transaction. It names the site that
 * wrote and the versions written (`put`) or deleted (`del`), with conflicts resolved in it.
 *
 * Two databases cannot commit together, so after a cloud write commits the process may die before
 * the local database records it (the base of those rows, the conflicts). The log closes that gap:
 * every cloud write of this site that the local database has not acknowledged (`sync_acks`) is
 * found and recorded before the next pass writes anything. Without it, a row copied up just
 * before a crash would look, once deleted locally, like a new cloud row, and come back.
 */
export const CHANGES_DDL = [
  `CREATE TABLE IF NOT EXISTS cesar_changes (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    site_id TEXT NOT NULL,
    table_name TEXT NOT NULL,
    put_ids UUID[] NOT NULL,
    put_ts TIMESTAMPTZ[] NOT NULL,
    del_ids UUID[] NOT NULL,
    del_ts TIMESTAMPTZ[] NOT NULL,
    conflicts JSONB,
    logged_at TIMESTAMPTZ NOT NULL DEFAULT now()
  )`,
  `CREATE INDEX IF NOT EXISTS cesar_changes_site_logged_at_idx ON cesar_changes (site_id, logged_at)`,
];

/** Creates the change log in the cloud if missing (statement by statement). */
export async function ensureChangeLog(cloud: Db): Promise<void> {
  for (const ddl of CHANGES_DDL) await cloud.query(ddl);
}

/** A conflict as logged in sync_conflicts (both versions as JSON documents). */
export interface ConflictLog {
  table: string;
  rowId: string;
  localDoc: string | null;
  cloudDoc: string | null;
  winner: 'local' | 'cloud';
  strategy: string;
  reason: string;
  passId: string;
}

/** One entry of the change log as written. */
export interface ChangeEntry {
  id: string;
  loggedAt: string;
  table: string;
  puts: Key[];
  dels: Key[];
  conflicts: ConflictLog[];
}

/** Writes the log entry of a cloud transaction, inside it. */
export async function logChange(client: Queryable, siteId: string, table: string, puts: readonly Key[], dels: readonly Key[], conflicts: readonly ConflictLog[]): Promise<ChangeEntry> {
  const { rows } = await client.query<{ id: string; logged_at: string }>(
    `INSERT INTO cesar_changes (site_id, table_name, put_ids, put_ts, del_ids, del_ts, conflicts)
     VALUES ($1, $2, $3::uuid[], $4::timestamptz[], $5::uuid[], $6::timestamptz[], $7::jsonb)
     RETURNING id::text AS id, logged_at`,
    [siteId, table, puts.map((k) => k.id), puts.map((k) => k.ts), dels.map((k) => k.id), dels.map((k) => k.ts), conflicts.length ? conflictsJson(conflicts) : null],
  );
  return { id: rows[0]!.id, loggedAt: rows[0]!.logged_at, table, puts: [...puts], dels: [...dels], conflicts: [...conflicts] };
}

function conflictsJson(conflicts: readonly ConflictLog[]): string {
  return `[${conflicts
    .map(
      (c) =>
        `{"table_name":${JSON.stringify(c.table)},"row_id":${JSON.stringify(c.rowId)},"local_version":${c.localDoc ?? 'null'},` +
        `"cloud_version":${c.cloudDoc ?? 'null'},"winner":${JSON.stringify(c.winner)},"strategy":${JSON.stringify(c.strategy)},` +
        `"reason":${JSON.stringify(c.reason)},"pass_id":${JSON.stringify(c.passId)}}`,
    )
    .join(',')}]`;
}

/** Logs conflicts with both versions in the local database (in the caller's transaction). */
export async function logConflicts(client: Queryable, conflicts: readonly ConflictLog[]): Promise<void> {
  if (conflicts.length === 0) return;
  await client.query(
    `INSERT INTO sync_conflicts (table_name, row_id, local_version, cloud_version, local_updated_at, cloud_updated_at, winner, strategy, reason, pass_id)
     SELECT table_name, row_id, local_version, cloud_version,
            (local_version->>'updated_at')::timestamptz, (cloud_version->>'updated_at')::timestamptz,
            winner, strategy, reason, pass_id
       FROM jsonb_populate_recordset(NULL::sync_conflicts, $1::jsonb)`,
    [conflictsJson(conflicts)],
  );
}

/**
 * Records what cloud writes committed (in the local database, one transaction): the base of the
 * rows written, the conflicts they resolved, and the acknowledgement of the log entries. A delete
 * leaves the base alone: the base is what lets the key scan finish a delete half done (the row
 * gone from the cloud and still held locally is then deleted locally, not copied back).
 */
export async function acknowledge(client: Queryable, entries: readonly ChangeEntry[]): Promise<void> {
  for (const e of entries) {
    await writeBase(client, e.table, e.puts);
    await logConflicts(client, e.conflicts);
  }
  if (entries.length > 0) {
    await client.query('INSERT INTO sync_acks (batch_id, logged_at) SELECT * FROM unnest($1::uuid[], $2::timestamptz[]) ON CONFLICT (batch_id) DO NOTHING', [
      entries.map((e) => e.id),
      entries.map((e) => e.loggedAt),
    ]);
  }
}

/** How far back before the newest acknowledged entry recovery looks (covers clock offsets between cloud nodes and transactions committing out of order). */
export const RECOVERY_WINDOW_MS = 10 * 60_000;

/**
 * Finds this site's cloud writes that the local database never acknowledged (the process died
 * between the cloud's commit and the local one) and records them. Runs before a pass writes
 * anything when the previous one may have been cut short. Returns how many entries it recorded.
 */
export async function recoverChanges(local: Db, cloud: Db, siteId: string, retry: RetryOptions, tables: ReadonlySet<string>): Promise<number> {
  const { rows: last } = await local.query<{ at: string | null }>('SELECT max(logged_at) AS at FROM sync_acks');
  const since = last[0]?.at ?? null;
  const { rows: candidates } = await cloud.query<{ id: string }>(
    `SELECT id::text AS id FROM cesar_changes
      WHERE site_id = $1 AND ($2::timestamptz IS NULL OR logged_at >= $2::timestamptz - $3::INT8 * INTERVAL '1 millisecond')
      ORDER BY logged_at, id`,
    [siteId, since, RECOVERY_WINDOW_MS],
  );
  if (candidates.length === 0) return 0;
  const { rows: acked } = await local.query<{ id: string }>('SELECT batch_id::text AS id FROM sync_acks WHERE batch_id = ANY($1::uuid[])', [candidates.map((c) => c.id)]);
  const done = new Set(acked.map((a) => a.id));
  const missing = candidates.map((c) => c.id).filter((id) => !done.has(id));
  if (missing.length === 0) return 0;
  const entries = await readEntries(cloud, missing);
  await withTransaction(
    local,
    async (c) => {
      await acknowledge(c, entries);
      // A delete in the cloud whose local half never ran: when the row is gone locally too (the
      // key scan propagating a local delete), its base goes now; when the row is still here (a
      // retention purge cut short), the base stays, so that the key scan finishes the delete.
      for (const e of entries) {
        // a table no longer synced (dropped since): its base entries are moot
        if (e.dels.length === 0 || !tables.has(e.table)) continue;
        await c.query(
          `DELETE FROM sync_base AS b WHERE b.table_name = $1 AND b.row_id = ANY($2::uuid[])
              AND NOT EXISTS (SELECT 1 FROM ${ident(e.table)} AS x WHERE x.id = b.row_id)`,
          [e.table, e.dels.map((k) => k.id)],
        );
      }
    },
    retry,
  );
  return entries.length;
}

async function readEntries(cloud: Db, ids: string[]): Promise<ChangeEntry[]> {
  const { rows } = await cloud.query<{ id: string; logged_at: string; table_name: string; put_ids: string[]; put_ts: string[]; del_ids: string[]; del_ts: string[]; conflicts: string | null }>(
    `SELECT id::text AS id, logged_at, table_name, put_ids::text[] AS put_ids, put_ts::text[] AS put_ts,
            del_ids::text[] AS del_ids, del_ts::text[] AS del_ts, conflicts::text AS conflicts
       FROM cesar_changes WHERE id = ANY($1::uuid[]) ORDER BY logged_at, id`,
    [ids],
  );
  return rows.map((r) => {
    const conflicts = r.conflicts
      ? (JSON.parse(r.conflicts) as Array<Record<string, unknown>>).map((c) => ({
          table: String(c.table_name),
          rowId: String(c.row_id),
          localDoc: c.local_version == null ? null : JSON.stringify(c.local_version),
          cloudDoc: c.cloud_version == null ? null : JSON.stringify(c.cloud_version),
          winner: c.winner as 'local' | 'cloud',
          strategy: String(c.strategy),
          reason: String(c.reason),
          passId: String(c.pass_id),
        }))
      : [];
    return {
      id: r.id,
      loggedAt: r.logged_at,
      table: r.table_name,
      puts: r.put_ids.map((id, i) => ({ id, ts: r.put_ts[i]! })),
      dels: r.del_ids.map((id, i) => ({ id, ts: r.del_ts[i]! })),
      conflicts,
    };
  });
}

/**
 * Forgets what no longer matters: acknowledgements and this site's own log entries well behind
 * the newest acknowledged one (further back than recovery ever looks).
 */
export async function trimChanges(local: Db, cloud: Db, siteId: string, retry: RetryOptions): Promise<void> {
  const { rows } = await local.query<{ at: string | null }>('SELECT max(logged_at) AS at FROM sync_acks');
  const at = rows[0]?.at;
  if (!at) return;
  const keep = 6 * RECOVERY_WINDOW_MS;
  await withTransaction(
    cloud,
    (c) =>
      c.query(
        `DELETE FROM cesar_changes WHERE id IN (
           SELECT id FROM cesar_changes WHERE site_id = $1 AND logged_at < $2::timestamptz - $3::INT8 * INTERVAL '1 millisecond' LIMIT 10000)`,
        [siteId, at, keep],
      ),
    retry,
  );
  await local.query(`DELETE FROM sync_acks WHERE logged_at < $1::timestamptz - $2::INT8 * INTERVAL '1 millisecond'`, [at, keep]);
}
