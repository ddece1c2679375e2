import type { ReadSource } from '../config/priority.js';
import { ROLES, type Role } from '../config/types.js';
import type { Db } from '../db/pool.js';
import type { Probe } from '../db/probe.js';
import type { Runtime } from '../db/runtime.js';
import type { EventBus } from '../events/bus.js';
import { agentsFingerprint, readAgentsPage, type AgentsQuery } from './agents.js';
import { latestConflicts, pingDb, probeAll, readMigrations, readSourceOf, readSyncRows, syncLags, type Probes } from './snapshot.js';
import { readConflict, type ConflictRow } from './sync-state.js';
import type { AgentsData, MigrationStatus, SyncRow } from './types.js';

export type { Probe, Probes };

/**
 * What a live screen reads, and nothing more: the read side over the runtime's databases. It
 * remembers which databases answered the last health check and reads only from those; the screen
 * decides when to read (tui/data/poller.ts) and never touches a pool itself.
 */
export class LiveSource {
  private probes: Probes = { local: null, cloud: null };
  private up: Partial<Record<Role, Db>> = {};

  constructor(private readonly rt: Runtime) {}

  /** The event bus of this process (the screen's other input). */
  get bus(): EventBus {
    return this.rt.bus;
  }

  /** Whether a role has a database configured at all. */
  configured(role: Role): boolean {
    return this.rt.maybeDb(role) !== undefined;
  }

  /**
   * Checks every configured database: one timed round trip, on the health probes' own small pool
   * when the runtime has one (so that a pass holding the main pool does not make it look slow);
   * the full probe (server version, TLS) the first time and after a database comes back.
   */
  async health(): Promise<{ probes: Probes; readSource: ReadSource }> {
    const before = this.probes;
    const probes: Probes = { local: null, cloud: null };
    await Promise.all(
      ROLES.map(async (r) => {
        const db = this.rt.maybeDb(r);
        if (!db) return;
        const was = before[r];
        if (!was?.up || !was.server) {
          probes[r] = (await probeAll(this.rt, 1, [r]))[r];
          return;
        }
        const ping = await pingDb(this.rt.sidePool(r, 'probe') ?? db);
        probes[r] = ping.up ? { ...was, latencyMs: ping.latencyMs } : { role: r, label: was.label, up: false, error: ping.error };
      }),
    );
    this.probes = probes;
    this.up = {};
    for (const r of ROLES) if (probes[r]?.up) this.up[r] = this.rt.maybeDb(r)!;
    return { probes, readSource: readSourceOf(this.rt, probes) };
  }

  /** Whether a role answered the last health check. */
  isUp(role: Role): boolean {
    return this.up[role] !== undefined;
  }

  /** Whether a role answered an earlier check and not the last one. */
  isDown(role: Role): boolean {
    return this.probes[role] !== null && this.probes[role]?.up === false;
  }

  /** The newest agent version on each side (see agentsFingerprint); null when it cannot be told. */
  agentsFingerprint(role: Role): Promise<string | null> {
    return agentsFingerprint(role, this.up);
  }

  /** The visible page of agents from `role`, with their agreement with the other side. */
  agentsPage(role: Role, q: AgentsQuery): Promise<AgentsData> | null {
    const read = this.up[role];
    if (!read) return null;
    return readAgentsPage(role, read, this.up[role === 'local' ? 'cloud' : 'local'], q);
  }

  /** Every synced table's row (sync state and parked rows; lag left unknown: see lags). */
  async syncRows(): Promise<SyncRow[]> {
    return (await readSyncRows(this.up, () => [])).rows;
  }

  /** The lag of `tables`. */
  lags(tables: readonly string[]): Promise<Map<string, number | null>> {
    return syncLags(this.up, tables);
  }

  /** The latest conflicts; null when the local database (which logs them) is down. */
  conflicts(limit: number): Promise<ConflictRow[]> | null {
    return this.up.local ? latestConflicts(this.up.local, limit) : null;
  }

  /** One conflict with both versions. */
  conflict(id: string): Promise<ConflictRow | null> {
    return readConflict(this.rt.db('local'), id);
  }

  /** Migration state of each database that answered. */
  migrations(): Promise<Partial<Record<Role, MigrationStatus | { error: string }>>> {
    return readMigrations(this.up);
  }
}
