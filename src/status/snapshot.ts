// Reads the dashboard's content from the databases, without ink or react: the dashboard's poller
// and the one-shot `cesar status` share these, so both show the same thing.
import { chooseReadSource, type ReadSource } from '../config/priority.js';
import { redactError } from '../config/redact.js';
import { ROLES, type Role } from '../config/types.js';
import { probeDb, type Probe } from '../db/probe.js';
import { checkout, type Checkout, type Db } from '../db/pool.js';
import type { Runtime } from '../db/runtime.js';
import { migrationStatus, type MigrationStatus } from './migrations.js';
import { parkedCounts } from './parked.js';
import { readConflicts, readSyncState, type ConflictRow } from './sync-state.js';
import { schemaRegistry } from '../sync/schema.js';
import { readStates, type TableState } from '../sync/state.js';
import type { SyncRow } from './types.js';
import { buildSyncRows, tableLag } from './sync-rows.js';

/** Each role's probe, or null when the role is not configured. */
export type Probes = Record<Role, Probe | null>;

/** Probes every configured database (or those of `roles`), in parallel. */
export async function probeAll(rt: Runtime, pings = 3, roles: readonly Role[] = ROLES): Promise<Probes> {
  const [local, cloud] = await Promise.all(ROLES.map((r) => (rt.maybeDb(r) && roles.includes(r) ? probeDb(rt.maybeDb(r)!, pings) : Promise.resolve(null))));
  return { local: local ?? null, cloud: cloud ?? null };
}

/** One timed round trip (`SELECT 1` on a pooled connection): the dashboard's health check at each refresh. */
export async function pingDb(db: Db): Promise<{ up: true; latencyMs: number } | { up: false; error: string }> {
  let out: Checkout | undefined;
  try {
    out = await checkout(db);
    const t0 = performance.now();
    await out.client.query('SELECT 1');
    return { up: true, latencyMs: performance.now() - t0 };
  } catch (err) {
    return { up: false, error: redactError(err) };
  } finally {
    out?.release();
  }
}

/** The priority rule applied to what the probes found. */
export function readSourceOf(rt: Runtime, probes: Probes): ReadSource {
  return chooseReadSource(rt.config.environment, { local: probes.local?.up === true, cloud: probes.cloud?.up === true });
}

/** The databases that answered, by role. */
export function upDbs(rt: Runtime, probes: Probes): Partial<Record<Role, Db>> {
  const out: Partial<Record<Role, Db>> = {};
  for (const r of ROLES) if (probes[r]?.up) out[r] = rt.maybeDb(r)!;
  return out;
}

let registry: Promise<string[]> | undefined;

/** Names of the synced tables, from the migration files (read once per process). */
export function syncedTables(): Promise<string[]> {
  registry ??= schemaRegistry().then(
    (tables) => tables.map((t) => t.name),
    () => [],
  );
  return registry;
}

/** Sync rows for every table, with parked rows, and the lag computed for `lagFor` tables only (all when omitted). */
export async function readSyncRows(dbs: Partial<Record<Role, Db>>, lagFor?: (rows: SyncRow[]) => string[]): Promise<{ rows: SyncRow[]; lags: Map<string, number | null> }> {
  const local = dbs.local;
  const tables = await syncedTables();
  if (!local) return { rows: buildSyncRows(tables, []), lags: new Map() };
  const [states, parked] = await Promise.all([readSyncState(local), parkedCounts(local)]);
  const base = buildSyncRows(tables, states, new Map(), parked);
  const wanted = lagFor ? lagFor(base) : base.map((r) => r.table);
  const lags = wanted.length > 0 && states.length > 0 ? await syncLags(dbs, wanted) : new Map<string, number | null>();
  return { rows: buildSyncRows(tables, states, lags, parked), lags };
}

/** The lag of `tables` (the worse direction each), read from the watermarks in sync_state. */
export async function syncLags(dbs: Partial<Record<Role, Db>>, tables: readonly string[]): Promise<Map<string, number | null>> {
  const lags = new Map<string, number | null>();
  const local = dbs.local;
  if (!local || tables.length === 0) return lags;
  const marks: Map<string, TableState> = await readStates(local);
  // a few at a time: the pools are small and shared with the sync engine
  for (let i = 0; i < tables.length; i += 4) {
    const batch = tables.slice(i, i + 4);
    const values = await Promise.all(batch.map((t) => tableLag(t, marks, dbs)));
    batch.forEach((t, j) => lags.set(t, values[j]!));
  }
  return lags;
}

/** The latest conflicts, newest first. */
export function latestConflicts(local: Db, limit: number): Promise<ConflictRow[]> {
  return readConflicts(local, { limit });
}

/** Migration state of each database that answered (an error text for one that could not be read). */
export async function readMigrations(dbs: Partial<Record<Role, Db>>): Promise<Partial<Record<Role, MigrationStatus | { error: string }>>> {
  const out: Partial<Record<Role, MigrationStatus | { error: string }>> = {};
  await Promise.all(
    ROLES.map(async (r) => {
      const db = dbs[r];
      if (!db) return;
      try {
        out[r] = await migrationStatus(db);
      } catch (err) {
        out[r] = { error: redactError(err) };
      }
    }),
  );
  return out;
}
