import type { Runtime } from '../runtime.js';
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
