import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { TEST_LOCAL_PASSWORD } from '../helpers/capture.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { createTestDatabases, REPO, sql, type TestDatabases } from '../helpers/databases.js';
import { startProxy, type FaultProxy } from '../helpers/proxy.js';
import { openStatementLog, type StatementLog } from '../helpers/statement-log.js';

// Bad input on the command line (issue 8): every command and flag with wrong values, every
// configuration variable with wrong values, .env files with garbage lines, and database URLs with
// wrong hosts, ports, users, passwords and sslmodes. A usage or configuration error is exit 2 with
// a message naming the flag or variable, printed before any database is contacted: the URLs point
// through a counting proxy at real databases, and the test checks at the end that the proxy saw no
// connection, that the databases are still empty and that the server logged no statement for them.

const real = process.env.CESAR_TEST_BACKEND !== 'embedded';
// every test here starts cesar processes; other suites share the machine's two cores
vi.setConfig({ testTimeout: 90_000 });
const NO_EGRESS = path.join(REPO, 'test/helpers/no-egress.cjs');

let dbs: TestDatabases;
let proxy: FaultProxy | undefined;
let log: StatementLog | string = 'not opened';
/** The URLs handed to cesar in the matrix: through the proxy on the real server. */
let env: Record<string, string>;

beforeAll(async () => {
  dbs = await createTestDatabases();
  if (real) {
    proxy = await startProxy({ targetHost: '127.0.0.1', targetPort: 5432 });
    env = { LOCAL_DB_URL: proxy.urlFor(dbs.localUrl), COCKROACH_DB_URL: proxy.urlFor(dbs.cloudUrl) };
    log = await openStatementLog([new URL(dbs.localUrl).pathname.slice(1), new URL(dbs.cloudUrl).pathname.slice(1)]);
  } else env = { LOCAL_DB_URL: dbs.localUrl, COCKROACH_DB_URL: dbs.cloudUrl };
}, 60_000);

afterAll(async () => {
  await proxy?.close();
  await dbs?.drop();
});

type Row = [label: string, args: string[], extraEnv: Record<string, string | undefined>, message: RegExp];

