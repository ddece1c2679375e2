// The migration runner's public surface: read the folder, plan (pure), inspect, apply, repair, lint.
export { checksumOf, compareNames, defaultMigrationsDir, readMigrationFiles, type MigrationFile } from './files.js';
export { FILE_STATES, planMigrations, type FileState, type HistoryRow, type HistoryStatus, type Plan, type PlanEntry, type PlanFile, type Problem } from './plan.js';
export { ensureHistoryTable, historyExists, readHistory, HISTORY_TABLE } from './history.js';
export { inspectDatabase, MIGRATION_LEASE, planDryRun, prepareStatements, type Inspection } from './inspect.js';
export { repairMigration, runMigrations, type AppliedMigration, type FailedMigration, type LeaseSettings, type RepairResult, type RunOptions, type RunResult } from './runner.js';
export { lintDirectory, lintSql, LINT_RULES, type LintFinding } from './lint.js';
export { splitStatements, type SqlStatement } from './split.js';
