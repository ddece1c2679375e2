// Benchmark `dashboard`: what the full-screen dashboard costs beyond `cesar headless`, and how
// fast it answers. The built binary, in a real pseudo-terminal (tmux, 120x40: every panel shows).
//
// Real databases, 1,000 and 1,000,000 agents (sizes alternate per run), each run in turn:
//   headless  `cesar headless` on the same databases: CPU and resident memory while idle (`--seconds`),
//             then CPU while a writer updates `--rate` random agents per second (`--seconds`/2): the baseline
//   dashboard the same windows for the dashboard, plus bytes written to the terminal; while the writer
//             runs, the first agent on screen is changed every 3 s and timed until the screen shows it;
//             and 10 s with the schedule paused (Space), where the idle bytes go
// Then, once per size, key to screen during a full pass (sync_state emptied, `s`: every row of every
// table is read and compared): `--keys` presses (panel switch, scroll, help open and close), each
// timed from the key to the first output after which the screen shows it.
// Embedded demo (`npm start`, no URLs, a new data directory): resident memory sampled every second
// and CPU for `--demo-minutes` (first start included), then key to screen during a pass that copies
// 20,000 new rows.
//
// Set-up, so that nothing else writes: real URLs (the demo workload is off), the same rows on both
// sides (COPY; every agent live, so retention has nothing to purge) and sync_state seeded by one pass
// with a key scan before anything starts. The scheduler runs as an operator would run it (full pass
// every 5m, agents polled every CESAR_CRITICAL_POLL, API on a free port): its passes find nothing to
// do while idle.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { killAfter, onCleanup } from './lib/cleanup.mjs';
import { copyPipe } from './lib/copy.mjs';
import { connect, createDatabasePair, REPO, serverVersion, sql, UsageError } from './lib/pg.mjs';
import { cpuSeconds, load1, percentile, rssBytes } from './lib/proc.mjs';
import { keyCycle, quote, tmuxServer } from './lib/screen.mjs';
import { int, machine, median, secs, table, timed } from './lib/stats.mjs';
import { GENERATE } from './sync.mjs';

// CESAR_BENCH_DIST measures another build (e.g. the code before a change) with this benchmark
const DIST = process.env.CESAR_BENCH_DIST ? path.resolve(process.env.CESAR_BENCH_DIST) : path.join(REPO, 'dist');
const CLI = path.join(DIST, 'cli.js');
const TARGETS = {
  idleCpuOverHeadless: 2, // points of a core
  idleRssMiB: 150,
  changingCpuOverHeadless: 10,
  memoryRatio: 1.2, // 1M agents vs 1k
  idleBytesPerSecond: 100,
  keyP99Ms: 100,
  demoRssMiB: 450,
  demoCpuPercent: 15,
};
const SIZE = { x: 120, y: 40 };
const PAUSED_MS = 10_000;
const REFRESH_MS = 2000; // the dashboard's default --refresh
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const MiB = (b) => b / 2 ** 20;
const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : String(x));
const f0 = (x) => (Number.isFinite(x) ? x.toFixed(0) : String(x));
const verdict = (ok) => (ok ? 'PASS' : 'FAIL');

