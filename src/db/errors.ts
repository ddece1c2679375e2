import { CesarError } from '../errors.js';
import { redact } from '../config/redact.js';
import type { Role } from '../config/types.js';

/** SQLSTATEs cesar branches on. */
export const SQLSTATE = {
  serializationFailure: '40001',
  ambiguousResult: '40003',
  deadlock: '40P01',
  uniqueViolation: '23505',
  foreignKeyViolation: '23503',
  checkViolation: '23514',
  notNullViolation: '23502',
  undefinedTable: '42P01',
  undefinedColumn: '42703',
  queryCanceled: '57014',
  adminShutdown: '57P01',
  crashShutdown: '57P02',
  cannotConnectNow: '57P03',
} as const;

// The server is going away or not back yet: shut down by an operator (57P01), restarting after a
// crashed backend (57P02: every session is terminated), or starting up / in recovery / shutting down
// (57P03). Like a refused connection, that is the database being unreachable, not an error of a table.
const SERVER_UNAVAILABLE = new Set<string>([SQLSTATE.adminShutdown, SQLSTATE.crashShutdown, SQLSTATE.cannotConnectNow]);

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'ENETUNREACH']);

/** The SQLSTATE of a driver error, if any. */
export function sqlStateOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** True when the error means the connection is gone (the database is unreachable or restarted). */
export function isConnectionError(err: unknown): boolean {
  const e = err as { code?: string; message?: string } | null;
  if (!e) return false;
  if (e.code && (CONNECTION_CODES.has(e.code) || e.code.startsWith('08') || SERVER_UNAVAILABLE.has(e.code))) return true;
  return /Connection terminated|connection timeout|timeout expired|Client has encountered a connection error|not queryable/i.test(e.message ?? '');
}

/** Wraps a driver error into a redacted CesarError that names the role; keeps the SQLSTATE. */
export function dbError(err: unknown, role: Role, doing: string): CesarError {
  if (err instanceof CesarError) return err;
  const sqlState = sqlStateOf(err);
  const raw = err instanceof Error ? err.message || err.name : String(err);
  const code = (err as { code?: string } | null)?.code;
  const detail = code && !raw.includes(code) ? ` [${code}]` : '';
  const unreachable = isConnectionError(err);
  return new CesarError(unreachable ? 'DB_UNREACHABLE' : 'DB_ERROR', redact(`${role} database: ${doing}: ${raw}${detail}`), {
    ...(sqlState ? { sqlState } : {}),
    cause: err,
  });
}
