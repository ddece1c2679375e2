#!/usr/bin/env node
// Soak of CESAR Console (never part of `npm test`):
//
//   npm run soak [-- --minutes 10 --outage-every 2m --outage 20s --rate 10 --json]
//
// The BUILT `cesar headless` (dist/cli.js; `npm run build` first) runs for --minutes against two
// throwaway databases on the loopback PostgreSQL (PG_BENCH_URL, default
// postgres://postgres@127.0.0.1:5432/postgres; the cloud one behind the CockroachDB profile), with
// the cloud reached through the TCP fault proxy of the tests (test/helpers/proxy.ts). Writers
// insert, update, soft-delete and hard-delete agents and agent_tasks on both sides at --rate
// operations per second per side; every --outage-every the proxy cuts the cloud for --outage. The
// headless RSS is sampled every 10 s. Retention runs with short settings so that purging happens
// within the run. At the end the writers stop, sync converges, `cesar verify` must pass, and the
// bookkeeping tables and tombstones must be within the bounds printed in the report.
//
// Exit codes: 0 every check passed, 1 a check failed (or the soak could not run), 2 usage, 130 Ctrl-C.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { isInterrupted, killAfter, markInterrupted, onCleanup, runCleanups, runProcess } from './bench/lib/cleanup.mjs';
import { assertLoopback, benchAdminUrl, connect, createDatabasePair, REPO, UsageError } from './bench/lib/pg.mjs';

const CLI = path.join(REPO, 'dist/cli.js');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The headless settings of the soak: short enough that every purge happens within a few minutes. */
const SETTINGS = {
  CESAR_SYNC_INTERVAL: '10s',
  CESAR_CRITICAL_TABLES: 'agents',
  CESAR_DELETE_SCAN_INTERVAL: '30s',
  CESAR_TOMBSTONE_RETENTION: '60s',
  CESAR_CONFLICT_RETENTION: '90s',
  CESAR_CONFLICT_MAX_ROWS: '200',
  CESAR_RETENTION_INTERVAL: '20s',
  CESAR_CONNECT_TIMEOUT: '2s',
};
const S = { tombstone: 60, conflictAge: 90, conflictMax: 200, retentionEvery: 20 }; // seconds / rows, as above
const SAMPLE_MS = 10_000;

const USAGE = `Usage: npm run soak [-- flags]   (or: node scripts/soak.mjs [flags])

Runs the built \`cesar headless\` with writers on both databases and a cloud outage every
--outage-every, then checks convergence (cesar verify), memory and table bounds.

Flags:
  --minutes M        how long the writers run (default 10; decimals allowed, at least 1)
  --outage-every D   time between the starts of two cloud outages (default 2m)
  --outage D         length of each outage (default 20s)
  --rate R           writer operations per second on each side (default 10)
  --json             print the report as JSON on stdout (progress stays on stderr)
  -h, --help         this help

Durations: a number and ms, s, m or h. Environment: PG_BENCH_URL (loopback only).
Headless settings used: ${Object.entries(SETTINGS)
  .map(([k, v]) => `${k}=${v}`)
  .join(' ')}.
Exit codes: 0 every check passed, 1 a check failed, 2 usage, 130 interrupted.`;