// Every flag of every command (src/commands/*.ts) with a wrong value.
const FLAGS: Row[] = [
  ['unknown command', ['frobnicate'], {}, /unknown command "frobnicate"\. Commands: dashboard, status, check, migrate, sync, verify, restore, headless/],
  ['dashboard --refresh soon', ['dashboard', '--refresh', 'soon'], {}, /--refresh: "soon" is not a duration/],
  ['dashboard --refresh below 500ms', ['dashboard', '--refresh', '100ms'], {}, /--refresh: "100ms" is out of range; allowed 500ms to 1m/],
  ['dashboard --refresh without a value', ['dashboard', '--refresh'], {}, /--refresh needs a value/],
  ['dashboard --readonly=yes', ['dashboard', '--readonly=yes'], {}, /--readonly takes no value/],
  ['dashboard --demo=1', ['dashboard', '--demo=1'], {}, /--demo takes no value/],
  ['dashboard unknown flag', ['dashboard', '--fullscreen'], {}, /Unknown flag\s+--fullscreen/],
  ['status --conflicts abc', ['status', '--conflicts', 'abc'], {}, /--conflicts: "abc" is not allowed; use a whole number from 0 to 100/],
  ['status --conflicts -1', ['status', '--conflicts=-1'], {}, /--conflicts: "-1" is not allowed/],
  ['status --conflicts 2.5', ['status', '--conflicts', '2.5'], {}, /--conflicts: "2.5" is not allowed/],
  ['status --conflicts without a value', ['status', '--conflicts'], {}, /--conflicts needs a value/],
  ['status --json=yes', ['status', '--json=yes'], {}, /--json takes no value/],
  ['status stray argument', ['status', 'now'], {}, /unexpected argument "now"/],
  ['check --pings abc', ['check', '--pings', 'abc'], {}, /--pings: "abc" is not allowed; use a whole number from 1 to 100/],
  ['check --pings 0', ['check', '--pings', '0'], {}, /--pings: "0" is not allowed/],
  ['check --pings 1e9', ['check', '--pings', '1e9'], {}, /--pings: "1e9" is not allowed/],
  ['check --pings=', ['check', '--pings='], {}, /--pings needs a value/],
  ['check --json=no', ['check', '--json=no'], {}, /--json takes no value/],
  ['migrate --target moon', ['migrate', '--target', 'moon'], {}, /--target: "moon" is not allowed; use one of local, cloud, both/],
  ['migrate --target without a value', ['migrate', '--target'], {}, /--target needs a value/],
  ['migrate two modes', ['migrate', '--status', '--lint'], {}, /--status and --lint cannot be combined/],
  ['migrate --dry-run=yes', ['migrate', '--dry-run=yes'], {}, /--dry-run takes no value/],
  ['migrate --wait soon', ['migrate', '--wait', 'soon'], {}, /--wait: "soon" is not a duration/],
  ['migrate --wait 25h', ['migrate', '--wait', '25h'], {}, /--wait: "25h" is out of range/],
  ['migrate --dir missing', ['migrate', '--dir', '/nonexistent/migrations'], {}, /migrations directory not found/],
  ['migrate --repair without a value', ['migrate', '--repair'], {}, /--repair needs a value/],
  ['migrate --repair unknown file', ['migrate', '--repair', '999_nothing'], {}, /no 999_nothing\.sql/],
  ['CESAR_MIGRATE_LEASE_TTL forever', ['migrate', '--status'], { CESAR_MIGRATE_LEASE_TTL: 'forever' }, /CESAR_MIGRATE_LEASE_TTL: "forever" is not a duration/],
  ['CESAR_MIGRATE_LEASE_TTL 100ms', ['migrate'], { CESAR_MIGRATE_LEASE_TTL: '100ms' }, /CESAR_MIGRATE_LEASE_TTL: "100ms" is out of range/],
  ['sync --direction sideways', ['sync', '--direction', 'sideways'], {}, /Unknown value for flag `--direction`: `sideways`.*`both`, `up`, `down`/],
  ['sync --scan-deletes sometimes', ['sync', '--scan-deletes', 'sometimes'], {}, /Unknown value for flag `--scan-deletes`/],
  ['sync --wait forever', ['sync', '--wait', 'forever'], {}, /--wait: "forever" is not a duration/],
  ['sync --wait 2h', ['sync', '--wait', '2h'], {}, /--wait: "2h" is out of range; allowed 0ms to 1h/],
  ['sync --table without a value', ['sync', '--table'], {}, /--table needs a value/],
  ['sync --table not synced', ['sync', '--table', 'agent'], {}, /unknown table "agent"\. Synced tables: agents, /],
  ['sync --dry-run=yes', ['sync', '--dry-run=yes'], {}, /--dry-run takes no value/],
  ['sync stray argument', ['sync', 'agents'], {}, /unexpected argument "agents"/],
  ['verify --table not synced', ['verify', '--table', 'schema_migrations'], {}, /unknown table "schema_migrations"/],
  ['verify --table=', ['verify', '--table='], {}, /--table needs a value/],
  ['verify --json=1', ['verify', '--json=1'], {}, /--json takes no value/],
  ['restore without --yes', ['restore'], {}, /run it again with --yes to confirm/],
  ['restore --yes=yes', ['restore', '--yes=yes'], {}, /--yes takes no value/],
  ['headless --interval 5x', ['headless', '--interval', '5x'], {}, /--interval: "5x" is not a duration/],
  ['headless --interval 0s', ['headless', '--interval', '0s'], {}, /--interval: "0s" is out of range; allowed 1s to 24h/],
  ['headless --port 70000', ['headless', '--port', '70000'], {}, /--port: "70000" is not a port/],
  ['headless --host with a space', ['headless', '--host', 'a host'], {}, /--host: "a host" is not a host name or address/],
  ['headless --host without a value', ['headless', '--host'], {}, /--host needs a value/],
  ['headless --log-level loud', ['headless', '--log-level', 'loud'], {}, /--log-level: "loud" is not allowed; use one of debug, info, warn, error/],
  ['headless --migrate=yes', ['headless', '--migrate=yes'], {}, /--migrate takes no value/],
  ['headless --host 0.0.0.0 without a token', ['headless', '--host', '0.0.0.0'], {}, /needs CESAR_API_TOKEN/],
  ['headless --host :: without a token', ['headless', '--host', '::'], {}, /refusing to serve the API on :: without a token/],
  ['headless --host 0 (all interfaces) without a token', ['headless', '--host', '0'], {}, /refusing to serve the API on 0 without a token/],
  ['CESAR_API_HOST a LAN address without a token', ['headless'], { CESAR_API_HOST: '192.168.1.10' }, /refusing to serve the API on 192\.168\.1\.10 without a token/],
];

