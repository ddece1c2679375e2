#!/usr/bin/env node
// Benchmarks of CESAR Console (never part of `npm test`).
//
//   node scripts/bench/run.mjs [name...] [--rows N] [--runs K] [--naive-rows M] [--profile] [--json]
//        [--small N] [--large N] [--changed N] [--seconds S] [--rate R] [--clients N] [--keys N] [--demo-minutes M]
//
// With no name, every benchmark runs. They use the real PostgreSQL at PG_BENCH_URL (default
// postgres://postgres@127.0.0.1:5432/postgres, loopback only) and the BUILT code in dist/
// (`npm run build` first). Each creates throwaway databases named cesar_bench_* and drops them at
// the end, also on failure and on Ctrl-C. Exit codes: 0 ok, 1 a benchmark failed, 2 usage.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { isInterrupted, markInterrupted, runCleanups } from './lib/cleanup.mjs';
import { assertLoopback, benchAdminUrl, leftoverDatabases, REPO, UsageError } from './lib/pg.mjs';

/** The benchmarks, by name: adding one is one line (its module exports `run(opts)` -> { text, json }). */
const BENCHMARKS = {
  sync: { summary: 'initial load of agents up and down: COPY ceiling vs cesar (in-process, binary) vs row-at-a-time', load: () => import('./sync.mjs') },
  incremental: { summary: '1,000 changed rows in 100,000 and in 1,000,000: pass time vs table size and vs the initial load', load: () => import('./incremental.mjs') },
  propagation: { summary: 'headless continuous mode: commit-to-visible latency both ways at 100 updates/s, writer latency, CPU', load: () => import('./propagation.mjs') },
  dashboard: { summary: 'the dashboard in a pseudo-terminal vs cesar headless (1,000 and 1,000,000 agents) and on the embedded demo: CPU, memory, bytes written, key to screen', load: () => import('./dashboard.mjs') },
  fanout: { summary: '200 WebSocket clients during a pass of 1,000+ events: complete, in order, delivery p99, /health latency', load: () => import('./fanout.mjs') },
  api: { summary: '200 API clients against headless on 0.0.0.0 with writers on both databases: no failed pass, never down, lag p99, no 5xx', load: () => import('./api.mjs') },
};

const USAGE = `Usage: node scripts/bench/run.mjs [name...] [flags]

Benchmarks:
${Object.keys(BENCHMARKS)
  .map((n) => `  ${n.padEnd(12)} ${BENCHMARKS[n].summary}`)
  .join('\n')}

Flags:
  --rows N         sync: rows of the data set (default 200000; --rows 20000 --runs 1 is a quick smoke run);
                   fanout: agents updated and synced by the observed pass (default 10000)
  --runs K         timed runs per contender / per size / stopped-running segment pairs (propagation), medians
                   reported (default 3)
  --naive-rows M   sample for the row-at-a-time baseline, extrapolated to N (default 2000)
  --batch N        cesar's rows per page and per write statement (default: the engine's, 500)
  --profile        also profile one in-process pass per direction (sync) / per table size (incremental)
  --small N        incremental: rows of the small table (default 100000); dashboard: the small agent count (default 1000)
  --large N        incremental: rows of the large table; dashboard: the large agent count (default 1000000 for both;
                   e.g. --large 200000 for a quick run)
  --changed N      incremental: rows changed before each timed pass (default 1000)
  --seconds S      propagation: seconds of writing per side and condition (default 60); api: seconds per condition
                   (default 30);
                   dashboard: length of the idle window (the changing window is half of it; default 60)
  --keys N         dashboard: key presses timed during a full pass, per size and on the demo (default 120)
  --demo-minutes M dashboard: minutes of the embedded demo (default 10; 0 skips it)
  --rate R         propagation / dashboard: rows updated per second by the writer (default 100); api: per
                   database (default 20)
  --clients N      fanout: WebSocket clients (default 200); api: HTTP clients (default 200)
  --json           print the results as JSON on stdout (progress stays on stderr)
  -h, --help       this help

Environment: PG_BENCH_URL (default postgres://postgres@127.0.0.1:5432/postgres, must be loopback).
Exit codes: 0 ok, 1 a benchmark failed, 2 usage or configuration error.`;

const OPTIONS = {
  rows: { type: 'string', default: '200000' },
  runs: { type: 'string', default: '3' },
  'naive-rows': { type: 'string', default: '2000' },
  batch: { type: 'string' },
  small: { type: 'string' },
  large: { type: 'string' },
  changed: { type: 'string' },
  seconds: { type: 'string' },
  rate: { type: 'string' },
  clients: { type: 'string' },
  keys: { type: 'string' },
  'demo-minutes': { type: 'string' },
  profile: { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
};

function wholeNumber(text, flag, min, max) {
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) throw new UsageError(`${flag} must be a whole number from ${min} to ${max}, not "${text}"`);
  return Number(text);
}