const OPTIONS = {
  minutes: { type: 'string', default: '10' },
  'outage-every': { type: 'string', default: '2m' },
  outage: { type: 'string', default: '20s' },
  rate: { type: 'string', default: '10' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
};

async function parse(argv) {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: OPTIONS, strict: true }));
  } catch (err) {
    throw new UsageError(err.message);
  }
  if (values.help) return { help: true };
  const minutes = Number(values.minutes);
  if (!/^\d+(\.\d+)?$/.test(values.minutes) || minutes < 1 || minutes > 24 * 60) throw new UsageError(`--minutes must be a number from 1 to 1440, not "${values.minutes}"`);
  if (!/^\d+$/.test(values.rate) || Number(values.rate) < 1 || Number(values.rate) > 1000) throw new UsageError(`--rate must be a whole number from 1 to 1000, not "${values.rate}"`);
  const { parseDuration } = await import(pathToFileURL(path.join(REPO, 'dist/config/duration.js')).href);
  const duration = (flag, text, minMs) => {
    try {
      return parseDuration(text, flag, { minMs, maxMs: 24 * 3_600_000 });
    } catch (err) {
      throw new UsageError(err.message);
    }
  };
  const outageEveryMs = duration('--outage-every', values['outage-every'], 10_000);
  const outageMs = duration('--outage', values.outage, 1000);
  if (outageMs >= outageEveryMs) throw new UsageError(`--outage (${values.outage}) must be shorter than --outage-every (${values['outage-every']})`);
  return { minutes, runMs: Math.round(minutes * 60_000), outageEveryMs, outageMs, rate: Number(values.rate), json: values.json };
}

/**
 * The fault proxy of the tests, without a copy: test/helpers/proxy.ts has no imports but node:net,
 * so it is compiled in memory with the TypeScript compiler of the devDependencies and loaded from a
 * temporary file. (With Node's type stripping, 22.18+, a plain import would do.)
 */
async function loadFaultProxy() {
  const ts = (await import('typescript')).default;
  const file = path.join(REPO, 'test/helpers/proxy.ts');
  const { outputText } = ts.transpileModule(fs.readFileSync(file, 'utf8'), {
    fileName: file,
    compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
  });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cesar-soak-proxy-'));
  onCleanup('remove the compiled proxy', () => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'proxy.mjs'), outputText);
  return import(pathToFileURL(path.join(dir, 'proxy.mjs')).href);
}

