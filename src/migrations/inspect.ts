import { leaseHolder, type LeaseHolder } from '../db/lease.js';
import type { Db } from '../db/pool.js';
import type { MigrationFile } from './files.js';
import { historyExists, readHistory } from './history.js';
import { planMigrations, type Plan, type Problem } from './plan.js';
import { SqlParseError, splitStatements, type SqlStatement } from './split.js';

/** The name of the lease that serialises migration runners on one database. */
export const MIGRATION_LEASE = 'migrations';

/** What a database says about its migrations, read without writing anything. */
export interface Inspection {
  plan: Plan;
  /** False when schema_migrations does not exist yet (nothing was ever applied by cesar). */
  historyTable: boolean;
  /** The migration lease's holder, if any row exists (it may be expired). */
  holder: LeaseHolder | null;
}

/** Reads history and lease through information_schema first, so that it never creates a table (dry-run, status). */
export async function inspectDatabase(db: Db, files: readonly MigrationFile[]): Promise<Inspection> {
  const historyTable = await historyExists(db);
  const history = historyTable ? await readHistory(db) : [];
  const holder = await leaseHolder(db, MIGRATION_LEASE);
  const plan = planMigrations(files, history, { leaseLive: holder !== null && !holder.expired });
  return { plan, historyTable, holder };
}

/** Splits the files about to run; a file the parser rejects becomes a problem that refuses the run. */
export async function prepareStatements(
  files: readonly MigrationFile[],
  names: readonly string[],
): Promise<{ statements: Map<string, SqlStatement[]>; problems: Problem[] }> {
  const statements = new Map<string, SqlStatement[]>();
  const problems: Problem[] = [];
  for (const name of names) {
    const file = files.find((f) => f.name === name);
    if (!file) continue;
    try {
      statements.set(name, await splitStatements(file.sql, `${name}.sql`));
    } catch (err) {
      if (!(err instanceof SqlParseError)) throw err;
      problems.push({
        kind: 'parse-error',
        name,
        message: `${name}.sql cannot be parsed: ${err.parserMessage} (line ${err.line}, column ${err.column}); nothing was run.`,
      });
    }
  }
  return { statements, problems };
}

/** What a dry run sees: the inspection, the statements of the files a run would apply, and every problem that would refuse it. */
export async function planDryRun(
  db: Db,
  files: readonly MigrationFile[],
): Promise<{ inspection: Inspection; statements: Map<string, SqlStatement[]>; problems: Problem[] }> {
  const inspection = await inspectDatabase(db, files);
  const { statements, problems } = await prepareStatements(files, inspection.plan.toApply);
  return { inspection, statements, problems: [...inspection.plan.problems, ...problems] };
}

/** The file sorting just before `name` in the folder ('' for the first): what history.previous_migration records. */
export function previousFile(files: readonly MigrationFile[], name: string): string {
  const i = files.findIndex((f) => f.name === name);
  return i > 0 ? files[i - 1]!.name : '';
}
