import path from 'node:path';
import { redactError } from '../config/redact.js';
import { CesarError, EXIT } from '../errors.js';
import { LogFile, REOPEN_SIGNAL, reopenOnSignal } from '../log-file.js';
import { createLogger, logEvents } from '../log.js';
import type { Runtime } from '../runtime.js';
import type { CommandContext, FlagSpec } from './types.js';

/** `--log-file PATH`, shared by headless, sync, migrate and the dashboard. */
export const LOG_FILE_FLAG: FlagSpec = {
  type: 'string',
  description: `Append JSON log lines to this file (default CESAR_LOG_FILE), mode 0600, never through a symbolic link; ${REOPEN_SIGNAL} reopens it (logrotate)`,
};

/** The log file asked for: --log-file, else CESAR_LOG_FILE (loads the configuration), as an absolute path; undefined when neither. */
export function logFileSetting(ctx: CommandContext): string | undefined {
  const flag = ctx.flags.logFile;
  if (typeof flag === 'string') return path.resolve(flag);
  return ctx.config().logFile;
}

/**
 * Runs a one-shot command (sync, migrate) with its log file, when one is asked for: a line when it
 * starts, every event of its runtime's bus (passes, conflicts, errors, migrations, the lease) and a
 * line with its exit code or error, so that a cron job leaves the same trail as `cesar headless`.
 * A file that cannot be opened is a configuration error (exit 2) before anything connects.
 * SIGUSR2 reopens the file, and is caught even without one (it never kills the command).
 */
export async function runLogged(ctx: CommandContext, command: string, body: (ctx: CommandContext) => Promise<number>): Promise<number> {
  const file = logFileSetting(ctx);
  const out = file === undefined ? null : LogFile.open(file, ctx.stderr);
  const log = out ? createLogger({ destination: out }).child({ command }) : null;
  const offSignal = reopenOnSignal(out, (r) => {
    if (r.ok === false) {
      log?.error({ event: 'log.reopen', error: r.error }, `${REOPEN_SIGNAL}: cannot reopen the log file; still writing to the old one`);
      ctx.stderr.write(`cesar ${command}: ${REOPEN_SIGNAL}: ${r.error}\n`);
    } else if (r.ok) log?.info({ event: 'log.reopen', path: r.path }, `${REOPEN_SIGNAL}: log file reopened`);
  });
  let offEvents = (): void => undefined;
  const logged: CommandContext = {
    ...ctx,
    async runtime(): Promise<Runtime> {
      const rt = await ctx.runtime();
      if (log) {
        offEvents();
        offEvents = logEvents(rt.bus, log);
      }
      return rt;
    },
  };
  const t0 = Date.now();
  log?.info({ event: 'command.started', flags: ctx.flags, pid: process.pid }, `cesar ${command} started`);
  try {
    const returned = await body(logged);
    // a command stopped by a signal that still returned exits with the signal's code (cli.ts)
    const reason: unknown = ctx.signal.aborted ? ctx.signal.reason : undefined;
    const code = reason instanceof CesarError ? reason.exitCode : returned;
    log?.[code === EXIT.ok ? 'info' : 'warn']({ event: 'command.finished', exitCode: code, ms: Date.now() - t0, ...(reason instanceof CesarError ? { stoppedBy: reason.message } : {}) }, `cesar ${command} finished, exit ${code}`);
    return returned;
  } catch (err) {
    const code = err instanceof CesarError ? err.exitCode : EXIT.failure;
    log?.error({ event: 'command.failed', exitCode: code, ms: Date.now() - t0, error: redactError(err) }, `cesar ${command} failed, exit ${code}`);
    throw err;
  } finally {
    offEvents();
    offSignal();
    out?.close();
  }
}