/** Resident memory of a process in MB (VmRSS), or null when it is gone. */
function rssMb(pid) {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** Starts `cesar headless` (the built binary) and follows its JSON log lines, keeping counts only (bounded). */
async function startHeadless(env, log) {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'cesar-soak-')); // no stray .env is read
  onCleanup('remove the headless working directory', () => fs.rmSync(cwd, { recursive: true, force: true }));
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(CESAR_|LOCAL_DB_URL$|DATABASE_URL$|COCKROACH_DB_URL$|ENVIRONMENT$)/.test(k)));
  const child = spawn(process.execPath, [CLI, 'headless'], { cwd, env: { ...base, ...env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  const h = {
    pid: child.pid,
    passes: { full: 0, tables: 0, failed: 0 },
    lastFullPassAt: 0,
    retention: { runs: 0, failed: 0, tombstones: 0, local: 0, cloud: 0, conflicts: 0, recent: 0, lastAt: 0, last: '' },
    lease: { acquired: 0, lost: 0 },
    problems: [], // the last warnings and errors (bounded)
    exited: null,
  };
  let buf = '';
  child.stdout.on('data', (d) => {
    buf += d.toString('utf8');
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      let e;
      try {
        e = JSON.parse(line);
      } catch {
        h.problems.push(`not JSON: ${line.slice(0, 200)}`);
        continue;
      }
      if (e.event === 'sync.pass.completed') {
        h.passes[e.scope === 'full' ? 'full' : 'tables']++;
        if (e.scope === 'full') h.lastFullPassAt = Date.now();
      } else if (e.event === 'sync.pass.failed') h.passes.failed++;
      else if (e.event === 'lease.acquired') h.lease.acquired++;
      else if (e.event === 'lease.lost') h.lease.lost++;
      const msg = String(e.msg ?? '');
      const r = /^retention: purged (\d+) tombstones \(local (\d+), cloud (\d+).*?\), (\d+) sync_conflicts rows, (\d+) stale sync_recent/.exec(msg);
      if (r) {
        const [, all, l, c, conflicts, recent] = r.map(Number);
        Object.assign(h.retention, { runs: h.retention.runs + 1, tombstones: h.retention.tombstones + all, local: h.retention.local + l, cloud: h.retention.cloud + c });
        h.retention.conflicts += conflicts;
        h.retention.recent += recent;
        h.retention.lastAt = Date.now();
        h.retention.last = msg;
      } else if (msg.startsWith('retention failed')) h.retention.failed++;
      // (the schema is applied without `cesar migrate`, so its "not applied" report is expected)
      if ((e.level === 'warn' || e.level === 'error' || e.level === 'fatal') && e.event !== 'migrations') {
        h.problems.push(`${e.level}: ${msg}${e.error ? `: ${e.error}` : ''}`.slice(0, 240));
        if (h.problems.length > 40) h.problems.splice(0, h.problems.length - 40);
      }
    }
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr = (stderr + d.toString('utf8')).slice(-4000)));
  exited.then((x) => (h.exited = x));
  h.stderr = () => stderr;
  h.stop = async () => {
    if (h.exited) return h.exited;
    const t0 = Date.now();
    try {
      process.kill(child.pid, 'SIGTERM');
    } catch {
      // gone
    }
    const res = await killAfter(child, exited, 15_000);
    return { ...res, ms: Date.now() - t0 };
  };
  onCleanup('stop cesar headless', h.stop);
  log(`soak: started cesar headless (pid ${child.pid}); waiting for its first full pass`);
  for (const deadline = Date.now() + 120_000; h.passes.full === 0; await sleep(200)) {
    if (h.exited || Date.now() > deadline) throw new Error(`cesar headless did not complete a first full pass (${h.exited ? `exit ${h.exited.code ?? h.exited.signal}` : 'timeout'}): ${h.problems.slice(-3).join(' | ')} ${stderr.trim()}`);
  }
  return h;
}

const AGENT_STATUSES = ['idle', 'active', 'busy', 'paused', 'error', 'offline'];
const TASK_STATUSES = ['pending', 'queued', 'running', 'blocked', 'succeeded', 'failed', 'cancelled'];
const pick = (xs) => xs[Math.floor(Math.random() * xs.length)];

/**
 * What a writer does, with weights. Soft-deleting an agent soft-deletes its tasks in the same
 * statement (what the application does); an agent is hard-deleted only when no task points at it,
 * since ON DELETE SET NULL changes a task without bumping its updated_at (a hard delete there would
 * be invisible to sync on the task's side).
 */
const OPS = [
  [25, 'insert agent', (side, n) => ["INSERT INTO agents (name, agent_type, config) VALUES ($1, 'worker', jsonb_build_object('n', $2::int))", [`${side}-${n}`, n]]],
  [30, 'update agent', () => ["UPDATE agents SET status = $1, version = version + 1, updated_at = now() WHERE id = (SELECT id FROM agents WHERE deleted_at IS NULL ORDER BY random() LIMIT 1)", [pick(AGENT_STATUSES)]]],
  [
    7,
    'soft-delete agent',
    () => [
      `WITH a AS (UPDATE agents SET deleted_at = now(), updated_at = now()
                   WHERE id = (SELECT id FROM agents WHERE deleted_at IS NULL ORDER BY random() LIMIT 1) RETURNING id)
       UPDATE agent_tasks SET deleted_at = now(), updated_at = now() WHERE deleted_at IS NULL AND agent_id IN (SELECT id FROM a)`,
      [],
    ],
  ],
  [3, 'hard-delete agent', () => ['DELETE FROM agents WHERE id = (SELECT a.id FROM agents a WHERE NOT EXISTS (SELECT 1 FROM agent_tasks t WHERE t.agent_id = a.id) ORDER BY random() LIMIT 1)', []]],
  [18, 'insert task', (side, n) => ['INSERT INTO agent_tasks (agent_id, title) SELECT id, $1 FROM agents WHERE deleted_at IS NULL ORDER BY random() LIMIT 1', [`${side}-task-${n}`]]],
  [10, 'update task', () => ['UPDATE agent_tasks SET status = $1, attempts = attempts + 1, updated_at = now() WHERE id = (SELECT id FROM agent_tasks WHERE deleted_at IS NULL ORDER BY random() LIMIT 1)', [pick(TASK_STATUSES)]]],
  [5, 'soft-delete task', () => ['UPDATE agent_tasks SET deleted_at = now(), updated_at = now() WHERE id = (SELECT id FROM agent_tasks WHERE deleted_at IS NULL ORDER BY random() LIMIT 1)', []]],
  [2, 'hard-delete task', () => ['DELETE FROM agent_tasks WHERE id = (SELECT id FROM agent_tasks ORDER BY random() LIMIT 1)', []]],
];
const WEIGHT = OPS.reduce((s, [w]) => s + w, 0);

/** One writer on one side: `rate` operations per second, open loop; 40001 retried (bounded). stop() ends it. */
function startWriter(url, side, rate) {
  const stats = { ops: 0, retries: 0, errors: {}, byOp: {} };
  let stopped = false;
  const done = (async () => {
    const client = await connect(url);
    try {
      const t0 = performance.now();
      for (let i = 0; !stopped; i++) {
        const wait = t0 + (i * 1000) / rate - performance.now();
        if (wait > 0) await sleep(wait);
        let r = Math.random() * WEIGHT;
        const [, name, make] = OPS.find(([w]) => (r -= w) < 0) ?? OPS[0];
        const [text, params] = make(side, i);
        for (let attempt = 0; ; attempt++) {
          try {
            await client.query(text, params);
            stats.ops++;
            stats.byOp[name] = (stats.byOp[name] ?? 0) + 1;
            break;
          } catch (err) {
            if (err.code === '40001' && attempt < 10) {
              stats.retries++;
              continue;
            }
            // e.g. 23503: the agent picked was deleted by sync meanwhile; counted, the writer goes on
            stats.errors[err.code ?? err.message] = (stats.errors[err.code ?? err.message] ?? 0) + 1;
            break;
          }
        }
      }
    } finally {
      await client.end().catch(() => undefined);
    }
  })();
  const stop = async () => {
    stopped = true;
    await done;
  };
  onCleanup(`stop the ${side} writer`, () => stop().catch(() => undefined));
  return { stats, stop, done };
}

/** Sizes of what must stay bounded, on one side (cesar's bookkeeping lives in the local database). */
async function sizes(client, role, cutoffs) {
  const q = async (text, params = []) => Number((await client.query(text, params)).rows[0].n);
  const out = {};
  for (const t of ['agents', 'agent_tasks']) {
    out[`${t}.rows`] = await q(`SELECT count(*) AS n FROM ${t}`);
    out[`${t}.tombstones`] = await q(`SELECT count(*) AS n FROM ${t} WHERE deleted_at IS NOT NULL`);
    // expired and not referenced by any row: retention must have purged these
    const unreferenced = t === 'agents' ? 'AND NOT EXISTS (SELECT 1 FROM agent_tasks c WHERE c.agent_id = x.id)' : '';
    out[`${t}.expired`] = await q(`SELECT count(*) AS n FROM ${t} x WHERE deleted_at < now() - $1::FLOAT8 * INTERVAL '1 second' ${unreferenced}`, [cutoffs.tombstoneS]);
    if (t === 'agents') out['agents.expiredReferenced'] = await q("SELECT count(*) AS n FROM agents x WHERE deleted_at < now() - $1::FLOAT8 * INTERVAL '1 second' AND EXISTS (SELECT 1 FROM agent_tasks c WHERE c.agent_id = x.id)", [cutoffs.tombstoneS]);
  }
  if (role === 'local') {
    out.sync_recent = await q('SELECT count(*) AS n FROM sync_recent');
    out['sync_recent.dead'] = await q('SELECT count(*) AS n FROM sync_recent r JOIN sync_state s ON s.table_name = r.table_name AND s.direction = r.direction WHERE r.row_ts < s.watermark_ts');
    out.sync_conflicts = await q('SELECT count(*) AS n FROM sync_conflicts');
    out['sync_conflicts.expired'] = await q("SELECT count(*) AS n FROM sync_conflicts WHERE detected_at < now() - $1::FLOAT8 * INTERVAL '1 second'", [cutoffs.conflictS]);
    out.sync_errors = await q('SELECT count(*) AS n FROM sync_errors');
  }
  return out;
}

/** `cesar verify --json` against the databases directly (not through the proxy). */
async function verify(env) {
  const res = await runProcess(process.execPath, [CLI, 'verify', '--json'], { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env }, cwd: os.tmpdir() });
  let doc = null;
  try {
    doc = JSON.parse(res.stdout);
  } catch {
    // reported below with the raw output
  }
  return { code: res.code, doc, raw: `${res.stdout}${res.stderr}`.slice(0, 2000) };
}