// Every configuration variable (src/config/load.ts) with a wrong value, through a command that
// would connect if the configuration were accepted.
const LOCAL_FORM = 'postgres://postgres@127.0.0.1:5432/x';
const VARS: Row[] = [
  ['ENVIRONMENT prod', ['check'], { ENVIRONMENT: 'prod' }, /ENVIRONMENT: "prod" is not allowed; use one of development, staging, production/],
  ['LOCAL_DB_URL not a URL', ['check'], { LOCAL_DB_URL: 'localhost:5432/db' }, /LOCAL_DB_URL: not a URL \(the value is not shown, it may hold a password\): it must start with postgres:\/\/ or postgresql:\/\//],
  ['LOCAL_DB_URL mysql', ['check'], { LOCAL_DB_URL: 'mysql://u@127.0.0.1/db' }, /LOCAL_DB_URL: scheme "mysql" is not postgres or postgresql/],
  ['LOCAL_DB_URL without host', ['check'], { LOCAL_DB_URL: 'postgres:///db' }, /LOCAL_DB_URL: the host is missing/],
  ['DATABASE_URL port 99999', ['check'], { LOCAL_DB_URL: undefined, DATABASE_URL: 'postgres://u@127.0.0.1:99999/db' }, /DATABASE_URL: the port is not a number from 1 to 65535/],
  ['COCKROACH_DB_URL sslmode=sometimes', ['check'], { COCKROACH_DB_URL: 'postgres://u@127.0.0.1/db?sslmode=sometimes' }, /COCKROACH_DB_URL: sslmode "sometimes" is not one of disable, allow, prefer, require, verify-ca, verify-full/],
  ['COCKROACH_DB_URL sslrootcert missing', ['check'], { COCKROACH_DB_URL: 'postgres://u@127.0.0.1/db?sslmode=verify-full&sslrootcert=certs/none.crt' }, /COCKROACH_DB_URL: sslrootcert file "certs\/none\.crt" does not exist/],
  ['COCKROACH_DB_URL sslcert and sslkey missing', ['check'], { COCKROACH_DB_URL: 'postgres://u@127.0.0.1/db?sslmode=require&sslcert=a.crt&sslkey=a.key' }, /COCKROACH_DB_URL: sslcert file "a\.crt" does not exist/],
  ['staging with one URL', ['check'], { ENVIRONMENT: 'staging', COCKROACH_DB_URL: undefined }, /COCKROACH_DB_URL is missing: ENVIRONMENT=staging needs both databases/],
  ['production with no URL', ['status'], { ENVIRONMENT: 'production', LOCAL_DB_URL: undefined, COCKROACH_DB_URL: undefined }, /LOCAL_DB_URL is missing[\s\S]*COCKROACH_DB_URL is missing/],
  ['CESAR_API_HOST with a slash', ['headless'], { CESAR_API_HOST: 'http://x' }, /CESAR_API_HOST: "http:\/\/x" is not a host name or address/],
  ['CESAR_API_PORT 80a', ['headless'], { CESAR_API_PORT: '80a' }, /CESAR_API_PORT: "80a" is not a port/],
  ['CESAR_API_TOKEN too short', ['headless'], { CESAR_API_TOKEN: 'short' }, /CESAR_API_TOKEN: too short; use at least 16 characters/],
  ['CESAR_API_CORS_ORIGINS not an origin', ['headless'], { CESAR_API_CORS_ORIGINS: 'https://ok.example.com,ops.example.com/x' }, /CESAR_API_CORS_ORIGINS: "ops\.example\.com\/x" is not an origin/],
  ['CESAR_SYNC_INTERVAL 5', ['sync'], { CESAR_SYNC_INTERVAL: '5' }, /CESAR_SYNC_INTERVAL: "5" is not a duration/],
  ['CESAR_SYNC_INTERVAL 25h', ['sync'], { CESAR_SYNC_INTERVAL: '25h' }, /CESAR_SYNC_INTERVAL: "25h" is out of range; allowed 1s to/],
  ['CESAR_CRITICAL_TABLES with SQL', ['headless'], { CESAR_CRITICAL_TABLES: 'agents,agents; DROP TABLE agents' }, /CESAR_CRITICAL_TABLES: "agents; DROP TABLE agents" is not a table name/],
  ['CESAR_CONNECT_TIMEOUT -1s', ['check'], { CESAR_CONNECT_TIMEOUT: '-1s' }, /CESAR_CONNECT_TIMEOUT: "-1s" is not a duration/],
  ['CESAR_STATEMENT_TIMEOUT 50ms', ['verify'], { CESAR_STATEMENT_TIMEOUT: '50ms' }, /CESAR_STATEMENT_TIMEOUT: "50ms" is out of range/],
  ['CESAR_CONFLICT_STRATEGY newest', ['sync'], { CESAR_CONFLICT_STRATEGY: 'newest' }, /CESAR_CONFLICT_STRATEGY: "newest" is not allowed; use one of lww, local-wins, cloud-wins/],
  ['CESAR_TABLE_STRATEGIES with a colon', ['sync'], { CESAR_TABLE_STRATEGIES: 'agents:local-wins' }, /CESAR_TABLE_STRATEGIES: "agents:local-wins" is not table=strategy/],
  ['CESAR_TABLE_STRATEGIES bad strategy', ['sync'], { CESAR_TABLE_STRATEGIES: 'agents=mine' }, /CESAR_TABLE_STRATEGIES: "agents=mine" is not table=strategy/],
  ['CESAR_SYNC_BATCH_SIZE 0', ['sync'], { CESAR_SYNC_BATCH_SIZE: '0' }, /CESAR_SYNC_BATCH_SIZE: "0" is not allowed; use a whole number from 1 to 10000/],
  ['CESAR_SYNC_BATCH_SIZE 1.5', ['restore', '--yes'], { CESAR_SYNC_BATCH_SIZE: '1.5' }, /CESAR_SYNC_BATCH_SIZE: "1\.5" is not allowed/],
  ['CESAR_SYNC_OVERLAP 2h', ['sync'], { CESAR_SYNC_OVERLAP: '2h' }, /CESAR_SYNC_OVERLAP: "2h" is out of range/],
  ['CESAR_DELETE_SCAN_INTERVAL 100ms', ['sync'], { CESAR_DELETE_SCAN_INTERVAL: '100ms' }, /CESAR_DELETE_SCAN_INTERVAL: "100ms" is out of range/],
  ['CESAR_SYNC_LEASE_TTL 500ms', ['sync'], { CESAR_SYNC_LEASE_TTL: '500ms' }, /CESAR_SYNC_LEASE_TTL: "500ms" is out of range/],
  ['CESAR_CRITICAL_POLL 10ms', ['sync'], { CESAR_CRITICAL_POLL: '10ms' }, /CESAR_CRITICAL_POLL: "10ms" is out of range/],
  ['CESAR_CRITICAL_POLL often', ['sync'], { CESAR_CRITICAL_POLL: 'often' }, /CESAR_CRITICAL_POLL: "often"/],
];

// Checked after the configuration loads, against the synced tables (one process each).
const TABLE_NAMES: Row[] = [
  ['CESAR_CRITICAL_TABLES with a typo', ['headless'], { CESAR_CRITICAL_TABLES: 'agents,agent' }, /CESAR_CRITICAL_TABLES: "agent" is not a synced table\.\n  Synced tables: agents, /],
  ['CESAR_TABLE_STRATEGIES with a typo', ['sync'], { CESAR_TABLE_STRATEGIES: 'agents=local-wins,memory=cloud-wins' }, /CESAR_TABLE_STRATEGIES: "memory" is not a synced table/],
];

/** One process for several configuration rows of the same command that set different variables (cesar lists every problem at once). */
interface Group {
  args: string[];
  env: Record<string, string | undefined>;
  rows: Row[];
}
function groupRows(rows: Row[]): Group[] {
  const groups: Group[] = [];
  for (const row of rows) {
    const [, args, extra] = row;
    const g = groups.find((x) => x.args.join('\0') === args.join('\0') && Object.keys(extra).every((k) => !(k in x.env)));
    if (g) {
      Object.assign(g.env, extra);
      g.rows.push(row);
    } else groups.push({ args, env: { ...extra }, rows: [row] });
  }
  return groups;
}

const run = (args: string[], extra: Record<string, string | undefined>, options: { cwd?: string } = {}): Promise<CliResult> =>
  runCli(args, { ...env, NODE_OPTIONS: `--require ${NO_EGRESS}`, ...extra }, { timeoutMs: 30_000, ...options });

const refused = (r: CliResult, message: RegExp): void => {
  expect(r.stderr).toMatch(message);
  expect(r.code).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr).not.toContain('NO-EGRESS');
  expect(r.stderr).not.toMatch(/\n\s+at /); // a message for people, not a stack trace
};

