import type { Stamped } from '../../events/types.js';
import { Buckets } from '../format/sparkline.js';
import { plural } from '../format/text.js';
import type { EventLine } from './types.js';

/** Lines kept for the event log (the panel shows the last few; scrolling reaches these). */
export const EVENT_LINES = 500;

/**
 * One line of the event log for a bus event, or null for noise: pass starts and progress, and
 * passes that changed nothing (the critical tables are polled twice a second; a log of empty
 * passes would bury the ones that matter).
 */
export function eventLine(e: Stamped): EventLine | null {
  const at = e.at;
  switch (e.type) {
    case 'sync.pass.completed':
      if (e.dryRun || (e.applied === 0 && e.conflicts === 0 && e.errors === 0)) return null;
      return { at, level: e.errors > 0 ? 'warn' : 'info', text: `pass ${e.passId}: ${plural(e.applied, 'row')} applied, ${plural(e.conflicts, 'conflict')}, ${plural(e.errors, 'error')} (${e.ms} ms)` };
    case 'sync.pass.failed':
      return { at, level: 'error', text: `pass ${e.passId} failed: ${e.error}${e.sqlState ? ` (SQLSTATE ${e.sqlState})` : ''}` };
    case 'sync.conflict':
      return { at, level: 'warn', text: `conflict ${e.table} ${e.rowId}: ${e.reason}, kept ${e.winner} (${e.strategy})` };
    case 'sync.table.error':
      return { at, level: 'error', text: `${e.table} ${e.direction}: ${e.error}` };
    case 'migration.started':
      return { at, level: 'info', text: `migration ${e.name} on ${e.target}: ${e.statements} statements` };
    case 'migration.applied':
      return { at, level: 'info', text: `migration ${e.name} applied on ${e.target} (${e.ms} ms)` };
    case 'migration.failed':
      return { at, level: 'error', text: `migration ${e.name} failed on ${e.target} at statement ${e.statement}: ${e.error}` };
    case 'lease.acquired':
      return { at, level: 'info', text: `${e.name} lease taken by ${e.owner}` };
    case 'lease.lost':
      return { at, level: 'warn', text: `${e.name} lease lost by ${e.owner}` };
    case 'lease.released':
      return { at, level: 'info', text: `${e.name} lease released by ${e.owner}` };
    case 'db.status':
      return { at, level: e.up ? 'info' : 'error', text: `${e.role} database ${e.up ? 'up' : `down${e.error ? `: ${e.error}` : ''}`}` };
    case 'log':
      return { at, level: e.level, text: e.message };
    case 'sync.pass.started':
    case 'sync.pass.progress':
    case 'agent.changed':
      return null;
  }
}

/** Seconds per sparkline bucket, and how many buckets the history keeps. */
export const SPARK_BUCKET_MS = 10_000;
export const SPARK_BUCKETS = 30;

/**
 * Rows applied over time, in total and per table, from the engine's progress events (which carry
 * running totals per table and direction within a pass, so only the increase is counted).
 * Dry-run passes write nothing and are left out.
 */
export class Throughput {
  readonly total = new Buckets(SPARK_BUCKET_MS, SPARK_BUCKETS);
  private readonly tables = new Map<string, Buckets>();
  private readonly seen = new Map<string, number>();
  private readonly dry = new Set<string>();

  /** Feeds one bus event. Returns true when it counted rows. */
  add(e: Stamped): boolean {
    if (e.type === 'sync.pass.started') {
      if (e.dryRun) this.dry.add(e.passId);
      return false;
    }
    if (e.type === 'sync.pass.completed' || e.type === 'sync.pass.failed') {
      this.dry.delete(e.passId);
      for (const k of this.seen.keys()) if (k.startsWith(`${e.passId}/`)) this.seen.delete(k);
      return false;
    }
    if (e.type !== 'sync.pass.progress' || this.dry.has(e.passId)) return false;
    const key = `${e.passId}/${e.table}/${e.direction}`;
    const delta = e.applied - (this.seen.get(key) ?? 0);
    this.seen.set(key, e.applied);
    if (delta <= 0) return false;
    const at = Date.parse(e.at);
    this.total.add(at, delta);
    let t = this.tables.get(e.table);
    if (!t) this.tables.set(e.table, (t = new Buckets(SPARK_BUCKET_MS, SPARK_BUCKETS)));
    t.add(at, delta);
    return true;
  }

  /** The per-table series at `now`, only for tables that moved rows in the window. */
  perTable(now: number): Record<string, number[]> {
    const out: Record<string, number[]> = {};
    for (const [name, b] of this.tables) if (!b.empty(now)) out[name] = b.series(now);
    return out;
  }
}
