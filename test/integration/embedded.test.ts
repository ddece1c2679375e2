import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import pg from 'pg';
import { runningWorkers, startEmbedded, isEmbeddedVersion, type EmbeddedPair } from '../../src/db/embedded.js';
import { CesarError } from '../../src/errors.js';

const DEBIAN_PG = 'PostgreSQL 15.20 (Debian 15.20-0+deb12u1) on x86_64-pc-linux-gnu, compiled by gcc (Debian 12.2.0-14+deb12u1) 12.2.0, 64-bit';
const COCKROACH = 'CockroachDB CCL v24.3.0 (x86_64-pc-linux-gnu, built 2024/11/14, go1.22.8)';
const DEAD_PID = 999999;

// initdb of two PGlite databases takes several seconds, so it runs once into a template that
// each test copies into its own fresh directory (which also exercises reopening a data dir).
let template: string;
const tempDirs: string[] = [];

function freshDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cesar-embedded-'));
  tempDirs.push(dir);
  return dir;
}

function dataDirFromTemplate(): string {
  const dir = path.join(freshDir(), 'data');
  fs.cpSync(template, dir, { recursive: true });
  return dir;
}

function poolFor(url: string, max = 4): pg.Pool {
  // Startup parameters exactly as the app sends them; the embedded server must accept them.
  const pool = new pg.Pool({ connectionString: url, max, application_name: 'cesar-test', options: '-c statement_timeout=30000' });
  // close() cuts idle connections; without a listener that 'error' would crash the worker.
  pool.on('error', () => undefined);
  return pool;
}

beforeAll(async () => {
  // Nested and missing on purpose: startEmbedded must create it.
  template = path.join(freshDir(), 'nested', 'template');
  const pair = await startEmbedded({ dataDir: template });
  await pair.close();
}, 120_000);

