// Benchmark `api`: API load must not take the sync down (issue 17). `cesar headless` (the built
// binary, as a child) serves the API on 0.0.0.0 with tokens, as a production node does; writers
// update agents rows (a critical table) at `--rate` per second on BOTH databases at once, and
// observers on the other sides measure each change's commit-to-visible lag (as in `propagation`).
// Alternating segments of `--seconds`/`--runs` each: without API load, then with `--clients`
// (default 200) concurrent API clients (lib/api-swarm.mjs, a child process; a mix of heavy and light
// reads, health, metrics, bookkeeping, a few requests without a token; 429 honoured with its
// Retry-After). Throughout, a monitor reads /health (with a token) four times a second.
//
// Targets: no sync pass fails; the health probe never reports a database down (cesar's db.status
// events and the monitor's /health); the critical-table lag p99 with the API load is within 1.5x
// of the same run without it; the API clients get answers or 429, never a 5xx or a broken connection.
// BENCH_API_LOG=<file> keeps cesar's JSON log lines there (to see each pass's duration).
import { fork, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { killAfter, onCleanup } from './lib/cleanup.mjs';
import { copyPipe } from './lib/copy.mjs';
import { connect, createDatabasePair, REPO, serverVersion, sql, UsageError } from './lib/pg.mjs';
import { cpuSeconds, load1, percentile } from './lib/proc.mjs';
import { int, machine, secs, table } from './lib/stats.mjs';
import { GENERATE } from './sync.mjs';

const DIST = path.join(REPO, 'dist');
const CLI = path.join(DIST, 'cli.js');
const SWARM = path.join(REPO, 'scripts/bench/lib/api-swarm.mjs');
const POLL_MS = 10;
const LAG_RATIO = 1.5;
// the clients come from 20 loopback addresses (10 each at 200 clients): the per-address limit is
// then not what answers them, the read queue is
const ADDRESSES = Array.from({ length: 20 }, (_v, i) => `127.0.0.${10 + i}`);
const MONITOR_ADDRESS = '127.0.0.250';
const STATUSES = ['idle', 'active', 'busy', 'paused', 'error', 'offline'];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const nowMs = () => performance.now();

/** The id the generator gives row g: md5('agent' || g)::uuid. */
function agentId(g) {
  const h = createHash('md5').update(`agent${g}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Runs the benchmark. opts: { seconds, runs, clients, rate, log }. */
export async function run(opts) {
  const { log } = opts;
  const seconds = opts.seconds ?? 30;
  const runs = opts.runs;
  const clients = opts.clients ?? 200;
  const rate = opts.rate ?? 20;
  const segmentMs = (seconds * 1000) / runs;
  if (segmentMs < 3000) throw new UsageError(`--seconds ${seconds} over ${runs} runs gives segments under 3 s; raise --seconds or lower --runs`);
  if (!fs.existsSync(CLI)) throw new Error('dist/cli.js is missing: run `npm run build` first');
  const { openDb } = await import(path.join(DIST, 'db/pool.js'));
  const { SyncEngine } = await import(path.join(DIST, 'sync/engine.js'));
  const { EventBus } = await import(path.join(DIST, 'events/bus.js'));
  const started = Date.now();
  const loadAtStart = load1();

  log('api: creating throwaway databases and applying the schema');
  const dbs = await createDatabasePair('api');
  const side = { local: { admin: dbs.localUrl, app: dbs.localUrl }, cloud: { admin: dbs.cloudAdminUrl, app: dbs.cloudUrl } };
  const perSide = Math.ceil(rate * seconds * 2 * 1.2) + 100; // both conditions, and a margin
  const N = Math.max(10_000, 2 * perSide + 1000);
  log(`api: generating ${int(N)} agents rows on local, copying them to the cloud, one pass to seed sync_state`);
  await sql(side.local.admin, GENERATE, [N]);
  await copyPipe(side.local.admin, side.cloud.admin);
  await Promise.all([sql(side.local.admin, 'VACUUM ANALYZE agents'), sql(side.cloud.admin, 'VACUUM ANALYZE agents')]);
  {
    const local = openDb('local', side.local.app, { connectTimeoutMs: 5000, statementTimeoutMs: 60_000 });
    const cloud = openDb('cloud', side.cloud.app, { connectTimeoutMs: 5000, statementTimeoutMs: 60_000 });
    try {
      const report = await new SyncEngine(local, cloud, new EventBus()).runPass({ direction: 'both', deleteScan: 'always' });
      if (!report.ok) throw new Error(`seeding pass: ${JSON.stringify(report.totals)}`);
    } finally {
      await local.close();
      await cloud.close();
    }
  }
  // disjoint rows per side (no conflicts), each written once (so "visible" is an exact match); every 50th generated row is a tombstone
  const rowsOf = (from, to) => {
    const out = [];
    for (let g = from; g <= to; g++) if (g % 50 !== 0) out.push(g);
    return out;
  };
  const pools = { local: rowsOf(1, Math.floor(N / 2)), cloud: rowsOf(Math.floor(N / 2) + 1, N) };
  const take = (s, n) => {
    if (pools[s].length < n) throw new Error('ran out of generated rows');
    return pools[s].splice(0, n);
  };

  const token = randomBytes(24).toString('hex');
  const readToken = randomBytes(24).toString('hex');
  const cesar = await startHeadless(side, { token, readToken }, log);
  const base = cesar.url.replace('0.0.0.0', '127.0.0.1');

  const conns = {
    writer: { local: await connect(side.local.app), cloud: await connect(side.cloud.app) },
    observer: { local: await connect(side.local.admin), cloud: await connect(side.cloud.admin) },
  };
  // the observers are measurement, not an application: at READ COMMITTED their polls (every 10 ms, on
  // the rows the other side's writer and cesar are writing) take no part in the cloud's SERIALIZABLE
  // conflict detection, which they would otherwise feed with false conflicts
  for (const c of Object.values(conns.observer)) await c.query('SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED');
  onCleanup('close the writer and observer connections', async () => {
    for (const c of [...Object.values(conns.writer), ...Object.values(conns.observer)]) await c.end().catch(() => undefined);
  });

  // the /health monitor: its own address, with the read token, every 250 ms, all along
  const monitor = { requests: 0, notOk: [], down: [] };
  let monitoring = true;
  const monitorAgent = new http.Agent({ keepAlive: true, localAddress: MONITOR_ADDRESS });
  const monitorLoop = (async () => {
    while (monitoring) {
      const t = nowMs();
      const r = await getJson(`${base}/health`, monitorAgent, readToken).catch((e) => ({ status: `error ${e.code ?? e.message}`, body: null }));
      monitor.requests++;
      if (r.status !== 200 || r.body?.status !== 'ok') monitor.notOk.push(`${r.status} ${r.body?.status ?? ''}`);
      for (const role of ['local', 'cloud']) if (r.body?.databases?.[role] && !r.body.databases[role].up) monitor.down.push(`${role}: ${r.body.databases[role].error}`);
      await sleep(Math.max(0, 250 - (nowMs() - t)));
    }
  })();
  onCleanup('stop the /health monitor', async () => {
    monitoring = false;
    await monitorLoop;
    monitorAgent.destroy();
  });

  const swarm = await startSwarm();
  const ids = take('local', 200).map(agentId); // read by the clients, never written
  const results = { quiet: [], loaded: [] };
  const swarmResults = [];
  const cpu = { quiet: { cesar: 0, wall: 0 }, loaded: { cesar: 0, wall: 0 } };
  for (let k = 0; k < runs; k++) {
    for (const condition of ['quiet', 'loaded']) {
      log(`api: ${k + 1}/${runs}: ${condition === 'quiet' ? 'no API load' : `${clients} API clients`}; writing ${rate}/s on each database for ${secs(segmentMs / 1000)}`);
      if (condition === 'loaded') await swarm.request({ cmd: 'start', url: base, clients, addresses: ADDRESSES, token, readToken, ids }, 'started');
      const c0 = cpuSeconds(cesar.pid);
      const w0 = nowMs();
      const [up, down] = await Promise.all([
        segment(conns.writer.local, conns.observer.cloud, take('local', Math.ceil((rate * segmentMs) / 1000) + rate), segmentMs, rate),
        segment(conns.writer.cloud, conns.observer.local, take('cloud', Math.ceil((rate * segmentMs) / 1000) + rate), segmentMs, rate),
      ]);
      const wall = (nowMs() - w0) / 1000;
      const c1 = cpuSeconds(cesar.pid);
      if (condition === 'loaded') swarmResults.push((await swarm.request({ cmd: 'stop' }, 'stopped', 60_000)).result);
      if (c0 === null || c1 === null) throw new Error('cesar headless exited during the measurement');
      cpu[condition].cesar += c1 - c0;
      cpu[condition].wall += wall;
      results[condition].push({ up, down });
      log(`api:   lag p50/p99 up ${percentile(up, 50).toFixed(0)}/${percentile(up, 99).toFixed(0)} ms, down ${percentile(down, 50).toFixed(0)}/${percentile(down, 99).toFixed(0)} ms; cesar CPU ${((100 * (c1 - c0)) / wall).toFixed(0)}% of a core`);
      await sleep(1000);
    }
  }
  await swarm.close();
  monitoring = false;
  await monitorLoop;
  const exit = await cesar.stop();

  const flat = (cond, dir) => results[cond].flatMap((s) => (dir ? s[dir] : [...s.up, ...s.down]));
  const summary = (xs) => ({ n: xs.length, p50: percentile(xs, 50), p99: percentile(xs, 99), max: xs.reduce((a, b) => (b > a ? b : a), -Infinity) });
  const merged = { requests: 0, seconds: 0, staleResets: 0, statuses: {}, errors: {}, byPath: {} };
  for (const s of swarmResults) {
    merged.requests += s.requests;
    merged.staleResets += s.staleResets;
    merged.seconds += s.seconds;
    for (const [k, v] of Object.entries(s.statuses)) merged.statuses[k] = (merged.statuses[k] ?? 0) + v;
    for (const [k, v] of Object.entries(s.errors)) merged.errors[k] = (merged.errors[k] ?? 0) + v;
    for (const [p, v] of Object.entries(s.byPath)) {
      const m = (merged.byPath[p] ??= { n: 0, p50: [], p99: [], statuses: {} });
      m.n += v.n;
      m.p50.push(v.p50);
      m.p99.push(v.p99);
      for (const [k, c] of Object.entries(v.statuses)) m.statuses[k] = (m.statuses[k] ?? 0) + c;
    }
  }
  const fiveXX = Object.entries(merged.statuses).filter(([k]) => /^5\d\d$/.test(k)).reduce((a, [, v]) => a + v, 0);
  const broken = Object.values(merged.errors).reduce((a, v) => a + v, 0);
  const quiet = summary(flat('quiet'));
  const loaded = summary(flat('loaded'));
  const out = {
    benchmark: 'api',
    clients,
    rate,
    secondsPerCondition: seconds,
    runs,
    rows: N,
    machine: { ...machine(), postgres: await serverVersion(side.local.admin), load1AtStart: loadAtStart, load1AtEnd: load1() },
    lagMs: { quiet, loaded, quietUp: summary(flat('quiet', 'up')), quietDown: summary(flat('quiet', 'down')), loadedUp: summary(flat('loaded', 'up')), loadedDown: summary(flat('loaded', 'down')), segments: results },
    cpu: { quietPercent: (100 * cpu.quiet.cesar) / cpu.quiet.wall, loadedPercent: (100 * cpu.loaded.cesar) / cpu.loaded.wall },
    clientsResult: { ...merged, rate: merged.requests / (merged.seconds / Math.max(1, swarmResults.length)) / Math.max(1, swarmResults.length), fiveXX, broken },
    monitor,
    headless: { exitCode: exit.code, signal: exit.signal, passes: cesar.passes, failedPasses: cesar.failedPasses, dbDown: cesar.dbDown, warnings: cesar.errors },
  };
  out.targets = {
    noFailedPass: { target: 0, observed: cesar.failedPasses.length, pass: cesar.failedPasses.length === 0 },
    neverDown: { target: 0, observed: cesar.dbDown.length + monitor.down.length, pass: cesar.dbDown.length + monitor.down.length === 0 },
    lag: { target: LAG_RATIO, observed: loaded.p99 / quiet.p99, pass: loaded.p99 / quiet.p99 <= LAG_RATIO },
    answers: { target: 0, observed: fiveXX + broken, pass: fiveXX + broken === 0 && merged.requests > 0 },
  };
  out.totalSeconds = (Date.now() - started) / 1000;
  return { text: formatText(out), json: out };
}

/** A writer on one side and an observer on the other for `ms`: the commit-to-visible lag of each change (ms). */
async function segment(writer, observer, rows, ms, rate) {
  const pending = new Map();
  const seen = [];
  let writing = true;
  let failure = null;
  const watch = (async () => {
    let deadline = Infinity;
    while (writing || pending.size > 0) {
      if (!writing && deadline === Infinity) deadline = nowMs() + 60_000;
      if (nowMs() > deadline) throw new Error(`${pending.size} change(s) not visible on the other side 60 s after the writer stopped`);
      const t = nowMs();
      if (pending.size > 0) {
        const { rows: found } = await observer.query('SELECT id::text AS id, updated_at::text AS ts FROM agents WHERE id = ANY($1::uuid[])', [[...pending.keys()]]);
        const back = nowMs();
        for (const r of found) {
          const c = pending.get(r.id);
          if (c && r.ts === c.ts) {
            pending.delete(r.id);
            seen.push(back - c.at);
          }
        }
      }
      await sleep(Math.max(0, POLL_MS - (nowMs() - t)));
    }
  })().catch((err) => (failure = err));
  const t0 = nowMs();
  let i = 0;
  while (i < rows.length) {
    const due = t0 + (i * 1000) / rate;
    if (due - t0 >= ms) break;
    const wait = due - nowMs();
    if (wait > 0) await sleep(wait);
    const g = rows[i++];
    const id = agentId(g);
    let res;
    for (let attempt = 0; ; attempt++) {
      try {
        res = await writer.query('UPDATE agents SET status = $2, version = version + 1, updated_at = now() WHERE id = $1 RETURNING updated_at::text AS ts', [id, STATUSES[g % STATUSES.length]]);
        break;
      } catch (err) {
        // SERIALIZABLE on the cloud side: a serialization failure is retried, as an application does
        if (err.code !== '40001' || attempt >= 200) throw err;
        await sleep(Math.min(200, 5 * 2 ** attempt) * Math.random());
      }
    }
    if (res.rowCount !== 1) throw new Error(`writer: row ${g} not found`);
    pending.set(id, { ts: res.rows[0].ts, at: nowMs() });
  }
  writing = false;
  await watch;
  if (failure) throw failure;
  return seen;
}

function getJson(url, agent, token) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, headers: { Authorization: `Bearer ${token}` } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => {
        let body = null;
        try {
          body = JSON.parse(text);
        } catch {
          // not JSON
        }
        resolve({ status: res.statusCode, body });
      });
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
  });
}

async function startSwarm() {
  const child = fork(SWARM, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  onCleanup('stop the API clients', async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGKILL');
    await exited;
  });
  const waiters = [];
  child.on('message', (m) => {
    const i = waiters.findIndex((w) => w.cmd === m.cmd);
    if (i >= 0) waiters.splice(i, 1)[0].resolve(m);
  });
  const wait = (cmd, timeoutMs = 30_000) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the API clients did not answer ${cmd} within ${timeoutMs} ms`)), timeoutMs);
      waiters.push({ cmd, resolve: (m) => (clearTimeout(timer), resolve(m)) });
      exited.then(({ code, signal }) => reject(new Error(`the API clients exited (${code ?? signal}) while waiting for ${cmd}`)));
    });
  await wait('ready');
  return {
    request(msg, reply, timeoutMs) {
      const p = wait(reply, timeoutMs);
      child.send(msg);
      return p;
    },
    async close() {
      child.send({ cmd: 'exit' });
      await exited;
    },
  };
}

