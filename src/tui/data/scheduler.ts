import type { SchedulerStatus } from '../../status/types.js';
import type { DashboardStore } from '../state/store.js';

/** How long a pass must have run before the header says "running…" (critical tables pass in a few ms, twice a second). */
export const RUNNING_AFTER_MS = 1000;

const sameStatus = (a: SchedulerStatus | null, b: SchedulerStatus): boolean => a !== null && (Object.keys(b) as Array<keyof SchedulerStatus>).every((k) => a[k] === b[k]);

/**
 * Shows the scheduler's status as the scheduler announces it (no polling). "running" shows only
 * for a pass that has lasted a second, or the header would blink (and write) at every critical
 * poll. Returns the function that stops listening.
 */
export function wireScheduler(scheduler: { status(): SchedulerStatus; onStatus(listener: (s: SchedulerStatus) => void): () => void }, store: DashboardStore): () => void {
  let latest = scheduler.status();
  let shown = false;
  let timer: NodeJS.Timeout | undefined;
  const show = (): void => {
    const st = { ...latest, running: shown };
    store.update((s) => (sameStatus(s.scheduler, st) ? s : { ...s, scheduler: st }));
  };
  const apply = (st: SchedulerStatus): void => {
    latest = st;
    if (!st.running) {
      if (timer) clearTimeout(timer);
      timer = undefined;
      shown = false;
    } else if (!shown && !timer) {
      timer = setTimeout(() => {
        timer = undefined;
        shown = latest.running;
        show();
      }, RUNNING_AFTER_MS);
      timer.unref?.();
    }
    show();
  };
  apply(latest);
  const off = scheduler.onStatus(apply);
  return () => {
    off();
    if (timer) clearTimeout(timer);
  };
}
