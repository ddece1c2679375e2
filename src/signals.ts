import { CesarError, EXIT } from './errors.js';

// How a one-shot command (sync, migrate, restore, verify, ...) stops on a signal: the first one
// aborts the command's interrupt signal, so that its databases refuse new statements (Db.interrupt)
// and the command unwinds through its `finally` blocks, releasing any lease it holds; a second one
// quits at once. The dashboard and headless mode have their own handling (terminal, drain).

/** The signals that stop a command. */
export type StopSignal = 'SIGINT' | 'SIGTERM' | 'SIGHUP';
export const STOP_SIGNALS: readonly StopSignal[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** Exit codes after a signal: 128 + its number. */
export const SIGNAL_EXIT: Readonly<Record<StopSignal, number>> = { SIGINT: EXIT.sigint, SIGTERM: EXIT.sigterm, SIGHUP: EXIT.sighup };

/** The reason an interrupted command stops with (code INTERRUPTED, exit code of the signal). */
export function interruptedError(signal: StopSignal): CesarError {
  return new CesarError('INTERRUPTED', `stopped by ${signal}`, { exitCode: SIGNAL_EXIT[signal] });
}

/**
 * Calls `onSignal` with the signal and how many stop signals arrived so far (1, 2, ...). Our own
 * listener replaces Node's default (exit at once, no clean-up). Returns the uninstall.
 */
export function catchStopSignals(onSignal: (signal: StopSignal, count: number) => void): () => void {
  let count = 0;
  const installed = STOP_SIGNALS.map((sig) => {
    const listener = (): void => onSignal(sig, ++count);
    process.on(sig, listener);
    return [sig, listener] as const;
  });
  return () => {
    for (const [sig, listener] of installed) process.off(sig, listener);
  };
}