/** Runs the benchmark. opts: { small, large, seconds, rate, runs, keys, demoMinutes, log }. */
export async function run(opts) {
  const { log, runs } = opts;
  const seconds = opts.seconds ?? 60;
  const rate = opts.rate ?? 100;
  const keyCount = opts.keys ?? 120;
  const demoMinutes = opts.demoMinutes ?? 10;
  const sizes = { small: opts.small ?? 1000, large: opts.large ?? 1_000_000 };
  if (!fs.existsSync(CLI)) throw new Error('dist/cli.js is missing: run `npm run build` first');
  if (seconds < 10) throw new UsageError('--seconds must be at least 10 for the dashboard (each window is that long)');
  const { openDb } = await import(path.join(DIST, 'db/pool.js'));
  const { SyncEngine } = await import(path.join(DIST, 'sync/engine.js'));
  const { EventBus } = await import(path.join(DIST, 'events/bus.js'));
  const started = Date.now();
  const loadAtStart = load1();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cesar-bench-dash-'));
  onCleanup('remove the dashboard working directory', () => fs.rmSync(work, { recursive: true, force: true }));
  try {
    execFileSync('tmux', ['-V']);
  } catch {
    throw new Error('tmux is required (apt-get install tmux)');
  }
  const term = tmuxServer(`cesar-bench-${process.pid}`, work);

  // --- data: the same rows on both sides, sync_state seeded ---
  const pairs = {};
  for (const size of ['small', 'large']) {
    const n = sizes[size];
    log(`dashboard: ${size}: creating databases, ${int(n)} agents on local, COPY to the cloud, one seeding pass (with the key scan)`);
    const dbs = await createDatabasePair(`dash_${size}`);
    const p = { n, local: { admin: dbs.localUrl, app: dbs.localUrl }, cloud: { admin: dbs.cloudAdminUrl, app: dbs.cloudUrl } };
    await sql(p.local.admin, GENERATE, [n]);
    // every agent live: the generator stamps every 50th row deleted 30 days ago, which the scheduler's
    // retention would purge (on both sides) during the measurement
    await sql(p.local.admin, 'UPDATE agents SET deleted_at = NULL WHERE deleted_at IS NOT NULL');
    await copyPipe(p.local.admin, p.cloud.admin);
    await Promise.all([sql(p.local.admin, 'VACUUM ANALYZE agents'), sql(p.cloud.admin, 'VACUUM ANALYZE agents')]);
    await seedingPass(p, `seeding pass ${size}`);
    pairs[size] = p;
  }

  async function seedingPass(p, what) {
    const local = openDb('local', p.local.app, { connectTimeoutMs: 5000, statementTimeoutMs: 600_000 });
    const cloud = openDb('cloud', p.cloud.app, { connectTimeoutMs: 5000, statementTimeoutMs: 600_000 });
    try {
      const [s, report] = await timed(() => new SyncEngine(local, cloud, new EventBus()).runPass({ direction: 'both', deleteScan: 'always' }));
      if (!report.ok) throw new Error(`${what}: ${JSON.stringify(report.totals)} ok=${report.ok}`);
      log(`dashboard:   ${what} ${secs(s)} (read ${int(report.totals.read)}, applied ${int(report.totals.applied)})`);
    } finally {
      await local.close();
      await cloud.close();
    }
  }

  const envFor = (p, dataDir) => ({
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    TERM: 'xterm-256color',
    ENVIRONMENT: 'development',
    ...(p ? { LOCAL_DB_URL: p.local.app, COCKROACH_DB_URL: p.cloud.app } : {}),
    CESAR_DATA_DIR: dataDir,
    CESAR_API_PORT: '0',
  });
  /** The dashboard in a new tmux session; env -i: nothing of this environment (CI, NO_COLOR, CESAR_*) reaches it. */
  function startDashboard(p, dataDir = fs.mkdtempSync(path.join(work, 'data-'))) {
    const assignments = Object.entries(envFor(p, dataDir)).map(([k, v]) => `${k}=${quote(v)}`).join(' ');
    return term.start(`cd ${quote(work)} && env -i ${assignments} ${quote(process.execPath)} ${quote(CLI)} dashboard`, SIZE);
  }
  async function quit(s) {
    term.keys(s, 'q');
    const last = await term.waitFor(s, (t) => /EXIT=\d+/.test(t), 60_000);
    const exit = Number(/EXIT=(\d+)/.exec(last)[1]);
    try {
      term.tmux('kill-session', '-t', s);
    } catch {
      // gone
    }
    if (exit !== 0) throw new Error(`the dashboard exited ${exit} on q`);
  }

  /** CPU of a process over `ms` (percent of one core), its resident memory sampled every second, and what `during` returned. */
  async function window(pid, ms, during) {
    const c0 = cpuSeconds(pid);
    const t0 = performance.now();
    const rss = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const r = rssBytes(pid);
        if (r !== null) rss.push(r);
        await sleep(1000);
      }
    })();
    const extra = during ? during() : null;
    await sleep(ms);
    const c1 = cpuSeconds(pid);
    const wall = (performance.now() - t0) / 1000;
    sampling = false;
    await sampler;
    await extra?.stop();
    if (c0 === null || c1 === null) throw new Error(`process ${pid} exited during a measurement`);
    return { cpuPercent: (100 * (c1 - c0)) / wall, seconds: wall, rssMiB: median(rss.map(MiB)), rssMaxMiB: Math.max(...rss.map(MiB)), extra: extra ? await extra.result : null };
  }

  /** Updates `rate` random agents per second on local until stopped. */
  function writer(p) {
    let stop = false;
    let written = 0;
    const result = (async () => {
      const c = await connect(p.local.admin);
      try {
        const t0 = performance.now();
        for (let i = 0; !stop; i++) {
          const wait = t0 + (i * 1000) / rate - performance.now();
          if (wait > 0) await sleep(wait);
          if (stop) break;
          const g = 1 + Math.floor(Math.random() * p.n);
          const res = await c.query(
            `UPDATE agents SET status = (ARRAY['idle', 'active', 'busy', 'paused', 'error', 'offline'])[1 + $2::int % 6], version = version + 1, updated_at = now() WHERE id = md5('agent' || $1::int)::uuid`,
            [g, i],
          );
          written += res.rowCount;
        }
        return { written, seconds: (performance.now() - t0) / 1000 };
      } finally {
        await c.end().catch(() => undefined);
      }
    })();
    return { stop: () => ((stop = true), result.then(() => undefined)), result };
  }

  /**
   * While the writer runs: every 3 s, the first agent of the screen (sorted by name) gets a new
   * status, and the screen is watched until its row shows it. Milliseconds from the commit.
   */
  function visibleChanges(p, s) {
    let stop = false;
    const result = (async () => {
      const c = await connect(p.local.admin);
      const times = [];
      try {
        const [top] = (await c.query('SELECT id::text AS id, name, status FROM agents WHERE deleted_at IS NULL ORDER BY name, id LIMIT 1')).rows;
        const statuses = ['idle', 'active', 'busy', 'paused', 'error', 'offline'];
        let status = top.status;
        while (!stop) {
          await sleep(3000);
          if (stop) break;
          status = statuses[(statuses.indexOf(status) + 1) % statuses.length];
          await c.query('UPDATE agents SET status = $2, version = version + 1, updated_at = now() WHERE id = $1::uuid', [top.id, status]);
          const t0 = performance.now();
          const row = new RegExp(`${top.name}\\s+\\S+\\s+${status}\\b`);
          let seen = Infinity;
          while (performance.now() - t0 < 10_000) {
            if (row.test(term.screen(s))) {
              seen = performance.now() - t0;
              break;
            }
            await sleep(25);
          }
          times.push(seen);
        }
        return times;
      } finally {
        await c.end().catch(() => undefined);
      }
    })();
    return { stop: () => ((stop = true), result.then(() => undefined)), result };
  }

  /** `cesar headless` on a pair: started, its first full pass done, then idle and changing windows; stopped. */
  async function headless(p) {
    const cwd = fs.mkdtempSync(path.join(work, 'headless-'));
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(CESAR_|LOCAL_DB_URL$|DATABASE_URL$|COCKROACH_DB_URL$|ENVIRONMENT$|CI$|NODE_ENV$)/.test(k)));
    Object.assign(env, envFor(p, path.join(cwd, 'data')));
    const child = spawn(process.execPath, [CLI, 'headless'], { env, cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
    const stop = async () => {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      try {
        process.kill(child.pid, 'SIGTERM');
      } catch {
        // gone
      }
      return killAfter(child, exited, 15_000);
    };
    onCleanup('stop cesar headless', stop);
    let ready;
    const firstFull = new Promise((resolve) => (ready = resolve));
    let buf = '';
    child.stdout.on('data', (d) => {
      buf += d.toString('utf8');
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (/"event":"sync\.pass\.completed"/.test(line) && /"scope":"full"/.test(line)) ready(true);
        if (/"event":"sync\.pass\.failed"/.test(line)) ready(false);
      }
    });
    child.stderr.resume();
    let timer;
    const ok = await Promise.race([firstFull, exited.then(() => 'exited'), new Promise((r) => (timer = setTimeout(() => r('timeout'), 180_000)))]);
    clearTimeout(timer);
    if (ok !== true) throw new Error(`cesar headless did not complete its first full pass (${ok})`);
    await sleep(5000);
    const idle = await window(child.pid, seconds * 1000);
    const changing = await window(child.pid, (seconds * 1000) / 2, () => writer(p));
    const exit = await stop();
    if (exit.code !== 143) throw new Error(`cesar headless exited ${exit.code ?? exit.signal} on SIGTERM`);
    return { idle, changing };
  }

  /** The dashboard on a pair: idle (bytes, CPU, memory), paused, changing (CPU, bytes, visible changes). */
  async function dashboard(p) {
    const s = startDashboard(p);
    const t0 = Date.now();
    await term.waitFor(s, (t) => /active syncer/.test(t) && /agent-/.test(t) && /agents\s+ok/.test(t), 180_000);
    const pid = term.programPid(s);
    const readySeconds = (Date.now() - t0) / 1000;
    await sleep(5000);
    let idle;
    const idleBytes = await term.bytesDuring(s, async () => (idle = await window(pid, seconds * 1000, () => lineChanges(s))));
    term.keys(s, 'Space');
    await term.waitFor(s, (t) => /PAUSED/.test(t), 10_000);
    await sleep(7000); // the "paused" message expires after 6 s
    let paused;
    const pausedBytes = await term.bytesDuring(s, async () => (paused = await window(pid, PAUSED_MS)));
    term.keys(s, 'Space');
    await term.waitFor(s, (t) => !/PAUSED/.test(t), 10_000);
    await sleep(2000);
    let changing;
    const changingBytes = await term.bytesDuring(s, async () => {
      changing = await window(pid, (seconds * 1000) / 2, () => {
        const w = writer(p);
        const v = visibleChanges(p, s);
        return { stop: () => Promise.all([w.stop(), v.stop()]), result: Promise.all([w.result, v.result]).then(([written, shown]) => ({ ...written, shown })) };
      });
    });
    await quit(s);
    const perSecond = (b, w) => b / w.seconds;
    return {
      readySeconds,
      idle: { ...idle, bytesPerSecond: perSecond(idleBytes, idle) },
      paused: { ...paused, bytesPerSecond: perSecond(pausedBytes, paused) },
      changing: { ...changing, bytesPerSecond: perSecond(changingBytes, changing) },
    };
  }

  /** Where idle bytes go: captures the screen every second and counts, per line, how often it changed. */
  function lineChanges(s) {
    let stop = false;
    const result = (async () => {
      let prev = term.screen(s).split('\n');
      const changes = new Map();
      let samples = 0;
      while (!stop) {
        await sleep(1000);
        const cur = term.screen(s).split('\n');
        samples++;
        cur.forEach((line, i) => {
          if (line !== prev[i]) changes.set(i, { count: (changes.get(i)?.count ?? 0) + 1, text: line.trim().slice(0, 100) });
        });
        prev = cur;
      }
      return { samples, lines: [...changes.entries()].map(([line, c]) => ({ line: line + 1, ...c })).sort((a, b) => b.count - a.count).slice(0, 6) };
    })();
    return { stop: () => ((stop = true), result.then(() => undefined)), result };
  }

  /** `count` presses of the key cycle, spread over the pass that `start()` begins; `running()` says whether it still runs. */
  async function keysDuringPass(s, start, running) {
    term.keys(s, '4'); // the cycle starts with Migrations focused
    await sleep(300);
    await start();
    const cycle = keyCycle();
    const presses = Array.from({ length: keyCount }, (_, i) => cycle[i % cycle.length]);
    const t0 = Date.now();
    const results = await term.keyLatencies(s, presses);
    const duringPass = await running();
    return { ms: results.map((r) => r.ms), byKey: groupBy(results), seconds: (Date.now() - t0) / 1000, passStillRunning: duringPass };
  }

  /** Key to screen on a pair during a full pass: sync_state emptied, then `s`. */
  async function keysReal(p) {
    const s = startDashboard(p);
    await term.waitFor(s, (t) => /active syncer/.test(t) && /agent-/.test(t) && /agents\s+ok/.test(t), 180_000);
    await sleep(3000);
    const out = await keysDuringPass(
      s,
      async () => {
        await sql(p.local.admin, 'DELETE FROM sync_state');
        term.keys(s, 's');
        await term.waitFor(s, (t) => /sync pass running|pass \w+ (done|finished)/.test(t), 10_000);
      },
      async () => /sync pass running/.test(term.screen(s)),
    );
    // the next run needs sync_state back: let the pass finish (it re-reads every row); its
    // "running" message gives way to the outcome, which expires after a few seconds
    await term.waitFor(s, (t) => !/sync pass running/.test(t), 30 * 60_000);
    await quit(s);
    return out;
  }

  const runsOut = { small: [], large: [] };
  for (let r = 0; r < runs; r++) {
    for (const size of r % 2 === 0 ? ['small', 'large'] : ['large', 'small']) {
      const p = pairs[size];
      log(`dashboard: run ${r + 1}/${runs}: ${int(p.n)} agents: cesar headless`);
      const h = await headless(p);
      log(`dashboard:   headless: idle CPU ${f1(h.idle.cpuPercent)}%, RSS ${f1(h.idle.rssMiB)} MiB; changing CPU ${f1(h.changing.cpuPercent)}%`);
      log(`dashboard: run ${r + 1}/${runs}: ${int(p.n)} agents: the dashboard`);
      const d = await dashboard(p);
      const shown = d.changing.extra.shown;
      log(
        `dashboard:   ready ${secs(d.readySeconds)}; idle CPU ${f1(d.idle.cpuPercent)}%, RSS ${f1(d.idle.rssMiB)} MiB (max ${f1(d.idle.rssMaxMiB)}), ${f0(d.idle.bytesPerSecond)} B/s; ` +
          `paused ${f0(d.paused.bytesPerSecond)} B/s; changing (${d.changing.extra.written} rows in ${f0(d.changing.extra.seconds)} s) CPU ${f1(d.changing.cpuPercent)}%, ${f0(d.changing.bytesPerSecond)} B/s, shown after ${shown.map(f0).join(' ')} ms`,
      );
      runsOut[size].push({ headless: h, dashboard: d, load1: load1() });
    }
  }

  const keys = {};
  for (const size of ['small', 'large']) {
    log(`dashboard: key to screen during a full pass, ${int(pairs[size].n)} agents (${keyCount} presses)`);
    keys[size] = await keysReal(pairs[size]);
    log(`dashboard:   p50 ${f0(percentile(keys[size].ms, 50))} ms, p99 ${f0(percentile(keys[size].ms, 99))} ms, max ${f0(Math.max(...keys[size].ms))} ms over ${f0(keys[size].seconds)} s${keys[size].passStillRunning ? ' (the pass still ran at the end)' : ' (the pass ended before the last key)'}`);
  }

  const demo = demoMinutes > 0 ? await embeddedDemo() : null;

  /** `npm start`: the embedded demo from a new data directory, for `demoMinutes`; then keys during a pass of 20,000 new rows. */
  async function embeddedDemo() {
    const dataDir = fs.mkdtempSync(path.join(work, 'demo-'));
    log(`dashboard: embedded demo (new data directory), ${demoMinutes} min`);
    const s = startDashboard(null, dataDir);
    const t0 = Date.now();
    // the first start creates both databases in child processes: sample those too
    let pid = null;
    const samples = [];
    let childPeak = 0;
    const end = t0 + demoMinutes * 60_000;
    let cpuStart = null;
    while (Date.now() < end) {
      if (pid === null) {
        try {
          pid = term.programPid(s);
        } catch {
          await sleep(200);
          continue;
        }
      }
      const rss = rssBytes(pid);
      if (rss === null) throw new Error('the demo exited');
      samples.push({ t: (Date.now() - t0) / 1000, rssMiB: MiB(rss) });
      for (const child of childPids(pid)) childPeak = Math.max(childPeak, MiB(rssBytes(child) ?? 0));
      if (cpuStart === null && Date.now() - t0 >= 60_000) cpuStart = { cpu: cpuSeconds(pid), at: performance.now() };
      await sleep(1000);
    }
    const cpuEnd = { cpu: cpuSeconds(pid), at: performance.now() };
    const screen = term.screen(s);
    if (!/EMBEDDED DEMO/.test(screen)) throw new Error(`the demo's screen does not say EMBEDDED DEMO:\n${screen}`);
    const steady = samples.filter((x) => x.t >= samples[samples.length - 1].t / 2).map((x) => x.rssMiB);
    const out = {
      minutes: demoMinutes,
      peakRssMiB: Math.max(...samples.map((x) => x.rssMiB)),
      steadyRssMiB: median(steady),
      initChildPeakMiB: childPeak,
      cpuPercent: cpuStart ? (100 * (cpuEnd.cpu - cpuStart.cpu)) / ((cpuEnd.at - cpuStart.at) / 1000) : NaN,
      rssByMinute: samples.filter((x) => Math.round(x.t) % 60 === 0).map((x) => Math.round(x.rssMiB)),
    };
    log(`dashboard:   demo: peak ${f0(out.peakRssMiB)} MiB, steady ${f0(out.steadyRssMiB)} MiB (initdb children up to ${f0(childPeak)} MiB), CPU ${f1(out.cpuPercent)}% after the first minute`);
    // keys during a pass that copies 20,000 new rows (PGlite works in the databases' threads meanwhile)
    const port = /local\s+● up\s+embedded.*@127\.0\.0\.1:(\d+)\//.exec(screen)?.[1];
    if (!port) throw new Error(`cannot read the embedded local database's port from the screen:\n${screen}`);
    const localUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
    out.keys = await keysDuringPass(
      s,
      async () => {
        await sql(localUrl, `INSERT INTO memories (agent_id, memory_kind, content, importance) SELECT a.id, 'episodic', 'bench ' || g, 0.5 FROM (SELECT id FROM agents WHERE deleted_at IS NULL LIMIT 40) AS a, generate_series(1, 500) AS g`);
        term.keys(s, 's');
        await term.waitFor(s, (t) => /sync pass running|pass \w+ (done|finished)/.test(t), 20_000);
      },
      async () => /sync pass running/.test(term.screen(s)),
    );
    log(`dashboard:   demo keys: p50 ${f0(percentile(out.keys.ms, 50))} ms, p99 ${f0(percentile(out.keys.ms, 99))} ms, max ${f0(Math.max(...out.keys.ms))} ms${out.keys.passStillRunning ? '' : ' (the pass ended before the last key)'}`);
    await term.waitFor(s, (t) => !/sync pass running/.test(t), 10 * 60_000);
    await quit(s);
    return out;
  }

  const summary = (size) => {
    const xs = runsOut[size];
    const m = (f) => median(xs.map(f));
    return {
      agents: sizes[size],
      headless: { idleCpuPercent: m((x) => x.headless.idle.cpuPercent), idleRssMiB: m((x) => x.headless.idle.rssMiB), changingCpuPercent: m((x) => x.headless.changing.cpuPercent) },
      readySeconds: m((x) => x.dashboard.readySeconds),
      idleCpuPercent: m((x) => x.dashboard.idle.cpuPercent),
      idleRssMiB: m((x) => x.dashboard.idle.rssMiB),
      idleRssMaxMiB: m((x) => x.dashboard.idle.rssMaxMiB),
      idleBytesPerSecond: m((x) => x.dashboard.idle.bytesPerSecond),
      pausedBytesPerSecond: m((x) => x.dashboard.paused.bytesPerSecond),
      pausedCpuPercent: m((x) => x.dashboard.paused.cpuPercent),
      changingCpuPercent: m((x) => x.dashboard.changing.cpuPercent),
      changingBytesPerSecond: m((x) => x.dashboard.changing.bytesPerSecond),
      changingRowsPerSecond: m((x) => x.dashboard.changing.extra.written / x.dashboard.changing.extra.seconds),
      changingRssMiB: m((x) => x.dashboard.changing.rssMiB),
      shownMaxMs: Math.max(...xs.flatMap((x) => x.dashboard.changing.extra.shown)),
      shownP50Ms: percentile(xs.flatMap((x) => x.dashboard.changing.extra.shown), 50),
      keys: keys[size],
      runs: xs,
    };
  };
  const out = {
    benchmark: 'dashboard',
    seconds,
    rate,
    runs,
    terminal: `${SIZE.x}x${SIZE.y}`,
    machine: { ...machine(), postgres: await serverVersion(pairs.small.local.admin), load1AtStart: loadAtStart, load1AtEnd: load1() },
    small: summary('small'),
    large: summary('large'),
    demo,
  };
  const worst = (f) => Math.max(f(out.small), f(out.large));
  const keyMs = [...keys.small.ms, ...keys.large.ms];
  out.targets = {
    idleCpu: target(worst((x) => x.idleCpuPercent - x.headless.idleCpuPercent), TARGETS.idleCpuOverHeadless),
    idleRss: target(worst((x) => x.idleRssMiB), TARGETS.idleRssMiB),
    changingCpu: target(worst((x) => x.changingCpuPercent - x.headless.changingCpuPercent), TARGETS.changingCpuOverHeadless),
    shownWithinRefresh: target(worst((x) => x.shownMaxMs), REFRESH_MS),
    memoryRatio: target(out.large.idleRssMiB / out.small.idleRssMiB, TARGETS.memoryRatio),
    idleBytesPerSecond: target(worst((x) => x.idleBytesPerSecond), TARGETS.idleBytesPerSecond),
    keyP99Real: target(percentile(keyMs, 99), TARGETS.keyP99Ms),
    ...(demo
      ? {
          demoRssPeak: target(demo.peakRssMiB, TARGETS.demoRssMiB),
          demoRssSteady: target(demo.steadyRssMiB, TARGETS.demoRssMiB),
          demoCpu: target(demo.cpuPercent, TARGETS.demoCpuPercent),
          keyP99Demo: target(percentile(demo.keys.ms, 99), TARGETS.keyP99Ms),
        }
      : {}),
  };
  out.totalSeconds = (Date.now() - started) / 1000;
  return { text: formatText(out), json: out };
}

