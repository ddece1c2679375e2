import fs from 'node:fs';
import path from 'node:path';
import type { ConnectionOptions } from 'node:tls';
import pg from 'pg';
import { describeUrl } from '../config/redact.js';
import type { Role } from '../config/types.js';
import type { SslMode } from '../config/url.js';
import { dbError } from './errors.js';
import { detectFlavor, type ServerInfo } from './flavor.js';
import { cesarTypes } from './types.js';

/** Anything that runs a statement: a Db, a pool client inside a transaction. */
export interface Queryable {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
}

/** A connection pool for one role, with what cesar knows about the server behind it. */
export interface Db {
  readonly role: Role;
  readonly pool: pg.Pool;
  /** Password-free `user@host:port/db`. */
  readonly label: string;
  /** True when the URL asks for TLS. */
  readonly tls: boolean;
  /**
   * Once aborted (the command was interrupted: SIGINT, SIGTERM), every new statement and checkout
   * fails with its reason; statements already sent finish. So work stops at its next statement,
   * as after a crash, while the lease bookkeeping (`pastInterrupt`) can still release the lease.
   */
  readonly interrupt: AbortSignal | undefined;
  /** Runs one statement on any pooled connection; errors are redacted CesarErrors naming the role. */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
  /** Server flavor and version, read once and cached. */
  info(): Promise<ServerInfo>;
  close(): Promise<void>;
}

/** A client checked out of a pool, guarded for the whole checkout. */
export interface Checkout {
  client: pg.PoolClient;
  /** Returns the client to the pool, or destroys it when its connection broke (or `destroy`). */
  release(destroy?: boolean): void;
}

/**
 * Checks a client out of the pool with an 'error' listener for as long as it is out. node-postgres
 * listens for errors only on idle clients: a checked-out client whose connection is reset between
 * two queries (a cloud link dropping mid-transaction) would otherwise raise an unhandled 'error'
 * and end the process. A client that broke is destroyed, not returned. After the Db's interrupt
 * fired, only a checkout with `pastInterrupt` (the lease's own statements) is served.
 */
export async function checkout(db: Db, options: { pastInterrupt?: boolean } = {}): Promise<Checkout> {
  if (!options.pastInterrupt) db.interrupt?.throwIfAborted();
  let client: pg.PoolClient;
  try {
    client = await db.pool.connect();
  } catch (err) {
    throw dbError(err, db.role, 'cannot connect');
  }
  // the interrupt may have come while this waited for a free connection
  if (!options.pastInterrupt && db.interrupt?.aborted) {
    client.release();
    throw db.interrupt.reason;
  }
  let broken = false;
  const onError = (): void => {
    broken = true; // the pending or next query fails with the reason; here it only must not crash
  };
  client.on('error', onError);
  let released = false;
  return {
    client,
    release(destroy = false) {
      if (released) return;
      released = true;
      client.off('error', onError);
      client.release(broken || destroy);
    },
  };
}

/** Pool settings that are not in the URL. */
export interface DbOptions {
  connectTimeoutMs: number;
  statementTimeoutMs: number;
  /** Fixed pool size (CockroachDB guidance: a fixed size, ~4 active connections per vCPU in all). */
  max?: number;
  /** Recycle connections: CockroachDB Cloud resets them at 30 minutes. */
  maxLifetimeSeconds?: number;
  /** See Db.interrupt. */
  interrupt?: AbortSignal;
}

/**
 * What every cesar session pins, whatever the server, the database or the role says
 * (`ALTER DATABASE ... SET`, `ALTER ROLE ... SET`): the text forms that cesar reads, compares,
 * writes and parses. They go in the startup packet's `options`, whose settings take precedence
 * over database- and role-level ones in PostgreSQL (source "client"), and after any `options` of
 * the URL (a later -c wins). CockroachDB accepts each of these variables in `options`, with these
 * values (its defaults). No value has a space: `options` is split on spaces.
 */
