import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { findLeaks, learnSecret, STATIC_SECRET_MAP } from '../helpers/capture.js';
import { runCli } from '../helpers/cli.js';
import { REPO } from '../helpers/databases.js';

// Issue 12, case 12: a database URL that does not parse as a URL (or parses into something other
// than what was meant) printed its password. Through the real binary: each value is refused with
// exit 2, naming the variable, before any connection (the no-egress guard ends cesar with 99 on
// any connection attempt, to a blocked loopback address here), and neither the password nor any
// piece of it appears in what cesar prints. Every password is also learned for the run-end scan.

vi.setConfig({ testTimeout: 60_000 });
const NO_EGRESS = path.join(REPO, 'test/helpers/no-egress.cjs');
const OTHER = 'postgres://postgres@127.0.0.1:5432/postgres';

/** variable, value, the password as meant, pieces of it that must not show, what the message says. */
const CASES: Array<[string, string, string, string[], RegExp]> = [
  ['LOCAL_DB_URL', 'postgres://postgres:s3cr/etpw@127.0.0.1:5432/db', 's3cr/etpw', ['s3cr', 'etpw'], /percent-encode/],
  ['LOCAL_DB_URL', 'postgresql//user:Secret9pw@127.0.0.1/db', 'Secret9pw', [], /must start with postgres:\/\/ or postgresql:\/\//],
  ['DATABASE_URL', 'postgres:user:Secret9pw@127.0.0.1/db', 'Secret9pw', [], /must start with postgres:\/\/ or postgresql:\/\//],
  ['COCKROACH_DB_URL', 'postgresql://crdb_app:Pa55#word9@127.0.0.1:26257/defaultdb', 'Pa55#word9', ['Pa55', 'word9'], /%23/],
  ['COCKROACH_DB_URL', 'postgresql://crdb_app:26257?Word9x@127.0.0.1:26257/defaultdb', '26257?Word9x', ['Word9x'], /%3F/],
  ['COCKROACH_DB_URL', 'postgresql://crdb_app:26257/Word9x@127.0.0.1:26257/defaultdb', '26257/Word9x', ['Word9x'], /%2F/],
  ['LOCAL_DB_URL', 'postgres://app:Pa55 w/ord9@127.0.0.1/db', 'Pa55 w/ord9', ['Pa55', 'ord9'], /percent-encode/],
  ['LOCAL_DB_URL', 'postgres://app:Pa55%ZZword9@127.0.0.1/db', 'Pa55%ZZword9', ['ZZword9'], /%25/],
  ['LOCAL_DB_URL', 'host=127.0.0.1 user=app password=Hunter2pw dbname=db', 'Hunter2pw', [], /key=value/],
  ['LOCAL_DB_URL', "host=127.0.0.1 password='Hunter2 pw' dbname=db", 'Hunter2 pw', ['Hunter2'], /key=value/],
];

describe('a malformed database URL: exit 2 naming the variable, no piece of the password anywhere', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  it.concurrent.each(CASES)('%s=%s', async (variable, url, password, pieces, message) => {
    learnSecret(password, `the password of a malformed ${variable}`);
    const env = { LOCAL_DB_URL: OTHER, COCKROACH_DB_URL: OTHER, [variable]: url, NODE_OPTIONS: `--require ${NO_EGRESS}`, NO_EGRESS_ALSO_BLOCK: '127.0.0.1' };
    if (variable === 'DATABASE_URL') delete (env as Record<string, string | undefined>).LOCAL_DB_URL;
    // from the environment, and from a .env file (where dotenv reads the same text)
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'cesar-badurl-'));
    dirs.push(cwd);
    const { [variable]: _fromFile, ...rest } = env;
    fs.writeFileSync(path.join(cwd, '.env'), `${variable}='${url.replace(/'/g, "\\'")}'\n`);
    // dotenv does not unescape \' in single quotes: that case is left to the environment form
    const runs = [runCli(['check'], env)];
    if (!url.includes("'")) runs.push(runCli(['check', '--json'], rest, { cwd }));
    for (const r of await Promise.all(runs)) {
      const all = r.stdout + r.stderr;
      expect(r.code, all).toBe(2);
      expect(r.stderr).toContain(`  - ${variable}: `);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toContain('NO-EGRESS');
      expect(r.stdout).toBe('');
      for (const piece of [password, ...pieces]) expect(all).not.toContain(piece);
      expect(findLeaks(all, STATIC_SECRET_MAP)).toEqual([]);
    }
  });

  it('every command refuses the same way (they share the configuration loader)', async () => {
    const url = 'postgres://postgres:s3cr/etpw@127.0.0.1:5432/db';
    learnSecret('s3cr/etpw', 'the password of a malformed LOCAL_DB_URL');
    const env = { LOCAL_DB_URL: url, COCKROACH_DB_URL: OTHER, NODE_OPTIONS: `--require ${NO_EGRESS}`, NO_EGRESS_ALSO_BLOCK: '127.0.0.1' };
    const results = await Promise.all([['status', '--json'], ['sync'], ['verify'], ['migrate', '--status'], ['headless', '--port', '0'], ['restore', '--yes']].map((args) => runCli(args, env)));
    for (const r of results) {
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain('  - LOCAL_DB_URL: ');
      expect(r.stdout + r.stderr).not.toContain('s3cr');
      expect(r.stdout + r.stderr).not.toContain('etpw');
    }
  });

  it('a URL with a password given where a flag value or an argument goes is not echoed either', async () => {
    const secret = 'Argv9secret';
    learnSecret(secret, 'a password typed on the command line');
    const env = { LOCAL_DB_URL: OTHER, COCKROACH_DB_URL: OTHER, NODE_OPTIONS: `--require ${NO_EGRESS}`, NO_EGRESS_ALSO_BLOCK: '127.0.0.1' };
    const results = await Promise.all([
      ['sync', '--table', `postgres://u:${secret}@db/x`],
      ['status', `postgres://u:${secret}@db/x`],
      [`postgres://u:${secret}@db/x`],
      ['check', '--pings', `postgres://u:${secret}@db/x`],
    ].map((args) => runCli(args, env)));
    for (const r of results) {
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain('postgres://u:***@db/x');
      expect(r.stdout + r.stderr).not.toContain(secret);
    }
  });
});
