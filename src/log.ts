import { pino, type DestinationStream, type Logger } from 'pino';
import { redact } from './config/redact.js';
import type { EventBus } from './events/bus.js';
import type { Stamped } from './events/types.js';

/** Levels an operator can choose (`cesar headless --log-level`). */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * The logger of every command: one JSON object per line (headless.md) on stdout or a log file
 * (log-file.ts), `level` as a word and `time` as ISO 8601, written synchronously so that nothing
 * is lost when the process exits. Every string field passes through redact() on its way out.
 */
export function createLogger(options: { level?: LogLevel | 'silent'; destination?: DestinationStream } = {}): Logger {
  return pino(
    {
      name: 'cesar',
      level: options.level ?? 'info',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        log: (obj) => redactFields(obj) as Record<string, unknown>,
      },
      hooks: {
        logMethod(args, method) {
          method.apply(this, args.map((a) => (typeof a === 'string' ? redact(a) : a)) as Parameters<typeof method>);
        },
      },
    },
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}

function redactFields(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redact(value);
  if (depth > 4 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redactFields(v, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactFields(v, depth + 1)]));
}

/** The SQLSTATE a redacted driver message ends with (`... [42P01]`, as dbError writes it), if any. */
export function sqlStateIn(message: string): string | undefined {
  return /\[([0-9A-Z]{5})\]\s*$/.exec(message)?.[1];
}

/**
 * Logs what happens on the bus: each pass with its counts and duration, conflicts, errors with
 * their SQLSTATE, migrations, the lease, database status. Passes of the critical tables that
 * changed nothing run every half second; they are logged at debug so that info stays readable.
 * Returns the unsubscribe function.
 */
export function logEvents(bus: EventBus, log: Logger): () => void {
  const passes = new Map<string, { direction: string; tables: string[]; dryRun: boolean }>();
  return bus.on((e: Stamped) => {
    switch (e.type) {
      case 'sync.pass.started':
        if (passes.size > 1000) passes.clear();
        passes.set(e.passId, { direction: e.direction, tables: e.tables, dryRun: e.dryRun });
        log.debug({ event: e.type, passId: e.passId, direction: e.direction, tables: e.tables, dryRun: e.dryRun }, 'sync pass started');
        break;
      case 'sync.pass.progress':
        log.trace({ event: e.type, passId: e.passId, table: e.table, direction: e.direction, read: e.read, applied: e.applied, skipped: e.skipped, conflicts: e.conflicts }, 'sync pass progress');
        break;
      case 'sync.pass.completed': {
        const p = passes.get(e.passId);
        passes.delete(e.passId);
        const scope = p && p.tables.length > 0 ? 'tables' : 'full';
        const quiet = scope === 'tables' && e.applied === 0 && e.conflicts === 0 && e.errors === 0;
        const fields = { event: e.type, passId: e.passId, scope, direction: p?.direction, tables: p?.tables, applied: e.applied, conflicts: e.conflicts, errors: e.errors, durationMs: e.ms, dryRun: e.dryRun };
        if (quiet) log.debug(fields, 'sync pass completed');
        else if (e.errors > 0) log.warn(fields, `sync pass completed with ${e.errors} row error${e.errors === 1 ? '' : 's'} (parked in sync_errors)`);
        else log.info(fields, 'sync pass completed');
        break;
      }
      case 'sync.pass.failed':
        passes.delete(e.passId);
        log.error({ event: e.type, passId: e.passId, error: e.error, sqlState: e.sqlState ?? sqlStateIn(e.error) }, 'sync pass failed');
        break;
      case 'sync.conflict':
        log.info({ event: e.type, table: e.table, rowId: e.rowId, winner: e.winner, strategy: e.strategy, reason: e.reason }, `sync conflict in ${e.table}: kept the ${e.winner} version`);
        break;
      case 'sync.table.error':
        log.error({ event: e.type, table: e.table, direction: e.direction, error: e.error, sqlState: sqlStateIn(e.error) }, `sync of ${e.table} ${e.direction} failed`);
        break;
      case 'migration.started':
        log.info({ event: e.type, database: e.target, migration: e.name, statements: e.statements }, `migration ${e.name} started on ${e.target}`);
        break;
      case 'migration.applied':
        log.info({ event: e.type, database: e.target, migration: e.name, statements: e.statements, durationMs: Math.round(e.ms) }, `migration ${e.name} applied on ${e.target}`);
        break;
      case 'migration.failed':
        log.error({ event: e.type, database: e.target, migration: e.name, statement: e.statement, error: e.error, sqlState: sqlStateIn(e.error) }, `migration ${e.name} failed on ${e.target}`);
        break;
      case 'lease.acquired':
        log.info({ event: e.type, lease: e.name, owner: e.owner }, e.name === 'sync' ? 'sync lease acquired: this process is the active syncer' : `${e.name} lease acquired`);
        break;
      case 'lease.lost':
        log.warn({ event: e.type, lease: e.name, owner: e.owner }, e.name === 'sync' ? 'sync lease lost: standing by' : `${e.name} lease lost`);
        break;
      case 'lease.released':
        log.info({ event: e.type, lease: e.name, owner: e.owner }, `${e.name} lease released`);
        break;
      case 'agent.changed':
        log.debug({ event: e.type, agentId: e.id, database: e.role }, 'agent changed');
        break;
      case 'db.status':
        if (e.up) log.info({ event: e.type, database: e.role, up: true }, `${e.role} database is up`);
        else log.error({ event: e.type, database: e.role, up: false, error: e.error }, `${e.role} database is down`);
        break;
      case 'log':
        log[e.level]({ event: e.type }, e.message);
        break;
    }
  });
}