describe('a wrong value for any flag or variable: exit 2 naming it, before any connection', () => {
  // generous timeouts: five cesar processes start at once, on a machine other suites load too
  it.concurrent.each([...FLAGS, ...TABLE_NAMES])('%s', async (_label, args, extra, message) => {
    refused(await run(args, extra), message);
  }, 90_000);

  // the configuration rows share processes (fewer node start-ups); each row still checks its own message
  const results = new Map<string, Promise<CliResult>>();
  const outcome = (label: string): Promise<CliResult> => {
    if (results.size === 0) for (const g of groupRows(VARS)) {
      const p = run(g.args, g.env);
      for (const [l] of g.rows) results.set(l, p);
    }
    return results.get(label)!;
  };
  it.concurrent.each(VARS)('%s', async (label, _args, _extra, message) => {
    refused(await outcome(label), message);
  }, 90_000);

  it.concurrent('every problem of a configuration is listed at once, each naming its variable', async () => {
    const r = await run(['status'], { ENVIRONMENT: 'qa', CESAR_API_PORT: 'x', CESAR_SYNC_BATCH_SIZE: '-5', CESAR_CONFLICT_STRATEGY: 'mine', LOCAL_DB_URL: `${LOCAL_FORM}?sslmode=on` });
    expect(r.code).toBe(2);
    for (const v of ['ENVIRONMENT', 'LOCAL_DB_URL', 'CESAR_API_PORT', 'CESAR_CONFLICT_STRATEGY', 'CESAR_SYNC_BATCH_SIZE']) expect(r.stderr).toContain(`  - ${v}`);
  });
});

