// Benchmark `sync`: the initial load of `agents`, up (local -> cloud) and down (cloud -> local),
// against the COPY ceiling of this machine and against the old row-at-a-time approach.
//
// Per run and direction, in alternating order, each contender starts from an empty target:
//   COPY            COPY TO STDOUT | COPY FROM STDIN, as superuser (the practical ceiling)
//   cesar           SyncEngine.runPass in this process (built code from dist/)
//   cesar (binary)  node dist/cli.js sync ..., a new process: start-up, config, lease included
//   row-at-a-time   SELECT, then one autocommit INSERT ... ON CONFLICT per row (the old cron
//                   script): measured on a capped sample and extrapolated to N rows
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { onCleanup, runProcess } from './lib/cleanup.mjs';
import { COPY_METHOD, copyPipe } from './lib/copy.mjs';
import { rowAtATime } from './lib/naive.mjs';
import { connect, createDatabasePair, REPO, serverVersion, sql } from './lib/pg.mjs';
import { startProfile } from './lib/profile.mjs';
import { int, machine, median, secs, table, timed } from './lib/stats.mjs';

const DIST = path.join(REPO, 'dist');
const CLI = path.join(DIST, 'cli.js');
const DB_OPTIONS = { connectTimeoutMs: 5000, statementTimeoutMs: 60_000 }; // cesar's configuration defaults
const BOOKKEEPING = ['sync_state', 'sync_recent', 'sync_conflicts', 'sync_errors'];

/** N agents-shaped rows with realistic widths, generated inside the database in one statement. */
export const GENERATE = `
INSERT INTO agents (id, name, agent_type, status, description, capabilities, config, version,
                    max_concurrent_tasks, last_heartbeat_at, created_at, updated_at, deleted_at)
SELECT md5('agent' || g)::uuid,
       'agent-' || substr(md5(g::text), 1, 6) || '-' || lpad(g::text, 7, '0'),
       (ARRAY['orchestrator', 'worker', 'researcher', 'critic', 'planner', 'tool'])[1 + g % 6],
       (ARRAY['idle', 'active', 'busy', 'paused', 'error', 'offline'])[1 + (g / 6) % 6],
       'Agent ' || g || ' routes ' || (ARRAY['billing', 'search', 'ingest', 'triage'])[1 + g % 4]
         || ' requests; key ' || md5(g::text) || '.',
       jsonb_build_object('skills', jsonb_build_array('search', 'summarize', (ARRAY['code', 'sql', 'vision', 'planning'])[1 + g % 4]),
                          'languages', jsonb_build_array('en', (ARRAY['de', 'fr', 'es', 'ja'])[1 + g % 4]),
                          'max_tokens', 4096 * (1 + g % 4),
                          'tools', jsonb_build_object('web', g % 2 = 0, 'shell', g % 3 = 0),
                          'tier', 'standard'),
       jsonb_build_object('model', 'local-7b', 'temperature', (g % 10) / 10.0),
       1 + g % 5,
       1 + g % 8,
       CASE WHEN g % 10 = 0 THEN NULL ELSE ts.updated_at + interval '5 seconds' END,
       ts.created_at,
       ts.updated_at,
       CASE WHEN g % 50 = 0 THEN ts.updated_at END
  FROM generate_series(1, $1::int) AS g,
       LATERAL (SELECT date_trunc('second', now()) - interval '30 days' + g * interval '10 milliseconds' AS created_at) AS c,
       LATERAL (SELECT c.created_at,
                       c.created_at + ((g::int8 * 7919) % 86400000000) * interval '1 microsecond' AS updated_at) AS ts`;

/**
 * Runs the benchmark. opts: { rows, runs, naiveRows, profile, log }.
 * Returns { text, json }.
 */
