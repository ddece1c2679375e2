import type { Db } from '../db/pool.js';
import { microsToTs, tsToMicros } from './timestamps.js';

/** How far back to hold the watermark where open transactions cannot be seen. */
export interface HorizonOptions {
  /** Overlap for servers whose open transactions cannot be listed (CockroachDB): transaction length + clock offset. */
  overlapMs: number;
  /** Never hold the watermark back more than this for one long-open transaction. */
  maxHoldBackMs: number;
}

/** The read horizon of a source, and why. */
export interface Horizon {
  ts: string;
  /** The source's clock when the horizon was read. */
  now: string;
  /** The start of the oldest open transaction that held it back, if that was the reason. */
  heldBy?: string;
  /** True when a transaction older than maxHoldBackMs was ignored (its late rows may then be missed). */
  capped?: boolean;
}

/**
 * The point up to which every committed row is visible now. `now()` is a transaction's start time,
 * so a transaction still open can commit rows stamped earlier than any watermark we would set
 * (sync.md, "late commits"). On PostgreSQL, when every session is visible to us, that bound is the
 * start of the oldest open transaction; otherwise (CockroachDB, a role that cannot see other
 * sessions) it is now() minus an overlap window. Rows after the horizon are still applied; the
 * watermark just does not pass it, so they are read again (and skipped when identical).
 */
export async function readHorizon(db: Db, flavor: string, opts: HorizonOptions): Promise<Horizon> {
  if (flavor === 'postgres') {
    const { rows } = await db.query<{ now: string; oldest: string | null; sees_all: boolean }>(
      `SELECT now()::text AS now,
              (SELECT min(xact_start) FROM pg_stat_activity
                WHERE datname = current_database() AND pid <> pg_backend_pid())::text AS oldest,
              COALESCE((SELECT rolsuper FROM pg_roles WHERE rolname = current_user), false)
                OR pg_has_role(current_user, 'pg_read_all_stats', 'MEMBER') AS sees_all`,
    );
    const r = rows[0]!;
    const now = tsToMicros(r.now);
    let bound = r.sees_all ? now : now - BigInt(opts.overlapMs) * 1000n;
    let heldBy: string | undefined;
    let capped = false;
    if (r.oldest) {
      const oldest = tsToMicros(r.oldest);
      const floor = now - BigInt(opts.maxHoldBackMs) * 1000n;
      if (oldest < floor) capped = true;
      const effective = oldest < floor ? floor : oldest;
      if (effective < bound) {
        bound = effective;
        heldBy = r.oldest;
      }
    }
    return { ts: microsToTs(bound), now: r.now, ...(heldBy ? { heldBy } : {}), ...(capped ? { capped } : {}) };
  }
  const { rows } = await db.query<{ now: string }>('SELECT now()::text AS now');
  return { ts: microsToTs(tsToMicros(rows[0]!.now) - BigInt(opts.overlapMs) * 1000n), now: rows[0]!.now };
}