describe('nothing reached the databases', () => {
  // the proxy and the statement log need the real server
  it.skipIf(!real)('the proxy in front of both databases saw no connection, both are still empty, the server logged no statement for them', async () => {
    expect(proxy!.stats.accepted).toBe(0);
    if (typeof log === 'string') throw new Error(`the statement log is not readable here: ${log}`);
    expect(await log.entries()).toEqual([]);
    for (const url of [dbs.localUrl, dbs.cloudAdminUrl]) {
      expect(await sql(url, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")).toEqual([]);
    }
    // the log does see these databases: a statement run now is there (so the empty result above can fail)
    await sql(dbs.localUrl, "SELECT 'statement log works' AS probe");
    expect((await log.entries()).some((e) => e.text.includes('statement log works'))).toBe(true);
  });
});

describe('.env files', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
  const cwdWith = (files: Record<string, string | Buffer>): string => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'cesar-dotenv-'));
    dirs.push(d);
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(d, name), text);
    return d;
  };

  it('garbage lines (binary bytes, a URL pasted without KEY=, an unterminated quote, CRLF) are warned about by file and line, never echoed; the good lines apply', async () => {
    const pasted = `postgres://app:Pasted9Secret@127.0.0.1:1/x`;
    const cwd = cwdWith({
      '.env': Buffer.concat([
        Buffer.from('\uFEFF# a comment after a byte-order mark\n'),
        Buffer.from([0x01, 0x02, 0xff, 0xfe, 0x0a]), // line 2: binary
        Buffer.from(`${pasted}\n`), // line 3
        Buffer.from('"unterminated=\n'), // line 4
        Buffer.from('CESAR_SYNC_INTERVAL=1h\n'),
        Buffer.from('MULTI="one\ntwo"\n'), // lines 6-7: a quoted multi-line value is fine
        Buffer.from('=no-key\n'), // line 8
        Buffer.from('export CESAR_CONNECT_TIMEOUT=20s\n'),
      ]),
      '.env.cockroach': `CESAR_SYNC_BATCH_SIZE=100\r\nthis line is not a setting\r\n`,
    });
    const r = await runCli(['check', '--json', '--pings', '1'], { LOCAL_DB_URL: dbs.localUrl, COCKROACH_DB_URL: dbs.cloudUrl }, { cwd });
    expect(r.code).toBe(0);
    const warnings = r.stderr.trim().split('\n');
    expect(warnings).toEqual([
      'cesar: warning: .env line 2: not KEY=VALUE, ignored',
      'cesar: warning: .env line 3: not KEY=VALUE, ignored',
      'cesar: warning: .env line 4: not KEY=VALUE, ignored',
      'cesar: warning: .env line 8: not KEY=VALUE, ignored',
      'cesar: warning: .env.cockroach line 2: not KEY=VALUE, ignored',
    ]);
    expect(r.stderr + r.stdout).not.toContain('Pasted9Secret');
    expect(JSON.parse(r.stdout).ok).toBe(true);
  });

  it('a wrong value in a file is exit 2 naming the variable and the file; the environment wins over the files', async () => {
    const cwd = cwdWith({ '.env': 'CESAR_SYNC_INTERVAL=soon\n', '.env.cockroach': 'CESAR_API_PORT=99999\n' });
    const bad = await run(['check'], {}, { cwd });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('configuration error (read from the environment and .env, .env.cockroach)');
    expect(bad.stderr).toContain('CESAR_SYNC_INTERVAL: "soon" is not a duration');
    expect(bad.stderr).toContain('CESAR_API_PORT: "99999" is not a port');
    // the real environment overrides both files: now only the port is wrong
    const overridden = await run(['check'], { CESAR_SYNC_INTERVAL: '1m' }, { cwd });
    expect(overridden.code).toBe(2);
    expect(overridden.stderr).not.toContain('CESAR_SYNC_INTERVAL');
    expect(overridden.stderr).toContain('CESAR_API_PORT');
  });

  it('a .env that cannot be read (a directory) is exit 2 naming it', async () => {
    const cwd = cwdWith({});
    fs.mkdirSync(path.join(cwd, '.env'));
    const r = await run(['status'], {}, { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot read \.env: EISDIR/);
  });
});

