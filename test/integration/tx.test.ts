import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb, type Db } from '../../src/db/pool.js';
import { withTransaction } from '../../src/db/tx.js';
import { CesarError } from '../../src/errors.js';
import { createTestDatabases, type TestDatabases } from '../helpers/databases.js';

const OPTS = { connectTimeoutMs: 5000, statementTimeoutMs: 20_000 };
let dbs: TestDatabases;
let cloud: Db;

beforeAll(async () => {
  dbs = await createTestDatabases();
  cloud = openDb('cloud', dbs.cloudUrl, OPTS);
  await cloud.query('CREATE TABLE IF NOT EXISTS counter (id INT4 PRIMARY KEY, v INT4 NOT NULL)');
  await cloud.query('CREATE TABLE IF NOT EXISTS items (id INT4 PRIMARY KEY)');
});
afterAll(async () => {
  await cloud?.close();
  await dbs?.drop();
});

describe('withTransaction on the SERIALIZABLE cloud role', () => {
  it.skipIf(process.env.CESAR_TEST_BACKEND === 'embedded')('the cloud role really runs SERIALIZABLE', async () => {
    const r = await cloud.query<{ iso: string }>("SELECT current_setting('transaction_isolation') AS iso");
    expect(r.rows[0]!.iso).toBe('serializable');
  });

  it.skipIf(process.env.CESAR_TEST_BACKEND === 'embedded')('retries a real serialization failure (40001) and both writers land exactly once', async () => {
    await cloud.query('INSERT INTO counter VALUES (1, 0) ON CONFLICT (id) DO UPDATE SET v = 0');
    // Both transactions read the row, meet at the barrier, then both update it: under SERIALIZABLE the
    // second updater fails with 40001 once the first commits. Only first attempts wait at the barrier.
    let arrived = 0;
    let release!: () => void;
    const barrier = new Promise<void>((r) => (release = r));
    const retries: string[] = [];
    const writer = (name: string) => {
      let attempt = 0;
      return withTransaction(
        cloud,
        async (client) => {
          attempt++;
          const { rows } = await client.query<{ v: number }>('SELECT v FROM counter WHERE id = 1');
          if (attempt === 1) {
            if (++arrived === 2) release();
            await barrier;
          }
          await client.query('UPDATE counter SET v = $1 WHERE id = 1', [rows[0]!.v + 1]);
          return name;
        },
        { baseDelayMs: 10, onRetry: (_n, err) => retries.push(`${name}:${(err as { code?: string }).code}`) },
      );
    };
    await expect(Promise.all([writer('a'), writer('b')])).resolves.toEqual(['a', 'b']);
    expect(retries.length).toBeGreaterThanOrEqual(1);
    expect(retries.every((r) => r.endsWith(':40001'))).toBe(true);
    const { rows } = await cloud.query<{ v: number }>('SELECT v FROM counter WHERE id = 1');
    expect(rows[0]!.v).toBe(2); // a lost update would leave 1
  });

  it('surfaces 40003 (ambiguous result) distinctly, without retrying', async () => {
    let calls = 0;
    const err = await withTransaction(cloud, async () => {
      calls++;
      throw Object.assign(new Error('result is ambiguous'), { code: '40003' });
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CesarError);
    expect((err as CesarError).code).toBe('AMBIGUOUS_RESULT');
    expect((err as CesarError).sqlState).toBe('40003');
    expect(calls).toBe(1);
  });

  it('does not retry other errors, and reports them redacted with their SQLSTATE', async () => {
    await cloud.query('INSERT INTO items VALUES (1) ON CONFLICT DO NOTHING');
    let calls = 0;
    const err = await withTransaction(cloud, async (c) => {
      calls++;
      await c.query('INSERT INTO items VALUES (1)');
    }).catch((e: unknown) => e);
    expect(calls).toBe(1);
    expect((err as CesarError).code).toBe('DB_ERROR');
    expect((err as CesarError).sqlState).toBe('23505');
    expect((err as CesarError).message).toContain('cloud database');
  });

  it('gives up after maxAttempts with RETRIES_EXHAUSTED', async () => {
    let calls = 0;
    const err = await withTransaction(
      cloud,
      async () => {
        calls++;
        throw Object.assign(new Error('restart transaction'), { code: '40001' });
      },
      { maxAttempts: 3, baseDelayMs: 1 },
    ).catch((e: unknown) => e);
    expect(calls).toBe(3);
    expect((err as CesarError).code).toBe('RETRIES_EXHAUSTED');
  });
});

describe.skipIf(process.env.CESAR_TEST_BACKEND === 'embedded')('with injected 40001s (CockroachDB profile, 30% of writes)', () => {
  let noisy: TestDatabases;
  let db: Db;
  beforeAll(async () => {
    noisy = await createTestDatabases({ injectRate: 0.3 });
    db = openDb('cloud', noisy.cloudUrl, OPTS);
    await db.query('CREATE TABLE IF NOT EXISTS ledger (id INT4 PRIMARY KEY, n INT4 NOT NULL)');
  });
  afterAll(async () => {
    await db?.close();
    await noisy?.drop();
  });

  it('every write lands exactly once despite the injected failures', async () => {
    let retries = 0;
    for (let i = 0; i < 30; i++) {
      await withTransaction(
        db,
        async (c) => {
          await c.query('INSERT INTO ledger VALUES ($1, 1) ON CONFLICT (id) DO NOTHING', [i]);
          await c.query('UPDATE ledger SET n = n + 0 WHERE id = $1', [i]);
        },
        { baseDelayMs: 1, maxAttempts: 30, onRetry: () => retries++ },
      );
    }
    const { rows } = await db.query<{ c: number; s: number }>('SELECT count(*) AS c, sum(n) AS s FROM ledger');
    expect(rows[0]).toEqual({ c: 30, s: 30 });
    expect(retries).toBeGreaterThan(0);
  });
});
