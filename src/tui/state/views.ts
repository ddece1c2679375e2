// What each component shows, selected from the state (pure functions, used with useStore). A
// view holds the slices a component reads and, for what depends on the clock, the text it shows
// (countdown, last pass by the minute) or the day (clock times show the date before today): the
// clock ticks every second, but a component re-renders only when its own text changes.
import { clockTime, countdown, parseTime } from '../format/time.js';
import { modeOf } from './controller.js';
import type { DashboardState } from './types.js';

/** Midnight (local time) of the day of `now`: clock times depend on the day only. */
export function dayStart(now: number): number {
  const d = new Date(now);
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}

/** The frame: size, overlay and focus decide which components are drawn. */
export const frameView = (s: DashboardState) => ({
  columns: s.size.columns,
  rows: s.size.rows,
  overlay: s.ui.overlay,
  focus: s.ui.focus,
  readonly: s.header.readonly,
});

/** The header: the databases, the read source and what the scheduler does. */
export const headerView = (s: DashboardState) => {
  const st = s.scheduler;
  return {
    header: s.header,
    refreshMs: s.ui.refreshMs,
    started: st !== null,
    active: st?.active ?? false,
    standbyFor: st?.standbyFor ?? null,
    running: st?.running ?? false,
    paused: st?.paused ?? false,
    lastPass: st ? (st.lastPassAt ? clockTime(st.lastPassAt, s.now, false) : 'never') : '',
    next: st && !st.paused && st.nextPassAt ? countdown(parseTime(st.nextPassAt) - s.now) : null,
    intervalMs: st?.intervalMs ?? 0,
    lastError: st?.lastError ?? null,
  };
};
export type HeaderView = ReturnType<typeof headerView>;

export const agentsView = (s: DashboardState) => ({
  agents: s.agents,
  readSource: s.header.readSource,
  sort: s.ui.sort,
  filter: s.ui.filter,
  cursor: s.ui.cursor.agents,
  day: dayStart(s.now),
});
export type AgentsView = ReturnType<typeof agentsView>;

export const syncView = (s: DashboardState) => ({
  sync: s.sync,
  tableSpark: s.tableSpark,
  cursor: s.ui.cursor.sync,
  offset: s.ui.offset.sync,
  day: dayStart(s.now),
});
export type SyncView = ReturnType<typeof syncView>;

export const conflictsView = (s: DashboardState) => ({
  conflicts: s.conflicts,
  cursor: s.ui.cursor.conflicts,
  offset: s.ui.offset.conflicts,
  day: dayStart(s.now),
});
export type ConflictsView = ReturnType<typeof conflictsView>;

export const migrationsView = (s: DashboardState) => ({
  migrations: s.migrations,
  cursor: s.ui.cursor.migrations,
  offset: s.ui.offset.migrations,
});
export type MigrationsView = ReturnType<typeof migrationsView>;

export const eventsView = (s: DashboardState) => ({
  events: s.events,
  back: s.ui.cursor.events,
  day: dayStart(s.now),
});
export type EventsView = ReturnType<typeof eventsView>;

/** The footer: the key hints of the current mode. */
export const footerView = (s: DashboardState) => ({ mode: modeOf(s), readonly: s.header.readonly });

/** The line above the footer: the filter being typed, or a message until it expires. */
export const messageView = (s: DashboardState) => ({
  editing: s.ui.editing,
  message: s.ui.message && s.ui.message.until > s.now ? s.ui.message : null,
});

/** The overlays' own data. */
export const overlayView = (s: DashboardState) => ({ overlay: s.ui.overlay, migrations: s.migrations, day: dayStart(s.now) });
