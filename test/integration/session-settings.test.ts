import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { startEmbedded } from '../../src/db/embedded.js';
import { readMigrationFiles, runMigrations } from '../../src/migrations/index.js';
import { openDb, PINNED_SETTINGS, type Db } from '../../src/db/pool.js';
import { openRuntime } from '../../src/runtime.js';
import { runCli } from '../helpers/cli.js';
import { createTestDatabases, REPO, sql, type TestDatabases } from '../helpers/databases.js';
import { applySchema } from '../helpers/schema.js';

// Issue 12, case 11 (the part outside the engine): database- and role-level settings changed what
// cesar read: `ALTER DATABASE ... SET DateStyle = 'SQL, DMY'` made every table fail both ways, and
// `extra_float_digits = 0` rounded 0.1+0.2 to 0.3 on the way. Every session cesar opens now pins
// the settings its text forms depend on (src/db/pool.ts, PINNED_SETTINGS) in the startup options,
// which win over database and role settings. Here both databases (the cloud behind the CockroachDB
// profile) get hostile settings at the database level and, stronger still, at the role level; a
// plain session shows them, every cesar session shows the pinned values, and values keep every
// digit, also through `cesar sync` and `cesar verify` run as a user would.

const real = process.env.CESAR_TEST_BACKEND !== 'embedded';
vi.setConfig({ testTimeout: 90_000 });

/** What SHOW prints for each pinned setting. */
const PINNED_SHOWN: Record<string, string> = {
  DateStyle: 'ISO, MDY',
  TimeZone: 'UTC',
  IntervalStyle: 'postgres',
  extra_float_digits: '3',
  bytea_output: 'hex',
  standard_conforming_strings: 'on',
  client_encoding: 'UTF8',
};

/** Database-level settings that change every text form cesar depends on. */
const HOSTILE_DB: Record<string, string> = {
  DateStyle: 'SQL, DMY',
  TimeZone: 'America/New_York',
  IntervalStyle: 'sql_standard',
  extra_float_digits: '0',
  bytea_output: 'escape',
  standard_conforming_strings: 'off',
  client_encoding: 'LATIN1',
};
/** Role-level settings (ALTER ROLE ... IN DATABASE), which win over the database's. */
const HOSTILE_ROLE: Record<string, string> = { DateStyle: 'Postgres, DMY', TimeZone: 'Asia/Kathmandu', extra_float_digits: '-3', IntervalStyle: 'iso_8601' };

const SHOW_ALL = `SELECT ${Object.keys(PINNED_SHOWN).map((k) => `current_setting('${k}') AS "${k}"`).join(', ')}`;

async function shown(db: Db): Promise<Record<string, string>> {
  return (await db.query<Record<string, string>>(SHOW_ALL)).rows[0]!;
}

/** Every connection of the pool (it holds up to 4): the settings of each session it opened. */
async function shownOnEveryConnection(db: Db): Promise<Array<Record<string, string>>> {
  const clients = await Promise.all([0, 1, 2, 3].map(() => db.pool.connect()));
  try {
    return await Promise.all(clients.map(async (c) => (await c.query<Record<string, string>>(SHOW_ALL)).rows[0]!));
  } finally {
    clients.forEach((c) => c.release());
  }
}

/** Text forms that depend on the pinned settings, as a session renders them. */
const RENDER = `SELECT (0.1::float8 + 0.2::float8)::text AS f,
  row_to_json(r)::text AS j,
  '2024-01-02 03:04:05.123456+00'::timestamptz::text AS ts,
  '1 day 02:03:04'::interval::text AS iv,
  '\\x00ff'::bytea::text AS b,
  E'a\\\\b' AS lit
FROM (SELECT 0.1::float8 + 0.2::float8 AS v) r`;
const RENDERED = { f: '0.30000000000000004', j: '{"v":0.30000000000000004}', ts: '2024-01-02 03:04:05.123456+00', iv: '1 day 02:03:04', b: '\\x00ff', lit: 'a\\b' };

