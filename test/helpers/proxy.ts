import net from 'node:net';

/** Where the proxy forwards to and where it listens. */
export interface ProxyOptions {
  /** Host of the real server (e.g. PostgreSQL). */
  targetHost: string;
  /** Port of the real server. */
  targetPort: number;
  /** Interface to listen on; defaults to 127.0.0.1 so tests never expose the proxy. */
  listenHost?: string;
  /** Port to listen on; defaults to 0 so parallel suites never collide on a fixed port. */
  listenPort?: number;
}

/** A running fault-injecting TCP proxy; see startProxy. */
export interface FaultProxy {
  /** Host the proxy listens on. */
  readonly host: string;
  /** Port the proxy actually listens on (resolved when listenPort was 0). */
  readonly port: number;
  /** Rewrites a postgres:// URL so it points at the proxy instead of the target (host and port replaced, all else kept). */
  urlFor(targetUrl: string): string;
  /** Adds this much one-way delay (ms) to every chunk in both directions, preserving byte order (so a round trip costs 2x). 0 removes it. */
  setLatency(ms: number): void;
  /** Destroys every open connection (both sides) right now; new connections are still accepted. */
  cutAll(): void;
  /** While true, new connections are accepted and immediately destroyed (like a refused/reset connect); existing ones keep working unless cut. */
  refuseNew(on: boolean): void;
  /** Every `everyMs` (with +-50% jitter) destroy one random open connection; 0 stops it. For the "connections reset at random" case. */
  resetRandomly(everyMs: number): void;
  /** Number of currently open client connections. */
  connectionCount(): number;
  /** Counters since start: connections accepted and forwarded, connections cut by the proxy, connections refused. */
  readonly stats: { accepted: number; cut: number; refused: number };
  /** Stops listening and destroys all connections. Idempotent. */
  close(): Promise<void>;
}

// Above this many bytes waiting in a latency queue we stop reading the source, so a slow link
// behaves like one (TCP windows fill up) instead of buffering a whole result set in memory.
const MAX_QUEUED_BYTES = 1024 * 1024;

interface Pending {
  chunk: Buffer;
  due: number;
}

/**
 * One direction of a proxied connection. All chunks go through a single FIFO with one timer,
 * so a latency change or timer jitter can never reorder bytes on the wire.
 */
class Pipe {
  private readonly queue: Pending[] = [];
  private queuedBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private dstBlocked = false;
  private srcEnded = false;
  private stopped = false;

  constructor(
    private readonly src: net.Socket,
    private readonly dst: net.Socket,
    private readonly latency: () => number,
  ) {
    src.on('data', (chunk: Buffer) => this.onData(chunk));
    // FIN from the source: forward it only after the delayed bytes ahead of it have gone out.
    src.on('end', () => {
      this.srcEnded = true;
      this.flush();
    });
    dst.on('drain', () => {
      this.dstBlocked = false;
      this.updateFlow();
      this.flush();
    });
  }

