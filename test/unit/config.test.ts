import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { CesarError } from '../../src/errors.js';

const dirs: string[] = [];
function dir(files: Record<string, string> = {}): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'cesar-config-'));
  dirs.push(d);
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(d, name), text);
  return d;
}
afterEach(() => {
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

  it('production to a loopback cloud without TLS is allowed (tests, tunnels)', () => {
    const c = loadConfig({ cwd: dir(), env: { ENVIRONMENT: 'production', LOCAL_DB_URL: LOCAL, COCKROACH_DB_URL: 'postgres://u@127.0.0.1:26257/d' } });
    expect(c.environment).toBe('production');
  });
});