describe.skipIf(!real)('every cesar session pins its text forms, whatever the database and the role say', () => {
  let dbs: TestDatabases;
  const dbName = (url: string) => new URL(url).pathname.slice(1);
  const plain = async (url: string) => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      return (await c.query<Record<string, string>>(SHOW_ALL)).rows[0]!;
    } finally {
      await c.end();
    }
  };

  beforeAll(async () => {
    dbs = await createTestDatabases();
    await applySchema(dbs.localUrl);
    await applySchema(dbs.cloudUrl);
    // set last: the schema was applied under the server's defaults
    for (const [url, role] of [
      [dbs.localUrl, new URL(dbs.localUrl).username],
      [dbs.cloudUrl, new URL(dbs.cloudUrl).username],
    ] as const) {
      const name = dbName(url);
      for (const [k, v] of Object.entries(HOSTILE_DB)) await sql(dbs.cloudAdminUrl, `ALTER DATABASE ${name} SET ${k} = '${v}'`);
      // scoped to this database: the role is shared with other test files
      for (const [k, v] of Object.entries(HOSTILE_ROLE)) await sql(dbs.cloudAdminUrl, `ALTER ROLE ${role} IN DATABASE ${name} SET ${k} = '${v}'`);
    }
  }, 120_000);
  afterAll(async () => {
    for (const [url, role] of [
      [dbs?.localUrl, dbs && new URL(dbs.localUrl).username],
      [dbs?.cloudUrl, dbs && new URL(dbs.cloudUrl).username],
    ]) {
      if (url && role) await sql(dbs.cloudAdminUrl, `ALTER ROLE ${role} IN DATABASE ${dbName(url)} RESET ALL`).catch(() => undefined);
    }
    await dbs?.drop();
  });

  it('a session that pins nothing sees the hostile settings (so the checks below can fail)', async () => {
    for (const url of [dbs.localUrl, dbs.cloudUrl]) {
      const s = await plain(url);
      expect(s).toMatchObject({ DateStyle: 'Postgres, DMY', TimeZone: 'Asia/Kathmandu', extra_float_digits: '-3', IntervalStyle: 'iso_8601', bytea_output: 'escape', standard_conforming_strings: 'off' });
    }
  });

  it('openDb: both roles, every connection of the pool, show the pinned values and render exactly', async () => {
    expect(Object.keys(PINNED_SETTINGS).sort()).toEqual(Object.keys(PINNED_SHOWN).sort());
    for (const [role, url] of [
      ['local', dbs.localUrl],
      ['cloud', dbs.cloudUrl],
    ] as const) {
      const db = openDb(role, url, { connectTimeoutMs: 10_000, statementTimeoutMs: 30_000 });
      try {
        for (const s of await shownOnEveryConnection(db)) expect(s, role).toEqual(PINNED_SHOWN);
        expect((await db.query(RENDER)).rows[0], role).toEqual(RENDERED);
      } finally {
        await db.close();
      }
    }
  });

  it('the URL cannot unpin them: options in the URL come first, the pinned values win', async () => {
    const u = new URL(dbs.cloudUrl);
    u.searchParams.set('options', '-c DateStyle=German -c extra_float_digits=0 -c application_name=x');
    const db = openDb('cloud', u.toString(), { connectTimeoutMs: 10_000, statementTimeoutMs: 30_000 });
    try {
      expect(await shown(db)).toEqual(PINNED_SHOWN);
    } finally {
      await db.close();
    }
  });

  it('the runtime every command, the lease, the migration runner and the API use: both pools pinned', async () => {
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'cesar-pin-'));
    const rt = await openRuntime(loadConfig({ cwd, env: { LOCAL_DB_URL: dbs.localUrl, COCKROACH_DB_URL: dbs.cloudUrl } }));
    try {
      for (const role of ['local', 'cloud'] as const) expect(await shown(rt.db(role)), role).toEqual(PINNED_SHOWN);
    } finally {
      await rt.close();
      fs.rmSync(cwd, { recursive: true, force: true });
    }
  });

  it('through the binary: a float8 0.1+0.2 synced up and down keeps every digit, verify compares clean', async () => {
    const env = { LOCAL_DB_URL: dbs.localUrl, COCKROACH_DB_URL: dbs.cloudUrl };
    await sql(dbs.localUrl, "INSERT INTO agents (id, name, agent_type) VALUES ('00000000-0000-4000-8000-00000000f10a', 'float-up', 'worker')");
    await sql(dbs.localUrl, "INSERT INTO agent_metrics (agent_id, metric_name, metric_value) VALUES ('00000000-0000-4000-8000-00000000f10a', 'up', 0.1::float8 + 0.2::float8)");
    await sql(dbs.cloudAdminUrl, "INSERT INTO agents (id, name, agent_type) VALUES ('00000000-0000-4000-8000-00000000f10b', 'float-down', 'worker')");
    await sql(dbs.cloudAdminUrl, "INSERT INTO agent_metrics (agent_id, metric_name, metric_value) VALUES ('00000000-0000-4000-8000-00000000f10b', 'down', 1::float8 / 3::float8)");
    const synced = await runCli(['sync'], env);
    expect(synced.code, synced.stdout + synced.stderr).toBe(0);
    const again = await runCli(['sync'], env);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).toMatch(/Applied 0 rows, 0 conflicts/); // same values: nothing to write again
    // compared as stored (float8send), not as a session renders them
    const bytes = "SELECT metric_name, encode(float8send(metric_value), 'hex') AS v FROM agent_metrics ORDER BY metric_name";
    const expected = [
      { metric_name: 'down', v: encodeFloat(1 / 3) },
      { metric_name: 'up', v: encodeFloat(0.1 + 0.2) },
    ];
    expect(await sql(dbs.localUrl, bytes)).toEqual(expected);
    expect(await sql(dbs.cloudAdminUrl, bytes)).toEqual(expected);
    const verify = await runCli(['verify'], env);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
  });
});

