import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { scanCaptures } from './capture.js';

/**
 * Runs once before all test files: decides whether integration tests use the real PostgreSQL
 * server (PG_TEST_URL, default 127.0.0.1:5432) or embedded databases, and tells the files
 * through CESAR_TEST_BACKEND. CI always has the real server (.ci/run starts it).
 * It also creates the capture directory (CESAR_TEST_CAPTURE_DIR) where capture-setup.ts records
 * everything cesar prints or returns during the run; the teardown scans it for the test passwords,
 * tokens and URLs with credentials, and fails the run naming the file when any appears.
 */
export default async function setup(): Promise<() => void> {
  const url = process.env.PG_TEST_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  process.env.PG_TEST_URL = url;
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    process.env.CESAR_TEST_BACKEND = 'postgres';
  } catch {
    if (process.env.CI) throw new Error(`CI needs a real PostgreSQL server at PG_TEST_URL; none answered`);
    process.env.CESAR_TEST_BACKEND = 'embedded';
    console.warn('No PostgreSQL server reachable: integration tests run on embedded databases (PGlite).');
  } finally {
    await client.end().catch(() => undefined);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cesar-capture-'));
  process.env.CESAR_TEST_CAPTURE_DIR = dir;
  return () => {
    const leaks = scanCaptures(dir);
    if (leaks.length === 0) {
      fs.rmSync(dir, { recursive: true, force: true });
      return;
    }
    // vitest only logs an error thrown by a global teardown ("error during close") and still exits
    // 0, so the exit code is set here: a leak fails `npm test`.
    process.exitCode = 1;
    const shown = leaks.slice(0, 20).map((l) => `  ${path.join(dir, l.file)}:${l.line}: ${l.what}`);
    throw new Error(`secret scan: ${leaks.length} leak${leaks.length === 1 ? '' : 's'} in what cesar printed or returned during the run (captures kept in ${dir}):\n${shown.join('\n')}`);
  };
}
