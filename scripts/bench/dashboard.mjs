// Benchmark `dashboard`: the dashboard (the built binary) in a real pseudo-terminal (tmux, 120x40:
// every panel shows) with 1,000 and with 1,000,000 agents. Per run, alternating sizes:
//   memory    resident memory (VmRSS of the node process) `--seconds` after start
//   idle      from the first full screen + 5 s to that reading: CPU of the node process and bytes
//             written to the terminal per second, nothing changing in the databases
//   paused    the same, 10 s, with the schedule paused (Space): what is left when the countdown
//             and the scheduler's passes stop (where the idle bytes go)
//   changing  a writer updates `--rate` random agents per second on local for seconds/2: CPU, bytes/s
// Set-up, so that nothing else writes: real URLs (the embedded demo and its workload are off), the
// same rows on both sides (COPY; every agent live, so retention has no tombstone to purge) and sync_state seeded by one pass with a key scan before the
// dashboard starts. The scheduler runs as an operator would run it (full pass every 5m, agents
// polled every CESAR_CRITICAL_POLL, API on a free port): its passes find nothing to do while idle.
// Targets: memory with 1M agents <= 1.2x memory with 1k; <= 100 bytes/s written while idle.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { onCleanup } from './lib/cleanup.mjs';
import { copyPipe } from './lib/copy.mjs';
import { connect, createDatabasePair, REPO, serverVersion, sql, UsageError } from './lib/pg.mjs';
import { cpuSeconds, load1, rssBytes } from './lib/proc.mjs';
import { int, machine, median, secs, table, timed } from './lib/stats.mjs';
import { GENERATE } from './sync.mjs';

