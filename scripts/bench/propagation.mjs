// Benchmark `propagation`: continuous mode (`cesar headless`, the built binary, as a child).
// A writer updates rows of a critical table (agents) at `--rate` per second on local, then on the
// cloud. Per change: the time from its commit (the writer's UPDATE returned) to visible on the
// other side (an observer polls the other database every 10 ms for the exact updated_at written,
// one indexed lookup of all pending ids per poll). In the same run: the writer's own
// UPDATE+COMMIT latency with cesar running and with cesar stopped, and the CPU used by cesar plus
// the database backends serving it.
//
// "Stopped" is SIGSTOP: the process is frozen (no CPU, no statements; its connections stay idle),
// so the two conditions alternate within one run: per side, `--runs` pairs of [stopped, running]
// segments of seconds/runs each. After a stopped segment cesar is continued and the rows written
// meanwhile are left to propagate (untimed catch-up) before the running segment starts. The sync
// lease TTL is raised to 2 minutes so that a frozen cesar keeps its lease (at the default 15 s it
// would lose it and start with a full pass). Everything else is cesar's default configuration:
// critical tables polled every CESAR_CRITICAL_POLL (200 ms), full passes every CESAR_SYNC_INTERVAL (5m).
//
// Targets: p99 <= 500 ms local to cloud and <= 1.5 s cloud to local; writer p99 with cesar <= 1.5x
// without; cesar's total CPU <= 15% of one core at 100 updates/s.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { killAfter, onCleanup } from './lib/cleanup.mjs';
import { copyPipe } from './lib/copy.mjs';
import { connect, createDatabasePair, REPO, serverVersion, sql, UsageError } from './lib/pg.mjs';
import { CpuTally, cpuSeconds, load1, percentile } from './lib/proc.mjs';
import { int, machine, median, secs, table } from './lib/stats.mjs';
import { GENERATE } from './sync.mjs';

const DIST = path.join(REPO, 'dist');
const CLI = path.join(DIST, 'cli.js');
const POLL_MS = 10;
const TARGETS = { upP99Ms: 500, downP99Ms: 1500, writerRatio: 1.5, cpuPercent: 15 };
const STATUSES = ['idle', 'active', 'busy', 'paused', 'error', 'offline'];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const nowMs = () => performance.now();