function parse(argv) {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(err.message);
  }
  const { values, positionals } = parsed;
  if (values.help) return { help: true };
  const unknown = positionals.filter((n) => !Object.hasOwn(BENCHMARKS, n));
  if (unknown.length) throw new UsageError(`unknown benchmark ${unknown.map((n) => JSON.stringify(n)).join(', ')}. Benchmarks: ${Object.keys(BENCHMARKS).join(', ')}.`);
  return {
    names: positionals.length ? [...new Set(positionals)] : Object.keys(BENCHMARKS),
    rows: wholeNumber(values.rows, '--rows', 100, 50_000_000),
    runs: wholeNumber(values.runs, '--runs', 1, 100),
    naiveRows: wholeNumber(values['naive-rows'], '--naive-rows', 1, 50_000_000),
    profile: values.profile,
    json: values.json,
    ...(values.batch === undefined ? {} : { batch: wholeNumber(values.batch, '--batch', 1, 10_000) }),
    rowsGiven: argv.some((a) => a === '--rows' || a.startsWith('--rows=')),
    ...(values.small === undefined ? {} : { small: wholeNumber(values.small, '--small', 100, 50_000_000) }),
    ...(values.large === undefined ? {} : { large: wholeNumber(values.large, '--large', 100, 50_000_000) }),
    ...(values.changed === undefined ? {} : { changed: wholeNumber(values.changed, '--changed', 1, 1_000_000) }),
    ...(values.seconds === undefined ? {} : { seconds: wholeNumber(values.seconds, '--seconds', 3, 3600) }),
    ...(values.rate === undefined ? {} : { rate: wholeNumber(values.rate, '--rate', 1, 10_000) }),
    ...(values.clients === undefined ? {} : { clients: wholeNumber(values.clients, '--clients', 1, 10_000) }),
    ...(values.keys === undefined ? {} : { keys: wholeNumber(values.keys, '--keys', 6, 10_000) }),
    ...(values['demo-minutes'] === undefined ? {} : { demoMinutes: wholeNumber(values['demo-minutes'], '--demo-minutes', 0, 600) }),
  };
}

/** Warns when a source file is newer than its build: the benchmark measures dist/, not src/. */
function warnIfStale(log) {
  const src = path.join(REPO, 'src');
  const dist = path.join(REPO, 'dist');
  if (!fs.existsSync(path.join(dist, 'cli.js'))) throw new UsageError('dist/ is missing: run `npm run build` first');
  const stale = [];
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) {
        const built = path.join(dist, path.relative(src, p)).replace(/\.tsx?$/, '.js');
        if (!fs.existsSync(built) || fs.statSync(built).mtimeMs < fs.statSync(p).mtimeMs) stale.push(path.relative(REPO, p));
      }
    }
  };
  walk(src);
  if (stale.length) log(`bench: warning: dist/ is older than ${stale.slice(0, 3).join(', ')}${stale.length > 3 ? ` and ${stale.length - 3} more` : ''}; run \`npm run build\` to measure the current code`);
}

async function main() {
  const log = (m) => process.stderr.write(`${m}\n`);
  let opts;
  try {
    opts = parse(process.argv.slice(2));
    if (opts.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    assertLoopback(benchAdminUrl());
    warnIfStale(log);
  } catch (err) {
    if (err instanceof UsageError) {
      log(`bench: ${err.message}`);
      return 2;
    }
    throw err;
  }

  const onSignal = (signal, code) => async () => {
    if (isInterrupted()) return;
    markInterrupted();
    log(`bench: ${signal}: stopping child processes and dropping the benchmark databases`);
    await runCleanups(log);
    process.exit(code);
  };
  // after an interrupt the benchmark's code runs on against pools and clients the cleanup is closing:
  // its failures are expected then and must not end the process before the databases are dropped
  process.on('unhandledRejection', (err) => {
    if (isInterrupted()) return;
    throw err;
  });
  process.on('SIGINT', onSignal('SIGINT', 130));
  process.on('SIGTERM', onSignal('SIGTERM', 143));

  try {
    const leftovers = await leftoverDatabases();
    if (leftovers.length) log(`bench: note: databases left by an earlier, killed run: ${leftovers.join(', ')} (DROP DATABASE ... WITH (FORCE) to remove them)`);
  } catch (err) {
    log(`bench: cannot reach PostgreSQL at PG_BENCH_URL: ${err.message}`);
    return 1;
  }

  const results = [];
  let failed = false;
  let usage = false;
  for (const name of opts.names) {
    try {
      const bench = await BENCHMARKS[name].load();
      const res = await bench.run({ ...opts, log });
      results.push(res.json);
      if (!opts.json) process.stdout.write(`${res.text}\n`);
    } catch (err) {
      if (err instanceof UsageError) {
        usage = true; // a flag value this benchmark cannot use: exit 2
        log(`bench ${name}: ${err.message}`);
      } else {
        failed = true;
        if (!isInterrupted()) log(`bench ${name}: FAILED: ${err?.stack ?? err}`);
      }
    } finally {
      if (!isInterrupted()) await runCleanups(log);
    }
    if (isInterrupted()) return 130; // the signal handler finishes the cleanup and exits
  }
  if (opts.json) process.stdout.write(`${JSON.stringify(results.length === 1 ? results[0] : results, null, 2)}\n`);
  return usage ? 2 : failed ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  async (err) => {
    process.stderr.write(`bench: ${err?.stack ?? err}\n`);
    await runCleanups();
    process.exitCode = 1;
  },
);
