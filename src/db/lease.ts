import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { formatDuration } from '../config/duration.js';
import { redactError } from '../config/redact.js';
import { CesarError, EXIT } from '../errors.js';
import type { EventBus } from '../events/bus.js';
import { SQLSTATE, sqlStateOf } from './errors.js';
import type { Db } from './pool.js';
import { sleep, withTransaction } from './tx.js';

// Mutual exclusion by a lease row, not advisory locks: CockroachDB has none that work
// (cockroachdb.md, fact 3). Every time comparison uses the database's now(), so the clocks of
// the runners do not matter; only the holder's own estimate of its deadline uses local time.

const TABLE_DDL = `CREATE TABLE IF NOT EXISTS cesar_leases (
  name TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  acquired_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  heartbeat_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  expires_at TIMESTAMPTZ NOT NULL
)`;

/** Table cesar_leases (name TEXT PRIMARY KEY, owner TEXT NOT NULL, acquired_at, heartbeat_at, expires_at TIMESTAMPTZ NOT NULL) on the given database. */
export async function ensureLeaseTable(db: Db): Promise<void> {
  await ensureTable(db, 'cesar_leases', TABLE_DDL);
}

/**
 * Runs a `CREATE TABLE IF NOT EXISTS` on its own (DDL never inside a transaction). Two runners
 * creating the table at the same moment can still collide in PostgreSQL's catalog (23505 or 42P07):
 * the table then exists, which is all we wanted.
 */
export async function ensureTable(db: Db, table: string, ddl: string): Promise<void> {
  try {
    await db.query(ddl);
  } catch (err) {
    const state = sqlStateOf(err) ?? (err as CesarError).sqlState;
    if (state === SQLSTATE.uniqueViolation || state === '42P07') {
      if (await tableExists(db, table)) return;
    }
    throw err;
  }
}

/** True when `table` exists in the current schema (through information_schema, so it creates nothing). */
export async function tableExists(db: Db, table: string): Promise<boolean> {
  const r = await db.query(
    'SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1',
    [table],
  );
  return r.rows.length > 0;
}

/** Who holds a lease, as the database sees it. Times are the database's, as text. */
export interface LeaseHolder {
  owner: string;
  acquiredAt: string;
  heartbeatAt: string;
  expiresAt: string;
  /** True when expires_at is in the past by the database's clock: anyone may take it. */
  expired: boolean;
}

/** The current row of lease `name`, or null when nobody holds it (or the table does not exist yet). */
export async function leaseHolder(db: Db, name: string): Promise<LeaseHolder | null> {
  if (!(await tableExists(db, 'cesar_leases'))) return null;
  const r = await db.query<{ owner: string; acquired_at: string; heartbeat_at: string; expires_at: string; expired: boolean }>(
    'SELECT owner, acquired_at, heartbeat_at, expires_at, expires_at < now() AS expired FROM cesar_leases WHERE name = $1',
    [name],
  );
  const row = r.rows[0];
  if (!row) return null;
  return { owner: row.owner, acquiredAt: row.acquired_at, heartbeatAt: row.heartbeat_at, expiresAt: row.expires_at, expired: row.expired };
}

/** A held lease. Its heartbeat runs until release() or until it is lost. */
export interface Lease {
  readonly name: string;
  readonly owner: string;
  /** aborted when the lease is lost (heartbeat found another owner, or could not renew before expiry) */
  readonly lost: AbortSignal;
  release(): Promise<void>;
}

/** How to take a lease. */
export interface LeaseOptions {
  name: string;
  /** How long the lease lives without a heartbeat. */
  ttlMs: number;
  /** Defaults to defaultOwner(). */
  owner?: string;
  /** Default ttlMs / 3. */
  heartbeatMs?: number;
  bus?: EventBus;
}

/** `${hostname}:${pid}:${4 random hex}` */
export function defaultOwner(): string {
  return `${os.hostname()}:${process.pid}:${randomBytes(2).toString('hex')}`;
}

const ACQUIRE = `INSERT INTO cesar_leases (name, owner, acquired_at, heartbeat_at, expires_at)
VALUES ($1, $2, now(), now(), now() + ($3::INT8 * INTERVAL '1 millisecond'))
ON CONFLICT (name) DO UPDATE SET
  owner = excluded.owner,
  acquired_at = CASE WHEN cesar_leases.owner = excluded.owner THEN cesar_leases.acquired_at ELSE excluded.acquired_at END,
  heartbeat_at = excluded.heartbeat_at,
  expires_at = excluded.expires_at
WHERE cesar_leases.expires_at < now() OR cesar_leases.owner = excluded.owner
RETURNING owner`;

const HEARTBEAT = `UPDATE cesar_leases SET heartbeat_at = now(), expires_at = now() + ($3::INT8 * INTERVAL '1 millisecond')
WHERE name = $1 AND owner = $2
RETURNING owner`;

const RELEASE = 'DELETE FROM cesar_leases WHERE name = $1 AND owner = $2';

/** One attempt: takes the lease if free, expired, or already ours; starts the heartbeat. */
export async function tryAcquireLease(db: Db, opts: LeaseOptions): Promise<Lease | null> {
  validate(opts);
  const owner = opts.owner ?? defaultOwner();
  const started = Date.now();
  const rows = await withTransaction(db, async (client) => (await client.query(ACQUIRE, [opts.name, owner, opts.ttlMs])).rows);
  if (rows.length === 0) return null;
  opts.bus?.emit({ type: 'lease.acquired', name: opts.name, owner });
  return startHeartbeat(db, { ...opts, owner }, started + opts.ttlMs);
}