/** Starts `node dist/cli.js headless` on 0.0.0.0 with tokens; resolves with its API URL once its first full pass completed. */
async function startHeadless(side, tokens, log) {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'cesar-bench-api-')); // no stray .env is read
  onCleanup('remove the headless working directory', () => fs.rmSync(cwd, { recursive: true, force: true }));
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(CESAR_|LOCAL_DB_URL$|DATABASE_URL$|COCKROACH_DB_URL$|ENVIRONMENT$|CI$)/.test(k)));
  Object.assign(env, {
    LOCAL_DB_URL: side.local.app,
    COCKROACH_DB_URL: side.cloud.app,
    ENVIRONMENT: 'development',
    CESAR_API_HOST: '0.0.0.0',
    CESAR_API_PORT: '0',
    CESAR_API_TOKEN: tokens.token,
    CESAR_API_READ_TOKEN: tokens.readToken,
    CESAR_CRITICAL_TABLES: 'agents',
  });
  const child = spawn(process.execPath, [CLI, 'headless', '--log-level', 'info'], { env, cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  const state = { pid: child.pid, url: null, errors: [], passes: 0, failedPasses: [], dbDown: [] };
  let ready;
  const firstFull = new Promise((resolve) => (ready = resolve));
  let retained;
  const firstRetention = new Promise((resolve) => (retained = resolve));
  let buf = '';
  child.stdout.on('data', (d) => {
    buf += d.toString('utf8');
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      let e;
      try {
        e = JSON.parse(line);
      } catch {
        continue;
      }
      if (e.event === 'startup') state.url = e.api?.url ?? null;
      if (e.event === 'log' && /^retention/.test(String(e.msg))) retained();
      if ((e.level === 'error' || e.level === 'fatal' || e.level === 'warn') && e.event !== 'migrations') state.errors.push(`${e.level}: ${e.msg}${e.error ? `: ${e.error}` : ''}`.slice(0, 300));
      if (e.event === 'db.status' && e.up === false) state.dbDown.push(`${e.database ?? e.role ?? '?'}: ${e.error ?? e.msg}`);
      if (e.event === 'sync.pass.completed') {
        state.passes++;
        if (e.scope === 'full') ready(true);
      }
      if (e.event === 'sync.pass.failed') {
        state.failedPasses.push(String(e.error).slice(0, 200));
        ready(false);
      }
    }
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr = (stderr + d.toString('utf8')).slice(-4000)));
  if (process.env.BENCH_API_LOG) child.stdout.pipe(fs.createWriteStream(process.env.BENCH_API_LOG));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return exited;
    try {
      process.kill(child.pid, 'SIGTERM');
    } catch {
      // gone
    }
    return killAfter(child, exited, 12_000);
  };
  onCleanup('stop cesar headless', stop);
  log(`api: started cesar headless on 0.0.0.0 (pid ${child.pid}); waiting for its first full pass`);
  let timer;
  const ok = await Promise.race([firstFull, exited.then(() => 'exited'), new Promise((r) => (timer = setTimeout(() => r('timeout'), 120_000)))]);
  clearTimeout(timer);
  if (ok !== true || !state.url) throw new Error(`cesar headless did not start or complete its first full pass (${ok === false ? 'the pass failed' : ok}): ${state.errors.join(' | ')} ${stderr.trim()}`);
  // the first retention run follows the first full pass (and holds the critical polls while it
  // purges the generated tombstones): measuring starts after it, as in a node that has been up a while
  log('api: waiting for the first retention run');
  await Promise.race([firstRetention, sleep(60_000)]);
  await sleep(2000);
  return Object.assign(state, { stop });
}