afterAll(() => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

describe('isEmbeddedVersion', () => {
  it('rejects real PostgreSQL and CockroachDB version strings', () => {
    expect(isEmbeddedVersion(DEBIAN_PG)).toBe(false);
    expect(isEmbeddedVersion(COCKROACH)).toBe(false);
    expect(isEmbeddedVersion('')).toBe(false);
  });
});

describe('startEmbedded', () => {
  it('creates both databases on first use and serves them to a pg.Pool', async () => {
    const dataDir = path.join(freshDir(), 'missing', 'data');
    const pair = await startEmbedded({ dataDir });
    const pool = poolFor(pair.local.url);
    try {
      for (const db of [pair.local, pair.cloud]) {
        expect(db.url).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:[1-9]\d*\/postgres$/);
        expect(fs.existsSync(path.join(dataDir, db.role, 'PG_VERSION'))).toBe(true);
        expect(fs.readFileSync(path.join(dataDir, db.role, 'cesar.lock'), 'utf8').trim()).toBe(String(process.pid));
      }
      expect(pair.local.role).toBe('local');
      expect(pair.cloud.role).toBe('cloud');
      expect(pair.local.dataDir).toBe(path.join(dataDir, 'local'));
      expect(pair.local.url).not.toBe(pair.cloud.url);

      // Four connections at once, so the pool really opens several sockets.
      const versions = await Promise.all(
        [1, 2, 3, 4].map(async () => (await pool.query<{ version: string }>('SELECT version()')).rows[0]?.version ?? ''),
      );
      expect(pool.totalCount).toBe(4);
      for (const v of versions) expect(isEmbeddedVersion(v)).toBe(true);
    } finally {
      await pool.end();
      await pair.close();
    }
  }, 120_000);

  it('supports the SQL the sync engine uses', async () => {
    const pair = await startEmbedded({ dataDir: dataDirFromTemplate() });
    const pool = poolFor(pair.local.url);
    try {
      await pool.query(
        'CREATE TABLE item (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), doc jsonb NOT NULL, version int NOT NULL, updated_at timestamptz NOT NULL)',
      );
      const upsert = `INSERT INTO item (id, doc, version, updated_at) VALUES ($1, $2, $3, $4)
        ON CONFLICT (id) DO UPDATE SET doc = EXCLUDED.doc, version = EXCLUDED.version, updated_at = EXCLUDED.updated_at
        WHERE item.version < EXCLUDED.version`;
      const { rows } = await pool.query<{ id: string }>('SELECT gen_random_uuid()::text AS id');
      const id = rows[0]?.id ?? '';
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);

      expect((await pool.query(upsert, [id, { n: 1, tags: ['a'] }, 2, '2024-01-01T00:00:00.000001Z'])).rowCount).toBe(1);
      // Older version: the WHERE keeps the row unchanged.
      expect((await pool.query(upsert, [id, { n: 0 }, 1, '2024-01-02T00:00:00Z'])).rowCount).toBe(0);
      expect((await pool.query(upsert, [id, { n: 3 }, 3, '2024-01-03T00:00:00.999999Z'])).rowCount).toBe(1);

      const got = await pool.query<{ doc: unknown; n: number; ts: string }>(
        "SELECT doc, (doc->>'n')::int AS n, updated_at::text AS ts FROM item WHERE id = $1",
        [id],
      );
      expect(got.rows).toEqual([{ doc: { n: 3 }, n: 3, ts: '2024-01-03 00:00:00.999999+00' }]);
    } finally {
      await pool.end();
      await pair.close();
    }
  }, 60_000);

  it('keeps local and cloud as separate databases', async () => {
    const pair = await startEmbedded({ dataDir: dataDirFromTemplate() });
    const local = poolFor(pair.local.url);
    const cloud = poolFor(pair.cloud.url);
    try {
      await local.query('CREATE TABLE only_local (id int)');
      const exists = 'SELECT to_regclass($1) IS NOT NULL AS present';
      expect((await local.query(exists, ['only_local'])).rows[0]).toEqual({ present: true });
      expect((await cloud.query(exists, ['only_local'])).rows[0]).toEqual({ present: false });
    } finally {
      await Promise.all([local.end(), cloud.end()]);
      await pair.close();
    }
  }, 60_000);

  it('persists data across close() and a new start on the same directory', async () => {
    const dataDir = dataDirFromTemplate();
    const first = await startEmbedded({ dataDir });
    const p1 = poolFor(first.cloud.url);
    await p1.query('CREATE TABLE kept (id int PRIMARY KEY, note text)');
    await p1.query('INSERT INTO kept VALUES ($1, $2), ($3, $4)', [1, 'one', 2, 'two']);
    await p1.end();
    await first.close();
    expect(fs.existsSync(path.join(dataDir, 'cloud', 'cesar.lock'))).toBe(false);
    expect(fs.existsSync(path.join(dataDir, 'local', 'cesar.lock'))).toBe(false);

    const second = await startEmbedded({ dataDir });
    const p2 = poolFor(second.cloud.url);
    try {
      expect((await p2.query('SELECT id, note FROM kept ORDER BY id')).rows).toEqual([
        { id: 1, note: 'one' },
        { id: 2, note: 'two' },
      ]);
    } finally {
      await p2.end();
      await second.close();
    }
  }, 60_000);

  it('refuses a directory held by a live process and takes over a stale lock', async () => {
    const dataDir = dataDirFromTemplate();
    const first = await startEmbedded({ dataDir });
    try {
      const err = await startEmbedded({ dataDir }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(CesarError);
      expect(err).toMatchObject({ code: 'EMBEDDED_IN_USE', exitCode: 2 });
      expect((err as Error).message).toContain(path.join(dataDir, 'local'));
      expect((err as Error).message).toContain(String(process.pid));
      expect((err as Error).message).toContain('CESAR_DATA_DIR');

      // The failed attempt must leave the first instance and its locks intact.
      const pool = poolFor(first.local.url, 1);
      expect((await pool.query('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
      await pool.end();
      expect(fs.readFileSync(path.join(dataDir, 'local', 'cesar.lock'), 'utf8').trim()).toBe(String(process.pid));
    } finally {
      await first.close();
    }

    expect(() => process.kill(DEAD_PID, 0)).toThrow();
    for (const role of ['local', 'cloud']) fs.writeFileSync(path.join(dataDir, role, 'cesar.lock'), `${DEAD_PID}\n`);
    const second = await startEmbedded({ dataDir });
    try {
      expect(fs.readFileSync(path.join(dataDir, 'cloud', 'cesar.lock'), 'utf8').trim()).toBe(String(process.pid));
    } finally {
      await second.close();
    }

    // A container restarted after a crash often gets the same pid: our own pid in a lock this
    // process never took is stale too.
    for (const role of ['local', 'cloud']) fs.writeFileSync(path.join(dataDir, role, 'cesar.lock'), `${process.pid}\n`);
    const third = await startEmbedded({ dataDir });
    await third.close();
    expect(fs.existsSync(path.join(dataDir, 'local', 'cesar.lock'))).toBe(false);
  }, 60_000);

  it('finds the lock through a symlinked data directory', async () => {
    const dataDir = dataDirFromTemplate();
    const link = path.join(freshDir(), 'link');
    fs.symlinkSync(dataDir, link);
    const first = await startEmbedded({ dataDir });
    try {
      await expect(startEmbedded({ dataDir: link })).rejects.toMatchObject({ code: 'EMBEDDED_IN_USE' });
    } finally {
      await first.close();
    }
  }, 60_000);

  it('lets one client run a transaction while another runs plain queries', async () => {
    const pair = await startEmbedded({ dataDir: dataDirFromTemplate() });
    const pool = poolFor(pair.local.url);
    const a = await pool.connect();
    const b = await pool.connect();
    try {
      await a.query('CREATE TABLE ledger (id int PRIMARY KEY, amount numeric NOT NULL)');
      expect((await b.query('SELECT count(*)::int AS n FROM ledger')).rows[0]).toEqual({ n: 0 });

      await a.query('BEGIN');
      await a.query('INSERT INTO ledger VALUES ($1, $2)', [1, '10.50']);
      // Issued while a's transaction is open: the server queues it until a commits, so b never
      // sees uncommitted data. a does not wait on b, so this cannot deadlock.
      const bDuring = b.query<{ n: number }>('SELECT count(*)::int AS n FROM ledger');
      await a.query('INSERT INTO ledger VALUES ($1, $2)', [2, '4.50']);
      await a.query('COMMIT');
      expect((await bDuring).rows[0]).toEqual({ n: 2 });

      const [sumA, sumB] = await Promise.all([
        a.query<{ s: string }>('SELECT sum(amount)::text AS s FROM ledger'),
        b.query<{ s: string }>('SELECT sum(amount)::text AS s FROM ledger WHERE id > $1', [0]),
      ]);
      expect(sumA.rows[0]?.s).toBe('15.00');
      expect(sumB.rows[0]?.s).toBe('15.00');
    } finally {
      a.release();
      b.release();
      await pool.end();
      await pair.close();
    }
  }, 60_000);

  it('round-trips microsecond timestamps as text', async () => {
    const pair = await startEmbedded({ dataDir: dataDirFromTemplate() });
    const pool = poolFor(pair.cloud.url);
    try {
      const lit = await pool.query<{ t: string }>("SELECT '2024-01-01 00:00:00.123456+00'::timestamptz::text AS t");
      expect(lit.rows[0]?.t).toBe('2024-01-01 00:00:00.123456+00');
      const param = await pool.query<{ t: string }>('SELECT $1::timestamptz::text AS t', ['2024-06-30T23:59:59.000001+02:00']);
      expect(param.rows[0]?.t).toBe('2024-06-30 21:59:59.000001+00');
    } finally {
      await pool.end();
      await pair.close();
    }
  }, 60_000);

  it('close() is idempotent and releases ports, locks and the database workers', async () => {
    const before = runningWorkers();
    const dataDir = dataDirFromTemplate();
    const pair: EmbeddedPair = await startEmbedded({ dataDir });
    // each database runs in a worker thread of its own, serving its port from there
    expect(runningWorkers()).toBe(before + 2);
    // A connection still open at close() must not make close() hang.
    const pool = poolFor(pair.local.url, 1);
    await pool.query('SELECT 1');

    await Promise.all([pair.close(), pair.close()]);
    await pair.close();
    await pool.end().catch(() => undefined);

    for (const url of [pair.local.url, pair.cloud.url]) {
      const refused = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
      await expect(refused.connect()).rejects.toThrow();
      await refused.end().catch(() => undefined);
    }
    for (const role of ['local', 'cloud']) expect(fs.existsSync(path.join(dataDir, role, 'cesar.lock'))).toBe(false);
    expect(runningWorkers()).toBe(before);
  }, 60_000);
});
