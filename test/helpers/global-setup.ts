import pg from 'pg';

/**
 * Runs once before all test files: decides whether integration tests use the real PostgreSQL
 * server (PG_TEST_URL, default 127.0.0.1:5432) or embedded databases, and tells the files
 * through CESAR_TEST_BACKEND. CI always has the real server (.ci/run starts it).
 */
export default async function setup(): Promise<void> {
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
}
