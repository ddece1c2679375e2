import type { CesarEvent, Stamped } from './types.js';

type Listener = (event: Stamped) => void;

/**
 * The typed event bus every part publishes to (engine, migrations, scheduler) and the dashboard,
 * the API's WebSocket hub, metrics and logs subscribe to. Delivery is synchronous and in order;
 * a throwing listener is isolated so one bad subscriber cannot break the publisher.
 */
export class EventBus {
  private readonly listeners = new Set<Listener>();
  private readonly recent: Stamped[] = [];

  /** @param keep how many recent events to remember for late subscribers (the event log panel). */
  constructor(private readonly keep = 200) {}

  /** Publishes an event to every subscriber. */
  emit<E extends CesarEvent>(event: E): Stamped<E> {
    const stamped = { ...event, at: new Date().toISOString() } as Stamped<E>;
    this.recent.push(stamped);
    if (this.recent.length > this.keep) this.recent.splice(0, this.recent.length - this.keep);
    for (const listener of this.listeners) {
      try {
        listener(stamped);
      } catch {
        // a subscriber's bug must not stop the sync engine
      }
    }
    return stamped;
  }

  /** Subscribes; returns the unsubscribe function. */
  on(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The last events, oldest first. */
  history(): readonly Stamped[] {
    return this.recent;
  }

  /** Number of subscribers (for tests and metrics). */
  get size(): number {
    return this.listeners.size;
  }
}
