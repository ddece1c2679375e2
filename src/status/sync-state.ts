import { tableExists } from '../db/lease.js';
import type { Db } from '../db/pool.js';
import type { Direction } from '../sync/state.js';

/** One row of sync_state, as screens and the API show it (timestamps as UTC text). */
export interface SyncStateRow {
  table: string;
  direction: Direction;
  status: 'idle' | 'running' | 'ok' | 'error' | 'drift';
  lastSyncAt: string | null;
  lastSuccessAt: string | null;
  watermark: string | null;
  last: { read: number; applied: number; skipped: number; conflicts: number; deleted: number; errors: number; durationMs: number };
  total: { read: number; applied: number; skipped: number; conflicts: number; deleted: number; errors: number };
  lastError: string | null;
  lastErrorAt: string | null;
}

/** Every table's sync state, by table then direction; empty before the first pass. */
export async function readSyncState(local: Db): Promise<SyncStateRow[]> {
  if (!(await tableExists(local, 'sync_state'))) return [];
  const { rows } = await local.query<Record<string, unknown>>(
    `SELECT table_name, direction, status, last_sync_at::text AS last_sync_at, last_success_at::text AS last_success_at,
            watermark_ts::text AS watermark, last_read, last_applied, last_skipped, last_conflicts, last_deleted, last_errors,
            last_duration_ms, total_read, total_applied, total_skipped, total_conflicts, total_deleted, total_errors,
            last_error, last_error_at::text AS last_error_at
       FROM sync_state ORDER BY table_name, direction`,
  );
  const n = (v: unknown): number => Number(v ?? 0);
  return rows.map((r) => ({
    table: String(r.table_name),
    direction: r.direction as Direction,
    status: r.status as SyncStateRow['status'],
    lastSyncAt: (r.last_sync_at as string | null) ?? null,
    lastSuccessAt: (r.last_success_at as string | null) ?? null,
    watermark: (r.watermark as string | null) ?? null,
    last: { read: n(r.last_read), applied: n(r.last_applied), skipped: n(r.last_skipped), conflicts: n(r.last_conflicts), deleted: n(r.last_deleted), errors: n(r.last_errors), durationMs: n(r.last_duration_ms) },
    total: { read: n(r.total_read), applied: n(r.total_applied), skipped: n(r.total_skipped), conflicts: n(r.total_conflicts), deleted: n(r.total_deleted), errors: n(r.total_errors) },
    lastError: (r.last_error as string | null) ?? null,
    lastErrorAt: (r.last_error_at as string | null) ?? null,
  }));
}

/** A logged conflict (versions only when asked for one). */
export interface ConflictRow {
  id: string;
  table: string;
  rowId: string;
  winner: 'local' | 'cloud';
  strategy: string;
  reason: string;
  detectedAt: string;
  localUpdatedAt: string | null;
  cloudUpdatedAt: string | null;
  /** Both versions as JSON text (null: the row was gone on that side). Only from readConflict. */
  localVersion?: string | null;
  cloudVersion?: string | null;
}

const CONFLICT_COLUMNS = `id::text AS id, table_name, row_id::text AS row_id, winner, strategy, reason, detected_at::text AS detected_at,
  local_updated_at::text AS local_updated_at, cloud_updated_at::text AS cloud_updated_at`;

function toConflict(r: Record<string, unknown>): ConflictRow {
  return {
    id: String(r.id),
    table: String(r.table_name),
    rowId: String(r.row_id),
    winner: r.winner as ConflictRow['winner'],
    strategy: String(r.strategy),
    reason: String(r.reason),
    detectedAt: String(r.detected_at),
    localUpdatedAt: (r.local_updated_at as string | null) ?? null,
    cloudUpdatedAt: (r.cloud_updated_at as string | null) ?? null,
    ...('local_version' in r ? { localVersion: (r.local_version as string | null) ?? null, cloudVersion: (r.cloud_version as string | null) ?? null } : {}),
  };
}

/** A page of conflicts, newest first. `before` is the cursor: the (detectedAt, id) of the last row of the previous page. */
export async function readConflicts(local: Db, opts: { limit: number; before?: { detectedAt: string; id: string }; table?: string }): Promise<ConflictRow[]> {
  if (!(await tableExists(local, 'sync_conflicts'))) return [];
  const where: string[] = [];
  const params: unknown[] = [];
  if (opts.before) {
    params.push(opts.before.detectedAt, opts.before.id);
    where.push(`(detected_at, id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
  }
  if (opts.table) {
    params.push(opts.table);
    where.push(`table_name = $${params.length}`);
  }
  params.push(opts.limit);
  const { rows } = await local.query<Record<string, unknown>>(
    `SELECT ${CONFLICT_COLUMNS} FROM sync_conflicts ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY detected_at DESC, id DESC LIMIT $${params.length}`,
    params,
  );
  return rows.map(toConflict);
}

/** One conflict with both versions, or null. */
export async function readConflict(local: Db, id: string): Promise<ConflictRow | null> {
  if (!(await tableExists(local, 'sync_conflicts'))) return null;
  const { rows } = await local.query<Record<string, unknown>>(
    `SELECT ${CONFLICT_COLUMNS}, local_version::text AS local_version, cloud_version::text AS cloud_version FROM sync_conflicts WHERE id = $1::uuid`,
    [id],
  );
  return rows[0] ? toConflict(rows[0]) : null;
}

/** Field-by-field comparison of two versions, for the conflict detail view: each field's two values and whether they differ. */
export function diffVersions(localVersion: string | null, cloudVersion: string | null): Array<{ field: string; local: string; cloud: string; differs: boolean }> {
  // display only: values are shown as their JSON text, never used as data
  const parse = (doc: string | null): Record<string, unknown> => (doc ? (JSON.parse(doc) as Record<string, unknown>) : {});
  const l = parse(localVersion);
  const c = parse(cloudVersion);
  const fields = [...new Set([...Object.keys(l), ...Object.keys(c)])];
  const show = (doc: string | null, obj: Record<string, unknown>, f: string): string => (doc === null ? '(deleted)' : f in obj ? JSON.stringify(obj[f]) : '(absent)');
  return fields.map((field) => {
    const local = show(localVersion, l, field);
    const cloud = show(cloudVersion, c, field);
    return { field, local, cloud, differs: local !== cloud };
  });
}