/** A loopback port with nothing listening. */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/**
 * A server that speaks just enough of the PostgreSQL protocol to ask for a cleartext password
 * and refuse it, echoing the password in its error message (as a careless proxy or pooler might):
 * cesar must not show it.
 */
async function passwordServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    let started = false;
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (!started && buf.length >= 8 && buf.length >= buf.readInt32BE(0)) {
        buf = buf.subarray(buf.readInt32BE(0));
        started = true;
        s.write(Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 3])); // AuthenticationCleartextPassword
      }
      if (started && buf.length >= 5 && buf[0] === 0x70 && buf.length >= 1 + buf.readInt32BE(1)) {
        const password = buf.subarray(5, 1 + buf.readInt32BE(1) - 1).toString();
        const fields = [`SFATAL`, `VFATAL`, `C28P01`, `Mpassword authentication failed for user "app" (password "${password}")`];
        const body = Buffer.concat([...fields.map((f) => Buffer.from(`${f}\0`)), Buffer.from([0])]);
        const head = Buffer.alloc(5);
        head[0] = 0x45; // ErrorResponse
        head.writeInt32BE(body.length + 4, 1);
        s.end(Buffer.concat([head, body]));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        sockets.forEach((s) => s.destroy());
        server.close(() => r());
      }),
  };
}

