import type { EventBus } from '../../events/bus.js';
import type { Stamped } from '../../events/types.js';
import { EVENT_LINES, eventLine, Throughput } from '../state/events.js';
import type { DashboardStore } from '../state/store.js';
import type { Poller } from './poller.js';

/** What a bus event should make the poller read again. */
function refreshFor(e: Stamped): 'all' | 'agents' | 'migrations' | null {
  switch (e.type) {
    case 'sync.pass.completed':
      return !e.dryRun && (e.applied > 0 || e.conflicts > 0 || e.errors > 0) ? 'all' : null;
    case 'sync.pass.failed':
    case 'sync.table.error':
      return 'all';
    case 'migration.applied':
    case 'migration.failed':
      return 'migrations';
    case 'agent.changed':
      return 'agents';
    default:
      return null;
  }
}

/**
 * Feeds this process's events to the screen: the event log and the throughput history at once
 * (through the store's throttled flush), and a re-read of the affected panels shortly after a
 * pass that changed something, so the engine's own work shows within a second.
 */
export function wireBus(bus: EventBus, store: DashboardStore, poller: Poller): () => void {
  const throughput = new Throughput();
  let pending: 'all' | 'agents' | 'migrations' | null = null;
  let timer: NodeJS.Timeout | undefined;
  const sparks = (now: number): { spark: number[]; tableSpark: Record<string, number[]> } => ({ spark: throughput.total.series(now), tableSpark: throughput.perTable(now) });

  const take = (e: Stamped, lines: ReturnType<typeof eventLine>[]): boolean => {
    const line = eventLine(e);
    if (line) lines.push(line);
    return throughput.add(e);
  };
  // what happened before the screen opened (start-up, migrations on the embedded demo)
  const initial: ReturnType<typeof eventLine>[] = [];
  for (const e of bus.history()) take(e, initial);
  const first = sparks(Date.now());
  store.update((s) => ({ ...s, events: initial.filter((l) => l !== null).slice(-EVENT_LINES), sync: { ...s.sync, spark: first.spark }, tableSpark: first.tableSpark }));

  const off = bus.on((e) => {
    const lines: ReturnType<typeof eventLine>[] = [];
    const counted = take(e, lines);
    const line = lines[0];
    if (line || counted) {
      store.update((s) => {
        let next = s;
        if (line) {
          const events = [...s.events, line].slice(-EVENT_LINES);
          // a scrolled-back log stays where the operator put it
          next = { ...next, events, ui: s.ui.cursor.events > 0 ? { ...s.ui, cursor: { ...s.ui.cursor, events: s.ui.cursor.events + 1 } } : s.ui };
        }
        if (counted) {
          const sp = sparks(Date.parse(e.at));
          next = { ...next, sync: { ...next.sync, spark: sp.spark }, tableSpark: sp.tableSpark };
        }
        return next;
      });
    }
    const what = refreshFor(e);
    if (what) {
      pending = pending === 'all' || what === 'all' ? 'all' : what;
      // one re-read for a burst of events (a pass emits many)
      timer ??= setTimeout(() => {
        timer = undefined;
        const p = pending;
        pending = null;
        if (p) poller.refresh(p);
      }, 150);
    }
  });

  // the history moves on with time even when nothing happens: shift it as buckets pass
  const shift = setInterval(() => {
    const sp = sparks(Date.now());
    store.update((s) => (JSON.stringify(s.sync.spark) === JSON.stringify(sp.spark) && JSON.stringify(s.tableSpark) === JSON.stringify(sp.tableSpark) ? s : { ...s, sync: { ...s.sync, spark: sp.spark }, tableSpark: sp.tableSpark }));
  }, 1000);
  shift.unref?.();

  return () => {
    off();
    clearInterval(shift);
    if (timer) clearTimeout(timer);
  };
}
