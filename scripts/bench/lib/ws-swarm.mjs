// Child process of the `fanout` benchmark (node:child_process fork, IPC), so that the clients do
// not share the server's event loop. Two roles, by argv[2]:
//   ws      N WebSocket clients on /ws/events; each records every message after a start marker
//           with its arrival time, and at `collect` is checked against the server's own list
//   health  concurrent loops of GET <path> (keep-alive) until `stop`; returns the latencies per path
import http from 'node:http';
import WebSocket from 'ws';
import { epochMs, percentile } from './proc.mjs';

const send = (m) => process.send(m);

if (process.argv[2] === 'health') {
  let stop = false;
  let run = null;
  process.on('message', async (m) => {
    if (m.cmd === 'start') {
      stop = false;
      // m.loops: [{ path, concurrency }]: e.g. /health under test and /livez (touches nothing) as the event-loop reference
      const agent = new http.Agent({ keepAlive: true, maxSockets: m.loops.reduce((a, l) => a + l.concurrency, 0) });
      const byPath = Object.fromEntries(m.loops.map((l) => [l.path, { latencies: [], statuses: {} }]));
      const loop = async (p) => {
        const acc = byPath[p];
        while (!stop) {
          const t0 = performance.now();
          const status = await new Promise((resolve) => {
            const req = http.get(`${m.url}${p}`, { agent }, (res) => {
              res.resume();
              res.on('end', () => resolve(res.statusCode));
            });
            req.on('error', (e) => resolve(`error ${e.code ?? e.message}`));
            req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
          });
          acc.latencies.push(performance.now() - t0);
          acc.statuses[status] = (acc.statuses[status] ?? 0) + 1;
        }
      };
      run = Promise.all(m.loops.flatMap((l) => Array.from({ length: l.concurrency }, () => loop(l.path)))).then(() => {
        agent.destroy();
        return Object.fromEntries(
          Object.entries(byPath).map(([p, { latencies, statuses }]) => [
            p,
            { n: latencies.length, p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies.reduce((a, b) => (b > a ? b : a), -Infinity), statuses },
          ]),
        );
      });
      send({ cmd: 'started' });
    } else if (m.cmd === 'stop') {
      stop = true;
      send({ cmd: 'health', result: await run });
    } else if (m.cmd === 'exit') {
      process.exit(0);
    }
  });
} else {
  /** @type {Array<{ws: WebSocket, recording: boolean, got: Array<[string, number]>, closed: null | {code: number, reason: string}, ended: boolean}>} */
  let clients = [];
  let nonce = '';

  const connectOne = (url) =>
    new Promise((resolve) => {
      const c = { ws: null, recording: false, got: [], closed: null, ended: false, snapshot: false };
      const ws = new WebSocket(url, { perMessageDeflate: false });
      c.ws = ws;
      let settled = false;
      const done = (outcome) => {
        if (!settled) {
          settled = true;
          resolve({ c, outcome });
        }
      };
      ws.on('message', (data) => {
        const t = epochMs();
        const text = data.toString('utf8');
        if (!c.snapshot) {
          c.snapshot = text.startsWith('{"type":"snapshot"');
          if (c.snapshot) done('ok');
          return;
        }
        if (!c.recording && nonce && text.includes(`fanout-start-${nonce}`)) c.recording = true;
        if (c.recording && !c.ended) {
          c.got.push([text, t]);
          if (text.includes(`fanout-end-${nonce}`)) c.ended = true;
        }
      });
      ws.on('close', (code, reason) => {
        c.closed = { code, reason: reason.toString() };
        done(`closed ${code}`);
      });
      ws.on('unexpected-response', (_req, res) => done(`HTTP ${res.statusCode}`));
      ws.on('error', (e) => done(`error ${e.message}`));
      setTimeout(() => done('no snapshot within 30 s'), 30_000).unref();
    });

  process.on('message', async (m) => {
    if (m.cmd === 'connect') {
      nonce = m.nonce;
      const results = await Promise.all(Array.from({ length: m.n }, () => connectOne(m.url)));
      clients = results.filter((r) => r.outcome === 'ok').map((r) => r.c);
      const outcomes = {};
      for (const r of results) outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1;
      // refused or failed clients are closed now; they take no part in what follows
      for (const r of results) if (r.outcome !== 'ok') r.c.ws.terminate();
      send({ cmd: 'connected', connected: clients.length, outcomes });
    } else if (m.cmd === 'collect') {
      // wait (bounded) until every open client saw the end marker
      const deadline = Date.now() + m.timeoutMs;
      while (Date.now() < deadline && clients.some((c) => !c.ended && !c.closed)) await new Promise((r) => setTimeout(r, 50));
      const expected = m.expected; // [text, emitEpochMs] in the server's order
      const latencies = [];
      const report = { clients: clients.length, complete: 0, dropped: 0, incomplete: [], reordered: 0, missingEvents: 0, extraEvents: 0 };
      clients.forEach((c, ci) => {
        if (c.closed && !c.ended) report.dropped++;
        // complete and in order: exactly the server's list, position by position
        const exact = c.got.length === expected.length && c.got.every(([text], i) => text === expected[i][0]);
        if (exact) {
          report.complete++;
          c.got.forEach(([, t], i) => latencies.push(t - expected[i][1]));
          return;
        }
        // what went wrong: missing, extra, or the same events in another order
        const want = new Map();
        for (const [text] of expected) want.set(text, (want.get(text) ?? 0) + 1);
        let extra = 0;
        for (const [text] of c.got) {
          const k = want.get(text) ?? 0;
          if (k > 0) want.set(text, k - 1);
          else extra++;
        }
        const missing = [...want.values()].reduce((a, b) => a + b, 0);
        if (missing === 0 && extra === 0) report.reordered++;
        report.missingEvents += missing;
        report.extraEvents += extra;
        if (report.incomplete.length < 10) {
          const d = c.got.findIndex(([text], i) => text !== expected[i]?.[0]);
          const firstDiff = d < 0 ? c.got.length : d;
          report.incomplete.push({ client: ci, received: c.got.length, expected: expected.length, missing, extra, closed: c.closed, firstDifferenceAt: firstDiff, got: c.got[firstDiff]?.[0]?.slice(0, 160) ?? null, wanted: expected[firstDiff]?.[0]?.slice(0, 160) ?? null });
        }
      });
      report.latencyMs = { n: latencies.length, p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies.length ? latencies.reduce((a, b) => (b > a ? b : a), -Infinity) : NaN };
      for (const c of clients) c.ws.close(1000);
      send({ cmd: 'collected', report });
    } else if (m.cmd === 'exit') {
      for (const c of clients) c.ws.terminate();
      process.exit(0);
    }
  });
}
send({ cmd: 'ready' });
