// Benchmark `fanout`: `--clients` (200) WebSocket clients on /ws/events during a pass that emits at
// least 1,000 events: every healthy client must receive every event, in order (checked position by
// position against the list of events the server published, recorded in the server's process);
// delivery latency p50/p99/max; /health latency under that load (10 concurrent keep-alive loops)
// against the same loops on an idle server.
//
// The API runs in this process (dist/api, dist/background: what `cesar headless` starts) on a free
// loopback port; the clients and the /health loops run in two child processes (lib/ws-swarm.mjs),
// off the server's event loop. Events carry no sequence number, so a start and an end marker (log
// events with a nonce) bound the comparison. The pass: `--rows` (10000) agents updated on local, then
// a pass in both directions of agents by the scheduler's runNow (as POST /api/sync runs it): per page
// up, up to 200 agent.changed events and one progress event; down reads the echoes back (skipped).
// Both directions, as the scheduler runs them: a pass up alone would also log every row as a
// (spurious) conflict, since the cloud versions it wrote earlier were never read back by a pass down.
// The same pass with no client connected gives the /health reference.
//
// The shipped hub refuses clients beyond DEFAULT_HUB.maxClients (503): that is checked first with the
// shipped settings, and reported; the measurement itself raises the limit to the number of clients.
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { onCleanup } from './lib/cleanup.mjs';
import { createDatabasePair, REPO, serverVersion, sql } from './lib/pg.mjs';
import { epochMs, load1 } from './lib/proc.mjs';
import { int, machine, secs, table } from './lib/stats.mjs';
import { GENERATE } from './sync.mjs';

const DIST = path.join(REPO, 'dist');
const SWARM = path.join(path.dirname(new URL(import.meta.url).pathname), 'lib', 'ws-swarm.mjs');
const HEALTH_CONCURRENCY = 10;
/** /health under test, and one loop of /livez (answers without touching anything): the event loop's own delay. */
const LOOPS = [
  { path: '/health', concurrency: HEALTH_CONCURRENCY },
  { path: '/livez', concurrency: 1 },
];
const MIN_EVENTS = 1000;

