import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { redact, redactError } from '../config/redact.js';
import type { EventBus } from '../events/bus.js';
import type { Counter, Gauge } from 'prom-client';

/** Limits of the WebSocket fan-out. */
export interface HubOptions {
  /** A client whose unsent data exceeds this is disconnected with 1013 (default 1 MiB). */
  maxBufferedBytes: number;
  /** Ping interval; a client that did not answer the previous ping is dropped (default 30 s). */
  heartbeatMs: number;
  /** Connections beyond this are refused with 503 (default 256). */
  maxClients: number;
  /** A client that must authenticate with its first message and has not within this is closed with 1008 (default 5 s). */
  authTimeoutMs: number;
}

export const DEFAULT_HUB: HubOptions = { maxBufferedBytes: 1024 * 1024, heartbeatMs: 30_000, maxClients: 256, authTimeoutMs: 5000 };

/** How an upgrade was admitted: whether the client still has to authenticate, and what to call when it goes. */
export interface Admission {
  /** A token check for the first message (`{"type":"auth","token":"..."}`); undefined: no authentication needed. */
  verify?: (token: string) => boolean;
  /** Called once when the connection ends (gives back the client's per-address slot). */
  release: () => void;
}

// Events that arrive while a client's snapshot is being read wait in its queue, up to this many.
const MAX_QUEUED = 1000;

interface Client {
  ws: WebSocket;
  alive: boolean;
  /** null once the snapshot was sent and events go straight out. */
  queue: string[] | null;
  /** False until the first message authenticated the client (when it must); it then receives nothing. */
  authed: boolean;
}

/**
 * `/ws/events`: a snapshot on connect, then every bus event as JSON `{type, at, ...}`. The server
 * never buffers without bound for a client: one that falls more than maxBufferedBytes behind is
 * closed with 1013 and counted (headless.md, WebSocket fan-out); one that stops answering pings is
 * terminated and counted.
 */
export class EventHub {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 4096, perMessageDeflate: false, clientTracking: false });
  private readonly clients = new Set<Client>();
  private readonly off: () => void;
  private readonly heartbeat: NodeJS.Timeout;
  private closing = false;

  constructor(
    bus: EventBus,
    private readonly snapshot: () => Promise<Record<string, unknown>>,
    private readonly metrics: { wsClients: Gauge; wsDropped: Counter<'reason'> },
    private readonly opts: HubOptions = DEFAULT_HUB,
  ) {
    this.off = bus.on((e) => {
      if (this.clients.size === 0) return;
      const text = redact(JSON.stringify(e));
      for (const c of this.clients) if (c.authed) this.deliver(c, text);
    });
    this.heartbeat = setInterval(() => this.beat(), opts.heartbeatMs);
    this.heartbeat.unref();
  }

  /** Connected clients. */
  get size(): number {
    return this.clients.size;
  }

  /** Takes over an HTTP upgrade request for /ws/events (host, origin, path, limits and any Authorization header already checked). */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, admission: Admission): void {
    if (this.closing || this.clients.size >= this.opts.maxClients) {
      admission.release();
      socket.end(`HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    socket.once('close', admission.release);
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, admission.verify));
  }

  private accept(ws: WebSocket, verify: Admission['verify']): void {
    const client: Client = { ws, alive: true, queue: [], authed: verify === undefined };
    this.clients.add(client);
    this.metrics.wsClients.set(this.clients.size);
    ws.on('pong', () => (client.alive = true));
    ws.on('error', () => this.forget(client));
    ws.on('close', () => this.forget(client));
    if (client.authed) {
      ws.on('message', () => undefined); // nothing to say to us; maxPayload bounds what a client can send
      this.start(client);
      return;
    }
    // A browser cannot set an Authorization header on a WebSocket: the token comes as the first message.
    const timer = setTimeout(() => this.refuse(client, 'authentication required: send {"type":"auth","token":"..."} first'), this.opts.authTimeoutMs);
    timer.unref();
    ws.on('message', (data, isBinary) => {
      if (client.authed) return;
      clearTimeout(timer);
      let token: unknown;
      try {
        const m = JSON.parse(isBinary ? '' : String(data)) as { type?: unknown; token?: unknown };
        token = m.type === 'auth' ? m.token : undefined;
      } catch {
        token = undefined;
      }
      if (typeof token !== 'string') return this.refuse(client, 'authentication required: the first message must be {"type":"auth","token":"..."}');
      if (!verify!(token)) return this.refuse(client, 'invalid token');
      client.authed = true;
      this.start(client);
    });
  }

  /** Closes an unauthenticated client with 1008 (policy violation). */
  private refuse(c: Client, reason: string): void {
    this.forget(c);
    c.ws.close(1008, reason);
    setTimeout(() => c.ws.terminate(), 1000).unref();
  }

  /** Sends the snapshot, then what was queued meanwhile. */
  private start(client: Client): void {
    this.snapshot()
      .catch((err: unknown) => ({ error: redactError(err) }))
      .then((snap) => {
        if (!this.clients.has(client)) return;
        const queued = client.queue ?? [];
        client.queue = null;
        this.deliver(client, redact(JSON.stringify({ type: 'snapshot', at: new Date().toISOString(), ...snap })));
        for (const text of queued) this.deliver(client, text);
      });
  }

  private deliver(c: Client, text: string): void {
    if (c.queue) {
      if (c.queue.length >= MAX_QUEUED) this.drop(c, 'slow');
      else c.queue.push(text);
      return;
    }
    if (c.ws.readyState !== WebSocket.OPEN) return;
    if (c.ws.bufferedAmount > this.opts.maxBufferedBytes) {
      this.drop(c, 'slow');
      return;
    }
    c.ws.send(text);
  }

  private drop(c: Client, reason: 'slow' | 'dead'): void {
    if (!this.clients.has(c)) return;
    this.forget(c);
    this.metrics.wsDropped.inc({ reason });
    if (reason === 'dead') {
      c.ws.terminate();
      return;
    }
    // The close frame queues behind what the client did not read; if it never reads, cut it.
    c.ws.close(1013, 'too slow: events were not read fast enough');
    setTimeout(() => c.ws.terminate(), 1000).unref();
  }

  private forget(c: Client): void {
    if (this.clients.delete(c)) this.metrics.wsClients.set(this.clients.size);
  }

  private beat(): void {
    for (const c of this.clients) {
      if (!c.alive) {
        this.drop(c, 'dead');
        continue;
      }
      c.alive = false;
      try {
        c.ws.ping();
      } catch {
        this.drop(c, 'dead');
      }
    }
  }

  /** Refuses new clients and closes every connection with 1001 (going away); waits up to `graceMs`. */
  async close(graceMs = 1000): Promise<void> {
    this.closing = true;
    this.off();
    clearInterval(this.heartbeat);
    const all = [...this.clients];
    await Promise.all(
      all.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.ws.readyState === WebSocket.CLOSED) return resolve();
            const timer = setTimeout(() => {
              c.ws.terminate();
              resolve();
            }, graceMs);
            timer.unref();
            c.ws.once('close', () => {
              clearTimeout(timer);
              resolve();
            });
            c.ws.close(1001, 'server shutting down');
          }),
      ),
    );
    this.clients.clear();
    this.metrics.wsClients.set(0);
    this.wss.close();
  }
}
