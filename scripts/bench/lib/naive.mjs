// The old approach, as the cron-driven Python script did it: read the changed rows, then one
// INSERT ... ON CONFLICT (id) DO UPDATE per row, each in autocommit, one after the other.
import { connect } from './pg.mjs';
import { timed } from './stats.mjs';

/**
 * Copies up to `limit` rows of agents (oldest change first) from sourceUrl to targetUrl row by row.
 * Returns { seconds, rows }: the time covers the read and every per-row upsert (not the connects).
 */
export async function rowAtATime(sourceUrl, targetUrl, limit) {
  const src = await connect(sourceUrl);
  const dst = await connect(targetUrl);
  try {
    const [seconds, rows] = await timed(async () => {
      const res = await src.query({ text: 'SELECT * FROM agents ORDER BY updated_at, id LIMIT $1', values: [limit], rowMode: 'array' });
      const cols = res.fields.map((f) => `"${f.name}"`);
      const upsert = `INSERT INTO agents (${cols.join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')})
        ON CONFLICT (id) DO UPDATE SET ${cols.filter((c) => c !== '"id"').map((c) => `${c} = EXCLUDED.${c}`).join(', ')}`;
      for (const row of res.rows) await dst.query(upsert, row);
      return res.rows.length;
    });
    return { seconds, rows };
  } finally {
    await src.end().catch(() => undefined);
    await dst.end().catch(() => undefined);
  }
}
