import { compareNames } from './files.js';

// Pure: the folder's files and one database's history rows in, each file's state and the
// problems that refuse a run out. No I/O here, so every rule is tested with tables of cases.

/** What schema_migrations.status may hold. */
export type HistoryStatus = 'running' | 'applied' | 'failed';

/** One row of schema_migrations, as the planner needs it. Times are the database's, as text. */
export interface HistoryRow {
  name: string;
  checksum: string;
  status: HistoryStatus;
  startedAt: string | null;
  appliedAt: string | null;
  executionMs: number | null;
  appliedBy: string | null;
  statementsDone: number;
  statementsTotal: number;
  /** Redacted error of a failed run: "statement 3 of 4, line 12: ...". */
  error: string | null;
  /**
   * The file that sorted just before this one in the folder when it ran ('' for the first file;
   * null when unknown). A pending file sorting between the two was added later: out of order.
   * A pending file that this row does not bracket was run before and forgotten on purpose
   * (the operator deleted its row to re-apply it).
   */
  previous: string | null;
}

/** The state of one file on one database. */
export type FileState = 'applied' | 'pending' | 'modified' | 'failed' | 'running' | 'missing';
export const FILE_STATES: readonly FileState[] = ['applied', 'pending', 'modified', 'failed', 'running', 'missing'];

/** One line of the plan: a file, a history row, or both. */
export interface PlanEntry {
  name: string;
  state: FileState;
  /** Checksum of the file in the folder (absent when missing). */
  fileChecksum?: string;
  /** The history row (absent when pending). */
  row?: HistoryRow;
  /** A `running` row with no live lease: its runner died; treated as failed and re-run. */
  interrupted?: boolean;
  /** A pending file that sorts before an applied one it was not there for. */
  outOfOrder?: boolean;
  /** The failed migration that must succeed (or be repaired) before this one can run. */
  blockedBy?: string;
}

/** Something that refuses every run (dry-run included) until the operator fixes it. */
export interface Problem {
  /** parse-error is added by the runner, which parses the files it is about to run. */
  kind: 'modified' | 'missing' | 'out-of-order' | 'parse-error';
  name: string;
  message: string;
}

/** Per-file states, what a run would do, and what refuses it. */
export interface Plan {
  entries: PlanEntry[];
  /** Names to run, in order: failed (re-run from the first statement) and pending files. */
  toApply: string[];
  problems: Problem[];
  counts: Record<FileState, number>;
  /** The first failed migration, which blocks everything after it. */
  blockedBy?: string;
}

/** A file as the planner needs it. */
export interface PlanFile {
  name: string;
  checksum: string;
}

/**
 * Plans one database. `leaseLive`: another runner holds the migration lease right now, so a
 * `running` row is really running; without a live lease it was interrupted (failed).
 */
export function planMigrations(files: readonly PlanFile[], history: readonly HistoryRow[], options: { leaseLive: boolean }): Plan {
  const rows = new Map(history.map((r) => [r.name, r]));
  const fileNames = new Set(files.map((f) => f.name));
  const entries: PlanEntry[] = [];
  for (const file of files) entries.push(fileEntry(file, rows.get(file.name), options.leaseLive));
  for (const row of history) if (!fileNames.has(row.name)) entries.push({ name: row.name, state: 'missing', row });
  entries.sort((a, b) => compareNames(a.name, b.name));

  const problems: Problem[] = [];
  const applied = history.filter((r) => r.status === 'applied');
  let blockedBy: string | undefined;
  for (const entry of entries) {
    if (entry.state === 'modified') problems.push({ kind: 'modified', name: entry.name, message: modifiedMessage(entry) });
    if (entry.state === 'missing') problems.push({ kind: 'missing', name: entry.name, message: missingMessage(entry.row!) });
    if (entry.state === 'pending') {
      const after = applied.find((r) => r.previous !== null && compareNames(r.previous, entry.name) < 0 && compareNames(entry.name, r.name) < 0);
      if (after) {
        entry.outOfOrder = true;
        problems.push({ kind: 'out-of-order', name: entry.name, message: outOfOrderMessage(entry.name, after, lastApplied(applied)) });
      }
      if (blockedBy) entry.blockedBy = blockedBy;
    }
    if (entry.state === 'failed') blockedBy ??= entry.name;
  }

  const toApply = entries.filter((e) => e.state === 'pending' || e.state === 'failed').map((e) => e.name);
  const counts = Object.fromEntries(FILE_STATES.map((s) => [s, 0])) as Record<FileState, number>;
  for (const e of entries) counts[e.state]++;
  return { entries, toApply, problems, counts, ...(blockedBy ? { blockedBy } : {}) };
}

function fileEntry(file: PlanFile, row: HistoryRow | undefined, leaseLive: boolean): PlanEntry {
  const base = { name: file.name, fileChecksum: file.checksum };
  if (!row) return { ...base, state: 'pending' };
  // '' is a row of the old shell runner, which kept no checksum: trusted, and adopted on the next run.
  if (row.status === 'applied') return { ...base, row, state: row.checksum === file.checksum || row.checksum === '' ? 'applied' : 'modified' };
  if (row.status === 'running' && leaseLive) return { ...base, row, state: 'running' };
  // A failed file may have been edited since: that edit is the fix, so its checksum is not checked.
  return { ...base, row, state: 'failed', ...(row.status === 'running' ? { interrupted: true } : {}) };
}

function lastApplied(applied: readonly HistoryRow[]): string {
  return applied.map((r) => r.name).sort(compareNames).at(-1) ?? '';
}

function modifiedMessage(entry: PlanEntry): string {
  const row = entry.row!;
  return (
    `${entry.name}.sql was edited after it was applied${row.appliedAt ? ` (${row.appliedAt})` : ''}: ` +
    `the database recorded checksum ${row.checksum}, the file now has ${entry.fileChecksum}. ` +
    'An applied migration must not change: restore the file and put the change in a new migration that sorts last. ' +
    `If the edit is harmless (comments, formatting) and the file is idempotent, re-apply it: DELETE FROM schema_migrations WHERE migration_name = '${entry.name}'; then run cesar migrate again.`
  );
}

function missingMessage(row: HistoryRow): string {
  const when = row.appliedAt ? ` at ${row.appliedAt}` : '';
  return (
    `${row.name} is recorded in schema_migrations (${row.status}${when}) but ${row.name}.sql is not in the migrations folder: ` +
    `restore the file, or if it was removed on purpose, forget it: DELETE FROM schema_migrations WHERE migration_name = '${row.name}';`
  );
}

function outOfOrderMessage(name: string, after: HistoryRow, last: string): string {
  const before = after.previous ? `between ${after.previous} and ${after.name}` : `before ${after.name}`;
  return (
    `${name}.sql is pending but sorts before ${after.name}, which is already applied, and there was no file ${before} when ${after.name} ran: ` +
    `it was added out of order. Rename it so that it sorts after ${last} (the last applied migration).`
  );
}