const DIST = path.join(REPO, 'dist');
const CLI = path.join(DIST, 'cli.js');
const TARGETS = { memoryRatio: 1.2, idleBytesPerSecond: 100 };
const SIZE = { x: 120, y: 40 };
const PAUSED_MS = 10_000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const quote = (v) => `'${String(v).replace(/'/g, `'\\''`)}'`;

/** Runs the benchmark. opts: { small, large, seconds, rate, runs, log }. */
export async function run(opts) {
  const { log, runs } = opts;
  const seconds = opts.seconds ?? 60;
  const rate = opts.rate ?? 100;
  const sizes = { small: opts.small ?? 1000, large: opts.large ?? 1_000_000 };
  if (!fs.existsSync(CLI)) throw new Error('dist/cli.js is missing: run `npm run build` first');
  try {
    execFileSync('tmux', ['-V']);
  } catch {
    throw new Error('tmux is required (apt-get install tmux)');
  }
  if (seconds < 15) throw new UsageError('--seconds must be at least 15 for the dashboard (start-up, then an idle window)');
  const { openDb } = await import(path.join(DIST, 'db/pool.js'));
  const { SyncEngine } = await import(path.join(DIST, 'sync/engine.js'));
  const { EventBus } = await import(path.join(DIST, 'events/bus.js'));
  const started = Date.now();
  const loadAtStart = load1();

  const server = `cesar-bench-${process.pid}`;
  const tmux = (...args) => execFileSync('tmux', ['-L', server, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  let socketPath = null;
  onCleanup('stop the tmux server', () => {
    try {
      tmux('kill-server');
    } catch {
      // none left
    }
    if (socketPath) fs.rmSync(socketPath, { force: true }); // tmux leaves its socket file behind
  });
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cesar-bench-dash-'));
  onCleanup('remove the dashboard working directory', () => fs.rmSync(work, { recursive: true, force: true }));

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
    const local = openDb('local', p.local.app, { connectTimeoutMs: 5000, statementTimeoutMs: 600_000 });
    const cloud = openDb('cloud', p.cloud.app, { connectTimeoutMs: 5000, statementTimeoutMs: 600_000 });
    try {
      const [s, report] = await timed(() => new SyncEngine(local, cloud, new EventBus()).runPass({ direction: 'both', deleteScan: 'always' }));
      if (!report.ok || report.totals.applied !== 0) throw new Error(`seeding pass ${size}: ${JSON.stringify(report.totals)} ok=${report.ok}`);
      log(`dashboard:   seeding pass ${secs(s)} (read ${int(report.totals.read)}, applied 0)`);
    } finally {
      await local.close();
      await cloud.close();
    }
    pairs[size] = p;
  }

  let sessions = 0;
  function start(p) {
    const name = `d${++sessions}`;
    const dataDir = fs.mkdtempSync(path.join(work, 'data-'));
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/tmp',
      TERM: 'xterm-256color',
      ENVIRONMENT: 'development',
      LOCAL_DB_URL: p.local.app,
      COCKROACH_DB_URL: p.cloud.app,
      CESAR_DATA_DIR: dataDir,
      CESAR_API_PORT: '0',
    };
    // env -i: nothing of this environment (CI, NO_COLOR, CESAR_*) reaches the program; Ink draws nothing under CI
    const assignments = Object.entries(env).map(([k, v]) => `${k}=${quote(v)}`).join(' ');
    const command = `cd ${quote(work)} && env -i ${assignments} ${quote(process.execPath)} ${quote(CLI)} dashboard; echo "EXIT=$?"; sleep 30`;
    tmux('new-session', '-d', '-s', name, '-x', String(SIZE.x), '-y', String(SIZE.y), command);
    socketPath ??= tmux('display', '-p', '-t', name, '#{socket_path}').trim();
    return name;
  }
  const screen = (s) => tmux('capture-pane', '-p', '-t', s);
  async function waitFor(s, test, timeoutMs = 60_000) {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      try {
        last = screen(s);
      } catch {
        last = '(no pane)';
      }
      if (test(last)) return last;
      await sleep(150);
    }
    throw new Error(`dashboard: timed out; the screen was:\n${last}`);
  }
  function programPid(s) {
    const shell = tmux('display', '-p', '-t', s, '#{pane_pid}').trim();
    const children = execFileSync('ps', ['-o', 'pid=,comm=', '--ppid', shell], { encoding: 'utf8' }).trim().split('\n');
    const node = children.map((l) => l.trim().split(/\s+/)).find(([pid, comm]) => pid && comm !== 'sleep');
    if (!node) throw new Error(`no program running in ${s}`);
    return Number(node[0]);
  }
  /** Bytes the program writes to the terminal during `ms`, and its CPU seconds then. */
  async function window(s, pid, ms, during) {
    const file = path.join(work, `bytes-${s}-${Date.now()}`);
    const c0 = cpuSeconds(pid);
    const t0 = performance.now();
    tmux('pipe-pane', '-t', s, '-o', `cat > ${quote(file)}`);
    const extra = during ? during() : null;
    await sleep(ms);
    tmux('pipe-pane', '-t', s);
    const wall = (performance.now() - t0) / 1000;
    const c1 = cpuSeconds(pid);
    await extra?.stop();
    await sleep(200);
    const bytes = fs.existsSync(file) ? fs.statSync(file).size : 0;
    if (c0 === null || c1 === null) throw new Error('the dashboard exited during a measurement');
    return { bytes, bytesPerSecond: bytes / wall, cpuPercent: (100 * (c1 - c0)) / wall, seconds: wall, extra: extra ? await extra.result : null };
  }
  /** Where idle bytes go: captures the screen every second and counts, per line, how often it changed. */
  function lineChanges(s) {
    let stop = false;
    const result = (async () => {
      let prev = screen(s).split('\n');
      const changes = new Map();
      let samples = 0;
      while (!stop) {
        await sleep(1000);
        const cur = screen(s).split('\n');
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

  const runsOut = { small: [], large: [] };
  for (let r = 0; r < runs; r++) {
    for (const size of r % 2 === 0 ? ['small', 'large'] : ['large', 'small']) {
      const p = pairs[size];
      log(`dashboard: run ${r + 1}/${runs}: ${int(p.n)} agents`);
      const s = start(p);
      const t0 = Date.now();
      await waitFor(s, (t) => /active syncer/.test(t) && /agent-/.test(t) && /agents\s+ok/.test(t));
      const pid = programPid(s);
      const readyS = (Date.now() - t0) / 1000;
      await sleep(5000);
      const idleMs = t0 + seconds * 1000 - Date.now();
      if (idleMs < 3000) throw new Error(`the dashboard took ${secs(readyS)} to show its first full screen: raise --seconds above ${Math.ceil(readyS + 8)}`);
      const idle = await window(s, pid, idleMs, () => lineChanges(s));
      const rss = rssBytes(pid);
      tmux('send-keys', '-t', s, 'Space');
      await waitFor(s, (t) => /PAUSED/.test(t), 10_000);
      await sleep(7000); // the "paused" message expires after 6 s
      const paused = await window(s, pid, PAUSED_MS);
      tmux('send-keys', '-t', s, 'Space');
      await waitFor(s, (t) => !/PAUSED/.test(t), 10_000);
      await sleep(2000);
      const changing = await window(s, pid, (seconds * 1000) / 2, () => writer(p));
      const rssEnd = rssBytes(pid);
      tmux('send-keys', '-t', s, 'q');
      const last = await waitFor(s, (t) => /EXIT=\d+/.test(t), 30_000);
      const exit = Number(/EXIT=(\d+)/.exec(last)[1]);
      if (exit !== 0) throw new Error(`the dashboard exited ${exit} on q`);
      try {
        tmux('kill-session', '-t', s);
      } catch {
        // gone
      }
      const one = { readySeconds: readyS, rssBytes: rss, rssEndBytes: rssEnd, idle, paused, changing, load1: load1() };
      runsOut[size].push(one);
      log(
        `dashboard:   ready ${secs(readyS)}; RSS ${(rss / 2 ** 20).toFixed(1)} MiB at ${seconds} s; idle ${idle.bytesPerSecond.toFixed(0)} B/s, CPU ${idle.cpuPercent.toFixed(1)}%; ` +
          `paused ${paused.bytesPerSecond.toFixed(0)} B/s; changing (${changing.extra.written} rows in ${changing.extra.seconds.toFixed(0)} s) ${changing.bytesPerSecond.toFixed(0)} B/s, CPU ${changing.cpuPercent.toFixed(1)}%`,
      );
    }
  }

  const summary = (size) => {
    const xs = runsOut[size];
    const m = (f) => median(xs.map(f));
    return {
      agents: sizes[size],
      rssMiB: m((x) => x.rssBytes / 2 ** 20),
      rssEndMiB: m((x) => x.rssEndBytes / 2 ** 20),
      idleCpuPercent: m((x) => x.idle.cpuPercent),
      idleBytesPerSecond: m((x) => x.idle.bytesPerSecond),
      pausedBytesPerSecond: m((x) => x.paused.bytesPerSecond),
      pausedCpuPercent: m((x) => x.paused.cpuPercent),
      changingBytesPerSecond: m((x) => x.changing.bytesPerSecond),
      changingCpuPercent: m((x) => x.changing.cpuPercent),
      changingRowsPerSecond: m((x) => x.changing.extra.written / x.changing.extra.seconds),
      readySeconds: m((x) => x.readySeconds),
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
  };
  const ratio = out.large.rssMiB / out.small.rssMiB;
  const worstIdle = Math.max(out.small.idleBytesPerSecond, out.large.idleBytesPerSecond);
  out.targets = {
    memoryRatio: { target: TARGETS.memoryRatio, observed: ratio, pass: ratio <= TARGETS.memoryRatio },
    idleBytesPerSecond: { target: TARGETS.idleBytesPerSecond, observed: worstIdle, pass: worstIdle <= TARGETS.idleBytesPerSecond },
  };
  out.totalSeconds = (Date.now() - started) / 1000;
  return { text: formatText(out), json: out };
}

const verdict = (ok) => (ok ? 'PASS' : 'FAIL');

function formatText(r) {
  const lines = [];
  lines.push(`dashboard: the binary in tmux (${r.terminal}), median of ${r.runs} run${r.runs > 1 ? 's' : ''} per size (sizes alternate)`);
  lines.push(`machine: ${r.machine.cores} cores (${r.machine.cpu}), ${r.machine.memGb} GB, Node ${r.machine.node}, ${r.machine.postgres.split(' on ')[0]}; load average ${r.machine.load1AtStart} at start, ${r.machine.load1AtEnd} at end`);
  lines.push('');
  const s = r.small;
  const l = r.large;
  const f1 = (x) => x.toFixed(1);
  lines.push(
    table([
      ['', `${int(s.agents)} agents`, `${int(l.agents)} agents`, 'large/small'],
      ['  first full screen after', secs(s.readySeconds), secs(l.readySeconds), ''],
      [`  resident memory at ${r.seconds} s`, `${f1(s.rssMiB)} MiB`, `${f1(l.rssMiB)} MiB`, `${(l.rssMiB / s.rssMiB).toFixed(2)}x`],
      ['  CPU while idle (scheduler running)', `${f1(s.idleCpuPercent)}%`, `${f1(l.idleCpuPercent)}%`, ''],
      ['  bytes/s while idle (scheduler running)', f1(s.idleBytesPerSecond), f1(l.idleBytesPerSecond), ''],
      ['  bytes/s while idle and paused (Space)', f1(s.pausedBytesPerSecond), f1(l.pausedBytesPerSecond), ''],
      ['  CPU while idle and paused', `${f1(s.pausedCpuPercent)}%`, `${f1(l.pausedCpuPercent)}%`, ''],
      [`  bytes/s while ${r.rate} rows/s change`, f1(s.changingBytesPerSecond), f1(l.changingBytesPerSecond), ''],
      [`  CPU while ${r.rate} rows/s change`, `${f1(s.changingCpuPercent)}%`, `${f1(l.changingCpuPercent)}%`, ''],
      ['  resident memory at the end', `${f1(s.rssEndMiB)} MiB`, `${f1(l.rssEndMiB)} MiB`, `${(l.rssEndMiB / s.rssEndMiB).toFixed(2)}x`],
    ]),
  );
  lines.push('');
  for (const [name, x] of [['small', s], ['large', l]]) {
    lines.push(`  ${name} runs: RSS ${x.runs.map((y) => f1(y.rssBytes / 2 ** 20)).join(' ')} MiB; idle B/s ${x.runs.map((y) => y.idle.bytesPerSecond.toFixed(0)).join(' ')}; load ${x.runs.map((y) => y.load1).join(' ')}`);
  }
  for (const [name, x] of [['small', s], ['large', l]]) {
    const c = x.runs[0].idle.extra;
    lines.push(`  ${name}, first run: screen lines that changed while idle (of ${c.samples} one-second captures):`);
    for (const ch of c.lines) lines.push(`    line ${String(ch.line).padStart(2)}: ${String(ch.count).padStart(3)}x  e.g. "${ch.text}"`);
  }
  lines.push(`  changing: the writer achieved ${f1(s.changingRowsPerSecond)} / ${f1(l.changingRowsPerSecond)} rows/s (random agents; most are not on the visible page, which is sorted by name)`);
  lines.push('');
  const t = r.targets;
  lines.push(`target: memory with ${int(l.agents)} agents <= ${TARGETS.memoryRatio}x with ${int(s.agents)}: ${t.memoryRatio.observed.toFixed(2)}x  ${verdict(t.memoryRatio.pass)}`);
  lines.push(`target: <= ${TARGETS.idleBytesPerSecond} bytes/s written while idle (worse size):  ${t.idleBytesPerSecond.observed.toFixed(1)}  ${verdict(t.idleBytesPerSecond.pass)}`);
  lines.push('  (idle = nothing changes in the databases, the scheduler runs: countdown, status, and passes of the critical tables every CESAR_CRITICAL_POLL; "paused" shows what is left without them)');
  lines.push('', `total benchmark time ${secs(r.totalSeconds)}`);
  return `${lines.join('\n')}\n`;
}