const f0 = (x) => x.toFixed(0);
const f2 = (x) => x.toFixed(2);
const verdict = (ok) => (ok ? 'PASS' : 'FAIL');

function formatText(r) {
  const lines = [];
  lines.push(`api: cesar headless on 0.0.0.0 with tokens; writers on both databases at ${r.rate}/s each; ${r.clients} API clients; ${r.secondsPerCondition} s per condition in ${r.runs} alternating segments`);
  lines.push(`machine: ${r.machine.cores} cores (${r.machine.cpu}), ${r.machine.memGb} GB, Node ${r.machine.node}, ${r.machine.postgres.split(' on ')[0]}; load average ${r.machine.load1AtStart} at start, ${r.machine.load1AtEnd} at end (shared machine)`);
  lines.push('');
  const l = r.lagMs;
  const rows = [['critical-table lag (commit to visible)', 'changes', 'p50', 'p99', 'max']];
  for (const [name, s] of [
    ['  without API load, both ways', l.quiet],
    ['  with API load, both ways', l.loaded],
    ['    local -> cloud, without / with', null],
    ['', l.quietUp],
    ['', l.loadedUp],
    ['    cloud -> local, without / with', null],
    ['', l.quietDown],
    ['', l.loadedDown],
  ]) {
    if (!s) rows.push([name, '', '', '', '']);
    else rows.push([name, int(s.n), `${f0(s.p50)} ms`, `${f0(s.p99)} ms`, `${f0(s.max)} ms`]);
  }
  lines.push(table(rows));
  const c = r.clientsResult;
  lines.push('');
  lines.push(`  API clients: ${int(c.requests)} requests (${f0(c.requests / Math.max(1, c.seconds / r.runs) / r.runs)}/s while loaded); answers: ${Object.entries(c.statuses).map(([k, v]) => `${k} x${int(v)}`).join(', ')}; kept-alive sockets reset as reused and retried: ${c.staleResets}`);
  const prow = [['  per request', 'n', 'p50', 'p99', 'answers']];
  for (const [p, v] of Object.entries(c.byPath).sort()) prow.push([`    ${p}`, int(v.n), `${f0(Math.max(...v.p50))} ms`, `${f0(Math.max(...v.p99))} ms`, Object.entries(v.statuses).map(([k, n]) => `${k}:${n}`).join(' ')]);
  lines.push(table(prow));
  lines.push(`  /health monitor: ${int(r.monitor.requests)} requests, ${r.monitor.notOk.length} not ok${r.monitor.notOk.length ? ` (${[...new Set(r.monitor.notOk)].slice(0, 3).join('; ')})` : ''}`);
  lines.push(`  cesar CPU: ${r.cpu.quietPercent.toFixed(0)}% of a core without API load, ${r.cpu.loadedPercent.toFixed(0)}% with`);
  lines.push(`  headless: ${r.headless.passes} passes completed, exit ${r.headless.exitCode ?? r.headless.signal} on SIGTERM${r.headless.warnings.length ? `; warnings/errors: ${r.headless.warnings.slice(0, 5).join(' | ')}` : ''}`);
  lines.push('');
  const t = r.targets;
  lines.push(`target: no sync pass fails:                                ${t.noFailedPass.observed} failed  ${verdict(t.noFailedPass.pass)}${r.headless.failedPasses.length ? ` (${r.headless.failedPasses.slice(0, 2).join(' | ')})` : ''}`);
  lines.push(`target: the health probe never reports a database down:   ${t.neverDown.observed} reports  ${verdict(t.neverDown.pass)}${t.neverDown.observed ? ` (${[...r.headless.dbDown, ...r.monitor.down].slice(0, 2).join(' | ')})` : ''}`);
  lines.push(`target: lag p99 with API load <= ${LAG_RATIO}x without:              ${f2(t.lag.observed)}x (${f0(l.loaded.p99)} vs ${f0(l.quiet.p99)} ms)  ${verdict(t.lag.pass)}`);
  lines.push(`target: API answers or 429, never 5xx or a broken connection: ${c.fiveXX} 5xx, ${c.broken} broken  ${verdict(t.answers.pass)}`);
  lines.push('');
  lines.push(`  the clients come from ${ADDRESSES.length} loopback addresses (${ADDRESSES[0]}..${ADDRESSES.at(-1)}) and wait out a 429's Retry-After (at most 1 s);`);
  lines.push('  the writers, the observers and the /health monitor share this process; the clients run in a child process.');
  lines.push('', `total benchmark time ${secs(r.totalSeconds)}`);
  return `${lines.join('\n')}\n`;
}