function target(observed, limit) {
  return { target: limit, observed, pass: observed <= limit };
}

function groupBy(results) {
  const by = {};
  for (const r of results) (by[r.key] ??= []).push(r.ms);
  return Object.fromEntries(Object.entries(by).map(([k, ms]) => [k, { p50: percentile(ms, 50), max: Math.max(...ms), n: ms.length }]));
}

/** Children of a process (the embedded demo's initdb processes on a first start). */
function childPids(pid) {
  try {
    return fs
      .readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

function formatText(r) {
  const lines = [];
  lines.push(`dashboard: the binary in tmux (${r.terminal}) against cesar headless on the same databases, median of ${r.runs} run${r.runs > 1 ? 's' : ''} per size (sizes alternate); windows of ${r.seconds} s`);
  lines.push(`machine: ${r.machine.cores} cores (${r.machine.cpu}), ${r.machine.memGb} GB, Node ${r.machine.node}, ${r.machine.postgres.split(' on ')[0]}; load average ${r.machine.load1AtStart} at start, ${r.machine.load1AtEnd} at end`);
  lines.push('');
  const s = r.small;
  const l = r.large;
  lines.push(
    table([
      ['', `${int(s.agents)} agents`, `${int(l.agents)} agents`],
      ['  cesar headless: CPU idle (scheduler running)', `${f1(s.headless.idleCpuPercent)}%`, `${f1(l.headless.idleCpuPercent)}%`],
      ['  cesar headless: resident memory idle', `${f1(s.headless.idleRssMiB)} MiB`, `${f1(l.headless.idleRssMiB)} MiB`],
      [`  cesar headless: CPU while ${r.rate} rows/s change`, `${f1(s.headless.changingCpuPercent)}%`, `${f1(l.headless.changingCpuPercent)}%`],
      ['  dashboard: first full screen after', secs(s.readySeconds), secs(l.readySeconds)],
      ['  dashboard: CPU idle (scheduler running)', `${f1(s.idleCpuPercent)}%`, `${f1(l.idleCpuPercent)}%`],
      ['  dashboard: resident memory idle (median; max)', `${f1(s.idleRssMiB)}; ${f1(s.idleRssMaxMiB)} MiB`, `${f1(l.idleRssMiB)}; ${f1(l.idleRssMaxMiB)} MiB`],
      ['  dashboard: bytes/s idle', f1(s.idleBytesPerSecond), f1(l.idleBytesPerSecond)],
      ['  dashboard: bytes/s idle and paused (Space)', f1(s.pausedBytesPerSecond), f1(l.pausedBytesPerSecond)],
      ['  dashboard: CPU idle and paused', `${f1(s.pausedCpuPercent)}%`, `${f1(l.pausedCpuPercent)}%`],
      [`  dashboard: CPU while ${r.rate} rows/s change`, `${f1(s.changingCpuPercent)}%`, `${f1(l.changingCpuPercent)}%`],
      [`  dashboard: bytes/s while ${r.rate} rows/s change`, f1(s.changingBytesPerSecond), f1(l.changingBytesPerSecond)],
      ['  dashboard: a visible agent changed, shown after (p50; max)', `${f0(s.shownP50Ms)}; ${f0(s.shownMaxMs)} ms`, `${f0(l.shownP50Ms)}; ${f0(l.shownMaxMs)} ms`],
      ['  dashboard: resident memory while rows change', `${f1(s.changingRssMiB)} MiB`, `${f1(l.changingRssMiB)} MiB`],
      ['  key to screen during a full pass (p50; p99; max)', keyText(s.keys), keyText(l.keys)],
    ]),
  );
  lines.push('');
  for (const [name, x] of [['small', s], ['large', l]]) {
    lines.push(`  ${name} runs: dashboard CPU idle ${x.runs.map((y) => f1(y.dashboard.idle.cpuPercent)).join(' ')}%, headless ${x.runs.map((y) => f1(y.headless.idle.cpuPercent)).join(' ')}%; RSS ${x.runs.map((y) => f1(y.dashboard.idle.rssMiB)).join(' ')} MiB; idle B/s ${x.runs.map((y) => f0(y.dashboard.idle.bytesPerSecond)).join(' ')}; load ${x.runs.map((y) => y.load1).join(' ')}`);
    lines.push(`  ${name} keys: ${Object.entries(x.keys.byKey).map(([k, v]) => `${k} p50 ${f0(v.p50)} max ${f0(v.max)} ms`).join('; ')}${x.keys.passStillRunning ? '' : ' (the pass ended before the last key)'}`);
  }
  for (const [name, x] of [['small', s], ['large', l]]) {
    const c = x.runs[0].dashboard.idle.extra;
    lines.push(`  ${name}, first run: screen lines that changed while idle (of ${c.samples} one-second captures):`);
    for (const ch of c.lines) lines.push(`    line ${String(ch.line).padStart(2)}: ${String(ch.count).padStart(3)}x  e.g. "${ch.text}"`);
  }
  lines.push(`  changing: the writer achieved ${f1(s.changingRowsPerSecond)} / ${f1(l.changingRowsPerSecond)} rows/s (random agents; most are not on the visible page, which is sorted by name)`);
  if (r.demo) {
    const d = r.demo;
    lines.push('');
    lines.push(`embedded demo (npm start, a new data directory), ${d.minutes} min: resident memory peak ${f0(d.peakRssMiB)} MiB, steady (median of the second half) ${f0(d.steadyRssMiB)} MiB; CPU after the first minute ${f1(d.cpuPercent)}%`);
    lines.push(`  by minute: ${d.rssByMinute.join(' ')} MiB; the first start's initdb runs in child processes (peak ${f0(d.initChildPeakMiB)} MiB each, gone after it)`);
    lines.push(`  key to screen during a pass of 20,000 new rows (p50; p99; max): ${keyText(d.keys)}; ${Object.entries(d.keys.byKey).map(([k, v]) => `${k} max ${f0(v.max)}`).join(', ')} ms`);
  }
  lines.push('');
  const t = r.targets;
  lines.push(`target: dashboard CPU idle <= headless + ${TARGETS.idleCpuOverHeadless} points (worse size):   +${f1(t.idleCpu.observed)}  ${verdict(t.idleCpu.pass)}`);
  lines.push(`target: dashboard resident memory idle <= ${TARGETS.idleRssMiB} MiB (worse size):   ${f1(t.idleRss.observed)} MiB  ${verdict(t.idleRss.pass)}`);
  lines.push(`target: dashboard CPU at ${r.rate} changes/s <= headless + ${TARGETS.changingCpuOverHeadless} points (worse size):   +${f1(t.changingCpu.observed)}  ${verdict(t.changingCpu.pass)}`);
  lines.push(`target: a visible change shown within one refresh (${REFRESH_MS} ms; slowest):   ${f0(t.shownWithinRefresh.observed)} ms  ${verdict(t.shownWithinRefresh.pass)}`);
  lines.push(`target: memory with ${int(l.agents)} agents <= ${TARGETS.memoryRatio}x with ${int(s.agents)}:   ${t.memoryRatio.observed.toFixed(2)}x  ${verdict(t.memoryRatio.pass)}`);
  lines.push(`target: <= ${TARGETS.idleBytesPerSecond} bytes/s written while idle (worse size):   ${f1(t.idleBytesPerSecond.observed)}  ${verdict(t.idleBytesPerSecond.pass)}`);
  lines.push(`target: key to screen p99 <= ${TARGETS.keyP99Ms} ms during a full pass, real databases:   ${f0(t.keyP99Real.observed)} ms  ${verdict(t.keyP99Real.pass)}`);
  if (r.demo) {
    lines.push(`target: embedded demo resident memory <= ${TARGETS.demoRssMiB} MiB, peak over ${r.demo.minutes} min:   ${f0(t.demoRssPeak.observed)} MiB  ${verdict(t.demoRssPeak.pass)}`);
    lines.push(`target: embedded demo resident memory <= ${TARGETS.demoRssMiB} MiB, steady:   ${f0(t.demoRssSteady.observed)} MiB  ${verdict(t.demoRssSteady.pass)}`);
    lines.push(`target: embedded demo CPU <= ${TARGETS.demoCpuPercent}% of a core with its workload:   ${f1(t.demoCpu.observed)}%  ${verdict(t.demoCpu.pass)}`);
    lines.push(`target: key to screen p99 <= ${TARGETS.keyP99Ms} ms during a pass, embedded demo:   ${f0(t.keyP99Demo.observed)} ms  ${verdict(t.keyP99Demo.pass)}`);
  } else lines.push('target: embedded demo: not run (--demo-minutes 0)');
  lines.push('  (CPU in % of one core, user + system of the whole process from /proc; idle = nothing changes in the databases while the scheduler runs; the machine is shared: see the load average)');
  lines.push('', `total benchmark time ${secs(r.totalSeconds)}`);
  return `${lines.join('\n')}\n`;
}

function keyText(k) {
  return `${f0(percentile(k.ms, 50))}; ${f0(percentile(k.ms, 99))}; ${f0(Math.max(...k.ms))} ms`;
}