describe('database URLs that are well-formed but wrong: exit 1 with the reason, never the password', () => {
  const pw = 'Wr0ngPassw0rd-x';
  const check = async (cloudUrl: string, extra: Record<string, string> = {}) => {
    const r = await runCli(['check', '--json', '--pings', '1'], { LOCAL_DB_URL: dbs.localUrl, COCKROACH_DB_URL: cloudUrl, CESAR_CONNECT_TIMEOUT: '20s', ...extra });
    expect(r.stdout + r.stderr).not.toContain(pw);
    expect(r.stdout + r.stderr).not.toContain(TEST_LOCAL_PASSWORD);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(doc.databases[0]).toMatchObject({ role: 'local', up: true });
    return doc.databases[1] as { up: boolean; error: string; label: string };
  };

  it('a wrong host (a loopback address nothing listens on) and a wrong port: connection refused', async () => {
    expect(await check(`postgres://crdb_app:${pw}@127.0.0.2:5432/x`)).toMatchObject({ up: false, label: 'crdb_app@127.0.0.2:5432/x', error: expect.stringContaining('ECONNREFUSED 127.0.0.2:5432') });
    const port = await closedPort();
    expect(await check(`postgres://crdb_app:${pw}@127.0.0.1:${port}/x`)).toMatchObject({ up: false, error: expect.stringContaining(`ECONNREFUSED 127.0.0.1:${port}`) });
  });

  it('a wrong password: the server refuses it (28P01), and the password it echoes back is masked', async () => {
    const srv = await passwordServer();
    try {
      const cloud = await check(`postgres://app:${pw}@127.0.0.1:${srv.port}/x`);
      expect(cloud.up).toBe(false);
      expect(cloud.error).toContain('password authentication failed for user "app" (password "***")');
      expect(cloud.error).toContain('28P01');
    } finally {
      await srv.close();
    }
  });

  it.skipIf(!real)('a wrong user and a wrong database name on the real server: 28000 and 3D000', async () => {
    const dbName = new URL(dbs.cloudUrl).pathname.slice(1);
    expect((await check(`postgres://no_such_role:${pw}@127.0.0.1:5432/${dbName}`)).error).toMatch(/role "no_such_role" does not exist.*28000/);
    expect((await check(`postgres://crdb_app:${pw}@127.0.0.1:5432/no_such_database_x`)).error).toMatch(/database "no_such_database_x" does not exist.*3D000/);
  });

  it.skipIf(!real)('sslmode=require and verify-ca against a server without TLS: refused with the reason', async () => {
    const ssl = (await sql<{ ssl: string }>(dbs.localUrl, 'SHOW ssl'))[0]!.ssl;
    if (ssl === 'on') return; // this server speaks TLS: the case cannot be made here
    for (const mode of ['require', 'verify-ca', 'verify-full']) {
      const u = new URL(dbs.cloudUrl);
      u.searchParams.set('sslmode', mode);
      u.password = pw;
      expect((await check(u.toString())).error).toMatch(/does not support SSL/i);
    }
  });
});