export async function run(opts) {
  const { rows: N, runs, log } = opts;
  const sample = Math.min(N, opts.naiveRows);
  if (!fs.existsSync(CLI)) throw new Error('dist/cli.js is missing: run `npm run build` first');
  const { openDb } = await import(path.join(DIST, 'db/pool.js'));
  const { SyncEngine } = await import(path.join(DIST, 'sync/engine.js'));
  const { EventBus } = await import(path.join(DIST, 'events/bus.js'));

  log(`sync: creating throwaway databases and applying the schema`);
  const dbs = await createDatabasePair('sync');
  const cliDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cesar-bench-')); // no stray .env is read by the binary
  onCleanup('remove the binary working directory', () => fs.rmSync(cliDir, { recursive: true, force: true }));

  const side = {
    local: { admin: dbs.localUrl, app: dbs.localUrl },
    cloud: { admin: dbs.cloudAdminUrl, app: dbs.cloudUrl },
  };
  const DIRS = {
    up: { source: 'local', target: 'cloud', label: 'up (local -> cloud)' },
    down: { source: 'cloud', target: 'local', label: 'down (cloud -> local)' },
  };

  const count = async (role) => Number((await sql(side[role].admin, 'SELECT count(*) AS n FROM agents'))[0].n);
  const fingerprint = async (role) => (await sql(side[role].admin, 'SELECT count(*)::text AS n, COALESCE(sum(hashtext(t::text)::int8), 0)::text AS h FROM agents AS t'))[0];
  const vacuum = (role) => sql(side[role].admin, 'VACUUM ANALYZE agents');
  const empty = async (role) => {
    const c = await connect(side[role].admin);
    try {
      await c.query('TRUNCATE agents CASCADE'); // tables referencing agents are empty
      await c.query('CHECKPOINT'); // the next contender does not pay for this one's dirty pages
    } finally {
      await c.end().catch(() => undefined);
    }
  };
  // TRUNCATE, not DELETE: deleted rows leave dead index entries that the next contender would scan
  // (readRecent on a sync_recent emptied by DELETE took ~50 ms per batch instead of ~1 ms)
  const resetBookkeeping = async () => {
    const c = await connect(side.local.admin);
    try {
      const present = (await c.query('SELECT relname FROM pg_class WHERE relkind = $1 AND relname = ANY($2) AND pg_table_is_visible(oid)', ['r', BOOKKEEPING])).rows.map((r) => r.relname);
      if (present.length) await c.query(`TRUNCATE ${present.join(', ')}`);
    } finally {
      await c.end().catch(() => undefined);
    }
  };
  /** Fails loudly unless the target holds exactly the source's rows. */
  const verifyCopy = async (dir, who) => {
    const [a, b] = [await fingerprint(DIRS[dir].source), await fingerprint(DIRS[dir].target)];
    if (a.n !== String(N) || b.n !== a.n || b.h !== a.h) {
      throw new Error(`${who} ${dir}: target has ${b.n} rows (fingerprint ${b.h}), expected ${N} rows as on the source (${a.n}, ${a.h})`);
    }
  };

  async function inProcess(direction, { profile = false } = {}) {
    const stop = profile ? startProfile() : null;
    const t0 = process.hrtime.bigint();
    const local = openDb('local', side.local.app, DB_OPTIONS);
    const cloud = openDb('cloud', side.cloud.app, DB_OPTIONS);
    const closeDbs = onCleanup('close the in-process pools', async () => {
      await local.close();
      await cloud.close();
    });
    let report;
    let breakdown;
    let seconds = 0;
    try {
      const engine = new SyncEngine(local, cloud, new EventBus(), opts.batch ? { batchSize: opts.batch } : {});
      report = await engine.runPass({ direction, tables: ['agents'], deleteScan: 'never' });
    } finally {
      seconds = Number(process.hrtime.bigint() - t0) / 1e9; // the pass, not the closing of the pools
      breakdown = stop?.();
      await closeDbs();
    }
    checkReport(report, direction, 'cesar');
    return { seconds, breakdown };
  }

  async function binary(direction) {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(CESAR_|LOCAL_DB_URL$|DATABASE_URL$|COCKROACH_DB_URL$|ENVIRONMENT$)/.test(k)));
    Object.assign(env, { LOCAL_DB_URL: side.local.app, COCKROACH_DB_URL: side.cloud.app, ENVIRONMENT: 'development', ...(opts.batch ? { CESAR_SYNC_BATCH_SIZE: String(opts.batch) } : {}) });
    const args = [CLI, 'sync', '--direction', direction, '--table', 'agents', '--scan-deletes', 'never', '--json'];
    const [seconds, res] = await timed(() => runProcess(process.execPath, args, { env, cwd: cliDir }));
    if (res.code !== 0) throw new Error(`cesar (binary) ${direction}: exit ${res.code ?? res.signal}: ${(res.stderr || res.stdout).trim().slice(0, 2000)}`);
    checkReport(JSON.parse(res.stdout), direction, 'cesar (binary)');
    return { seconds };
  }

  function checkReport(report, direction, who) {
    const t = report?.tables?.find((x) => x.table === 'agents' && x.direction === direction);
    if (!report?.ok || !t || t.counts.read !== N || t.inserted !== N) {
      throw new Error(`${who} ${direction}: pass not clean: ${JSON.stringify(t ?? report).slice(0, 1000)}`);
    }
  }

  const CONTENDERS = [
    {
      name: 'COPY',
      async run(dir) {
        const { source, target } = DIRS[dir];
        const [seconds, copied] = await timed(() => copyPipe(side[source].admin, side[target].admin));
        if (copied !== N) throw new Error(`COPY ${dir}: copied ${copied} rows, expected ${N}`);
        await verifyCopy(dir, 'COPY');
        return { seconds };
      },
    },
    {
      name: 'cesar',
      async run(dir) {
        const r = await inProcess(dir);
        await verifyCopy(dir, 'cesar');
        return r;
      },
    },
    {
      name: 'cesar (binary)',
      async run(dir) {
        const r = await binary(dir);
        await verifyCopy(dir, 'cesar (binary)');
        return r;
      },
    },
    {
      name: 'row-at-a-time',
      extrapolated: true,
      async run(dir) {
        const { source, target } = DIRS[dir];
        // the application roles, as the old script connected
        const { seconds, rows } = await rowAtATime(side[source].app, side[target].app, sample);
        const n = await count(target);
        if (rows !== sample || n !== sample) throw new Error(`row-at-a-time ${dir}: wrote ${rows} rows, target holds ${n}, expected ${sample}`);
        return { seconds: (seconds * N) / sample, measured: seconds };
      },
    },
  ];

  const started = Date.now();
  log(`sync: generating ${int(N)} agents rows in the local database`);
  const [genSeconds] = await timed(async () => {
    await sql(side.local.admin, GENERATE, [N]);
    await vacuum('local');
  });
  if ((await count('local')) !== N) throw new Error('data generation produced the wrong number of rows');
  const [{ bytes }] = await sql(side.local.admin, "SELECT pg_size_pretty(pg_total_relation_size('agents')) AS bytes");
  const [{ avg }] = await sql(side.local.admin, 'SELECT round(avg(pg_column_size(t.*))) AS avg FROM agents AS t');
  log(`sync: generated in ${secs(genSeconds)} (agents: ${bytes} with indexes, ~${avg} bytes per row)`);

  const times = { up: {}, down: {} };
  for (const d of ['up', 'down']) for (const c of CONTENDERS) times[d][c.name] = [];
  for (let r = 0; r < runs; r++) {
    const order = r % 2 === 0 ? CONTENDERS : [...CONTENDERS].reverse();
    for (const dir of ['up', 'down']) {
      const { target } = DIRS[dir];
      if (dir === 'down') {
        // the cloud becomes the source: load it (untimed) from local
        await empty('cloud');
        await copyPipe(side.local.admin, side.cloud.admin);
        await vacuum('cloud');
      }
      for (const c of order) {
        await empty(target);
        await resetBookkeeping();
        log(`sync: run ${r + 1}/${runs} ${dir}: ${c.name}${c.extrapolated ? ` (${int(sample)}-row sample)` : ''}`);
        const res = await c.run(dir);
        times[dir][c.name].push(res.seconds);
        log(`sync:   ${secs(res.measured ?? res.seconds)}${c.extrapolated ? ` for ${int(sample)} rows, ${secs(res.seconds)} extrapolated to ${int(N)}` : ''}`);
      }
      if (dir === 'down' && (await count('local')) !== N) {
        // the last contender was the sample: restore the full local table for the next run
        await empty('local');
        await copyPipe(side.cloud.admin, side.local.admin);
      }
      if (dir === 'down') await vacuum('local');
    }
  }

  let profiles = null;
  if (opts.profile) {
    profiles = {};
    for (const dir of ['up', 'down']) {
      await empty(DIRS[dir].target);
      await resetBookkeeping();
      log(`sync: profiling one in-process pass ${dir} (not timed)`);
      const r = await inProcess(dir, { profile: true });
      await verifyCopy(dir, 'cesar');
      profiles[dir] = { seconds: r.seconds, busySeconds: r.breakdown.busyMs / 1000, statements: r.breakdown.statements };
    }
  }

  const m = machine();
  const pgVersion = await serverVersion(side.local.admin);
  const results = { benchmark: 'sync', rows: N, runs, naiveSample: sample, batch: opts.batch ?? null, copyMethod: COPY_METHOD, machine: { ...m, postgres: pgVersion }, directions: {}, profiles, totalSeconds: (Date.now() - started) / 1000 };
  for (const dir of ['up', 'down']) {
    const ceiling = median(times[dir].COPY);
    const naive = median(times[dir]['row-at-a-time']);
    results.directions[dir] = CONTENDERS.map((c) => {
      const med = median(times[dir][c.name]);
      return { contender: c.name, medianSeconds: med, rowsPerSecond: N / med, vsCopy: med / ceiling, speedupVsRowAtATime: naive / med, extrapolated: !!c.extrapolated, seconds: times[dir][c.name] };
    });
  }
  return { text: formatText(results), json: results };
}

