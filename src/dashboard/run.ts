import type { Background } from '../background.js';
import { startBackground } from '../background.js';
import { redactError } from '../config/redact.js';
import type { CommandContext } from '../commands/types.js';
import { EXIT, isCesarError } from '../errors.js';
import { LiveSource } from '../status/live.js';
import { realActions } from './actions.js';
import { wireBus } from '../tui/data/bus.js';
import { Poller } from '../tui/data/poller.js';
import { wireScheduler } from '../tui/data/scheduler.js';
import { shareInkCaches } from '../tui/ink-caches.js';
import { logFileSetting } from '../commands/logging.js';
import { defaultDashboardLog, openDashboardLog, type DashboardLog } from './log.js';
import { mountApp } from '../tui/mount.js';
import { Controller } from '../tui/state/controller.js';
import { initialState } from '../tui/state/initial.js';
import { DashboardStore, startClock } from '../tui/state/store.js';
import { anchorFrames, onCrash, onSignals, Screen } from '../tui/terminal.js';
import { themeFor } from '../tui/theme/theme.js';

/** How the dashboard was asked to run. */
export interface DashboardOptions {
  readonly: boolean;
  demo: boolean;
  refreshMs: number;
}

/** How long shutdown waits for a running pass before leaving it to the lease's expiry. */
const CLOSE_TIMEOUT_MS = 15_000;

/** The API line of the header, from the background (the API engineer's `api` field, when present). */
export function apiText(bg: Background | null): string | null {
  const api = (bg as { api?: { url: string } | { error: string } | null } | null)?.api;
  if (api === undefined) return null;
  if (api === null) return 'API off';
  return 'url' in api ? `API ${api.url}` : `API off: ${api.error}`;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)))]).finally(() => clearTimeout(timer));
}

/**
 * The dashboard's log, opened before the databases and the screen: --log-file or CESAR_LOG_FILE
 * (refused with exit 2 when it cannot be opened), else `$CESAR_DATA_DIR/dashboard.log`. That
 * default is refused too when it is a symbolic link or not a regular file; any other failure
 * (a read-only directory) only costs the log, as it always did.
 */
function openLog(ctx: CommandContext): DashboardLog {
  const asked = logFileSetting(ctx);
  if (asked !== undefined) return openDashboardLog(asked);
  const dataDir = ctx.config().dataDir;
  try {
    return openDashboardLog(defaultDashboardLog(dataDir), { createDir: dataDir });
  } catch (err) {
    if (!isCesarError(err, 'LOG_FILE')) throw err;
    ctx.stderr.write(`cesar: warning: ${err.message} The dashboard runs without a log (set --log-file or CESAR_LOG_FILE).\n`);
    return openDashboardLog(null);
  }
}

/**
 * Runs the dashboard until `q`, Ctrl-C or a signal; returns the exit code (0, 130, 143, 129) and
 * throws on an unexpected error after restoring the terminal. The caller checked for a TTY.
 */
export async function runDashboard(ctx: CommandContext, opts: DashboardOptions): Promise<number> {
  const io = { stdin: process.stdin, stdout: ctx.stdout as NodeJS.WriteStream, stderr: ctx.stderr as NodeJS.WriteStream };
  const logs = openLog(ctx);
  ctx.stderr.write('cesar: opening the databases (the embedded demo takes about 10 s on its first start)…\n');
  let rt: Awaited<ReturnType<typeof ctx.runtime>>;
  try {
    rt = await ctx.runtime();
  } catch (err) {
    logs.close();
    throw err;
  }
  logs.attach(rt.bus);
  const store = new DashboardStore(
    initialState({ environment: rt.config.environment, embedded: rt.config.embedded, readonly: opts.readonly, refreshMs: opts.refreshMs, columns: io.stdout.columns || 80, rows: io.stdout.rows || 24 }),
  );
  const source = new LiveSource(rt);
  const poller = new Poller(source, store);
  let bg: Background | null = null;

  let finish!: (outcome: { code: number } | { error: unknown }) => void;
  const ended = new Promise<{ code: number } | { error: unknown }>((resolve) => (finish = resolve));
  const actions = realActions({ rt, source, background: () => bg, poller, quit: (code) => finish({ code }) });
  const controller = new Controller(store, actions, opts.readonly);
  if (opts.readonly) controller.say('read-only: no background sync, no API; sync, dry-run, migrate and pause are off', 'warn');

  await shareInkCaches();
  const screen = new Screen(io.stdin, io.stdout);
  // a hung-up terminal (SIGHUP, dropped SSH link) makes reads and writes fail with EIO: that must
  // end the session cleanly (lease released, databases closed), not crash it
  const onIoError = (): void => finish({ code: 129 });
  for (const stream of [io.stdin, io.stdout, io.stderr]) stream.on('error', onIoError);
  const offSignals = onSignals((code) => finish({ code }));
  const offCrash = onCrash(() => screen.restore());
  screen.enter();
  const unanchor = anchorFrames(io.stdout);
  const stopClock = startClock(store);
  const unbus = wireBus(rt.bus, store, poller);
  poller.start(opts.refreshMs);
  const app = mountApp({ io, store, controller, theme: themeFor(process.env), screen, onError: (error) => finish({ error }) });

  // the screen is up first: on the embedded demo, migrations run now and show in the event log
  // --readonly observes only: no passes (they write to both databases), no demo writes, no
  // migrations, no API (its POST endpoints start work); the screen still polls and shows everything
  const background = opts.readonly ? { start: false, demo: false, migrate: false, api: false as const } : { demo: rt.config.embedded || opts.demo };
  let ending = false;
  let unscheduler = null as (() => void) | null;
  const starting = startBackground(rt, background).then(
    (b) => {
      bg = b;
      // the scheduler announces its status changes: the header follows them, nothing polls it
      if (!ending) unscheduler = wireScheduler(b.scheduler, store);
      const api = apiText(b);
      store.update((s) => ({ ...s, header: { ...s.header, api } }));
      return b;
    },
    (err: unknown) => {
      // a configuration error (e.g. a public API bind without a token) ends the session with exit 2
      if (isCesarError(err) && err.exitCode === EXIT.usage) finish({ error: err });
      else rt.bus.emit({ type: 'log', level: 'error', message: `background work did not start: ${redactError(err)}` });
      return null;
    },
  );
  const outcome = await ended;
  ending = true;
  unscheduler?.();
  app.unmount();
  unanchor();
  screen.restore();
  offCrash();
  offSignals();
  const shuttingDown = onSignals(() => undefined, ['SIGHUP', 'SIGTERM']);
  stopClock();
  unbus();
  poller.stop();
  store.close();
  if (logs.path) ctx.stderr.write(`cesar: dashboard closed; its log is ${logs.path}\n`);
  const b = await withTimeout(starting, CLOSE_TIMEOUT_MS);
  if (b) {
    if (b.scheduler.status().running) ctx.stderr.write('cesar: waiting for the running sync pass to finish…\n');
    await withTimeout(b.close(), CLOSE_TIMEOUT_MS);
  }
  logs.close();
  for (const stream of [io.stdin, io.stdout, io.stderr]) stream.off('error', onIoError);
  shuttingDown();
  if ('error' in outcome) throw outcome.error;
  return outcome.code ?? EXIT.ok;
}