/** Tables that differ, from verify's JSON (whatever its exact shape: any table entry that is not clean). */
function differences(doc) {
  const tables = Array.isArray(doc?.tables) ? doc.tables : [];
  return tables.filter((t) => (t.missingInCloud ?? 0) + (t.missingInLocal ?? 0) + (t.mismatched ?? 0) > 0 || t.localRows !== t.cloudRows).map((t) => `${t.table}: local ${t.localRows}, cloud ${t.cloudRows}, missing in cloud ${t.missingInCloud}, missing locally ${t.missingInLocal}, mismatched ${t.mismatched} (e.g. ${JSON.stringify(t.samples ?? {})})`);
}

async function soak(opts, log) {
  if (!fs.existsSync(CLI)) throw new UsageError('dist/cli.js is missing: run `npm run build` first');
  const { startProxy } = await loadFaultProxy();
  log('soak: creating throwaway databases (cesar_bench_soak_*) and applying the schema');
  const dbs = await createDatabasePair('soak');
  const cloudTarget = new URL(dbs.cloudUrl);
  const proxy = await startProxy({ targetHost: cloudTarget.hostname, targetPort: Number(cloudTarget.port || 5432) });
  onCleanup('close the fault proxy', () => proxy.close());
  const cesarCloudUrl = proxy.urlFor(dbs.cloudUrl);
  assertLoopback(cesarCloudUrl, 'the proxied cloud URL');

  // a starting data set on each side (synced by the first pass)
  for (const [url, side] of [
    [dbs.localUrl, 'l'],
    [dbs.cloudUrl, 'c'],
  ]) {
    const c = await connect(url);
    try {
      await c.query("INSERT INTO agents (name, agent_type) SELECT $1 || '-seed-' || g, 'worker' FROM generate_series(1, 150) g", [side]);
      await c.query("INSERT INTO agent_tasks (agent_id, title) SELECT id, name || '-task' FROM agents WHERE name LIKE $1 || '-seed-%'", [side]);
    } finally {
      await c.end();
    }
  }

  const h = await startHeadless({ LOCAL_DB_URL: dbs.localUrl, COCKROACH_DB_URL: cesarCloudUrl, ENVIRONMENT: 'development', CESAR_API_PORT: '0', ...SETTINGS }, log);
  const monitor = { local: await connect(dbs.localUrl), cloud: await connect(dbs.cloudAdminUrl) };
  onCleanup('close the monitor connections', () => Promise.all(Object.values(monitor).map((c) => c.end().catch(() => undefined))));

  const t0 = Date.now();
  const at = () => (Date.now() - t0) / 1000;
  const rss = [];
  const peaks = {};
  const sampleRss = () => {
    const mb = rssMb(h.pid);
    if (mb !== null) rss.push({ t: at(), mb });
  };
  sampleRss();
  const sampler = setInterval(sampleRss, SAMPLE_MS);
  onCleanup('stop sampling', () => clearInterval(sampler));
  const cutoffs = { tombstoneS: S.tombstone + S.retentionEvery + 15, conflictS: S.conflictAge + S.retentionEvery + 15 };
  const sizeSampler = setInterval(async () => {
    try {
      for (const role of ['local', 'cloud']) {
        for (const [k, v] of Object.entries(await sizes(monitor[role], role, cutoffs))) peaks[`${role} ${k}`] = Math.max(peaks[`${role} ${k}`] ?? 0, v);
      }
    } catch {
      // a sample lost to a busy moment is not a finding
    }
  }, 30_000);
  onCleanup('stop size sampling', () => clearInterval(sizeSampler));

  log(`soak: writers at ${opts.rate} op/s per side for ${opts.minutes} min; a ${opts.outageMs / 1000} s cloud outage every ${opts.outageEveryMs / 1000} s`);
  const writers = { local: startWriter(dbs.localUrl, 'l', opts.rate), cloud: startWriter(dbs.cloudUrl, 'c', opts.rate) };
  const outages = [];
  let nextOutage = opts.outageEveryMs;
  let lastLog = 0;
  while (Date.now() - t0 < opts.runMs) {
    if (isInterrupted()) return null;
    const elapsed = Date.now() - t0;
    if (elapsed >= nextOutage && nextOutage + opts.outageMs <= opts.runMs) {
      const o = { startS: at(), failedBefore: h.passes.failed, fullBefore: h.passes.full };
      log(`soak: ${at().toFixed(0)} s: cloud outage (${opts.outageMs / 1000} s): new connections refused, open ones cut`);
      proxy.refuseNew(true);
      proxy.cutAll();
      await sleep(opts.outageMs);
      proxy.refuseNew(false);
      o.endS = at();
      o.failedPasses = h.passes.failed - o.failedBefore;
      outages.push(o);
      nextOutage += opts.outageEveryMs;
      continue;
    }
    if (elapsed - lastLog >= 60_000) {
      lastLog = elapsed;
      const last = rss.at(-1);
      log(`soak: ${at().toFixed(0)} s: writes ${writers.local.stats.ops} local / ${writers.cloud.stats.ops} cloud; passes ${h.passes.full} full, ${h.passes.failed} failed; retention ${h.retention.runs} runs, ${h.retention.tombstones} tombstones purged; RSS ${last ? last.mb.toFixed(0) : '?'} MB`);
    }
    if (h.exited) throw new Error(`cesar headless exited during the soak (${h.exited.code ?? h.exited.signal}): ${h.problems.slice(-3).join(' | ')} ${h.stderr().trim()}`);
    await sleep(Math.min(1000, Math.max(10, nextOutage - elapsed)));
  }
  await Promise.all([writers.local.stop(), writers.cloud.stop()]);
  const writeEnd = at();
  // recovery: a full pass completed after each outage ended
  for (const o of outages) o.recovered = h.lastFullPassAt > 0 && (h.lastFullPassAt - t0) / 1000 > o.endS;

  // convergence: cesar keeps running; verify until clean (full passes every 10 s, the key scan every 30 s)
  log('soak: writers stopped; waiting for sync to converge (cesar verify)');
  const verifyEnv = { LOCAL_DB_URL: dbs.localUrl, COCKROACH_DB_URL: dbs.cloudUrl };
  let v = null;
  let convergedS = null;
  for (const deadline = Date.now() + 240_000; Date.now() < deadline && !isInterrupted(); await sleep(5000)) {
    v = await verify(verifyEnv);
    if (v.code === 0) {
      convergedS = at() - writeEnd;
      break;
    }
  }
  // one more retention run after convergence, then the sizes and a final verify
  const retentionMark = Date.now();
  for (const deadline = Date.now() + (S.retentionEvery + 30) * 1000; h.retention.lastAt < retentionMark && Date.now() < deadline; ) await sleep(500);
  const end = { local: await sizes(monitor.local, 'local', cutoffs), cloud: await sizes(monitor.cloud, 'cloud', cutoffs) };
  let finalVerify = await verify(verifyEnv);
  for (let i = 0; i < 2 && finalVerify.code !== 0; i++) {
    await sleep(5000); // a retention run between the two sides' purges is a moment, not a difference
    finalVerify = await verify(verifyEnv);
  }
  sampleRss();
  clearInterval(sampler);
  clearInterval(sizeSampler);
  const stopped = await h.stop();

  // memory: RSS at the end against RSS at minute 2 (or the closest sample after it)
  const base = rss.find((s) => s.t >= 120) ?? rss.at(-1);
  const last = rss.at(-1);
  const memoryBoundMb = base.mb * 1.5 + 30;
  const recentBound = 4 * opts.rate * 15;
  const checks = [
    { name: 'cesar verify after the writers stopped (converged)', pass: convergedS !== null, observed: convergedS === null ? `not within 240 s: ${differences(v?.doc).join('; ') || v?.raw}` : `clean ${convergedS.toFixed(0)} s after the writers stopped` },
    { name: 'cesar verify at the very end (after a retention run)', pass: finalVerify.code === 0, observed: finalVerify.code === 0 ? 'clean' : differences(finalVerify.doc).join('; ') || finalVerify.raw },
    { name: `RSS at the end <= 1.5 x RSS at minute 2 + 30 MB`, pass: last.mb <= memoryBoundMb, observed: `${last.mb.toFixed(1)} MB at ${last.t.toFixed(0)} s; ${base.mb.toFixed(1)} MB at ${base.t.toFixed(0)} s; bound ${memoryBoundMb.toFixed(1)} MB; peak ${Math.max(...rss.map((s) => s.mb)).toFixed(1)} MB` },
    { name: 'retention purged tombstones during the run', pass: h.retention.tombstones > 0, observed: `${h.retention.runs} runs (${h.retention.failed} failed), ${h.retention.local} local + ${h.retention.cloud} cloud tombstones, ${h.retention.conflicts} conflict rows, ${h.retention.recent} sync_recent entries purged` },
  ];
  for (const role of ['local', 'cloud']) {
    for (const t of ['agents', 'agent_tasks']) {
      checks.push({ name: `${role} ${t}: no tombstone older than ${cutoffs.tombstoneS} s (retention ${S.tombstone} s + one interval + 15 s) unless a row still references it`, pass: end[role][`${t}.expired`] === 0, observed: `${end[role][`${t}.expired`]} expired; ${end[role][`${t}.tombstones`]} tombstones of ${end[role][`${t}.rows`]} rows (peak ${peaks[`${role} ${t}.tombstones`] ?? '?'})${t === 'agents' ? `; expired but still referenced (kept by design): ${end[role]['agents.expiredReferenced']}` : ''}` });
    }
  }
  checks.push(
    { name: `sync_conflicts <= CESAR_CONFLICT_MAX_ROWS (${S.conflictMax}), none older than ${cutoffs.conflictS} s`, pass: end.local.sync_conflicts <= S.conflictMax && end.local['sync_conflicts.expired'] === 0, observed: `${end.local.sync_conflicts} rows (peak ${peaks['local sync_conflicts'] ?? '?'}), ${end.local['sync_conflicts.expired']} too old` },
    { name: `sync_recent <= 4 x rate x 15 s (${recentBound}), no entry below its watermark`, pass: end.local.sync_recent <= recentBound && end.local['sync_recent.dead'] === 0, observed: `${end.local.sync_recent} entries (peak ${peaks['local sync_recent'] ?? '?'}), ${end.local['sync_recent.dead']} below the watermark` },
    { name: 'sync_errors empty after convergence', pass: end.local.sync_errors === 0, observed: `${end.local.sync_errors} rows (peak ${peaks['local sync_errors'] ?? '?'})` },
    { name: 'every outage was followed by a completed full pass', pass: outages.length > 0 && outages.every((o) => o.recovered), observed: outages.map((o) => `${o.startS.toFixed(0)}-${o.endS.toFixed(0)} s: ${o.failedPasses} failed passes, ${o.recovered ? 'recovered' : 'NOT recovered'}`).join('; ') || 'no outage fitted in the run' },
    { name: 'cesar headless stopped with 143 on SIGTERM', pass: stopped.code === 143, observed: `${stopped.code ?? stopped.signal} after ${stopped.ms ?? 0} ms` },
  );
  return {
    minutes: opts.minutes,
    rate: opts.rate,
    outage: { everyS: opts.outageEveryMs / 1000, lengthS: opts.outageMs / 1000, count: outages.length, connectionsCut: proxy.stats.cut, refused: proxy.stats.refused },
    settings: SETTINGS,
    writes: Object.fromEntries(Object.entries(writers).map(([k, w]) => [k, w.stats])),
    headless: { passes: h.passes, lease: h.lease, retention: h.retention, problems: h.problems.slice(-10) },
    rss: rss.map((s) => ({ t: Math.round(s.t), mb: Math.round(s.mb * 10) / 10 })),
    end,
    peaks,
    checks,
    ok: checks.every((c) => c.pass),
  };
}