/** The big-endian IEEE 754 bytes of a double, as float8send gives them. */
function encodeFloat(x: number): string {
  const b = Buffer.alloc(8);
  b.writeDoubleBE(x);
  return b.toString('hex');
}

describe('a migration that changes session settings', () => {
  it('does not unpin the pool: its statements run on a session of their own, closed after the file', async () => {
    const d = await createTestDatabases();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cesar-pin-mig-'));
    const db = openDb('local', d.localUrl, { connectTimeoutMs: 10_000, statementTimeoutMs: 30_000 });
    try {
      fs.writeFileSync(
        path.join(dir, '001_set.sql'),
        [
          "SET DateStyle = 'SQL, DMY';",
          "SELECT set_config('extra_float_digits', '0', false);",
          "SET TimeZone = 'America/New_York';",
          // later statements of the same file do see them (a file is one session, as with psql)
          'CREATE TABLE IF NOT EXISTS seen_in_file (style TEXT PRIMARY KEY);',
          "INSERT INTO seen_in_file (style) VALUES (current_setting('DateStyle')) ON CONFLICT (style) DO NOTHING;",
          '',
        ].join('\n'),
      );
      const r = await runMigrations(db, { files: await readMigrationFiles(dir), ttlMs: 10_000, waitMs: 10_000 });
      expect(r).toMatchObject({ outcome: 'done', applied: [{ name: '001_set' }] });
      expect((await db.query('SELECT style FROM seen_in_file')).rows).toEqual([{ style: 'SQL, DMY' }]);
      // every connection the pool holds afterwards is still pinned
      for (const shownOne of await shownOnEveryConnection(db)) expect(shownOne).toEqual(PINNED_SHOWN);
    } finally {
      await db.close();
      await d.drop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('connection paths', () => {
  it('only src/db/pool.ts opens connections: every other path (lease, migrations, check, API, sync) goes through openDb', () => {
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (/\.tsx?$/.test(e.name) && p !== path.join(REPO, 'src/db/pool.ts')) {
          const text = fs.readFileSync(p, 'utf8');
          if (/new\s+pg\.(Pool|Client)\b|new\s+(Pool|Client)\s*\(|from\s+'pg'\s*;?\s*$/m.test(text.replace(/import type[^\n]*\n/g, ''))) offenders.push(path.relative(REPO, p));
        }
      }
    };
    walk(path.join(REPO, 'src'));
    // src/db/types.ts imports pg for its type parsers only
    expect(offenders.filter((f) => f !== 'src/db/types.ts')).toEqual([]);
    expect(fs.readFileSync(path.join(REPO, 'src/db/types.ts'), 'utf8')).not.toMatch(/new\s+pg\./);
  });
});

describe('the embedded backend', () => {
  it('pins the same values, even after ALTER DATABASE ... SET and a restart', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cesar-pin-embedded-'));
    try {
      let pair = await startEmbedded({ dataDir: dir });
      let db = openDb('local', pair.local.url, { connectTimeoutMs: 10_000, statementTimeoutMs: 30_000 });
      for (const [k, v] of Object.entries(HOSTILE_DB)) if (k !== 'client_encoding') await db.query(`ALTER DATABASE postgres SET ${k} = '${v}'`);
      await db.close();
      await pair.close();
      pair = await startEmbedded({ dataDir: dir });
      try {
        for (const url of [pair.local.url, pair.cloud.url]) {
          db = openDb('local', url, { connectTimeoutMs: 10_000, statementTimeoutMs: 30_000 });
          try {
            expect(await shown(db)).toEqual(PINNED_SHOWN);
            expect((await db.query(RENDER)).rows[0]).toEqual(RENDERED);
          } finally {
            await db.close();
          }
        }
      } finally {
        await pair.close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
