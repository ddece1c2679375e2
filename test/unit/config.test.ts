import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { clearSecrets, redact } from '../../src/config/redact.js';
import { CesarError } from '../../src/errors.js';

const dirs: string[] = [];
function dir(files: Record<string, string> = {}): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'cesar-config-'));
  dirs.push(d);
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(d, name), text);
  return d;
}
afterEach(() => {
  clearSecrets();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function configError(env: NodeJS.ProcessEnv, files: Record<string, string> = {}): CesarError {
  try {
    loadConfig({ cwd: dir(files), env });
  } catch (err) {
    expect(err).toBeInstanceOf(CesarError);
    return err as CesarError;
  }
  throw new Error('expected a configuration error');
}

const LOCAL = 'postgres://postgres@127.0.0.1:5432/local_db';
const CLOUD = 'postgresql://app:pw@127.0.0.1:26257/defaultdb?sslmode=verify-full';

describe('configuration defaults', () => {
  it('with nothing configured in development, runs embedded with the documented defaults', () => {
    const c = loadConfig({ cwd: dir(), env: {} });
    expect(c.environment).toBe('development');
    expect(c.embedded).toBe(true);
    expect(c.urls).toEqual({});
    expect(c.api).toEqual({ host: '127.0.0.1', port: 8000, token: undefined, readToken: undefined, metricsToken: undefined, corsOrigins: [], hostnames: [] });
    expect(c.syncIntervalMs).toBe(300_000);
    expect(c.criticalTables).toEqual(['agents']);
    expect(path.basename(c.dataDir)).toBe('.cesar');
  });

  it('DATABASE_URL is an alias for LOCAL_DB_URL, and LOCAL_DB_URL wins when both are set', () => {
    expect(loadConfig({ cwd: dir(), env: { DATABASE_URL: LOCAL } }).urls.local).toBe(LOCAL);
    const both = loadConfig({ cwd: dir(), env: { DATABASE_URL: 'postgres://x@127.0.0.1/other', LOCAL_DB_URL: LOCAL } });
    expect(both.urls.local).toBe(LOCAL);
  });

  it('only one URL in development: not embedded, and the other role is not invented', () => {
    const c = loadConfig({ cwd: dir(), env: { LOCAL_DB_URL: LOCAL } });
    expect(c.embedded).toBe(false);
    expect(c.urls).toEqual({ local: LOCAL });
  });
});

describe('.env files', () => {
  it('loads .env then .env.cockroach; the real environment wins over both', () => {
    const d = dir({
      '.env': `LOCAL_DB_URL=${LOCAL}\nCESAR_API_PORT=9000\nCESAR_SYNC_INTERVAL=30s\n`,
      '.env.cockroach': `COCKROACH_DB_URL=${CLOUD}\nCESAR_SYNC_INTERVAL=1m\n`,
    });
    const c = loadConfig({ cwd: d, env: { CESAR_API_PORT: '9100' } });
    expect(c.urls).toEqual({ local: LOCAL, cloud: CLOUD });
    expect(c.api.port).toBe(9100);
    expect(c.syncIntervalMs).toBe(60_000);
    expect(c.loadedFiles).toEqual(['.env', '.env.cockroach']);
  });

  it('reports garbage lines as warnings with file and line, and keeps the good ones', () => {
    const c = loadConfig({ cwd: dir({ '.env': `# comment\nLOCAL_DB_URL=${LOCAL}\nthis is not a setting\n\nexport CESAR_API_PORT=8100\n` }), env: {} });
    expect(c.urls.local).toBe(LOCAL);
    expect(c.api.port).toBe(8100);
    expect(c.warnings).toEqual(['.env line 3: not KEY=VALUE, ignored']);
  });

  it('does not flag the continuation lines of a quoted multi-line value', () => {
    const c = loadConfig({ cwd: dir({ '.env': 'CESAR_API_TOKEN="abcdefgh\nijklmnopqrstuvwxyz"\n' }), env: {} });
    expect(c.warnings).toEqual([]);
  });
});

describe('each bad input is one clear message naming the variable, exit code 2', () => {
  it.each([
    [{ ENVIRONMENT: 'prod' }, 'ENVIRONMENT', 'development, staging, production'],
    [{ LOCAL_DB_URL: 'not a url' }, 'LOCAL_DB_URL', 'postgres://user'],
    [{ LOCAL_DB_URL: 'mysql://u@127.0.0.1/db' }, 'LOCAL_DB_URL', 'is not postgres or postgresql'],
    [{ DATABASE_URL: 'postgres://u@127.0.0.1:99999/db' }, 'DATABASE_URL', 'port'],
    [{ COCKROACH_DB_URL: 'postgres://u@127.0.0.1/db?sslmode=sometimes' }, 'COCKROACH_DB_URL', 'verify-full'],
    [{ COCKROACH_DB_URL: 'postgres://u@127.0.0.1/db?sslmode=verify-full&sslrootcert=/nonexistent/ca.crt' }, 'COCKROACH_DB_URL', 'does not exist'],
    [{ CESAR_SYNC_INTERVAL: '5' }, 'CESAR_SYNC_INTERVAL', '30s, 5m'],
    [{ CESAR_SYNC_INTERVAL: 'soon' }, 'CESAR_SYNC_INTERVAL', 'ms, s, m or h'],
    [{ CESAR_SYNC_INTERVAL: '100ms' }, 'CESAR_SYNC_INTERVAL', 'out of range'],
    [{ CESAR_API_PORT: '80a' }, 'CESAR_API_PORT', '0 to 65535'],
    [{ CESAR_API_PORT: '70000' }, 'CESAR_API_PORT', '0 to 65535'],
    [{ CESAR_API_HOST: 'a host' }, 'CESAR_API_HOST', 'host name'],
    [{ CESAR_API_TOKEN: 'short' }, 'CESAR_API_TOKEN', 'at least 16'],
    [{ CESAR_CONNECT_TIMEOUT: '-1s' }, 'CESAR_CONNECT_TIMEOUT', 'duration'],
    [{ CESAR_CRITICAL_TABLES: 'agents;drop table x' }, 'CESAR_CRITICAL_TABLES', 'not a table name'],
    [{ CESAR_API_CORS_ORIGINS: 'evil' }, 'CESAR_API_CORS_ORIGINS', 'origin'],
    [{ ENVIRONMENT: 'staging', LOCAL_DB_URL: LOCAL }, 'COCKROACH_DB_URL is missing', 'staging'],
    [{ ENVIRONMENT: 'production', COCKROACH_DB_URL: CLOUD }, 'LOCAL_DB_URL is missing', 'production'],
    [{ ENVIRONMENT: 'production', LOCAL_DB_URL: LOCAL, COCKROACH_DB_URL: 'postgres://u:pw@db.example.com:26257/d?sslmode=disable' }, 'COCKROACH_DB_URL', 'without TLS'],
  ])('%j', (env, variable, form) => {
    const err = configError(env);
    expect(err.exitCode).toBe(2);
    expect(err.code).toBe('CONFIG');
    expect(err.message).toContain(variable);
    expect(err.message).toContain(form);
  });

  it('lists every problem at once, and never the password of a bad URL', () => {
    const err = configError({ ENVIRONMENT: 'qa', LOCAL_DB_URL: 'postgres://u:hunter2secret@127.0.0.1:0x/db', CESAR_SYNC_INTERVAL: 'x' });
    expect(err.message).toMatch(/ENVIRONMENT[\s\S]*LOCAL_DB_URL[\s\S]*CESAR_SYNC_INTERVAL/);
    expect(err.message).not.toContain('hunter2secret');
  });

  // Issue 12, case 12: a URL variable whose value does not parse (or parses into something else
  // than was meant) is refused naming the variable and the fix, never showing any part of the value
  // that could be the password.
  it.each([
    ['LOCAL_DB_URL', 'postgres://postgres:s3cr/etpw@127.0.0.1:5432/db', ['s3cr/etpw', 's3cr', 'etpw'], 'percent-encode'],
    ['LOCAL_DB_URL', 'postgresql//user:secret9x@127.0.0.1/db', ['secret9x'], 'must start with postgres:// or postgresql://'],
    ['DATABASE_URL', 'postgres:user:secret9x@127.0.0.1/db', ['secret9x'], 'must start with postgres:// or postgresql://'],
    ['COCKROACH_DB_URL', 'postgres://app:pa#ss9x@db.example.com:26257/x', ['pa#ss9x', 'ss9x'], '%23'],
    ['COCKROACH_DB_URL', 'postgres://app:12345#ss9x@db.example.com:26257/x', ['12345', 'ss9x'], '%23'], // parses: host app, port 12345
    ['COCKROACH_DB_URL', 'postgres://app:12345?ss9x@db.example.com:26257/x', ['12345', 'ss9x'], '%3F'], // parses: query "ss9x@db..."
    ['COCKROACH_DB_URL', 'postgres://app:12345/ss9x@db.example.com:26257/x', ['12345', 'ss9x'], '%2F'], // parses: database "ss9x@db..."
    ['LOCAL_DB_URL', 'postgres://app:pa ss/9x@127.0.0.1/db', ['pa ss', 'ss/9x'], 'percent-encode'],
    ['LOCAL_DB_URL', 'postgres://app:bad%ZZpct9@127.0.0.1/db', ['bad%ZZpct9', 'ZZpct9'], '%25'],
    ['LOCAL_DB_URL', 'host=127.0.0.1 user=app password=hunter2x dbname=db', ['hunter2x'], 'key=value'],
    ['LOCAL_DB_URL', 'app:hunter2x@127.0.0.1:5432/db', ['hunter2x'], 'must start with postgres:// or postgresql://'],
  ])('%s=%s: refused naming the variable, nothing of the password shown', (variable, url, fragments, hint) => {
    const err = configError({ [variable]: url });
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain(`${variable}: `);
    expect(err.message).toContain(hint);
    for (const f of fragments) expect(err.message).not.toContain(f);
  });

  it('PGPASSWORD (which the driver uses for a URL without a password) is masked like a URL password', () => {
    loadConfig({ cwd: dir(), env: { LOCAL_DB_URL: LOCAL, PGPASSWORD: 'Pg9envSecret' } });
    expect(redact('auth failed with Pg9envSecret')).toBe('auth failed with ***');
  });

  it('production to a loopback cloud without TLS is allowed (tests, tunnels)', () => {
    const c = loadConfig({ cwd: dir(), env: { ENVIRONMENT: 'production', LOCAL_DB_URL: LOCAL, COCKROACH_DB_URL: 'postgres://u@127.0.0.1:26257/d' } });
    expect(c.environment).toBe('production');
  });
});

// Issue 12, case 12, as an attacker would try it: any password (any printable character, the URL
// delimiters included), written into every shape a database value takes when typed by hand. The
// configuration error never shows it, and once the value was read, redaction masks it wherever
// the value's text turns up (a driver error echoing it, a log line). The marker characters make
// the password impossible to find by chance in the rest of the text.
describe('any password in any shape of database value is never shown', () => {
  const password = fc
    .string({ unit: fc.constantFrom(...'abcXYZ019/?#@:%&= \'"\\[]{}!$*+,;~^`|<>-_.'.split('')), minLength: 1, maxLength: 24 })
    .map((s) => `Zq${s}9W`);
  const shapes: Array<[string, (p: string) => string]> = [
    ['URL', (p) => `postgres://app:${p}@127.0.0.1:5432/db`],
    ['URL, percent-encoded', (p) => `postgres://app:${encodeURIComponent(p)}@127.0.0.1:5432/db?sslmode=disable`],
    ['no //', (p) => `postgresql//app:${p}@127.0.0.1/db`],
    ['no slashes', (p) => `postgres:app:${p}@127.0.0.1/db`],
    ['no scheme', (p) => `app:${p}@127.0.0.1:5432/db`],
    ['query parameter', (p) => `postgres://app@127.0.0.1/db?password=${encodeURIComponent(p)}`],
    ['conninfo, quoted', (p) => `host=127.0.0.1 user=app password='${p.replace(/[\\']/g, (c) => `\\${c}`)}' dbname=db`],
  ];
  it.each(shapes)('%s', (_shape, write) => {
    fc.assert(
      fc.property(password, fc.constantFrom('LOCAL_DB_URL', 'COCKROACH_DB_URL'), (p, variable) => {
        clearSecrets();
        const value = write(p);
        let message = '';
        try {
          loadConfig({ cwd: os.tmpdir(), env: { [variable]: value } });
        } catch (err) {
          message = (err as Error).message;
        }
        expect(message).not.toContain(p);
        for (const text of [value, `connect failed for ${value}: refused`, JSON.stringify({ error: `bad ${value}` })]) expect(redact(text)).not.toContain(p);
      }),
      { numRuns: Number(process.env.CESAR_PROPERTY_RUNS ?? 300) },
    );
  });
});