function formatText(r) {
  const lines = [`soak: ${r.minutes} min, ${r.rate} op/s per side, ${r.outage.count} outage(s) of ${r.outage.lengthS} s every ${r.outage.everyS} s (${r.outage.connectionsCut} connections cut, ${r.outage.refused} refused)`];
  for (const [side, w] of Object.entries(r.writes)) lines.push(`  writes ${side}: ${w.ops} (${Object.entries(w.byOp).map(([k, n]) => `${k} ${n}`).join(', ')}); 40001 retries ${w.retries}; errors ${JSON.stringify(w.errors)}`);
  lines.push(`  headless: passes ${r.headless.passes.full} full, ${r.headless.passes.tables} critical, ${r.headless.passes.failed} failed; lease acquired ${r.headless.lease.acquired}, lost ${r.headless.lease.lost}`);
  lines.push(`  retention: ${r.headless.retention.runs} runs; last: ${r.headless.retention.last}`);
  lines.push(`  RSS (MB, every 10 s): ${r.rss.map((s) => s.mb.toFixed(0)).join(' ')}`);
  lines.push('');
  for (const c of r.checks) lines.push(`${c.pass ? 'PASS' : 'FAIL'}  ${c.name}\n      ${c.observed}`);
  lines.push('', r.ok ? 'soak: every check passed' : 'soak: FAILED');
  return lines.join('\n');
}

