import type { Runtime } from '../db/runtime.js';
import { apiDb } from './db.js';
import { readSyncState, tableLagSeconds } from '../status/index.js';
import { readStates, stateKey, type Direction } from '../sync/state.js';
import { tsToMicros } from '../sync/timestamps.js';

/** Lag and last success of one table in one direction. */
export interface TableStat {
  table: string;
  direction: Direction;
  lagSeconds: number;
  /** Unix seconds; 0 when the direction never succeeded. */
  lastSuccessSeconds: number;
}

const DIRECTIONS: readonly Direction[] = ['up', 'down'];
// The API's pool has two connections: leave one to the requests.
const CONCURRENCY = 1;

/**
 * Per-table lag and last success for the metrics, computed at most every `ttlMs` (one index probe
 * per table and direction, tableLagSeconds) so that frequent scrapes cost nothing extra. A scrape
 * waits at most `waitMs` for a refresh and otherwise gets the previous values.
 */
export class TableStats {
  private values: TableStat[];
  private at = 0;
  private refreshing: Promise<void> | null = null;

  constructor(
    private readonly rt: Runtime,
    tables: string[],
    private readonly ttlMs: number,
    private readonly waitMs = 3000,
  ) {
    this.values = tables.flatMap((table) => DIRECTIONS.map((direction) => ({ table, direction, lagSeconds: 0, lastSuccessSeconds: 0 })));
  }

  /** Current values, refreshed first when stale. */
  async get(): Promise<TableStat[]> {
    if (Date.now() - this.at >= this.ttlMs) {
      this.refreshing ??= this.refresh().finally(() => {
        this.at = Date.now();
        this.refreshing = null;
      });
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.refreshing, new Promise((r) => (timer = setTimeout(r, this.waitMs)))]);
      clearTimeout(timer);
    }
    return this.values;
  }

  private async refresh(): Promise<void> {
    const local = apiDb(this.rt, 'local');
    if (!local) return;
    const rows = await readSyncState(local).catch(() => null);
    if (!rows) return; // local database down: keep the last values
    const states = rows.length ? await readStates(local).catch(() => new Map()) : new Map();
    const success = new Map(rows.map((r) => [stateKey(r.table, r.direction), r.lastSuccessAt]));
    const next = new Map(this.values.map((v) => [stateKey(v.table, v.direction), { ...v }]));
    for (const v of next.values()) v.lastSuccessSeconds = seconds(success.get(stateKey(v.table, v.direction)) ?? null);
    // one round trip per database first: a database that is down is skipped, not asked 31 times
    const cloud = apiDb(this.rt, 'cloud');
    const cloudUp = cloud ? await cloud.query('SELECT 1').then(() => true, () => false) : false;
    const work = [...next.values()].filter((v) => v.direction === 'up' || cloudUp);
    const worker = async (): Promise<void> => {
      for (let v = work.shift(); v; v = work.shift()) {
        const source = apiDb(this.rt, v.direction === 'up' ? 'local' : 'cloud');
        if (!source) continue;
        const watermark = states.get(stateKey(v.table, v.direction))?.watermark ?? null;
        try {
          v.lagSeconds = Math.round((await tableLagSeconds(source, v.table, watermark)) * 1000) / 1000;
        } catch {
          // table missing on that side (migrations pending) or database down: keep the last value
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    this.values = [...next.values()];
  }
}

function seconds(ts: string | null): number {
  if (!ts) return 0;
  try {
    return Number(tsToMicros(ts)) / 1e6;
  } catch {
    const ms = Date.parse(ts.replace(' ', 'T').replace(/([+-]\d{2})$/, '$1:00'));
    return Number.isFinite(ms) ? ms / 1000 : 0;
  }
}
