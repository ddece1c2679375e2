import type { DashboardState, UiState } from './types.js';

type Listener = () => void;

/**
 * The dashboard's state outside React. Producers (bus events, database polls, the scheduler, the
 * clock) write to it as often as they like; React sees a new snapshot at most every `flushMs`
 * (default 1 s): a busy second (a pass at 100 rows/s, the demo's writes, a burst of events) costs
 * one frame, not one per change, and every frame costs Ink a pass over the whole screen. Key
 * presses flush at once so the screen answers immediately.
 */
export class DashboardStore {
  private state: DashboardState;
  private published: DashboardState;
  private readonly listeners = new Set<Listener>();
  private timer: NodeJS.Timeout | undefined;
  private lastFlush = 0;
  private closed = false;

  constructor(
    initial: DashboardState,
    private readonly flushMs = 1000,
  ) {
    this.state = initial;
    this.published = initial;
  }

  /** The latest state (ahead of what is on screen until the next flush). */
  get(): DashboardState {
    return this.state;
  }

  /** The snapshot React renders; stable between flushes (useSyncExternalStore needs that). */
  readonly snapshot = (): DashboardState => this.published;

  /** Subscribes to flushes; returns the unsubscribe function. */
  readonly subscribe = (listener: Listener): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** Replaces the state through `change`; `immediate` flushes now (key presses), otherwise throttled. */
  update(change: (s: DashboardState) => DashboardState, immediate = false): void {
    if (this.closed) return;
    const next = change(this.state);
    if (next === this.state) return;
    this.state = next;
    if (immediate) this.flush();
    else this.schedule();
  }

  /** Shorthand for changing the screen's own state. */
  ui(patch: Partial<UiState> | ((ui: UiState) => Partial<UiState>), immediate = true): void {
    this.update((s) => ({ ...s, ui: { ...s.ui, ...(typeof patch === 'function' ? patch(s.ui) : patch) } }), immediate);
  }

  /** Publishes the latest state to React now. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.lastFlush = Date.now();
    if (this.published === this.state) return;
    this.published = this.state;
    for (const l of this.listeners) l();
  }

  /** Stops flushing (after the screen is gone). */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.timer) return;
    const wait = Math.max(0, this.lastFlush + this.flushMs - Date.now());
    this.timer = setTimeout(() => this.flush(), wait);
    this.timer.unref?.();
  }
}

/**
 * Ticks `now` on each wall-clock second (countdowns and message expiry read it). Nothing else on
 * screen depends on the second, so an idle screen changes at most once a second; Ink writes
 * nothing when a render's output equals the last one.
 */
export function startClock(store: DashboardStore): () => void {
  let timer: NodeJS.Timeout | undefined;
  const tick = (): void => {
    const now = Date.now();
    store.update((s) => ({ ...s, now }));
    timer = setTimeout(tick, 1000 - (now % 1000) + 5);
    timer.unref?.();
  };
  tick();
  return () => clearTimeout(timer);
}