/** Polls until acquired or waitMs passes (then CesarError code LEASE_HELD, exit 1, naming the holder). */
export async function acquireLease(
  db: Db,
  opts: LeaseOptions & { waitMs: number; pollMs?: number; onWait?: (holder: LeaseHolder) => void; signal?: AbortSignal },
): Promise<Lease> {
  const owner = opts.owner ?? defaultOwner();
  const deadline = Date.now() + opts.waitMs;
  const pollMs = opts.pollMs ?? Math.max(50, Math.min(1000, Math.floor(opts.ttlMs / 4)));
  let announced: string | undefined;
  for (;;) {
    const lease = await tryAcquireLease(db, { ...opts, owner });
    if (lease) return lease;
    const holder = await leaseHolder(db, opts.name);
    // Released between our attempt and the read: try again at once.
    if (!holder) continue;
    if (Date.now() >= deadline) throw leaseHeld(db, opts.name, holder, opts.waitMs);
    // Once per holder: a lease passed from one runner to another is worth a second line.
    if (holder.owner !== announced) {
      announced = holder.owner;
      opts.onWait?.(holder);
    }
    await sleep(Math.min(pollMs, Math.max(1, deadline - Date.now())), opts.signal);
  }
}

function leaseHeld(db: Db, name: string, holder: LeaseHolder, waitMs: number): CesarError {
  return new CesarError(
    'LEASE_HELD',
    `the ${name} lease on the ${db.role} database is held by ${holder.owner} since ${holder.acquiredAt} ` +
      `(last heartbeat ${holder.heartbeatAt}, expires ${holder.expiresAt}); gave up after waiting ${formatDuration(waitMs)}. ` +
      'If that process is still running, let it finish; if it died, the lease expires by itself at the time shown.',
    { exitCode: EXIT.failure },
  );
}

function validate(opts: LeaseOptions): void {
  if (!(opts.ttlMs > 0)) throw new CesarError('LEASE_OPTIONS', `lease ${opts.name}: ttlMs must be positive`);
  if (opts.heartbeatMs !== undefined && !(opts.heartbeatMs > 0 && opts.heartbeatMs < opts.ttlMs)) {
    throw new CesarError('LEASE_OPTIONS', `lease ${opts.name}: heartbeatMs must be positive and below ttlMs`);
  }
}

/** Renews the lease every heartbeatMs until released or lost. `deadline` is our local, conservative expiry estimate. */
function startHeartbeat(db: Db, opts: LeaseOptions & { owner: string }, deadline: number): Lease {
  const { name, owner, ttlMs, bus } = opts;
  const every = opts.heartbeatMs ?? Math.max(1, Math.floor(ttlMs / 3));
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let expiry: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> | undefined;
  let stopped = false;
  let releasing: Promise<void> | undefined;
  let lastError = 'no heartbeat succeeded';

  const lose = (why: string): void => {
    if (stopped || controller.signal.aborted) return;
    stopped = true;
    clearTimeout(timer);
    clearTimeout(expiry);
    bus?.emit({ type: 'lease.lost', name, owner });
    controller.abort(new CesarError('LEASE_LOST', `lost the ${name} lease on the ${db.role} database: ${why}`));
  };

  const beat = async (): Promise<void> => {
    const sent = Date.now();
    try {
      // past an interrupt too: the lease must stay ours until the stopping command releases it
      const rows = await withTransaction(db, async (client) => (await client.query(HEARTBEAT, [name, owner, ttlMs])).rows, {
        maxAttempts: 4,
        pastInterrupt: true,
      });
      if (stopped) return;
      if (rows.length === 0) return lose('another owner took it over after it expired');
      deadline = sent + ttlMs;
      armExpiry();
    } catch (err) {
      lastError = redactError(err);
    }
  };

  // Fires when no heartbeat succeeded in time, even while one hangs on a dead connection.
  const armExpiry = (): void => {
    clearTimeout(expiry);
    expiry = setTimeout(() => lose(`could not renew it before it expired (${lastError})`), Math.max(0, deadline - Date.now()));
    expiry.unref();
  };
  armExpiry();

  const schedule = (): void => {
    if (stopped) return;
    // Renew sooner when a failed heartbeat left less than one interval before expiry.
    const delay = Math.max(Math.min(every, 50), Math.min(every, deadline - Date.now() - 1));
    timer = setTimeout(() => {
      inFlight = beat().finally(() => {
        inFlight = undefined;
        schedule();
      });
    }, delay);
    timer.unref();
  };
  schedule();

  return {
    name,
    owner,
    lost: controller.signal,
    release() {
      releasing ??= (async () => {
        const wasLost = controller.signal.aborted;
        stopped = true;
        clearTimeout(timer);
        clearTimeout(expiry);
        await inFlight?.catch(() => undefined);
        // past an interrupt: releasing is what an interrupted command does last
        await withTransaction(
          db,
          async (client) => {
            await client.query(RELEASE, [name, owner]);
          },
          { pastInterrupt: true },
        );
        if (!wasLost) bus?.emit({ type: 'lease.released', name, owner });
      })();
      return releasing;
    },
  };
}
