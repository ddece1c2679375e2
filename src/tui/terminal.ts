import fs from 'node:fs';

// The terminal around the Ink app: alternate screen in, everything restored on every way out.
// Ink 6 has no alternate screen of its own (see shared/notes/tui.md).

const ENTER_ALT = '\u001B[?1049h';
const LEAVE_ALT = '\u001B[?1049l';
const SHOW_CURSOR = '\u001B[?25h';
/** Clear the screen and the scrollback, cursor home. */
export const CLEAR = '\u001B[2J\u001B[3J\u001B[H';

/** Why the dashboard cannot run here, or null when both ends are terminals. */
export function terminalProblem(stdin: { isTTY?: boolean }, stdout: { isTTY?: boolean }): string | null {
  const missing = [stdin.isTTY ? '' : 'stdin', stdout.isTTY ? '' : 'stdout'].filter(Boolean);
  if (missing.length === 0) return null;
  return [
    `cesar dashboard: ${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not a terminal (piped, CI or a service?), and the dashboard needs one.`,
    '  For a one-shot printout:        cesar status        (add --json for scripts)',
    '  To sync and serve the API:      cesar headless      (JSON logs, for systemd and containers)',
  ].join('\n');
}

/** Writes now, bypassing stream buffering: a restore must land before the process goes. */
function writeNow(out: NodeJS.WriteStream, text: string): void {
  const fd = (out as { fd?: number }).fd;
  try {
    if (typeof fd === 'number') fs.writeSync(fd, text);
    else out.write(text);
  } catch {
    // the terminal is gone (SIGHUP after a dropped SSH link): nothing left to restore
  }
}

/** The alternate screen and raw mode, with a restore that is synchronous and idempotent. */
export class Screen {
  private active = false;

  constructor(
    private readonly stdin: NodeJS.ReadStream,
    private readonly stdout: NodeJS.WriteStream,
  ) {}

  /** Switches to the alternate screen (the shell's screen comes back on restore). */
  enter(): void {
    this.active = true;
    writeNow(this.stdout, ENTER_ALT + CLEAR);
  }

  /** Clears the alternate screen (before drawing it again from scratch). */
  clear(): void {
    if (this.active) writeNow(this.stdout, CLEAR);
  }

  /** Leaves raw mode and the alternate screen and shows the cursor; safe to call any number of times. */
  restore(): void {
    if (!this.active) return;
    this.active = false;
    try {
      if (this.stdin.isTTY) this.stdin.setRawMode(false);
    } catch {
      // stdin already closed
    }
    writeNow(this.stdout, SHOW_CURSOR + LEAVE_ALT);
  }
}

/** Exit codes after a signal: 128 + its number. */
export const SIGNAL_EXIT: Record<'SIGINT' | 'SIGTERM' | 'SIGHUP', number> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };

/**
 * Handles SIGINT, SIGTERM and SIGHUP by calling `onSignal` with the exit code. Our own listener
 * replaces Node's default exit, so the caller restores the terminal and returns the code; remove
 * the SIGINT handler once the screen is restored, so that a second Ctrl-C during shutdown kills at
 * once; keep ignoring SIGHUP and SIGTERM until the end (a closing terminal sends SIGHUP again when
 * its shell exits, and shutdown must still release the lease).
 */
export function onSignals(onSignal: (code: number, signal: NodeJS.Signals) => void, signals = Object.keys(SIGNAL_EXIT) as Array<keyof typeof SIGNAL_EXIT>): () => void {
  const installed = signals.map((sig) => {
    const listener = (): void => onSignal(SIGNAL_EXIT[sig], sig);
    process.on(sig, listener);
    return [sig, listener] as const;
  });
  return () => {
    for (const [sig, listener] of installed) process.off(sig, listener);
  };
}

/**
 * Restores the terminal when the process dies of an uncaught exception or unhandled rejection:
 * the monitor runs before Node prints the error and exits with 1, so the message lands on the
 * normal screen instead of vanishing with the alternate one.
 */
export function onCrash(restore: () => void): () => void {
  const listener = (): void => restore();
  process.on('uncaughtExceptionMonitor', listener);
  return () => process.off('uncaughtExceptionMonitor', listener);
}

// Ink 6.8's incremental renderer moves up `lines - 1` rows to redraw a frame, but a frame that
// ends in a newline (every frame shorter than the screen, which ours must be to avoid the
// full-screen clear) leaves the cursor one row lower: each redraw lands a row too low and the
// screen drifts (seen in tmux; vadimdemedes/ink#1023 describes the same family of bugs).
const RELATIVE_UP = /^\u001B\[\d+A/;

/**
 * Anchors every frame at the top-left: a frame write that starts by moving the cursor up is made
 * to start at home instead. Correct because our frame always starts at row 0 of the cleared
 * alternate screen and never scrolls it; correct too once Ink fixes the count. Returns the undo.
 */
export function anchorFrames(stdout: NodeJS.WriteStream): () => void {
  const original = stdout.write;
  const patched = function (this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]): boolean {
    const fixed = typeof chunk === 'string' ? chunk.replace(RELATIVE_UP, '\u001B[H') : chunk;
    return (original as (...args: unknown[]) => boolean).call(this, fixed, ...rest);
  };
  stdout.write = patched as typeof stdout.write;
  return () => {
    if (stdout.write === patched) stdout.write = original;
  };
}
