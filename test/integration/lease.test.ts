import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireLease, defaultOwner, ensureLeaseTable, leaseHolder, tryAcquireLease, type Lease } from '../../src/db/lease.js';
import { openDb, type Db } from '../../src/db/pool.js';
import { sleep } from '../../src/db/tx.js';
import { isCesarError } from '../../src/errors.js';
import { EventBus } from '../../src/events/bus.js';
import { createTestDatabases, sql, type TestDatabases } from '../helpers/databases.js';

// The cloud role: SERIALIZABLE behind the CockroachDB profile, where the lease must work without advisory locks.
const OPTS = { connectTimeoutMs: 5000, statementTimeoutMs: 20_000 };
let dbs: TestDatabases;
let db: Db;
const held: Lease[] = [];
let n = 0;
const fresh = (): string => `test_${++n}`;

beforeAll(async () => {
  dbs = await createTestDatabases();
  db = openDb('cloud', dbs.cloudUrl, OPTS);
  await ensureLeaseTable(db);
  await ensureLeaseTable(db); // idempotent
});
afterAll(async () => {
  await Promise.allSettled(held.map((l) => l.release()));
  await db?.close();
  await dbs?.drop();
});

const keep = <T extends Lease | null>(lease: T): T => {
  if (lease) held.push(lease);
  return lease;
};

