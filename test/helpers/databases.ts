import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { TEST_CLOUD_PASSWORD, TEST_LOCAL_PASSWORD } from './capture.js';

const run = promisify(execFile);
/** The repository root (tests run from anywhere). */
export const REPO = path.resolve(new URL('../..', import.meta.url).pathname);
/** The CockroachDB profile script, in the shared folder beside the repository. */
export const CRDB_PROFILE = path.resolve(REPO, '../shared/crdb-profile/apply');

/** Fresh throwaway databases for one test file. */
export interface TestDatabases {
  backend: 'postgres' | 'embedded';
  /** The local role (superuser on the real server), with the known test password (TEST_LOCAL_PASSWORD) that trust auth ignores. */
  localUrl: string;
  /** The cloud role as the application sees it: behind the CockroachDB profile (crdb_app) on the real server, with TEST_CLOUD_PASSWORD. */
  cloudUrl: string;
  /** Superuser URL of the cloud database, for test set-up and inspection only. */
  cloudAdminUrl: string;
  /** Drops the databases (or stops the embedded pair). */
  drop(): Promise<void>;
}

/**
 * An optional tag in the names of the databases a run creates (`CESAR_TEST_DB_TAG=h1` gives
 * `cesar_t_h1_<pid>_...`), so that several people or agents sharing one server can tell their
 * throwaway databases apart; names stay under the `cesar_t_` prefix either way.
 */
export function testDbTag(): string {
  const tag = process.env.CESAR_TEST_DB_TAG ?? '';
  if (!/^[a-z0-9]{0,12}$/.test(tag)) throw new Error(`CESAR_TEST_DB_TAG must be up to 12 lower-case letters or digits, got ${JSON.stringify(tag)}`);
  return tag ? `${tag}_` : '';
}

/** The admin URL of the real test server. */
export function adminUrl(): string {
  return process.env.PG_TEST_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

// The server trusts loopback connections and ignores the password, so every URL handed to cesar
// can carry a known one: the secret scan at the end of the run (global-setup.ts) looks for it in
// everything cesar printed or returned.
function withPassword(url: string, password: string): string {
  const u = new URL(url);
  u.password = password;
  return u.toString();
}

/**
 * Creates a local and a cloud database for one test file: on the real server (the cloud one with
 * the CockroachDB profile: SERIALIZABLE, optional injected 40001s, non-portable SQL refused), or
 * on embedded databases when no server is reachable (global-setup decides; CI always has a server).
 */
export async function createTestDatabases(options: { injectRate?: number } = {}): Promise<TestDatabases> {
  if (process.env.CESAR_TEST_BACKEND === 'embedded') return createEmbedded();
  const id = `cesar_t_${testDbTag()}${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new pg.Client({ connectionString: adminUrl() });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${id}_local`);
    await admin.query(`CREATE DATABASE ${id}_cloud`);
  } finally {
    await admin.end();
  }
  const localUrl = withPassword(withDatabase(adminUrl(), `${id}_local`), TEST_LOCAL_PASSWORD);
  const cloudAdminUrl = withDatabase(adminUrl(), `${id}_cloud`);
  if (!fs.existsSync(CRDB_PROFILE)) throw new Error(`the CockroachDB profile is missing at ${CRDB_PROFILE}`);
  const { stdout } = await run(CRDB_PROFILE, [cloudAdminUrl, String(options.injectRate ?? 0)]);
  const cloudUrl = withPassword(stdout.trim().split('\n').pop()!, TEST_CLOUD_PASSWORD);
  return {
    backend: 'postgres',
    localUrl,
    cloudUrl,
    cloudAdminUrl,
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl() });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${id}_local WITH (FORCE)`);
        await c.query(`DROP DATABASE IF EXISTS ${id}_cloud WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

async function createEmbedded(): Promise<TestDatabases> {
  const { startEmbedded } = await import('../../src/db/embedded.js');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cesar-test-'));
  const pair = await startEmbedded({ dataDir: dir });
  return {
    backend: 'embedded',
    localUrl: pair.local.url,
    cloudUrl: pair.cloud.url,
    cloudAdminUrl: pair.cloud.url,
    async drop() {
      await pair.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs one statement on a URL with a short-lived client. */
export async function sql<R extends pg.QueryResultRow = pg.QueryResultRow>(url: string, text: string, params: unknown[] = []): Promise<R[]> {
  const c = new pg.Client({ connectionString: url });
  c.on('error', () => undefined);
  await c.connect();
  try {
    return (await c.query<R>(text, params)).rows;
  } finally {
    await c.end();
  }
}
