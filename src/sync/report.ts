import type { Role } from '../config/types.js';
import { batchCounts, type BatchOutcome } from './batch.js';
import type { SyncRow } from './rows.js';
import { addCounts, zeroCounts, type Counts, type Direction } from './state.js';
import { tsToMicros } from './timestamps.js';

/** One table in one direction, after a pass (or, dry, what it would do). */
export interface TableReport {
  table: string;
  direction: Direction;
  status: 'ok' | 'error' | 'drift';
  counts: Counts;
  inserted: number;
  updated: number;
  error?: string;
  /** Up to 20 conflicts with their resolution. */
  conflicts: Array<{ rowId: string; winner: Role; reason: string }>;
  /** Up to 5 sample ids per kind of change. */
  samples: { inserted: string[]; updated: string[]; deleted: string[] };
  ms: number;
  /** Rows read whose updated_at is more than FUTURE_SKEW_MS ahead of the source's clock. */
  futureStamped?: number;
}

/** The result of a pass. */
export interface PassReport {
  passId: string;
  direction: 'both' | Direction;
  dryRun: boolean;
  ok: boolean;
  ms: number;
  tables: TableReport[];
  totals: Counts;
  /** Tables refused because of schema drift, with the difference. */
  drift: Record<string, string>;
}

export const SAMPLES = 5;
/** A row stamped further than this ahead of its database's clock is flagged (clock skew policy). */
export const FUTURE_SKEW_MS = 60_000;
const CONFLICT_SAMPLES = 20;

/** Rows stamped further ahead of the source clock than FUTURE_SKEW_MS. */
export function countFuture(rows: SyncRow[], now: string): number {
  const limit = tsToMicros(now) + BigInt(FUTURE_SKEW_MS) * 1000n;
  return rows.filter((r) => tsToMicros(r.ts) > limit).length;
}

/** A report with zero counts. */
export function emptyReport(table: string, direction: Direction, status: TableReport['status'], error?: string): TableReport {
  return { table, direction, status, counts: zeroCounts(), inserted: 0, updated: 0, conflicts: [], samples: { inserted: [], updated: [], deleted: [] }, ms: 0, ...(error ? { error } : {}) };
}

/** Adds a batch to a table report (counts, samples, conflicts). */
export function accumulate(report: TableReport, o: BatchOutcome, read: number): void {
  addCounts(report.counts, batchCounts(o, read));
  report.inserted += o.inserted.length;
  report.updated += o.updated.length;
  if (report.samples.inserted.length < SAMPLES) report.samples.inserted.push(...o.inserted.slice(0, SAMPLES - report.samples.inserted.length));
  if (report.samples.updated.length < SAMPLES) report.samples.updated.push(...o.updated.slice(0, SAMPLES - report.samples.updated.length));
  for (const c of o.conflicts) if (report.conflicts.length < CONFLICT_SAMPLES) report.conflicts.push({ rowId: c.rowId, winner: c.winner, reason: c.reason });
}
