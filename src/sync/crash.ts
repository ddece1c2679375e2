/**
 * Named crash points between the commits of a pass, for tests only. Two databases cannot commit
 * together, so every point between two commits is a place where a kill -9 leaves one side ahead
 * of the other; the tests kill the engine at each of them and check that nothing is lost or
 * resurrected.
 *
 * - In a test process, `setCrashHook` installs a function called at every point; it throws a
 *   `SimulatedCrash` to stop the pass right there (nothing after it runs: no cleanup, no record).
 * - A cesar process started with `CESAR_TEST_CRASH_AT=<point>[:<n>]` kills itself with SIGKILL the
 *   n-th time (default 1st) it reaches that point. Not documented for operators: a test switch.
 */
export type CrashPoint =
  /** A target transaction of a batch committed; the write-backs and the local bookkeeping did not run. */
  | 'batch:target-committed'
  /** A write-back transaction (winners written to the source) committed; the bookkeeping did not run. */
  | 'batch:source-committed'
  /** A batch's local bookkeeping (base, watermark, acknowledgements) committed. */
  | 'batch:bookkeeping-committed'
  /** The key scan committed deletes on one side; the base entries were not yet removed. */
  | 'scan:delete-committed'
  /** Recovery recorded the unacknowledged cloud writes. */
  | 'recovery:committed';

/** Thrown by a crash hook: the pass stops at once, as if the process had died. */
export class SimulatedCrash extends Error {
  constructor(readonly point: CrashPoint) {
    super(`simulated crash at ${point}`);
    this.name = 'SimulatedCrash';
  }
}

let hook: ((point: CrashPoint) => void) | null = null;
const seen = new Map<string, number>();

/** Installs (or, with null, removes) the in-process crash hook. Tests only. */
export function setCrashHook(fn: ((point: CrashPoint) => void) | null): void {
  hook = fn;
}

/** True for the error a crash hook throws: nothing may run after it, not even error handling that writes. */
export function isSimulatedCrash(err: unknown): boolean {
  return err instanceof SimulatedCrash;
}

/** Marks a point between two commits. */
export function crashPoint(point: CrashPoint): void {
  hook?.(point);
  const wanted = process.env.CESAR_TEST_CRASH_AT;
  if (!wanted) return;
  // `<point>` or `<point>:<n>` (the point names contain colons themselves)
  const m = /^(.*?)(?::(\d+))?$/.exec(wanted)!;
  const [name, nth = '1'] = [m[1], m[2]];
  if (name !== point) return;
  const count = (seen.get(point) ?? 0) + 1;
  seen.set(point, count);
  if (count === Number(nth)) process.kill(process.pid, 'SIGKILL');
}
