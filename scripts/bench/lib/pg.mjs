// Throwaway PostgreSQL databases for the benchmarks: create, profile, schema, drop.
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { onCleanup, runProcess } from './cleanup.mjs';

export const REPO = path.resolve(new URL('../../..', import.meta.url).pathname);
export const CRDB_PROFILE = path.resolve(REPO, '../shared/crdb-profile/apply');
export const DB_PREFIX = 'cesar_bench_';

/** Every value as the server's text (exact timestamps and numbers; nothing parsed on the way). */
const RAW_TYPES = { getTypeParser: () => (v) => v };

/** The server the benchmarks use (superuser, trust auth). */
export function benchAdminUrl() {
  return process.env.PG_BENCH_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/** Throws unless the URL points at this machine: no benchmark traffic leaves 127.0.0.1. */
export function assertLoopback(url, what = 'PG_BENCH_URL') {
  let u;
  try {
    u = new URL(url);
  } catch {
    throw new UsageError(`${what} is not a URL`);
  }
  if (!LOOPBACK.has(u.hostname) || u.searchParams.has('host')) {
    throw new UsageError(`${what} must point at 127.0.0.1 (benchmarks never leave this machine), not ${u.hostname || '(socket)'}`);
  }
}

/** A usage or configuration problem: exit code 2. */
export class UsageError extends Error {}

export function withDatabase(url, database) {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** A connected client: UTC session, values as text. Close it with end(). */
export async function connect(url) {
  const client = new pg.Client({ connectionString: url, types: RAW_TYPES, options: '-c TimeZone=UTC', application_name: 'cesar-bench' });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/** One statement on a short-lived client. */
export async function sql(url, text, params = []) {
  const c = await connect(url);
  try {
    return (await c.query(text, params)).rows;
  } finally {
    await c.end().catch(() => undefined);
  }
}

/**
 * Creates `<prefix>_local` and `<prefix>_cloud` (names start with cesar_bench_), puts the cloud one
 * behind the CockroachDB profile, applies the migrations to both (the cloud one as the application
 * role, as `cesar migrate` would) and registers the drop. Returns the URLs.
 */
export async function createDatabasePair(tag) {
  const admin = benchAdminUrl();
  assertLoopback(admin);
  if (!fs.existsSync(CRDB_PROFILE)) throw new Error(`the CockroachDB profile is missing at ${CRDB_PROFILE}`);
  const id = `${DB_PREFIX}${tag}_${process.pid}_${Math.random().toString(36).slice(2, 7)}`;
  const names = [`${id}_local`, `${id}_cloud`];
  // registered before creating: a failure half-way still drops what exists
  onCleanup(`drop ${id}_*`, () => dropDatabases(names));
  for (const name of names) await sql(admin, `CREATE DATABASE ${name}`);
  const localUrl = withDatabase(admin, names[0]);
  const cloudAdminUrl = withDatabase(admin, names[1]);
  const res = await runProcess(CRDB_PROFILE, [cloudAdminUrl]);
  if (res.code !== 0) throw new Error(`${CRDB_PROFILE} failed (${res.code ?? res.signal}): ${res.stderr.trim()}`);
  const cloudUrl = res.stdout.trim().split('\n').pop();
  assertLoopback(cloudUrl, 'the URL printed by the CockroachDB profile');
  await applySchema(localUrl);
  await applySchema(cloudUrl);
  return { id, localUrl, cloudAdminUrl, cloudUrl };
}

/** Drops databases (terminating their sessions). */
export async function dropDatabases(names) {
  const c = await connect(benchAdminUrl());
  try {
    for (const name of names) await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** Databases left by an earlier benchmark that was killed hard (kill -9): reported, never dropped silently. */
export async function leftoverDatabases() {
  const rows = await sql(benchAdminUrl(), `SELECT datname FROM pg_database WHERE datname LIKE 'cesar\\_bench\\_%' ORDER BY 1`);
  return rows.map((r) => r.datname);
}

/** Applies migrations/*.sql statement by statement with the project's own splitter (built). */
export async function applySchema(url) {
  const { splitStatements } = await import('../../../dist/migrations/split.js');
  const dir = path.join(REPO, 'migrations');
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.sql')).sort();
  const client = await connect(url);
  try {
    for (const file of files) {
      for (const stmt of await splitStatements(fs.readFileSync(path.join(dir, file), 'utf8'), file)) await client.query(stmt.text);
    }
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Server version string. */
export async function serverVersion(url) {
  return (await sql(url, 'SELECT version() AS v'))[0].v;
}
