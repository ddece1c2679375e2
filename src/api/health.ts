import { chooseReadSource, type ReadSource } from '../config/priority.js';
import { ROLES, type Role } from '../config/types.js';
import type { Flavor } from '../db/flavor.js';
import { probeDb, type Probe } from '../db/probe.js';
import type { Runtime } from '../db/runtime.js';
import { notConfiguredReason } from '../db/runtime.js';

/** One database as /health shows it: no URL, only the password-free label. */
export interface DbHealth {
  configured: boolean;
  up: boolean;
  /** user@host:port/db */
  label: string | null;
  flavor: Flavor | null;
  /** e.g. "PostgreSQL 15.20" */
  server: string | null;
  latencyMs: number | null;
  error: string | null;
  /**
   * The last probe got no answer in time, but the database answered within BUSY_GRACE_MS: it is
   * busy, not down (issue 17), and keeps serving reads. Longer silence counts as down.
   */
  busy: boolean;
  checkedAt: string;
}

/** How long a database that stops answering probes in time is still taken as up (busy). */
export const BUSY_GRACE_MS = 30_000;

/** What the last probes found, and which database serves reads because of it. */
export interface HealthSnapshot {
  databases: Record<Role, DbHealth>;
  readSource: ReadSource;
}

/**
 * Probes the databases at most once per `ttlMs` however many requests ask (so /health under load
 * cannot hammer them), each probe bounded by `timeoutMs`; a probe still hanging is not repeated.
 * Emits `db.status` on the bus when a database goes up or down.
 */
export class HealthMonitor {
  private last: { at: number; value: HealthSnapshot } | null = null;
  private inflight: Promise<HealthSnapshot> | null = null;
  private readonly hanging = new Map<Role, Promise<Probe>>();
  private readonly known = new Map<Role, boolean>();
  /** When each database last answered a probe. */
  private readonly answeredAt = new Map<Role, number>();

  constructor(
    private readonly rt: Runtime,
    private readonly ttlMs = 1000,
    private readonly timeoutMs = 2000,
  ) {}

  /** The latest snapshot, probing again when older than ttlMs. */
  check(): Promise<HealthSnapshot> {
    if (this.last && Date.now() - this.last.at < this.ttlMs) return Promise.resolve(this.last.value);
    this.inflight ??= this.probe().finally(() => (this.inflight = null));
    return this.inflight;
  }

  /** The last snapshot without probing (null before the first check). */
  peek(): HealthSnapshot | null {
    return this.last?.value ?? null;
  }

  private async probe(): Promise<HealthSnapshot> {
    const entries = await Promise.all(ROLES.map(async (role) => [role, await this.probeRole(role)] as const));
    const databases = Object.fromEntries(entries) as Record<Role, DbHealth>;
    const value = { databases, readSource: chooseReadSource(this.rt.config.environment, { local: databases.local.up, cloud: databases.cloud.up }) };
    this.last = { at: Date.now(), value };
    for (const role of ROLES) {
      const d = databases[role];
      if (!d.configured) continue;
      if (this.known.get(role) !== d.up) {
        // the first result is news only when it is bad
        if (this.known.has(role) || !d.up) this.rt.bus.emit({ type: 'db.status', role, up: d.up, ...(d.error ? { error: d.error } : {}) });
        this.known.set(role, d.up);
      }
    }
    return value;
  }

  private async probeRole(role: Role): Promise<DbHealth> {
    const checkedAt = new Date().toISOString();
    // a pool of its own: a probe never waits for a connection behind the sync or the API's reads
    const db = this.rt.sidePool(role, 'probe') ?? this.rt.maybeDb(role);
    if (!db) return { configured: false, up: false, label: null, flavor: null, server: null, latencyMs: null, error: notConfiguredReason(role), busy: false, checkedAt };
    const base = { configured: true, label: db.label, checkedAt, busy: false };
    const noAnswer = (why: string): DbHealth => {
      const last = this.answeredAt.get(role);
      const prev = this.last?.value.databases[role];
      if (last !== undefined && Date.now() - last < BUSY_GRACE_MS) {
        return { ...base, up: true, busy: true, flavor: prev?.flavor ?? null, server: prev?.server ?? null, latencyMs: null, error: null };
      }
      return { ...base, up: false, flavor: null, server: null, latencyMs: null, error: why };
    };
    const still = this.hanging.get(role);
    if (still) return noAnswer(`no answer within ${this.timeoutMs} ms (still waiting)`);
    const running = probeDb(db, 3);
    this.hanging.set(role, running);
    void running.finally(() => this.hanging.delete(role));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), this.timeoutMs);
      timer.unref();
    });
    const p = await Promise.race([running, timeout]);
    clearTimeout(timer);
    if (!p) return noAnswer(`no answer within ${this.timeoutMs} ms`);
    if (p.up) this.answeredAt.set(role, Date.now());
    else this.answeredAt.delete(role);
    return {
      ...base,
      up: p.up,
      flavor: p.server?.flavor ?? null,
      server: p.server?.label ?? null,
      latencyMs: p.latencyMs === undefined ? null : Math.round(p.latencyMs * 100) / 100,
      error: p.error ?? null,
    };
  }
}
