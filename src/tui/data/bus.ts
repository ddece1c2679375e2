import type { EventBus } from '../../events/bus.js';
import type { Stamped } from '../../events/types.js';
import { EVENT_LINES, eventLine, SPARK_BUCKET_MS, Throughput } from '../state/events.js';
import type { DashboardStore } from '../state/store.js';
import type { DashboardState } from '../state/types.js';
import type { Poller, Task } from './poller.js';

/** Passes that changed nothing still record their time in sync_state (the LAST column): shown within this long. */
export const QUIET_PASS_GAP_MS = 5000;

/** What a bus event of this process changed on screen, to be read again (coalesced by the poller), and how soon. */
export function tasksFor(e: Stamped): { tasks: Task[]; gapMs?: number } {
  switch (e.type) {
    case 'sync.pass.completed':
      if (e.dryRun) return { tasks: [] };
      // a pass that changed nothing moved only times (tail passes of the critical tables not even those)
      if (e.applied === 0 && e.conflicts === 0 && e.errors === 0) return { tasks: ['sync'], gapMs: QUIET_PASS_GAP_MS };
      // rows applied move the watermarks (sync state, lag); errors park rows (shown with the sync state)
      return { tasks: e.conflicts > 0 ? ['sync', 'lag', 'conflicts'] : ['sync', 'lag'] };
    case 'sync.pass.failed':
    case 'sync.table.error':
      return { tasks: ['sync'] };
    case 'sync.conflict':
      return { tasks: ['conflicts'] };
    case 'migration.applied':
    case 'migration.failed':
      return { tasks: ['migrations', 'sync'] };
    case 'agent.changed':
      return { tasks: ['agents'] };
    default:
      return { tasks: [] };
  }
}

const sameSeries = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((v, i) => v === b[i]);

/** The sparklines at `now`, keeping the old arrays where nothing changed (so nothing re-renders for them). */
function withSparks(s: DashboardState, throughput: Throughput, now: number): DashboardState {
  const spark = throughput.total.series(now);
  const fresh = throughput.perTable(now);
  const tableSpark: Record<string, number[]> = {};
  let changed = Object.keys(fresh).length !== Object.keys(s.tableSpark).length;
  for (const [t, series] of Object.entries(fresh)) {
    const old = s.tableSpark[t];
    if (old && sameSeries(old, series)) tableSpark[t] = old;
    else {
      tableSpark[t] = series;
      changed = true;
    }
  }
  const sparkChanged = !sameSeries(s.sync.spark, spark);
  if (!changed && !sparkChanged) return s;
  return { ...s, sync: sparkChanged ? { ...s.sync, spark } : s.sync, tableSpark: changed ? tableSpark : s.tableSpark };
}

/**
 * Feeds this process's events to the screen: the event log and the throughput history at once
 * (through the store's throttled flush), and tells the poller what to read again, so that the
 * engine's own work shows within a second while nothing is read when nothing happened.
 */
export function wireBus(bus: EventBus, store: DashboardStore, poller: Pick<Poller, 'invalidate'>): () => void {
  const throughput = new Throughput();
  // what happened before the screen opened (start-up, migrations on the embedded demo)
  const initial = bus
    .history()
    .map((e) => (throughput.add(e), eventLine(e)))
    .filter((l) => l !== null);
  store.update((s) => withSparks({ ...s, events: initial.slice(-EVENT_LINES) }, throughput, Date.now()));

  const off = bus.on((e) => {
    const line = eventLine(e);
    const counted = throughput.add(e);
    if (line || counted) {
      store.update((s) => {
        let next = s;
        if (line) {
          const events = [...s.events, line].slice(-EVENT_LINES);
          // a scrolled-back log stays where the operator put it
          next = { ...next, events, ui: s.ui.cursor.events > 0 ? { ...s.ui, cursor: { ...s.ui.cursor, events: s.ui.cursor.events + 1 } } : s.ui };
        }
        return counted ? withSparks(next, throughput, Date.parse(e.at)) : next;
      });
    }
    const { tasks, gapMs } = tasksFor(e);
    if (tasks.length > 0) poller.invalidate(tasks, gapMs);
  });

  // the history moves on with time even when nothing happens: shift it when a bucket boundary passes
  let timer: NodeJS.Timeout | undefined;
  const shift = (): void => {
    const now = Date.now();
    store.update((s) => withSparks(s, throughput, now));
    timer = setTimeout(shift, SPARK_BUCKET_MS - (now % SPARK_BUCKET_MS) + 5);
    timer.unref?.();
  };
  shift();

  return () => {
    off();
    if (timer) clearTimeout(timer);
  };
}