/** The id the generator gives row g: md5('agent' || g)::uuid. */
function agentId(g) {
  const h = createHash('md5').update(`agent${g}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Runs the benchmark. opts: { seconds, rate, runs, log }. */
export async function run(opts) {
  const { log } = opts;
  const seconds = opts.seconds ?? 60;
  const rate = opts.rate ?? 100;
  const runs = opts.runs;
  const segmentMs = (seconds * 1000) / runs;
  if (segmentMs < 1000) throw new UsageError(`--seconds ${seconds} over ${runs} runs gives segments under a second; raise --seconds`);
  if (!fs.existsSync(CLI)) throw new Error('dist/cli.js is missing: run `npm run build` first');
  const { openDb } = await import(path.join(DIST, 'db/pool.js'));
  const { SyncEngine } = await import(path.join(DIST, 'sync/engine.js'));
  const { EventBus } = await import(path.join(DIST, 'events/bus.js'));
  const started = Date.now();
  const loadAtStart = load1();

  log('propagation: creating throwaway databases and applying the schema');
  const dbs = await createDatabasePair('prop');
  const side = { local: { admin: dbs.localUrl, app: dbs.localUrl }, cloud: { admin: dbs.cloudAdminUrl, app: dbs.cloudUrl } };
  const dbNames = [new URL(dbs.localUrl).pathname.slice(1), new URL(dbs.cloudAdminUrl).pathname.slice(1)];

  // rows: each written once per segment, distinct across segments (so "visible" is an exact match)
  const perSegment = Math.ceil((rate * segmentMs) / 1000) + rate; // + margin for a writer catching up
  const N = Math.max(10_000, Math.ceil(4 * runs * perSegment * 1.05));
  log(`propagation: generating ${int(N)} agents rows on local, copying them to the cloud, one pass to seed sync_state`);
  await sql(side.local.admin, GENERATE, [N]);
  await copyPipe(side.local.admin, side.cloud.admin);
  await Promise.all([sql(side.local.admin, 'VACUUM ANALYZE agents'), sql(side.cloud.admin, 'VACUUM ANALYZE agents')]);
  {
    const local = openDb('local', side.local.app, { connectTimeoutMs: 5000, statementTimeoutMs: 60_000 });
    const cloud = openDb('cloud', side.cloud.app, { connectTimeoutMs: 5000, statementTimeoutMs: 60_000 });
    try {
      // identical rows on both sides: read, skipped; the key scan runs now so that it is not due during the measurement
      const report = await new SyncEngine(local, cloud, new EventBus()).runPass({ direction: 'both', deleteScan: 'always' });
      if (!report.ok || report.totals.applied !== 0) throw new Error(`seeding pass: ${JSON.stringify(report.totals)} ok=${report.ok}`);
    } finally {
      await local.close();
      await cloud.close();
    }
  }
  let nextRow = 1;
  const takeRows = (n) => {
    if (nextRow + n - 1 > N) throw new Error('ran out of generated rows (the writer fell far behind?)');
    const out = [];
    while (out.length < n) {
      const g = nextRow++;
      if (g > N) throw new Error('ran out of generated rows');
      if (g % 50 !== 0) out.push(g); // every 50th generated row is a tombstone (deleted_at set, purged by retention): writers update live agents
    }
    return out;
  };

  // --- cesar headless, the built binary ---
  const cesar = await startHeadless(side, log);

  const monitor = await connect(side.local.admin);
  onCleanup('close the monitor connection', () => monitor.end().catch(() => undefined));
  const backendPids = async () => (await monitor.query("SELECT pid FROM pg_stat_activity WHERE application_name = 'cesar' AND datname = ANY($1)", [dbNames])).rows.map((r) => Number(r.pid));
  /** Freezes cesar between two statements: never while one of its sessions is in a transaction (it would hold locks and the horizon). */
  async function freeze() {
    for (let i = 0; i < 200; i++) {
      process.kill(cesar.pid, 'SIGSTOP');
      const { rows } = await monitor.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'cesar' AND datname = ANY($1) AND state <> 'idle'", [dbNames]);
      if (Number(rows[0].n) === 0) return;
      process.kill(cesar.pid, 'SIGCONT');
      await sleep(5 + Math.random() * 20);
    }
    throw new Error('could not freeze cesar between transactions within 200 attempts');
  }
  const thaw = () => process.kill(cesar.pid, 'SIGCONT');

  /** sync_state totals of agents per direction (rows read, applied, skipped by cesar so far). */
  async function syncTotals() {
    const { rows } = await monitor.query("SELECT direction, total_read::text AS read, total_applied::text AS applied, total_skipped::text AS skipped FROM sync_state WHERE table_name = 'agents'");
    return Object.fromEntries(rows.map((x) => [x.direction, { read: Number(x.read), applied: Number(x.applied), skipped: Number(x.skipped) }]));
  }

  /**
   * The writer: one connection, one UPDATE (autocommit: UPDATE + COMMIT) per row at fixed times
   * (rate per second, open loop; when an update is late the next one starts at once). Returns the
   * commits { g, id, ts, at } and the latencies (ms); 40001 (cloud) is retried and counted.
   */
  async function write(client, rows, durationMs, onCommit) {
    const t0 = nowMs();
    const latencies = [];
    const commits = [];
    let retries = 0;
    let i = 0;
    while (i < rows.length) {
      const due = t0 + (i * 1000) / rate;
      if (due - t0 >= durationMs) break;
      const wait = due - nowMs();
      if (wait > 0) await sleep(wait);
      const g = rows[i++];
      const id = agentId(g);
      const s = nowMs();
      let res;
      for (let attempt = 0; ; attempt++) {
        try {
          res = await client.query(
            'UPDATE agents SET status = $2, version = version + 1, last_heartbeat_at = now(), updated_at = now() WHERE id = $1 RETURNING updated_at::text AS ts',
            [id, STATUSES[g % STATUSES.length]],
          );
          break;
        } catch (err) {
          if (err.code !== '40001' || attempt >= 20) throw err;
          retries++;
        }
      }
      const at = nowMs();
      if (res.rowCount !== 1) throw new Error(`writer: row ${g} (${id}) not found`);
      latencies.push(at - s);
      const c = { g, id, ts: res.rows[0].ts, at };
      commits.push(c);
      onCommit?.(c);
    }
    return { latencies, commits, retries, seconds: (nowMs() - t0) / 1000 };
  }

  /** Polls `client` every POLL_MS until each pending commit shows its exact updated_at; records commit-to-visible (ms). */
  function observe(client) {
    const pending = new Map();
    const seen = [];
    let stop = false;
    let error = null;
    const loop = (async () => {
      while (!stop || pending.size > 0) {
        const t = nowMs();
        if (pending.size > 0) {
          const { rows } = await client.query('SELECT id::text AS id, updated_at::text AS ts FROM agents WHERE id = ANY($1::uuid[])', [[...pending.keys()]]);
          const back = nowMs();
          for (const r of rows) {
            const c = pending.get(r.id);
            if (c && r.ts === c.ts) {
              pending.delete(r.id);
              seen.push(back - c.at);
            }
          }
        }
        if (stop && pending.size > 0 && nowMs() > stop) throw new Error(`${pending.size} change(s) not visible on the other side 60 s after the writer stopped`);
        await sleep(Math.max(0, POLL_MS - (nowMs() - t)));
      }
    })().catch((err) => (error = err));
    return {
      add: (c) => pending.set(c.id, c),
      /** Waits until every change is visible (at most 60 s). */
      async finish() {
        stop = nowMs() + 60_000;
        await loop;
        if (error) throw error;
        return seen;
      },
    };
  }

  const results = {};
  const cpu = { cesarSeconds: 0, backendSeconds: 0, wallSeconds: 0, backends: 0 };
  for (const [source, target, dir] of [
    ['local', 'cloud', 'up'],
    ['cloud', 'local', 'down'],
  ]) {
    const writer = await connect(side[source].app);
    const observer = await connect(side[target].admin);
    const r = { segments: [], visibleMs: [], writerOn: [], writerOff: [], retries: 0 };
    const totals0 = await syncTotals();
    try {
      for (let k = 0; k < runs; k++) {
        // stopped: the writer alone
        await freeze();
        log(`propagation: ${dir} ${k + 1}/${runs}: cesar stopped, writing ${rate}/s on ${source} for ${secs(segmentMs / 1000)}`);
        const off = await write(writer, takeRows(perSegment), segmentMs);
        thaw();
        // catch-up (untimed): what was written while cesar was frozen reaches the other side first
        const catchUp = observe(observer);
        for (const c of off.commits) catchUp.add(c);
        await catchUp.finish();
        await sleep(1000);
        // running: the writer, the observer, and the CPU accounting
        log(`propagation: ${dir} ${k + 1}/${runs}: cesar running, writing ${rate}/s on ${source} for ${secs(segmentMs / 1000)}`);
        const tally = new CpuTally();
        const c0 = cpuSeconds(cesar.pid);
        tally.sample(await backendPids());
        let sampling = true;
        const sampler = (async () => {
          while (sampling) {
            await sleep(1000);
            if (sampling) tally.sample(await backendPids());
          }
        })().catch(() => undefined); // a failed sample (the monitor closed by an interrupt) ends sampling, never the process
        const obs = observe(observer);
        const w0 = nowMs();
        let on;
        try {
          on = await write(writer, takeRows(perSegment), segmentMs, (c) => obs.add(c));
        } finally {
          sampling = false;
          await sampler;
        }
        const wall = (nowMs() - w0) / 1000;
        const c1 = cpuSeconds(cesar.pid);
        tally.sample(await backendPids());
        const visible = await obs.finish();
        if (visible.length !== on.commits.length) throw new Error(`${dir}: ${on.commits.length} commits, ${visible.length} seen`);
        if (c0 === null || c1 === null) throw new Error('cesar headless exited during the measurement');
        cpu.cesarSeconds += c1 - c0;
        cpu.backendSeconds += tally.total();
        cpu.wallSeconds += wall;
        cpu.backends = Math.max(cpu.backends, tally.processes);
        r.visibleMs.push(...visible);
        r.writerOn.push(...on.latencies);
        r.writerOff.push(...off.latencies);
        r.retries += on.retries + off.retries;
        r.segments.push({
          offP99Ms: percentile(off.latencies, 99),
          onP99Ms: percentile(on.latencies, 99),
          ratio: percentile(on.latencies, 99) / percentile(off.latencies, 99),
          visibleP99Ms: percentile(visible, 99),
          rateOn: on.commits.length / on.seconds,
          rateOff: off.commits.length / off.seconds,
          cesarCpuPercent: (100 * (c1 - c0)) / wall,
          backendCpuPercent: (100 * tally.total()) / wall,
        });
        const s = r.segments.at(-1);
        log(`propagation:   visible p99 ${s.visibleP99Ms.toFixed(0)} ms; writer p99 ${s.onP99Ms.toFixed(2)} ms running vs ${s.offP99Ms.toFixed(2)} ms stopped; cesar CPU ${s.cesarCpuPercent.toFixed(1)}% + backends ${s.backendCpuPercent.toFixed(1)}%`);
      }
    } finally {
      thaw();
      await writer.end().catch(() => undefined);
      await observer.end().catch(() => undefined);
    }
    const totals1 = await syncTotals();
    // where the work goes: rows cesar read per row it applied, in each direction, over this side's segments
    r.syncWork = Object.fromEntries(Object.keys(totals1).map((k) => [k, Object.fromEntries(Object.entries(totals1[k]).map(([f, v]) => [f, v - (totals0[k]?.[f] ?? 0)]))]));
    results[dir] = r;
  }

  const exit = await cesar.stop();
  const summary = (xs) => ({ n: xs.length, p50: percentile(xs, 50), p99: percentile(xs, 99), max: xs.reduce((a, b) => (b > a ? b : a), -Infinity) });
  const out = {
    benchmark: 'propagation',
    rate,
    secondsPerCondition: seconds,
    runs,
    pollMs: POLL_MS,
    rows: N,
    machine: { ...machine(), postgres: await serverVersion(side.local.admin), load1AtStart: loadAtStart, load1AtEnd: load1() },
    directions: {},
    cpu: {
      ...cpu,
      cesarPercent: (100 * cpu.cesarSeconds) / cpu.wallSeconds,
      backendPercent: (100 * cpu.backendSeconds) / cpu.wallSeconds,
      totalPercent: (100 * (cpu.cesarSeconds + cpu.backendSeconds)) / cpu.wallSeconds,
    },
    headless: { exitCode: exit.code, signal: exit.signal, errorLines: cesar.errors, passesLogged: cesar.passes, fullPasses: cesar.fullPasses },
  };
  for (const [dir, r] of Object.entries(results)) {
    out.directions[dir] = {
      visibleMs: summary(r.visibleMs),
      writerWithCesarMs: summary(r.writerOn),
      writerWithoutCesarMs: summary(r.writerOff),
      writerP99Ratios: r.segments.map((s) => s.ratio),
      writerP99RatioMedian: median(r.segments.map((s) => s.ratio)),
      writerRetries40001: r.retries,
      syncWork: r.syncWork,
      segments: r.segments,
    };
  }
  const d = out.directions;
  out.targets = {
    upP99: { target: TARGETS.upP99Ms, observed: d.up.visibleMs.p99, pass: d.up.visibleMs.p99 <= TARGETS.upP99Ms },
    downP99: { target: TARGETS.downP99Ms, observed: d.down.visibleMs.p99, pass: d.down.visibleMs.p99 <= TARGETS.downP99Ms },
    writerLocal: { target: TARGETS.writerRatio, observed: d.up.writerP99RatioMedian, pass: d.up.writerP99RatioMedian <= TARGETS.writerRatio },
    writerCloud: { target: TARGETS.writerRatio, observed: d.down.writerP99RatioMedian, pass: d.down.writerP99RatioMedian <= TARGETS.writerRatio },
    cpu: { target: TARGETS.cpuPercent, observed: out.cpu.totalPercent, pass: out.cpu.totalPercent <= TARGETS.cpuPercent },
  };
  out.totalSeconds = (Date.now() - started) / 1000;
  return { text: formatText(out), json: out };
}

/** Starts `node dist/cli.js headless` on the pair; resolves once its first full pass completed. */
async function startHeadless(side, log) {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'cesar-bench-prop-')); // no stray .env is read
  onCleanup('remove the headless working directory', () => fs.rmSync(cwd, { recursive: true, force: true }));
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(CESAR_|LOCAL_DB_URL$|DATABASE_URL$|COCKROACH_DB_URL$|ENVIRONMENT$|CI$)/.test(k)));
  Object.assign(env, {
    LOCAL_DB_URL: side.local.app,
    COCKROACH_DB_URL: side.cloud.app,
    ENVIRONMENT: 'development',
    CESAR_API_PORT: '0',
    CESAR_CRITICAL_TABLES: 'agents',
    CESAR_SYNC_LEASE_TTL: '2m', // a frozen (SIGSTOP) cesar keeps its lease; see the header
  });
  const child = spawn(process.execPath, [CLI, 'headless', '--log-level', 'info'], { env, cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  const state = { pid: child.pid, errors: [], passes: 0, fullPasses: 0 };
  let ready;
  const firstFull = new Promise((resolve) => (ready = resolve));
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
      // (the schema is applied without `cesar migrate`, so "migrations not applied" warnings are expected)
      if ((e.level === 'error' || e.level === 'fatal' || e.level === 'warn') && e.event !== 'migrations') state.errors.push(`${e.level}: ${e.msg}${e.error ? `: ${e.error}` : ''}`.slice(0, 300));
      if (e.event === 'sync.pass.completed') {
        state.passes++;
        if (e.scope === 'full') {
          state.fullPasses++;
          ready(true);
        }
      }
      if (e.event === 'sync.pass.failed') ready(false);
    }
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr = (stderr + d.toString('utf8')).slice(-4000)));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return exited;
    try {
      process.kill(child.pid, 'SIGCONT');
      process.kill(child.pid, 'SIGTERM');
    } catch {
      // gone
    }
    return killAfter(child, exited, 12_000);
  };
  onCleanup('stop cesar headless', stop);
  log(`propagation: started cesar headless (pid ${child.pid}); waiting for its first full pass`);
  let timer;
  const ok = await Promise.race([firstFull, exited.then(() => 'exited'), new Promise((r) => (timer = setTimeout(() => r('timeout'), 120_000)))]);
  clearTimeout(timer);
  if (ok !== true) throw new Error(`cesar headless did not complete its first full pass (${ok === false ? 'the pass failed' : ok}): ${state.errors.join(' | ')} ${stderr.trim()}`);
  return Object.assign(state, { stop });
}

const f0 = (x) => x.toFixed(0);
const f2 = (x) => x.toFixed(2);
const verdict = (ok) => (ok ? 'PASS' : 'FAIL');

function formatText(r) {
  const lines = [];
  lines.push(`propagation: cesar headless, a writer updating agents rows at ${r.rate}/s, ${r.secondsPerCondition} s per side with cesar running and ${r.secondsPerCondition} s stopped (${r.runs} alternating segments each)`);
  lines.push(`machine: ${r.machine.cores} cores (${r.machine.cpu}), ${r.machine.memGb} GB, Node ${r.machine.node}, ${r.machine.postgres.split(' on ')[0]}; load average ${r.machine.load1AtStart} at start, ${r.machine.load1AtEnd} at end`);
  lines.push('');
  const rows = [['', 'changes', 'p50', 'p99', 'max']];
  for (const [dir, d] of Object.entries(r.directions)) {
    const name = dir === 'up' ? 'local -> cloud' : 'cloud -> local';
    rows.push([`  commit to visible, ${name}`, int(d.visibleMs.n), `${f0(d.visibleMs.p50)} ms`, `${f0(d.visibleMs.p99)} ms`, `${f0(d.visibleMs.max)} ms`]);
  }
  for (const [dir, d] of Object.entries(r.directions)) {
    const where = dir === 'up' ? 'local' : 'cloud';
    rows.push([`  writer on ${where}, cesar running`, int(d.writerWithCesarMs.n), `${f2(d.writerWithCesarMs.p50)} ms`, `${f2(d.writerWithCesarMs.p99)} ms`, `${f2(d.writerWithCesarMs.max)} ms`]);
    rows.push([`  writer on ${where}, cesar stopped`, int(d.writerWithoutCesarMs.n), `${f2(d.writerWithoutCesarMs.p50)} ms`, `${f2(d.writerWithoutCesarMs.p99)} ms`, `${f2(d.writerWithoutCesarMs.max)} ms`]);
  }
  lines.push(table(rows));
  lines.push('');
  for (const [dir, d] of Object.entries(r.directions)) {
    lines.push(`  writer p99 ratio (running/stopped) per segment, ${dir === 'up' ? 'local' : 'cloud'}: ${d.writerP99Ratios.map(f2).join(' ')} (median ${f2(d.writerP99RatioMedian)}); 40001 retries: ${d.writerRetries40001}`);
    lines.push(`  achieved write rate per running segment: ${d.segments.map((s) => s.rateOn.toFixed(1)).join(' ')} /s`);
    lines.push(`  cesar's work while the writer wrote on ${dir === 'up' ? 'local' : 'cloud'} (catch-ups included): ${Object.entries(d.syncWork).map(([k, w]) => `${k}: read ${int(w.read)}, applied ${int(w.applied)}, skipped ${int(w.skipped)}`).join('; ')}`);
  }
  lines.push(`  CPU while running (${f0(r.cpu.wallSeconds)} s): cesar ${r.cpu.cesarPercent.toFixed(1)}% + ${r.cpu.backends} database backends ${r.cpu.backendPercent.toFixed(1)}% = ${r.cpu.totalPercent.toFixed(1)}% of one core`);
  lines.push(`  headless: ${r.headless.passesLogged} passes logged at info (${r.headless.fullPasses} full), exit ${r.headless.exitCode ?? r.headless.signal} on SIGTERM${r.headless.errorLines.length ? `; warnings/errors: ${r.headless.errorLines.slice(0, 5).join(' | ')}` : ''}`);
  lines.push('');
  const t = r.targets;
  lines.push(`target: p99 local -> cloud <= ${TARGETS.upP99Ms} ms:          ${f0(t.upP99.observed)} ms  ${verdict(t.upP99.pass)}`);
  lines.push(`target: p99 cloud -> local <= ${TARGETS.downP99Ms} ms:         ${f0(t.downP99.observed)} ms  ${verdict(t.downP99.pass)}`);
  lines.push(`target: writer p99 with cesar <= ${TARGETS.writerRatio}x without (local): ${f2(t.writerLocal.observed)}x  ${verdict(t.writerLocal.pass)}`);
  lines.push(`target: writer p99 with cesar <= ${TARGETS.writerRatio}x without (cloud): ${f2(t.writerCloud.observed)}x  ${verdict(t.writerCloud.pass)}`);
  lines.push(`target: cesar + backends CPU <= ${TARGETS.cpuPercent}% of one core:   ${t.cpu.observed.toFixed(1)}%  ${verdict(t.cpu.pass)}`);
  lines.push('');
  lines.push(`  visibility is observed by polling the other side every ${POLL_MS} ms and stamped when the poll returns: it overstates by up to`);
  lines.push(`  ${POLL_MS} ms plus one lookup; the commit is stamped when the writer's UPDATE returns (after COMMIT), which understates by a round trip.`);
  lines.push('  The writer and the observer share this process; cesar is stopped with SIGSTOP (frozen between transactions).');
  lines.push('', `total benchmark time ${secs(r.totalSeconds)}`);
  return `${lines.join('\n')}\n`;
}