describe('lease', () => {
  it('acquires a free lease and refuses a second owner while it is valid', async () => {
    const name = fresh();
    const a = keep(await tryAcquireLease(db, { name, ttlMs: 10_000, owner: 'a' }));
    expect(a?.owner).toBe('a');
    const holder = await leaseHolder(db, name);
    expect(holder).toMatchObject({ owner: 'a', expired: false });
    expect(holder!.acquiredAt).toMatch(/^\d{4}-\d\d-\d\d /);
    expect(await tryAcquireLease(db, { name, ttlMs: 10_000, owner: 'b' })).toBeNull();
    expect((await leaseHolder(db, name))!.owner).toBe('a');
  });

  it('the same owner re-acquires its own lease, keeping acquired_at', async () => {
    const name = fresh();
    keep(await tryAcquireLease(db, { name, ttlMs: 10_000, owner: 'same' }));
    const before = (await leaseHolder(db, name))!;
    await sleep(20);
    const again = keep(await tryAcquireLease(db, { name, ttlMs: 10_000, owner: 'same' }));
    expect(again).not.toBeNull();
    const after = (await leaseHolder(db, name))!;
    expect(after.acquiredAt).toBe(before.acquiredAt);
    expect(after.expiresAt > before.expiresAt).toBe(true);
  });

  it('steals an expired lease left by a dead owner', async () => {
    const name = fresh();
    await sql(dbs.cloudAdminUrl, "INSERT INTO cesar_leases VALUES ($1, 'dead:1:abcd', now() - INTERVAL '1 minute', now() - INTERVAL '1 minute', now() - INTERVAL '1 second')", [name]);
    expect((await leaseHolder(db, name))!.expired).toBe(true);
    const b = keep(await tryAcquireLease(db, { name, ttlMs: 10_000, owner: 'b' }));
    expect(b).not.toBeNull();
    expect(await leaseHolder(db, name)).toMatchObject({ owner: 'b', expired: false });
  });

  it('the heartbeat keeps it alive well past the TTL', async () => {
    const name = fresh();
    const a = keep(await tryAcquireLease(db, { name, ttlMs: 600, owner: 'a' }));
    await sleep(1800);
    expect(a!.lost.aborted).toBe(false);
    expect(await tryAcquireLease(db, { name, ttlMs: 600, owner: 'b' })).toBeNull();
    expect(await leaseHolder(db, name)).toMatchObject({ owner: 'a', expired: false });
  });

  it('fires lost when another owner took it over after it expired', async () => {
    const name = fresh();
    const bus = new EventBus();
    const a = keep(await tryAcquireLease(db, { name, ttlMs: 1500, heartbeatMs: 300, owner: 'a', bus }));
    // a stalls (a long GC pause, a suspended laptop): its lease runs out and b takes it
    await sql(dbs.cloudAdminUrl, "UPDATE cesar_leases SET expires_at = now() - INTERVAL '1 second' WHERE name = $1", [name]);
    const b = keep(await tryAcquireLease(db, { name, ttlMs: 10_000, owner: 'b' }));
    expect(b).not.toBeNull();
    await new Promise<void>((resolve) => (a!.lost.aborted ? resolve() : a!.lost.addEventListener('abort', () => resolve(), { once: true })));
    expect(isCesarError(a!.lost.reason, 'LEASE_LOST')).toBe(true);
    expect(bus.history().map((e) => e.type)).toEqual(['lease.acquired', 'lease.lost']);
    // a's release must not free b's lease
    await a!.release();
    expect((await leaseHolder(db, name))!.owner).toBe('b');
  });

  it('release frees it (idempotently) and emits events', async () => {
    const name = fresh();
    const bus = new EventBus();
    const a = (await tryAcquireLease(db, { name, ttlMs: 10_000, owner: 'a', bus }))!;
    await Promise.all([a.release(), a.release()]);
    await a.release();
    expect(await leaseHolder(db, name)).toBeNull();
    expect(bus.history().map((e) => e.type)).toEqual(['lease.acquired', 'lease.released']);
    expect(a.lost.aborted).toBe(false);
    expect(keep(await tryAcquireLease(db, { name, ttlMs: 10_000, owner: 'b' }))).not.toBeNull();
  });

  it('acquireLease waits for the holder to release, announcing the holder once', async () => {
    const name = fresh();
    const a = (await tryAcquireLease(db, { name, ttlMs: 10_000, owner: 'a' }))!;
    const waits: string[] = [];
    const pending = acquireLease(db, { name, ttlMs: 10_000, owner: 'b', waitMs: 10_000, pollMs: 100, onWait: (h) => waits.push(h.owner) });
    await sleep(500);
    await a.release();
    const b = keep(await pending);
    expect(b.owner).toBe('b');
    expect(waits).toEqual(['a']);
  });

  it('acquireLease gives up after waitMs with LEASE_HELD naming the holder', async () => {
    const name = fresh();
    keep(await tryAcquireLease(db, { name, ttlMs: 10_000, owner: 'host-a:42:beef' }));
    const t0 = Date.now();
    const err = await acquireLease(db, { name, ttlMs: 10_000, owner: 'b', waitMs: 400, pollMs: 100 }).catch((e: unknown) => e);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(400);
    expect(isCesarError(err, 'LEASE_HELD')).toBe(true);
    expect((err as Error).message).toContain('held by host-a:42:beef since');
    expect((err as { exitCode: number }).exitCode).toBe(1);
  });

  it('acquireLease takes a lease as soon as it expires', async () => {
    const name = fresh();
    await sql(dbs.cloudAdminUrl, "INSERT INTO cesar_leases VALUES ($1, 'dead:1:abcd', now(), now(), now() + INTERVAL '700 milliseconds')", [name]);
    const t0 = Date.now();
    keep(await acquireLease(db, { name, ttlMs: 10_000, owner: 'b', waitMs: 5000, pollMs: 100 }));
    expect(Date.now() - t0).toBeGreaterThan(300);
    expect((await leaseHolder(db, name))!.owner).toBe('b');
  });

  it('concurrent acquirers: exactly one wins', async () => {
    const name = fresh();
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => tryAcquireLease(db, { name, ttlMs: 10_000, owner: `racer-${i}` })));
    const winners = results.filter((l) => l !== null);
    winners.forEach(keep);
    expect(winners).toHaveLength(1);
    expect((await leaseHolder(db, name))!.owner).toBe(winners[0]!.owner);
  });

  it('defaultOwner is host:pid:hex', () => {
    expect(defaultOwner()).toMatch(new RegExp(`^.+:${process.pid}:[0-9a-f]{4}$`));
  });
});

describe.skipIf(process.env.CESAR_TEST_BACKEND === 'embedded')('lease with injected serialization failures', () => {
  it('acquire, heartbeat and release survive random 40001s', async () => {
    const noisy = await createTestDatabases({ injectRate: 0.3 });
    const ndb = openDb('cloud', noisy.cloudUrl, OPTS);
    try {
      await ensureLeaseTable(ndb);
      // heartbeats every ~700 ms, some of them retried: the lease must outlive its TTL
      const a = (await acquireLease(ndb, { name: 'noisy', ttlMs: 2000, owner: 'a', waitMs: 5000 }))!;
      await sleep(3000);
      expect(a.lost.aborted).toBe(false);
      await a.release();
      expect(await leaseHolder(ndb, 'noisy')).toBeNull();
    } finally {
      await ndb.close();
      await noisy.drop();
    }
  });
});