describe('production refuses a cloud URL without TLS to a non-loopback host, before contacting it', () => {
  // NODE_OPTIONS preloads test/helpers/no-egress.cjs: any connection or DNS lookup to a host that is
  // not loopback ends cesar with exit 99 before anything is sent, so exit 2 proves none was tried.
  const secret = 'Pr0dSecret-9x';
  const prod = (cloudUrl: string, args: string[] = ['check']) =>
    runCli(args, { ENVIRONMENT: 'production', LOCAL_DB_URL: dbs.localUrl, COCKROACH_DB_URL: cloudUrl, NODE_OPTIONS: `--require ${NO_EGRESS}` });

  it.concurrent.each([
    ['sslmode=disable', 'db.example.com', `postgres://crdb_app:${secret}@db.example.com:26257/defaultdb?sslmode=disable`, 'disable'],
    ['no sslmode (prefer)', 'db.example.com', `postgresql://crdb_app:${secret}@db.example.com:26257/defaultdb`, 'prefer'],
    ['sslmode=allow', '10.20.30.40', `postgres://crdb_app:${secret}@10.20.30.40:26257/defaultdb?sslmode=allow`, 'allow'],
    ['sslmode=prefer on IPv6', '[2001:db8::1]', `postgres://crdb_app:${secret}@[2001:db8::1]:26257/defaultdb?sslmode=prefer`, 'prefer'],
  ])('%s to %s: exit 2 with the explanation', async (_what, host, url, mode) => {
    const r = await prod(url);
    expect(r.stderr).toContain(`COCKROACH_DB_URL: production refuses a connection to ${host} without TLS (sslmode=${mode}); use sslmode=verify-full`);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).not.toContain('NO-EGRESS');
    expect(r.stdout + r.stderr).not.toContain(secret);
  });

  it('the same URL with sslmode=verify-full passes validation (the next check, the API token, stops it), still uncontacted', async () => {
    const r = await prod(`postgres://crdb_app:${secret}@db.example.com:26257/defaultdb?sslmode=verify-full`, ['headless', '--host', '0.0.0.0']);
    expect(r.code).toBe(2);
    expect(r.stderr).not.toContain('without TLS');
    expect(r.stderr).toMatch(/needs CESAR_API_TOKEN/);
    expect(r.stderr).not.toContain('NO-EGRESS');
  });

  it('the guard does catch the driver connecting: a host it is told to block (loopback here, so no traffic leaves) ends cesar with 99', async () => {
    const r = await runCli(['check'], { LOCAL_DB_URL: dbs.localUrl, COCKROACH_DB_URL: `postgres://crdb_app:${secret}@127.0.0.2:26257/x?sslmode=disable`, NODE_OPTIONS: `--require ${NO_EGRESS}`, NO_EGRESS_ALSO_BLOCK: '127.0.0.2' });
    expect(r.code).toBe(99);
    expect(r.stderr).toContain('NO-EGRESS: connect to 127.0.0.2');
  });
});