  /** Drops anything still queued and cancels the timer; used when the connection is torn down. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.queue.length = 0;
    this.queuedBytes = 0;
  }

  private onData(chunk: Buffer): void {
    if (this.stopped) return;
    const ms = this.latency();
    // Fast path only when nothing is ahead of this chunk; otherwise it must wait its turn.
    if (ms <= 0 && this.queue.length === 0 && !this.dstBlocked) {
      this.write(chunk);
      return;
    }
    this.queue.push({ chunk, due: Date.now() + Math.max(0, ms) });
    this.queuedBytes += chunk.length;
    this.updateFlow();
    this.flush();
  }

  private write(chunk: Buffer): void {
    if (this.dst.destroyed || this.dst.writableEnded) return;
    if (!this.dst.write(chunk)) {
      this.dstBlocked = true;
      this.updateFlow();
    }
  }

  private updateFlow(): void {
    if (this.stopped || this.src.destroyed) return;
    if (this.dstBlocked || this.queuedBytes > MAX_QUEUED_BYTES) this.src.pause();
    else this.src.resume();
  }

  private flush(): void {
    if (this.stopped) return;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const now = Date.now();
    while (!this.dstBlocked) {
      const head = this.queue[0];
      if (!head) break;
      if (head.due > now) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.flush();
        }, head.due - now);
        // The sockets keep the process alive while there is real traffic; the timer alone must not.
        this.timer.unref();
        return;
      }
      this.queue.shift();
      this.queuedBytes -= head.chunk.length;
      this.write(head.chunk);
    }
    this.updateFlow();
    if (this.srcEnded && this.queue.length === 0 && !this.dst.destroyed && !this.dst.writableEnded) {
      // Half-close only: the peer may still answer after our FIN, and that reply must get through.
      this.dst.end();
    }
  }
}

interface Conn {
  client: net.Socket;
  upstream: net.Socket;
  pipes: Pipe[];
}

/** Starts a TCP proxy in front of targetHost:targetPort and resolves once it is listening. */
export async function startProxy(opts: ProxyOptions): Promise<FaultProxy> {
  const listenHost = opts.listenHost ?? '127.0.0.1';
  const conns = new Set<Conn>();
  const stats = { accepted: 0, cut: 0, refused: 0 };
  let latencyMs = 0;
  let refusing = false;
  let closing: Promise<void> | undefined;
  let resetTimer: NodeJS.Timeout | undefined;
  let resetEveryMs = 0;

  const ignore = (): void => undefined;

  // A reset (RST) rather than a FIN is what a dropped link or a crashed server looks like to
  // the client; fall back to destroy() if the socket is already half gone.
  const kill = (sock: net.Socket): void => {
    if (sock.destroyed) return;
    try {
      sock.resetAndDestroy();
    } catch {
      sock.destroy();
    }
  };

  const teardown = (conn: Conn): void => {
    for (const p of conn.pipes) p.stop();
    conn.client.destroy();
    conn.upstream.destroy();
    conns.delete(conn);
  };

  const cut = (conn: Conn): void => {
    stats.cut++;
    for (const p of conn.pipes) p.stop();
    kill(conn.client);
    kill(conn.upstream);
    conns.delete(conn);
  };

  const onConnection = (client: net.Socket): void => {
    client.on('error', ignore);
    if (refusing || closing) {
      if (refusing) stats.refused++;
      kill(client);
      return;
    }
    stats.accepted++;
    client.setNoDelay(true);
    // allowHalfOpen so a FIN from the server does not auto-end our write side while delayed
    // client bytes are still queued for it.
    const upstream = net.connect({ host: opts.targetHost, port: opts.targetPort, allowHalfOpen: true });
    upstream.on('error', ignore);
    upstream.setNoDelay(true);
    const conn: Conn = { client, upstream, pipes: [] };
    const latency = (): number => latencyMs;
    conn.pipes.push(new Pipe(client, upstream, latency), new Pipe(upstream, client, latency));
    conns.add(conn);

    // Graceful FIN is forwarded by Pipe once its queue drains; anything else (an error, or a
    // close without a FIN) means the peer is gone and the other side must not linger.
    const onClose = (sock: net.Socket, other: net.Socket) => (hadError: boolean) => {
      if (!conns.has(conn)) return;
      if (hadError || !sock.readableEnded || other.destroyed) teardown(conn);
    };
    client.on('close', onClose(client, upstream));
    upstream.on('close', onClose(upstream, client));
  };

  const server = net.createServer({ allowHalfOpen: true }, onConnection);
  server.on('error', ignore);

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen(opts.listenPort ?? 0, listenHost, () => {
      server.off('error', onError);
      resolve();
    });
  });

  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy: unexpected listen address');
  const port = address.port;

  const scheduleReset = (): void => {
    if (resetEveryMs <= 0 || closing) return;
    const delay = resetEveryMs * (0.5 + Math.random());
    resetTimer = setTimeout(() => {
      resetTimer = undefined;
      const open = [...conns].filter((c) => !c.client.destroyed);
      const victim = open[Math.floor(Math.random() * open.length)];
      if (victim) cut(victim);
      scheduleReset();
    }, delay);
    resetTimer.unref();
  };

  const proxy: FaultProxy = {
    host: listenHost,
    port,
    stats,
    urlFor(targetUrl: string): string {
      const url = new URL(targetUrl);
      url.hostname = listenHost.includes(':') ? `[${listenHost}]` : listenHost;
      url.port = String(port);
      return url.toString();
    },
    setLatency(ms: number): void {
      latencyMs = Math.max(0, ms);
    },
    cutAll(): void {
      for (const conn of [...conns]) cut(conn);
    },
    refuseNew(on: boolean): void {
      refusing = on;
    },
    resetRandomly(everyMs: number): void {
      resetEveryMs = Math.max(0, everyMs);
      if (resetTimer) clearTimeout(resetTimer);
      resetTimer = undefined;
      scheduleReset();
    },
    connectionCount(): number {
      let n = 0;
      for (const conn of conns) if (!conn.client.destroyed) n++;
      return n;
    },
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        resetEveryMs = 0;
        if (resetTimer) clearTimeout(resetTimer);
        resetTimer = undefined;
        server.close(() => resolve());
        for (const conn of [...conns]) teardown(conn);
      });
      return closing;
    },
  };
  return proxy;
}
