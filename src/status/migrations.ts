import type { Db } from '../db/pool.js';
import { defaultMigrationsDir, inspectDatabase, readMigrationFiles, type FileState } from '../migrations/index.js';

/** Migration state of one database, for status screens and the API. */
export interface MigrationStatus {
  role: 'local' | 'cloud';
  counts: Record<FileState, number>;
  files: Array<{ name: string; state: FileState; appliedAt: string | null }>;
  /** Problems that refuse a run (edited files, missing files, out of order), in words. */
  problems: string[];
}

/** Reads the migration state of a database without writing anything. */
export async function migrationStatus(db: Db, dir = defaultMigrationsDir()): Promise<MigrationStatus> {
  const inspection = await inspectDatabase(db, await readMigrationFiles(dir));
  return {
    role: db.role,
    counts: inspection.plan.counts,
    files: inspection.plan.entries.map((e) => ({ name: e.name, state: e.state, appliedAt: e.row?.appliedAt ?? null })),
    problems: inspection.plan.problems.map((p) => p.message),
  };
}
