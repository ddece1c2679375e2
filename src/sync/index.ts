import type { Config } from '../config/types.js';
import type { Runtime } from '../db/runtime.js';
import { usageError } from '../errors.js';
import { SyncEngine, type EngineOptions } from './engine.js';
import { schemaRegistry } from './schema.js';

export { SyncEngine, DEFAULT_ENGINE_OPTIONS, type PassOptions, type PassReport, type TableReport } from './engine.js';
export { verifyTable, isClean, type TableDiff } from './verify.js';
export { schemaRegistry } from './schema.js';
export type { Direction } from './state.js';

/** Builds the engine from the runtime's databases and configuration. */
export function createEngine(rt: Runtime, overrides: Partial<EngineOptions> = {}): SyncEngine {
  const s = rt.config.sync;
  return new SyncEngine(rt.db('local'), rt.db('cloud'), rt.bus, {
    batchSize: s.batchSize,
    overlapMs: rt.embedded ? Math.min(s.overlapMs, 1000) : s.overlapMs,
    deleteScanIntervalMs: s.deleteScanIntervalMs,
    defaultStrategy: s.defaultStrategy,
    strategies: s.strategies,
    ...overrides,
  });
}

/**
 * Checks table names against the registry of the migration files, before any SQL is sent:
 * anything else (a typo, `agents; DROP TABLE agents`) is a usage error listing the valid names.
 */
export async function validateTableNames(names: string[]): Promise<string[]> {
  const valid = (await schemaRegistry()).map((t) => t.name);
  const unknown = names.filter((n) => !valid.includes(n));
  if (unknown.length > 0) {
    const shown = unknown.map((n) => JSON.stringify(n)).join(', ');
    throw usageError('UNKNOWN_TABLE', `unknown table${unknown.length > 1 ? 's' : ''} ${shown}. Synced tables: ${valid.join(', ')}.`);
  }
  return [...new Set(names)];
}

/**
 * Checks the tables named by CESAR_CRITICAL_TABLES and CESAR_TABLE_STRATEGIES against the synced
 * tables. Loading the configuration checks only their form; a typo (`agent=local-wins`) would
 * otherwise be ignored without a word. A configuration error (exit 2) naming the variable.
 */
export async function validateConfiguredTables(config: Pick<Config, 'criticalTables' | 'sync'>): Promise<void> {
  const valid = (await schemaRegistry()).map((t) => t.name);
  const problems = [
    ...config.criticalTables.filter((t) => !valid.includes(t)).map((t) => `CESAR_CRITICAL_TABLES: "${t}" is not a synced table.`),
    ...Object.keys(config.sync.strategies).filter((t) => !valid.includes(t)).map((t) => `CESAR_TABLE_STRATEGIES: "${t}" is not a synced table.`),
  ];
  if (problems.length > 0) throw usageError('CONFIG', `configuration error:\n  - ${problems.join('\n  - ')}\n  Synced tables: ${valid.join(', ')}.`);
}