/** A child process speaking the swarm protocol; request(msg, replyCmd) resolves with the reply. */
async function startChild(role) {
  const child = fork(SWARM, [role], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  onCleanup(`stop the ${role} child`, async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGKILL');
    await exited;
  });
  const waiters = [];
  child.on('message', (m) => {
    const i = waiters.findIndex((w) => w.cmd === m.cmd);
    if (i >= 0) waiters.splice(i, 1)[0].resolve(m);
  });
  const wait = (cmd, timeoutMs = 120_000) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the ${role} child did not answer ${cmd} within ${timeoutMs} ms`)), timeoutMs);
      waiters.push({ cmd, resolve: (m) => (clearTimeout(timer), resolve(m)) });
      exited.then(({ code, signal }) => reject(new Error(`the ${role} child exited (${code ?? signal}) while waiting for ${cmd}`)));
    });
  await wait('ready', 30_000);
  return {
    request: (msg, reply, timeoutMs) => {
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

/** Runs the benchmark. opts: { clients, rows (when given), rowsGiven, log }. */
export async function run(opts) {
  const { log } = opts;
  const clients = opts.clients ?? 200;
  const rows = opts.rowsGiven ? opts.rows : 10_000;
  const started = Date.now();
  const loadAtStart = load1();
  const { loadConfig } = await import(path.join(DIST, 'config/load.js'));
  const { redact } = await import(path.join(DIST, 'config/redact.js'));
  const { openRuntime } = await import(path.join(DIST, 'runtime.js'));
  const { EventBus } = await import(path.join(DIST, 'events/bus.js'));
  const { startBackground } = await import(path.join(DIST, 'background.js'));
  const { startApi } = await import(path.join(DIST, 'api/server.js'));
  const { DEFAULT_HUB } = await import(path.join(DIST, 'api/ws.js'));

  log('fanout: creating throwaway databases and applying the schema');
  const dbs = await createDatabasePair('fanout');
  await sql(dbs.localUrl, GENERATE, [rows]);
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'cesar-bench-fanout-'));
  onCleanup('remove the fanout working directory', () => fs.rmSync(cwd, { recursive: true, force: true }));
  const config = loadConfig({ cwd, env: { LOCAL_DB_URL: dbs.localUrl, COCKROACH_DB_URL: dbs.cloudUrl, ENVIRONMENT: 'development' } });
  const rt = await openRuntime(config, { bus: new EventBus() });
  onCleanup('close the runtime', () => rt.close());
  // every client comes from 127.0.0.1: the per-address limits (8 sockets, 16 requests) are raised to the swarm's size
  const limits = { perClientSockets: clients + 10, perClientRequests: clients + 10 };
  const bg = await startBackground(rt, { api: { host: '127.0.0.1', port: 0, limits, hub: { maxClients: Math.max(clients, DEFAULT_HUB.maxClients) } }, start: false });
  onCleanup('close the background', () => bg.close());
  if (!bg.api || !('url' in bg.api)) throw new Error(`the API did not start: ${JSON.stringify(bg.api)}`);
  const base = bg.api.url;
  const wsUrl = `${base.replace(/^http/, 'ws')}/ws/events`;

  const swarm = await startChild('ws');
  const health = await startChild('health');

  // 0. the shipped hub settings, on a second API of the same process: how many of the clients get in?
  // (the per-address limit is raised: the swarm is one address, and that limit is not the hub's)
  const shipped = await startApi({ rt, scheduler: bg.scheduler, engine: bg.engine }, { host: '127.0.0.1', port: 0, limits });
  const closeShipped = onCleanup('close the shipped-settings API', () => shipped.close(500));
  const probe = await swarm.request({ cmd: 'connect', url: `${shipped.url.replace(/^http/, 'ws')}/ws/events`, n: clients, nonce: 'probe' }, 'connected');
  await swarm.request({ cmd: 'collect', expected: [], timeoutMs: 0 }, 'collected'); // closes them
  await closeShipped();
  log(`fanout: with the shipped hub settings (maxClients ${DEFAULT_HUB.maxClients}): ${probe.connected} of ${clients} clients accepted (${JSON.stringify(probe.outcomes)})`);

  // 1. the rows reach the cloud (untimed); from now on each pass copies `rows` updated rows up
  log(`fanout: initial pass of ${int(rows)} new agents (untimed, no clients)`);
  checkPass(await bg.scheduler.runNow({ direction: 'both', tables: ['agents'], deleteScan: 'never' }), 'inserted', rows);
  const touchAll = () => sql(dbs.localUrl, 'UPDATE agents SET version = version + 1, updated_at = now()');

  // 2. /health on an idle server (no clients, no pass), then during a pass with no clients
  await health.request({ cmd: 'start', url: base, loops: LOOPS }, 'started');
  await new Promise((r) => setTimeout(r, 3000));
  const healthIdle = (await health.request({ cmd: 'stop' }, 'health')).result;
  await touchAll();
  log(`fanout: pass of ${int(rows)} updated agents with no client connected (the /health reference)`);
  await health.request({ cmd: 'start', url: base, loops: LOOPS }, 'started');
  const tAlone = performance.now();
  checkPass(await bg.scheduler.runNow({ direction: 'both', tables: ['agents'], deleteScan: 'never' }), 'updated', rows);
  const passAloneSeconds = (performance.now() - tAlone) / 1000;
  const healthPassAlone = (await health.request({ cmd: 'stop' }, 'health')).result;

  // 3. the clients, then the same pass between two markers, /health loops running throughout
  const nonce = randomUUID().slice(0, 8);
  const conn = await swarm.request({ cmd: 'connect', url: wsUrl, n: clients, nonce }, 'connected');
  log(`fanout: ${conn.connected} of ${clients} clients connected with maxClients raised to ${Math.max(clients, DEFAULT_HUB.maxClients)} (${JSON.stringify(conn.outcomes)})`);
  if (conn.connected !== clients) throw new Error(`only ${conn.connected} of ${clients} clients connected: ${JSON.stringify(conn.outcomes)}`);
  await touchAll();

  // the server's own list: every event as the hub serialises it, stamped before any listener runs
  const expected = [];
  let recording = false;
  const bus = rt.bus;
  const emit = bus.emit.bind(bus);
  bus.emit = (event) => {
    const t = epochMs();
    const stamped = emit(event);
    if (recording) expected.push([redact(JSON.stringify(stamped)), t]);
    return stamped;
  };
  await health.request({ cmd: 'start', url: base, loops: LOOPS }, 'started');
  recording = true;
  bus.emit({ type: 'log', level: 'info', message: `fanout-start-${nonce}` });
  log(`fanout: pass of ${int(rows)} updated agents with ${clients} clients connected`);
  const t0 = performance.now();
  const report = await bg.scheduler.runNow({ direction: 'both', tables: ['agents'], deleteScan: 'never' });
  const passSeconds = (performance.now() - t0) / 1000;
  bus.emit({ type: 'log', level: 'info', message: `fanout-end-${nonce}` });
  recording = false;
  bus.emit = emit;
  checkPass(report, 'updated', rows);
  const collected = (await swarm.request({ cmd: 'collect', expected, timeoutMs: 60_000 }, 'collected', 180_000)).report;
  const healthLoaded = (await health.request({ cmd: 'stop' }, 'health')).result;
  await swarm.close();
  await health.close();
  const byType = {};
  for (const [text] of expected) {
    const type = JSON.parse(text).type;
    byType[type] = (byType[type] ?? 0) + 1;
  }

  const out = {
    benchmark: 'fanout',
    clients,
    rows,
    machine: { ...machine(), postgres: await serverVersion(dbs.localUrl), load1AtStart: loadAtStart, load1AtEnd: load1() },
    shippedHub: { maxClients: DEFAULT_HUB.maxClients, accepted: probe.connected, outcomes: probe.outcomes },
    events: expected.length,
    eventsByType: byType,
    passSeconds,
    passAloneSeconds,
    delivery: collected,
    health: { concurrency: HEALTH_CONCURRENCY, idle: healthIdle, passAlone: healthPassAlone, underLoad: healthLoaded },
  };
  const everyClientEverything = collected.complete === clients && collected.dropped === 0;
  out.targets = {
    enoughEvents: { target: MIN_EVENTS, observed: expected.length, pass: expected.length >= MIN_EVENTS },
    everyClientEveryEventInOrder: { target: clients, observed: collected.complete, pass: everyClientEverything },
    shippedSettingsAcceptAll: { target: clients, observed: probe.connected, pass: probe.connected === clients },
  };
  out.totalSeconds = (Date.now() - started) / 1000;
  const text = formatText(out);
  if (!everyClientEverything || expected.length < MIN_EVENTS) {
    // fail loudly: the report is printed on stderr, the benchmark exits 1
    log(text);
    throw new Error(
      expected.length < MIN_EVENTS
        ? `the pass emitted only ${expected.length} events (at least ${MIN_EVENTS} are needed: raise --rows)`
        : `${clients - collected.complete} of ${clients} clients did not receive every event in order: ${JSON.stringify(collected.incomplete.slice(0, 3))}`,
    );
  }
  return { text, json: out };
}

/** Fails unless the pass synced exactly `n` agents rows up as `kind` (inserted or updated). */
function checkPass(report, kind, n) {
  const t = report.tables.find((x) => x.table === 'agents' && x.direction === 'up');
  if (!report.ok || t?.[kind] !== n) throw new Error(`the pass was not clean (expected ${n} rows ${kind}): ${JSON.stringify(t ?? report).slice(0, 500)}`);
}

const f = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : String(x));
const verdict = (ok) => (ok ? 'PASS' : 'FAIL');

function formatText(r) {
  const lines = [];
  lines.push(`fanout: ${r.clients} WebSocket clients on /ws/events during a pass (both directions) of ${int(r.rows)} agents updated on local`);
  lines.push(`machine: ${r.machine.cores} cores (${r.machine.cpu}), ${r.machine.memGb} GB, Node ${r.machine.node}, ${r.machine.postgres.split(' on ')[0]}; load average ${r.machine.load1AtStart} at start, ${r.machine.load1AtEnd} at end`);
  lines.push('');
  const d = r.delivery;
  lines.push(`  events published between the markers: ${int(r.events)} (${Object.entries(r.eventsByType).map(([k, v]) => `${k} ${v}`).join(', ')}); pass ${secs(r.passSeconds)} (${secs(r.passAloneSeconds)} with no client)`);
  lines.push(`  clients that received every event, in order: ${d.complete} of ${d.clients} (dropped ${d.dropped}, reordered ${d.reordered}, events missing ${d.missingEvents}, extra ${d.extraEvents})`);
  lines.push(`  delivery (publish to arrival in the client process), ${int(d.latencyMs.n)} deliveries: p50 ${f(d.latencyMs.p50)} ms, p99 ${f(d.latencyMs.p99)} ms, max ${f(d.latencyMs.max)} ms`);
  lines.push('');
  const h = r.health;
  const row = (label, x) => [label, int(x.n), `${f(x.p50, 2)} ms`, `${f(x.p99, 2)} ms`, `${f(x.max, 2)} ms`, JSON.stringify(x.statuses)];
  lines.push(
    table([
      ['  latency', 'requests', 'p50', 'p99', 'max', 'statuses'],
      row(`  GET /health (${h.concurrency} loops), idle server`, h.idle['/health']),
      row(`  GET /health (${h.concurrency} loops), the pass, no client`, h.passAlone['/health']),
      row(`  GET /health (${h.concurrency} loops), ${r.clients} clients + the pass`, h.underLoad['/health']),
      row('  GET /livez (1 loop), idle server', h.idle['/livez']),
      row('  GET /livez (1 loop), the pass, no client', h.passAlone['/livez']),
      row(`  GET /livez (1 loop), ${r.clients} clients + the pass`, h.underLoad['/livez']),
    ]),
  );
  lines.push('  (/livez touches nothing: its latency is the server\'s event-loop delay; /health also waits for the database probe, at most one per second)');
  lines.push('');
  const t = r.targets;
  lines.push(`target: a pass emitting >= ${MIN_EVENTS} events:                      ${int(t.enoughEvents.observed)}  ${verdict(t.enoughEvents.pass)}`);
  lines.push(`target: every healthy client receives every event, in order: ${t.everyClientEveryEventInOrder.observed}/${r.clients}  ${verdict(t.everyClientEveryEventInOrder.pass)}`);
  lines.push(`target: ${r.clients} clients connected with the shipped settings:        ${t.shippedSettingsAcceptAll.observed}/${r.clients}  ${verdict(t.shippedSettingsAcceptAll.pass)}  (hub maxClients ${r.shippedHub.maxClients}: the rest get ${Object.keys(r.shippedHub.outcomes).filter((k) => k !== 'ok').join(', ') || 'nothing'})`);
  lines.push('  the delivery and /health measurements ran with the hub limit raised to the number of clients (an ApiOptions.hub setting, not configurable from the environment)');
  lines.push('', `total benchmark time ${secs(r.totalSeconds)}`);
  return `${lines.join('\n')}\n`;
}
