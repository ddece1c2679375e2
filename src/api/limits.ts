import { HttpError } from './http.js';

/** Limits that keep API load from taking the rest of cesar down (issue 17). */
export interface ApiLimits {
  /** API reads that run at once (the API's pool has as many connections). */
  readConcurrency: number;
  /** API reads that may wait for a turn; beyond that a request gets 429 at once. */
  readQueue: number;
  /** A read that waited this long for a turn gets 429 rather than waiting on. */
  readQueueWaitMs: number;
  /** Requests one client address may have in flight (health probes /livez, /readyz excepted). */
  perClientRequests: number;
  /** WebSocket connections one client address may hold. */
  perClientSockets: number;
  /** Seconds a client is told to wait in Retry-After. */
  retryAfterSeconds: number;
}

export const DEFAULT_LIMITS: ApiLimits = {
  readConcurrency: 2,
  readQueue: 64,
  readQueueWaitMs: 5000,
  perClientRequests: 16,
  perClientSockets: 8,
  retryAfterSeconds: 1,
};

/** 429 with Retry-After. */
export function tooMany(message: string, retryAfterSeconds: number): HttpError {
  return new HttpError(429, message, { 'Retry-After': String(retryAfterSeconds) });
}

/**
 * A bounded queue in front of the API's reads: `concurrency` run, up to `queue` wait in order,
 * anything more is refused with 429 immediately, and a wait longer than `waitMs` ends in 429 too.
 * Nothing the API does can therefore pile up work behind the database without bound.
 */
export class ReadGate {
  private running = 0;
  private readonly waiting: Array<{ go: () => void; timer: NodeJS.Timeout }> = [];

  constructor(private readonly limits: Pick<ApiLimits, 'readConcurrency' | 'readQueue' | 'readQueueWaitMs' | 'retryAfterSeconds'>) {}

  /** Reads running and waiting, for tests and metrics. */
  get load(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting.length };
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    await this.enter();
    try {
      return await work();
    } finally {
      this.leave();
    }
  }

  private enter(): Promise<void> {
    // a free turn goes to the longest waiting read first
    if (this.running < this.limits.readConcurrency && this.waiting.length === 0) {
      this.running++;
      return Promise.resolve();
    }
    if (this.waiting.length >= this.limits.readQueue) {
      return Promise.reject(tooMany(`too many requests: ${this.limits.readQueue} reads are already waiting; try again in ${this.limits.retryAfterSeconds} s`, this.limits.retryAfterSeconds));
    }
    return new Promise<void>((resolve, reject) => {
      const entry = {
        go: () => {
          clearTimeout(entry.timer);
          this.running++;
          resolve();
        },
        timer: setTimeout(() => {
          const i = this.waiting.indexOf(entry);
          if (i >= 0) this.waiting.splice(i, 1);
          reject(tooMany(`too many requests: no turn to read within ${this.limits.readQueueWaitMs} ms; try again in ${this.limits.retryAfterSeconds} s`, this.limits.retryAfterSeconds));
        }, this.limits.readQueueWaitMs),
      };
      this.waiting.push(entry);
    });
  }

  private leave(): void {
    this.running--;
    // the next read starts in a later turn of the event loop, not in this one: the sync's database
    // answers that arrived meanwhile are handled in between, however long the queue
    if (this.waiting.length > 0) setImmediate(() => this.admitNext());
  }

  private admitNext(): void {
    while (this.running < this.limits.readConcurrency && this.waiting.length > 0) this.waiting.shift()!.go();
  }
}

/** Counts what each client address holds (requests in flight, WebSocket connections) against its limits. */
export class ClientCounter {
  private readonly held = new Map<string, number>();

  constructor(
    private readonly max: number,
    private readonly what: string,
    private readonly retryAfterSeconds: number,
  ) {}

  /** Takes one slot for `client` or throws 429; the returned function gives it back (once). */
  take(client: string): () => void {
    const n = this.held.get(client) ?? 0;
    if (n >= this.max) throw tooMany(`too many ${this.what} from ${client}: at most ${this.max} at once`, this.retryAfterSeconds);
    this.held.set(client, n + 1);
    let given = false;
    return () => {
      if (given) return;
      given = true;
      const left = (this.held.get(client) ?? 1) - 1;
      if (left <= 0) this.held.delete(client);
      else this.held.set(client, left);
    };
  }

  /** Slots held by `client`. */
  count(client: string): number {
    return this.held.get(client) ?? 0;
  }
}

/** A client's address without the IPv4-mapped prefix (`::ffff:127.0.0.1` is 127.0.0.1). */
export function clientAddress(remote: string | undefined): string {
  if (!remote) return 'unknown';
  return remote.startsWith('::ffff:') ? remote.slice(7) : remote;
}