async function main() {
  const log = (m) => process.stderr.write(`${m}\n`);
  let opts;
  try {
    opts = await parse(process.argv.slice(2));
    if (opts.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    assertLoopback(benchAdminUrl());
  } catch (err) {
    if (err instanceof UsageError) {
      log(`soak: ${err.message}`);
      return 2;
    }
    throw err;
  }
  const onSignal = (signal, code) => async () => {
    if (isInterrupted()) return;
    markInterrupted();
    log(`soak: ${signal}: stopping cesar, the writers and the proxy, dropping the soak databases`);
    await runCleanups(log);
    process.exit(code);
  };
  process.on('SIGINT', onSignal('SIGINT', 130));
  process.on('SIGTERM', onSignal('SIGTERM', 143));
  try {
    const report = await soak(opts, log);
    if (!report) return 130;
    process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatText(report)}\n`);
    return report.ok ? 0 : 1;
  } catch (err) {
    if (isInterrupted()) return 130;
    if (err instanceof UsageError) {
      log(`soak: ${err.message}`);
      return 2;
    }
    log(`soak: FAILED: ${err?.stack ?? err}`);
    return 1;
  } finally {
    if (!isInterrupted()) await runCleanups(log);
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  async (err) => {
    process.stderr.write(`soak: ${err?.stack ?? err}\n`);
    await runCleanups();
    process.exitCode = 1;
  },
);