function formatText(r) {
  const lines = [];
  lines.push(`sync: initial load of ${int(r.rows)} agents rows, median of ${r.runs} run${r.runs > 1 ? 's' : ''} (contender order alternates per run)`);
  lines.push(`machine: ${r.machine.cores} cores (${r.machine.cpu}), ${r.machine.memGb} GB, Node ${r.machine.node}, ${r.machine.postgres.split(' on ')[0]}`);
  lines.push(`COPY ceiling via ${r.copyMethod}; cesar with ${r.batch ? `batch ${r.batch}` : 'default engine settings (batch 500)'}`);
  for (const [dir, list] of Object.entries(r.directions)) {
    lines.push('', dir === 'up' ? 'up (local -> cloud)' : 'down (cloud -> local)');
    const rows = list.map((c) => [
      `  ${c.contender}${c.extrapolated ? '*' : ''}`,
      secs(c.medianSeconds),
      `${int(c.rowsPerSecond)} rows/s`,
      `${c.vsCopy.toFixed(1)}x COPY`,
      c.contender === 'row-at-a-time' ? '' : `${c.speedupVsRowAtATime.toFixed(0)}x faster than row-at-a-time`,
      r.runs > 1 ? `[${c.seconds.map((s) => s.toFixed(2)).join(' ')}]` : '',
    ]);
    lines.push(table(rows));
  }
  lines.push('', `* row-at-a-time: measured on a ${int(r.naiveSample)}-row sample per run, extrapolated to ${int(r.rows)} rows at the measured rate.`);
  lines.push('  cesar (binary) includes process start-up, configuration, the sync lease and closing the pools.');
  if (r.profiles) {
    for (const [dir, p] of Object.entries(r.profiles)) {
      lines.push('', `profile of one in-process pass ${dir}: ${secs(p.seconds)} wall, ${secs(p.busySeconds)} with a statement in flight, ${secs(p.seconds - p.busySeconds)} in JS/pool only`);
      const rows = p.statements
        .filter((s) => s.ms >= 1)
        .map((s) => [
          `  ${s.db.endsWith('_local') ? 'local' : 'cloud'}: ${s.kind}`,
          `${int(s.calls)} calls`,
          `${(s.ms / 1000).toFixed(2)} s`,
          `${((100 * s.ms) / 1000 / p.seconds).toFixed(0)}%`,
          s.calls >= 20 ? `first/last 10%: ${s.firstMs.toFixed(1)}/${s.lastMs.toFixed(1)} ms per call` : '',
        ]);
      lines.push(table(rows));
    }
  }
  lines.push('', `total benchmark time ${secs(r.totalSeconds)}`);
  return `${lines.join('\n')}\n`;
}
