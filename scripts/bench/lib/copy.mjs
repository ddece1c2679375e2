// The COPY ceiling: `COPY t TO STDOUT` from one database piped into `COPY t FROM STDIN` of another.
// With the pg-copy-streams package (only if already installed) through two pg clients; otherwise
// through two psql processes joined by a shell pipe.
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { runProcess } from './cleanup.mjs';
import { connect, REPO } from './pg.mjs';

const HAS_COPY_STREAMS = fs.existsSync(path.join(REPO, 'node_modules', 'pg-copy-streams'));

/** How the pipe is made, for the report. */
export const COPY_METHOD = HAS_COPY_STREAMS ? 'pg-copy-streams (two pg clients)' : 'psql \\copy TO STDOUT | psql \\copy FROM STDIN';

/** Copies every row of `table` from sourceUrl into targetUrl (superuser URLs). Returns the row count COPY reported. */
export async function copyPipe(sourceUrl, targetUrl, table = 'agents') {
  if (!/^[a-z_][a-z0-9_]*$/.test(table)) throw new Error(`bad table name ${table}`);
  return HAS_COPY_STREAMS ? copyWithStreams(sourceUrl, targetUrl, table) : copyWithPsql(sourceUrl, targetUrl, table);
}

async function copyWithPsql(sourceUrl, targetUrl, table) {
  // URLs go through the environment, never through the shell's parser
  const script = `set -o pipefail
psql -X -q -v ON_ERROR_STOP=1 -c "\\copy ${table} TO STDOUT" "$BENCH_SRC" | psql -X -v ON_ERROR_STOP=1 -c "\\copy ${table} FROM STDIN" "$BENCH_DST"`;
  const res = await runProcess('bash', ['-c', script], { env: { ...process.env, BENCH_SRC: sourceUrl, BENCH_DST: targetUrl } });
  if (res.code !== 0) throw new Error(`COPY pipe failed (${res.code ?? res.signal}): ${res.stderr.trim()}`);
  const m = /COPY (\d+)/.exec(res.stdout);
  if (!m) throw new Error(`COPY pipe: no row count in psql's output: ${res.stdout.trim()}`);
  return Number(m[1]);
}

async function copyWithStreams(sourceUrl, targetUrl, table) {
  const { to, from } = (await import('pg-copy-streams')).default ?? (await import('pg-copy-streams'));
  const src = await connect(sourceUrl);
  const dst = await connect(targetUrl);
  try {
    const out = src.query(to(`COPY ${table} TO STDOUT`));
    const into = dst.query(from(`COPY ${table} FROM STDIN`));
    await pipeline(out, into);
    return Number(into.rowCount);
  } finally {
    await src.end().catch(() => undefined);
    await dst.end().catch(() => undefined);
  }
}
