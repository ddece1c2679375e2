import type { Role } from '../config/types.js';
import type { Queryable } from '../db/pool.js';
import { tableLagSeconds } from './lag.js';
import type { SyncStateRow } from './sync-state.js';
import type { TableState } from '../sync/state.js';
import type { SyncRow } from './types.js';

const SEVERITY: Record<SyncRow['status'], number> = { error: 5, drift: 4, running: 3, ok: 2, idle: 1, never: 0 };

/**
 * One row per table from sync_state's two directions (pure): the worse status, the later pass,
 * rows applied each way in the last pass, total conflicts, rows parked in sync_errors, the latest error.
 */
export function buildSyncRows(
  tables: readonly string[],
  states: readonly SyncStateRow[],
  lags: ReadonlyMap<string, number | null> = new Map(),
  parked: ReadonlyMap<string, number> = new Map(),
): SyncRow[] {
  const byTable = new Map<string, SyncStateRow[]>();
  for (const st of states) byTable.set(st.table, [...(byTable.get(st.table) ?? []), st]);
  const names = [...new Set([...tables, ...byTable.keys(), ...parked.keys()])].sort();
  return names.map((table) => {
    const dirs = byTable.get(table) ?? [];
    const up = dirs.find((d) => d.direction === 'up');
    const down = dirs.find((d) => d.direction === 'down');
    const status = dirs.reduce<SyncRow['status']>((worst, d) => (SEVERITY[d.status] > SEVERITY[worst] ? d.status : worst), 'never');
    const last = dirs.map((d) => d.lastSyncAt).filter((x): x is string => x !== null).sort().pop() ?? null;
    // the current problem only (a drift's difference included); an error of an earlier pass is history
    const errored = dirs.filter((d) => d.lastError && (d.status === 'error' || d.status === 'drift')).sort((a, b) => String(b.lastErrorAt).localeCompare(String(a.lastErrorAt)))[0];
    return {
      table,
      status,
      lastSyncAt: last,
      up: up?.last.applied ?? 0,
      down: down?.last.applied ?? 0,
      lagSeconds: lags.has(table) ? lags.get(table)! : null,
      conflicts: dirs.reduce((a, d) => a + d.total.conflicts, 0),
      parked: parked.get(table) ?? 0,
      lastError: errored ? `${errored.direction}: ${errored.lastError}` : null,
    };
  });
}

/**
 * Lag of one table: the worse of its two directions (up reads local from the up watermark, down
 * reads the cloud from the down watermark). Null when a side cannot be asked.
 */
export async function tableLag(table: string, states: ReadonlyMap<string, TableState>, dbs: Partial<Record<Role, Queryable>>): Promise<number | null> {
  const one = async (direction: 'up' | 'down'): Promise<number | null> => {
    const source = dbs[direction === 'up' ? 'local' : 'cloud'];
    if (!source) return null;
    try {
      return await tableLagSeconds(source, table, states.get(`${table}/${direction}`)?.watermark ?? null);
    } catch {
      return null;
    }
  };
  const [u, d] = await Promise.all([one('up'), one('down')]);
  if (u === null && d === null) return null;
  return Math.max(u ?? 0, d ?? 0);
}
