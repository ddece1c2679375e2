import { redactError } from '../config/redact.js';
import { apiDb } from './db.js';
import { ROLES, type Role } from '../config/types.js';
import type { EventBus } from '../events/bus.js';
import { migrationStatus, type MigrationStatus } from '../status/index.js';
import type { Runtime } from '../db/runtime.js';

/** Per database: its migration state, or why it could not be read. */
export type MigrationsByRole = Partial<Record<Role, MigrationStatus | { role: Role; error: string }>>;

/**
 * The migration state of both databases, read at most every `ttlMs` (metrics scrapes and
 * WebSocket snapshots share it) and forgotten as soon as a migration event says it changed.
 */
export class MigrationCache {
  private last: { at: number; value: MigrationsByRole } | null = null;
  private inflight: Promise<MigrationsByRole> | null = null;
  private readonly off: () => void;

  constructor(
    private readonly rt: Runtime,
    bus: EventBus,
    private readonly dir: string | undefined,
    private readonly ttlMs = 10_000,
  ) {
    this.off = bus.on((e) => {
      if (e.type.startsWith('migration.')) this.last = null;
    });
  }

  /** Cached state; `fresh` reads it again now. */
  get(fresh = false): Promise<MigrationsByRole> {
    if (!fresh && this.last && Date.now() - this.last.at < this.ttlMs) return Promise.resolve(this.last.value);
    if (!fresh && this.inflight) return this.inflight;
    const p = this.read().finally(() => {
      if (this.inflight === p) this.inflight = null;
    });
    this.inflight = p;
    return p;
  }

  private async read(): Promise<MigrationsByRole> {
    const out: MigrationsByRole = {};
    await Promise.all(
      ROLES.map(async (role) => {
        const db = apiDb(this.rt, role);
        if (!db) return;
        try {
          out[role] = await migrationStatus(db, ...(this.dir ? [this.dir] : []));
        } catch (err) {
          out[role] = { role, error: redactError(err) };
        }
      }),
    );
    this.last = { at: Date.now(), value: out };
    return out;
  }

  /** Stops listening to the bus. */
  close(): void {
    this.off();
  }
}
