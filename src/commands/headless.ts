import { assertSafeBind } from '../api/index.js';
import { startBackground } from '../background.js';
import { formatDuration, parseDuration } from '../config/duration.js';
import { checkListenHost } from '../config/load.js';
import { redactError } from '../config/redact.js';
import { ROLES } from '../config/types.js';
import { EXIT, usageError } from '../errors.js';
import { createLogger, LOG_LEVELS, logEvents, type LogLevel } from '../log.js';
import type { Runtime } from '../runtime.js';
import { migrationStatus } from '../status/index.js';
import { VERSION } from '../version.js';
import { LogFile, REOPEN_SIGNAL, reopenOnSignal } from '../log-file.js';
import { LOG_FILE_FLAG, logFileSetting } from './logging.js';
import type { Command } from './types.js';
import type { Logger } from 'pino';

// Kubernetes waits 30 s after SIGTERM; we promise 10 s (issue 6). The budget, in order: the API
// (readiness, connections, WebSockets), then the running pass, then the pools.
const API_GRACE_MS = 2000;
const PASS_GRACE_MS = 6000;
const TOTAL_BUDGET_MS = 9500;

/** `cesar headless`: the sync scheduler, the lease, the API and metrics, with no screen. */
export const headlessCommand: Command = {
  name: 'headless',
  summary: 'Run sync, the HTTP/WebSocket API and /metrics without a screen (servers, containers); JSON logs on stdout or --log-file',
  usage: 'headless [--interval 30s] [--host H] [--port P] [--migrate] [--demo] [--log-level debug|info|warn|error] [--log-file PATH]',
  flags: {
    interval: { type: 'string', description: 'Time between full sync passes (default CESAR_SYNC_INTERVAL, 5m); critical tables sync within about a second regardless' },
    host: { type: 'string', description: 'Address the API listens on (default CESAR_API_HOST, 127.0.0.1); a non-loopback address needs CESAR_API_TOKEN' },
    port: { type: 'string', description: 'API port (default CESAR_API_PORT, 8000); 0 picks a free port, shown in the start-up log line' },
    migrate: { type: 'boolean', description: 'Apply pending migrations to both databases at start (otherwise they are only reported)' },
    demo: { type: 'boolean', description: 'Run the demo workload on the configured databases (always on with the embedded demo databases)' },
    logLevel: { type: 'string', default: 'info', description: 'Least important log level written: debug, info, warn or error' },
    logFile: { ...LOG_FILE_FLAG, description: `${LOG_FILE_FLAG.description}; without it, logs go to stdout` },
  },
  exitCodes: '130 after SIGINT, 143 after SIGTERM (the drain takes at most 10 s), 1 failure to start',
  async run(ctx) {
    const f = ctx.flags;
    // flags first: a bad value exits 2 before anything connects
    const intervalMs = typeof f.interval === 'string' ? parseDuration(f.interval, '--interval', { minMs: 1000, maxMs: 86_400_000 }) : undefined;
    const portFlag = typeof f.port === 'string' ? parsePort(f.port) : undefined;
    const level = String(f.logLevel ?? 'info');
    if (!(LOG_LEVELS as readonly string[]).includes(level)) throw usageError('BAD_LOG_LEVEL', `--log-level: "${level}" is not allowed; use one of ${LOG_LEVELS.join(', ')}.`);

    // the log file is opened before anything connects: a path that is refused exits 2 at once
    const file = logFileSetting(ctx);
    const logFile = file === undefined ? null : LogFile.open(file, ctx.stderr);
    const log = createLogger({ level: level as LogLevel, ...(logFile ? { destination: logFile } : {}) });
    const offReopen = reopenOnSignal(logFile, (r) => {
      if (r.ok === null) log.info({ event: 'log.reopen' }, `${REOPEN_SIGNAL}: logging to stdout, no log file to reopen`);
      else if (r.ok) log.info({ event: 'log.reopen', path: r.path }, `${REOPEN_SIGNAL}: log file reopened`);
      else log.error({ event: 'log.reopen', error: r.error }, `${REOPEN_SIGNAL}: cannot reopen the log file; still writing to the old one`);
    });
    if (logFile) ctx.stderr.write(`cesar headless: logging to ${logFile.path} (JSON lines; ${REOPEN_SIGNAL} reopens it)\n`);

    // Signals are caught from the very start: one arriving while the databases start is honoured after.
    const got: { signal: NodeJS.Signals | null } = { signal: null };
    let wake: () => void = () => undefined;
    const stopped = new Promise<void>((resolve) => (wake = resolve));
    const onSignal = (s: NodeJS.Signals) => {
      got.signal ??= s;
      wake();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    try {
      const rt = await ctx.runtime();
      const host = typeof f.host === 'string' ? f.host : rt.config.api.host;
      const hostProblem = checkListenHost(host, '--host');
      if (hostProblem) throw usageError('BAD_HOST', hostProblem);
      assertSafeBind(host, rt.config.api.token);
      const off = logEvents(rt.bus, log);
      const bg = await startBackground(rt, {
        ...(intervalMs ? { intervalMs } : {}),
        ...(f.migrate === true ? { migrate: true } : {}),
        ...(f.demo === true ? { demo: true } : {}),
        api: { host, port: portFlag ?? rt.config.api.port },
      });
      log.info(
        {
          event: 'startup',
          version: VERSION,
          environment: rt.config.environment,
          embedded: rt.config.embedded,
          databases: Object.fromEntries(ROLES.map((r) => [r, rt.maybeDb(r)?.label ?? null])),
          api: bg.api,
          intervalMs: intervalMs ?? rt.config.syncIntervalMs,
          criticalTables: rt.config.criticalTables,
          leaseTtlMs: rt.config.sync.leaseTtlMs,
          migrations: bg.migrations,
          demo: f.demo === true || rt.config.embedded,
          configFiles: rt.config.loadedFiles,
          logFile: logFile?.path ?? null,
          pid: process.pid,
        },
        `cesar headless ${VERSION} started${bg.api && 'url' in bg.api ? `: API on ${bg.api.url}` : ''}`,
      );
      if (!(f.migrate === true || rt.config.embedded)) await reportMigrations(rt, log);
      await stopped;
      const signal = got.signal ?? 'SIGTERM';
      const t0 = Date.now();
      log.info({ event: 'shutdown', signal }, `${signal}: shutting down (readiness fails, connections close, the running pass finishes, the lease is released)`);
      await bg.apiServer?.close(API_GRACE_MS);
      const done = await within(bg.close(), PASS_GRACE_MS);
      if (!done) log.warn({ event: 'shutdown' }, `a sync pass was still running after ${formatDuration(PASS_GRACE_MS)}: abandoned (nothing is lost; the sync lease expires by itself within ${formatDuration(rt.config.sync.leaseTtlMs)})`);
      off();
      const closedPools = await within(rt.close(), Math.max(100, TOTAL_BUDGET_MS - (Date.now() - t0)));
      const code = signal === 'SIGINT' ? EXIT.sigint : EXIT.sigterm;
      log.info({ event: 'stopped', exitCode: code, ms: Date.now() - t0, cleanly: done && closedPools }, `stopped, exit ${code}`);
      return code;
    } catch (err) {
      // a failure to start is on stderr (the entry point); a log file gets it too, for `tail -f`
      if (logFile) log.error({ event: 'startup.failed', error: redactError(err) }, 'cesar headless did not start');
      throw err;
    } finally {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      offReopen();
      logFile?.close();
    }
  },
};

function parsePort(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) > 65535) throw usageError('BAD_PORT', `--port: "${text}" is not a port; use a whole number from 0 to 65535 (0: any free port).`);
  return Number(text);
}

