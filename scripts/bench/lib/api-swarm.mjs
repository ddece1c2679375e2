// Child process of the `api` benchmark (node:child_process fork, IPC): N concurrent HTTP clients of
// the API, in their own process so that they do not share an event loop with the writers and the
// observers of the parent. Each client is a loop of requests (keep-alive) from one of several
// loopback source addresses (127.0.0.10, .11, ...), so that the server's per-address limit sees
// several clients as it would on a network; a 429 is honoured as a well-behaved client does
// (it waits Retry-After, at most a second).
//   start { url, clients, addresses, token, readToken, ids }  ->  started
//   stop                                                     ->  stopped { statuses, byPath, errors, requests }
import http from 'node:http';
import { percentile } from './proc.mjs';

const send = (m) => process.send(m);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// the mix: heavy and light reads, one agent, health, bookkeeping; a few requests with no or a wrong token
const MIX = [
  [30, () => ({ path: '/api/agents?limit=500', auth: 'read' })],
  [20, () => ({ path: '/api/agents?limit=1', auth: 'read' })],
  [10, (ids) => ({ path: `/api/agents/${ids[Math.floor(Math.random() * ids.length)]}`, auth: 'read' })],
  [10, () => ({ path: '/api/agents?status=busy&limit=50', auth: 'api' })],
  [10, () => ({ path: '/health', auth: 'read' })],
  [6, () => ({ path: '/api/sync/state', auth: 'read' })],
  [6, () => ({ path: '/api/sync/conflicts?limit=50', auth: 'read' })],
  [4, () => ({ path: '/api/agents?limit=10', auth: 'none' })],
  [4, () => ({ path: '/metrics', auth: 'read' })],
];
const TOTAL = MIX.reduce((a, [w]) => a + w, 0);

function pick(ids) {
  let r = Math.random() * TOTAL;
  for (const [w, make] of MIX) {
    r -= w;
    if (r < 0) return make(ids);
  }
  return MIX[0][1](ids);
}

let stop = false;
let run = null;

process.on('message', (m) => {
  if (m.cmd === 'start') {
    stop = false;
    const statuses = {};
    const byPath = {};
    const errors = {};
    let requests = 0;
    let staleResets = 0;
    const agents = m.addresses.map((a) => new http.Agent({ keepAlive: true, maxSockets: m.clients, localAddress: a }));
    const client = async (i) => {
      const agent = agents[i % agents.length];
      while (!stop) {
        const { path, auth } = pick(m.ids);
        const headers = auth === 'read' ? { Authorization: `Bearer ${m.readToken}` } : auth === 'api' ? { Authorization: `Bearer ${m.token}` } : {};
        const t0 = performance.now();
        const get = () =>
          new Promise((resolve) => {
            const req = http.get(`${m.url}${path}`, { agent, headers }, (r) => {
              r.resume();
              r.on('end', () => resolve({ status: r.statusCode, retryAfter: Number(r.headers['retry-after'] ?? 0) }));
            });
            req.on('error', (e) => resolve({ status: `error ${e.code ?? e.message}`, reused: req.reusedSocket }));
            req.setTimeout(30_000, () => req.destroy(new Error('timeout after 30 s')));
          });
        let res = await get();
        // a kept-alive socket the server closed (keepAliveTimeout) just as it was reused: retried
        // once, as HTTP clients do for an idempotent request; counted apart
        if (res.reused && res.status === 'error ECONNRESET') {
          staleResets++;
          res = await get();
        }
        const ms = performance.now() - t0;
        requests++;
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        const key = path.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/, ':id');
        (byPath[key] ??= { latencies: [], statuses: {} }).latencies.push(ms);
        byPath[key].statuses[res.status] = (byPath[key].statuses[res.status] ?? 0) + 1;
        if (typeof res.status === 'string') {
          errors[res.status] = (errors[res.status] ?? 0) + 1;
          await sleep(100);
        } else if (res.status === 429) {
          await sleep(Math.min(1000, Math.max(100, res.retryAfter * 1000)) * (0.5 + Math.random()));
        }
      }
    };
    const t0 = performance.now();
    run = Promise.all(Array.from({ length: m.clients }, (_v, i) => client(i))).then(() => {
      for (const a of agents) a.destroy();
      const seconds = (performance.now() - t0) / 1000;
      return {
        seconds,
        requests,
        staleResets,
        statuses,
        errors,
        byPath: Object.fromEntries(Object.entries(byPath).map(([p, v]) => [p, { n: v.latencies.length, p50: percentile(v.latencies, 50), p99: percentile(v.latencies, 99), statuses: v.statuses }])),
      };
    });
    send({ cmd: 'started' });
  } else if (m.cmd === 'stop') {
    stop = true;
    void run.then((result) => send({ cmd: 'stopped', result }));
  } else if (m.cmd === 'exit') {
    process.exit(0);
  }
});
send({ cmd: 'ready' });
