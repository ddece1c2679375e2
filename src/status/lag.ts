import type { Queryable } from '../db/pool.js';
import { ident } from '../sync/sql.js';
import { tsToMicros } from '../sync/timestamps.js';

/**
 * Age, in seconds, of the oldest change not yet passed by a direction's watermark (0 when none):
 * one index probe on (updated_at, id). On CockroachDB the watermark trails by the overlap window,
 * so the lag shown there includes it.
 */
export async function tableLagSeconds(source: Queryable, table: string, watermark: { ts: string; id: string } | null): Promise<number> {
  const { rows } = await source.query<{ ts: string; now: string }>(
    `SELECT t.updated_at::text AS ts, now()::text AS now FROM ${ident(table)} AS t
      ${watermark ? 'WHERE (t.updated_at, t.id) > ($1::timestamptz, $2::uuid)' : ''}
      ORDER BY t.updated_at, t.id LIMIT 1`,
    watermark ? [watermark.ts, watermark.id] : [],
  );
  const r = rows[0];
  if (!r) return 0;
  return Math.max(0, Number(tsToMicros(r.now) - tsToMicros(r.ts)) / 1e6);
}