/** Resolves true when `p` settles within `ms`, false otherwise (p keeps running). */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const ok = await Promise.race([p.then(() => true, () => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)))]);
  clearTimeout(timer);
  return ok;
}

/** Without --migrate, pending, modified or failed migrations are reported; sync runs where the schema allows. */
async function reportMigrations(rt: Runtime, log: Logger): Promise<void> {
  for (const role of ROLES) {
    const db = rt.maybeDb(role);
    if (!db) continue;
    try {
      const s = await migrationStatus(db);
      const waiting = s.files.filter((x) => x.state !== 'applied');
      if (waiting.length === 0 && s.problems.length === 0) {
        log.info({ event: 'migrations', database: role, counts: s.counts }, `${role} database: every migration is applied`);
        continue;
      }
      log.warn(
        { event: 'migrations', database: role, counts: s.counts, files: waiting.map((x) => ({ name: x.name, state: x.state })), problems: s.problems },
        `${role} database: ${waiting.length} migration${waiting.length === 1 ? '' : 's'} not applied (${[...new Set(waiting.map((x) => x.state))].join(', ')}); ` +
          'run `cesar migrate` or start with --migrate. Sync runs for the tables whose schema matches on both sides.',
      );
    } catch (err) {
      log.error({ event: 'migrations', database: role, error: redactError(err) }, `${role} database: cannot read the migration state`);
    }
  }
}
