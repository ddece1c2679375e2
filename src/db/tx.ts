import type pg from 'pg';
import { CesarError } from '../errors.js';
import { redact } from '../config/redact.js';
import { dbError, SQLSTATE, sqlStateOf } from './errors.js';
import { checkout, type Db } from './pool.js';

/** Retry policy for transactions (cockroachdb.md, fact 1). */
export interface RetryOptions {
  /** Attempts in all, first included. */
  maxAttempts?: number;
  /** Backoff base: attempt n sleeps base * 2^n plus up to the same again of jitter, capped. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Called before each retry, e.g. to count retries or emit an event. */
  onRetry?: (attempt: number, err: unknown, delayMs: number) => void;
  /** Aborts waiting between attempts. */
  signal?: AbortSignal;
  /** Runs even after the Db's interrupt fired: only for the lease's own statements (see Db.interrupt). */
  pastInterrupt?: boolean;
}

const DEFAULTS = { maxAttempts: 8, baseDelayMs: 50, maxDelayMs: 2000 };

/** Backoff before retry `attempt` (1-based): exponential, capped, with full jitter on top. */
export function backoffDelay(attempt: number, base = DEFAULTS.baseDelayMs, max = DEFAULTS.maxDelayMs, random = Math.random): number {
  const exp = Math.min(max, base * 2 ** (attempt - 1));
  return Math.round(exp / 2 + random() * (exp / 2));
}

/**
 * Runs `fn` in a transaction on one pooled connection, retrying SQLSTATE 40001 (and 40P01) with
 * bounded exponential backoff and jitter. 40003 ("result is ambiguous") is surfaced as a distinct
 * CesarError code 'AMBIGUOUS_RESULT' and not retried: the caller decides, since the write may have
 * happened. Every write to the cloud goes through here; `fn` must be safe to run more than once.
 */
export async function withTransaction<T>(db: Db, fn: (client: pg.PoolClient) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const { maxAttempts, baseDelayMs, maxDelayMs } = { ...DEFAULTS, ...options };
  for (let attempt = 1; ; attempt++) {
    const out = await checkout(db, { pastInterrupt: options.pastInterrupt === true });
    const client = out.client;
    let broken = false;
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      const state = sqlStateOf(err) ?? (err instanceof CesarError ? err.sqlState : undefined);
      if (state === SQLSTATE.ambiguousResult) {
        throw new CesarError('AMBIGUOUS_RESULT', redact(`${db.role} database: the transaction's outcome is unknown (40003): ${(err as Error).message}`), {
          sqlState: state,
          cause: err,
        });
      }
      const retryable = state === SQLSTATE.serializationFailure || state === SQLSTATE.deadlock;
      if (!retryable) throw err instanceof CesarError ? err : dbError(err, db.role, 'transaction failed');
      if (attempt >= maxAttempts) {
        throw new CesarError('RETRIES_EXHAUSTED', redact(`${db.role} database: gave up after ${attempt} attempts on serialization failures (${state}): ${(err as Error).message}`), {
          sqlState: state,
          cause: err,
        });
      }
      const delay = backoffDelay(attempt, baseDelayMs, maxDelayMs);
      options.onRetry?.(attempt, err, delay);
      await sleep(delay, options.signal);
    } finally {
      out.release(broken);
    }
  }
}

/** Sleeps, waking early (with an AbortError) if the signal fires. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