export const PINNED_SETTINGS: Readonly<Record<string, string>> = {
  // timestamps as ISO 8601 text ('SQL, DMY' made every table fail); the order part for input
  DateStyle: 'ISO,MDY',
  // one canonical text form for timestamptz, which the sync engine compares exactly
  TimeZone: 'UTC',
  IntervalStyle: 'postgres',
  // shortest text that reads back to the same float (0 rounds 0.1+0.2 to 0.3, also in row_to_json)
  extra_float_digits: '3',
  bytea_output: 'hex',
  // a backslash in a string literal is a backslash (input)
  standard_conforming_strings: 'on',
  // node-postgres decodes UTF-8 and does not send client_encoding itself: a role's LATIN1 would garble text
  client_encoding: 'UTF8',
};

/** The startup `options` of a cesar session: the URL's own, then the timeouts and the pinned settings. */
export function sessionOptions(urlOptions: string | null, statementTimeoutMs: number): string {
  const settings: Record<string, string | number> = {
    statement_timeout: statementTimeoutMs,
    idle_in_transaction_session_timeout: Math.max(statementTimeoutMs, 60_000),
    ...PINNED_SETTINGS,
  };
  return [urlOptions, ...Object.entries(settings).map(([k, v]) => `-c ${k}=${v}`)].filter(Boolean).join(' ');
}

/** Opens a pool for `role` from a validated URL. Nothing connects until the first query. */
export function openDb(role: Role, url: string, options: DbOptions, cwd = process.cwd()): Db {
  const u = new URL(url);
  const sslmode = (u.searchParams.get('sslmode') ?? 'prefer') as SslMode;
  const ssl = tlsOptions(u, sslmode, cwd);
  const pool = new pg.Pool({
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: u.port ? Number(u.port) : 5432,
    user: u.username ? decodeURIComponent(u.username) : 'postgres',
    database: decodeURIComponent(u.pathname.replace(/^\//, '')) || 'postgres',
    application_name: u.searchParams.get('application_name') ?? 'cesar',
    options: sessionOptions(u.searchParams.get('options'), options.statementTimeoutMs),
    ssl,
    connectionTimeoutMillis: options.connectTimeoutMs,
    max: options.max ?? 4,
    maxLifetimeSeconds: options.maxLifetimeSeconds ?? 1200,
    idleTimeoutMillis: 30_000,
    types: cesarTypes,
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
  });
  // An idle client losing its connection emits 'error' on the pool; without a listener that kills the process.
  pool.on('error', () => undefined);
  let info: Promise<ServerInfo> | undefined;
  let closed = false;
  const db: Db = {
    role,
    pool,
    label: describeUrl(url),
    tls: ssl !== false,
    interrupt: options.interrupt,
    async query(text, params) {
      options.interrupt?.throwIfAborted();
      try {
        return await pool.query(text, params as unknown[]);
      } catch (err) {
        throw dbError(err, role, 'query failed');
      }
    },
    info() {
      info ??= db.query<{ v: string }>('SELECT version() AS v').then((r) => detectFlavor(r.rows[0]!.v));
      info.catch(() => {
        info = undefined;
      });
      return info;
    },
    async close() {
      if (closed) return;
      closed = true;
      await pool.end().catch(() => undefined);
    },
  };
  return db;
}

// libpq semantics: disable = no TLS; allow/prefer = opportunistic (node-postgres cannot fall back,
// so they mean no TLS here); require = encrypt without verifying, unless a root certificate is given
// (then like verify-ca); verify-ca = check the chain; verify-full = check the chain and the host name.
function tlsOptions(u: URL, mode: SslMode, cwd: string): false | ConnectionOptions {
  if (mode === 'disable' || mode === 'allow' || mode === 'prefer') return false;
  const read = (key: string): string | undefined => {
    const file = u.searchParams.get(key);
    return file && file !== 'system' ? fs.readFileSync(path.resolve(cwd, file), 'utf8') : undefined;
  };
  const ca = read('sslrootcert');
  const cert = read('sslcert');
  const key = read('sslkey');
  const extra = { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) };
  if (mode === 'require' && !ca) return { rejectUnauthorized: false, ...extra };
  if (mode === 'verify-full') return { rejectUnauthorized: true, ...extra };
  // verify-ca (or require with a root certificate): verify the chain, not the host name
  return { rejectUnauthorized: true, checkServerIdentity: () => undefined, ...extra };
}
