import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { EventBus } from '../events/bus.js';
import { LogFile, REOPEN_SIGNAL, reopenOnSignal } from '../log-file.js';
import { createLogger, logEvents } from '../log.js';

const METHODS = ['log', 'info', 'warn', 'error', 'debug'] as const;

/** Where the dashboard logs when no --log-file / CESAR_LOG_FILE is given. */
export function defaultDashboardLog(dataDir: string): string {
  return path.join(dataDir, 'dashboard.log');
}

/** The dashboard's log: open before the screen, fed by the bus once the runtime exists. */
export interface DashboardLog {
  /** The file written to; null when the default one could not be opened (then nothing is logged). */
  path: string | null;
  /** Logs the bus's events (the same JSON lines as `cesar headless`). */
  attach(bus: EventBus): void;
  /** Puts the console back and closes the file. */
  close(): void;
}

/**
 * While the dashboard owns the screen, stdout belongs to Ink: console output and the bus's events
 * go to a log file instead (pino's JSON lines, redacted, as `cesar headless` writes them), opened
 * without following a symbolic link and private to the user (log-file.ts). A file that is refused
 * throws a CesarError (exit 2) before the screen opens; SIGUSR2 reopens it after a rotation.
 * `dataDir` is created (0700) when the file is the default one inside it.
 */
export function openDashboardLog(file: string | null, options: { createDir?: string } = {}): DashboardLog {
  if (file !== null && options.createDir) fs.mkdirSync(options.createDir, { recursive: true, mode: 0o700 });
  const out = file === null ? null : LogFile.open(file);
  // with no file, a logger at level silent: console output must still never reach the screen
  const log: Logger = createLogger(out ? { destination: out } : { level: 'silent' }).child({ command: 'dashboard' });
  const offReopen = reopenOnSignal(out, (r) => {
    if (r.ok === true) log.info({ event: 'log.reopen', path: r.path }, `${REOPEN_SIGNAL}: log file reopened`);
    else if (r.ok === false) log.error({ event: 'log.reopen', error: r.error }, `${REOPEN_SIGNAL}: cannot reopen the log file; still writing to the old one`);
  });
  const saved = METHODS.map((m) => [m, console[m]] as const);
  for (const m of METHODS) {
    console[m] = (...args: unknown[]) => log[m === 'log' ? 'info' : m](args.map((a) => (typeof a === 'string' ? a : a instanceof Error ? a.message : JSON.stringify(a))).join(' '));
  }
  let offEvents = (): void => undefined;
  return {
    path: out?.path ?? null,
    attach(bus) {
      offEvents();
      offEvents = logEvents(bus, log);
    },
    close() {
      offEvents();
      offReopen();
      for (const [m, fn] of saved) console[m] = fn;
      out?.close();
    },
  };
}
