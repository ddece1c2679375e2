import fs from 'node:fs';
import path from 'node:path';
import dotenv from 'dotenv';
import { CesarError, EXIT } from '../errors.js';
import { DURATION_FORM, parseDuration } from './duration.js';
import { registerSecret, registerUrlSecrets } from './redact.js';
import { ENVIRONMENTS, type Config, type Environment } from './types.js';
import { validateDbUrl } from './url.js';

/** The files read from the working directory, in order; a later file overrides an earlier one. */
export const ENV_FILES = ['.env', '.env.cockroach'] as const;

/** Variables as seen by cesar: file values overlaid by the real environment (the environment wins). */
export interface LoadedEnv {
  vars: Record<string, string | undefined>;
  files: string[];
  /** Lines of the files that are not KEY=VALUE (ignored, reported as warnings). */
  warnings: string[];
}

const LINE_OK = /^\s*(?:#.*|export\s+[A-Za-z_][\w.-]*\s*=.*|[A-Za-z_][\w.-]*\s*=.*|)$/;

/** Reads .env then .env.cockroach from `cwd` and overlays the real environment. */
export function loadEnvFiles(cwd: string, env: NodeJS.ProcessEnv): LoadedEnv {
  const fromFiles: Record<string, string> = {};
  const files: string[] = [];
  const warnings: string[] = [];
  for (const name of ENV_FILES) {
    const file = path.join(cwd, name);
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw new CesarError('CONFIG_FILE', `cannot read ${name}: ${(err as Error).message}`, { exitCode: EXIT.usage });
    }
    files.push(name);
    Object.assign(fromFiles, dotenv.parse(text));
    warnings.push(...garbageLines(name, text));
  }
  return { vars: { ...fromFiles, ...env }, files, warnings };
}

// dotenv skips lines it cannot parse without a word; an operator deserves to know.
function garbageLines(name: string, text: string): string[] {
  const out: string[] = [];
  let inQuote: string | null = null;
  text.split(/\r?\n/).forEach((line, i) => {
    if (inQuote) {
      if (line.includes(inQuote)) inQuote = null;
      return;
    }
    const open = /=\s*(["'`])(?:(?!\1).)*$/.exec(line);
    if (open) inQuote = open[1]!;
    if (!LINE_OK.test(line)) out.push(`${name} line ${i + 1}: not KEY=VALUE, ignored`);
  });
  return out;
}

/** Builds and validates the configuration; throws one CesarError (exit 2) listing every problem. */
export function loadConfig(options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Config & { warnings: string[] } {
  const cwd = options.cwd ?? process.cwd();
  const loaded = loadEnvFiles(cwd, options.env ?? process.env);
  const v = (name: string): string | undefined => {
    const value = loaded.vars[name]?.trim();
    return value === '' ? undefined : value;
  };
  const problems: string[] = [];
  const check = <T>(fn: () => T, fallback: T): T => {
    try {
      return fn();
    } catch (err) {
      problems.push((err as Error).message);
      return fallback;
    }
  };

  const envName = (v('ENVIRONMENT') ?? 'development').toLowerCase();
  const environment = ENVIRONMENTS.includes(envName as Environment) ? (envName as Environment) : undefined;
  if (!environment) problems.push(`ENVIRONMENT: "${v('ENVIRONMENT')}" is not allowed; use one of ${ENVIRONMENTS.join(', ')}.`);

  const localVar = v('LOCAL_DB_URL') !== undefined ? 'LOCAL_DB_URL' : 'DATABASE_URL';
  const localUrl = v('LOCAL_DB_URL') ?? v('DATABASE_URL');
  const cloudUrl = v('COCKROACH_DB_URL');
  registerUrlSecrets(localUrl);
  registerUrlSecrets(cloudUrl);
  // the driver falls back to PGPASSWORD (real environment only) for a URL without a password
  registerSecret(options.env === undefined ? process.env.PGPASSWORD : options.env.PGPASSWORD);
  if (localUrl) check(() => validateDbUrl(localUrl, localVar, cwd), undefined);
  if (cloudUrl) check(() => validateDbUrl(cloudUrl, 'COCKROACH_DB_URL', cwd), undefined);

  const embedded = !localUrl && !cloudUrl && environment === 'development';
  if (environment && environment !== 'development') {
    if (!localUrl) problems.push(`LOCAL_DB_URL is missing: ENVIRONMENT=${environment} needs both databases configured (the embedded demo is for development only).`);
    if (!cloudUrl) problems.push(`COCKROACH_DB_URL is missing: ENVIRONMENT=${environment} needs both databases configured (the embedded demo is for development only).`);
  }
  if (environment === 'production' && cloudUrl) check(() => requireTlsInProduction(cloudUrl), undefined);

  const apiPortText = v('CESAR_API_PORT') ?? '8000';
  const apiPort = Number(apiPortText);
  if (!/^\d+$/.test(apiPortText) || apiPort > 65535) problems.push(`CESAR_API_PORT: "${apiPortText}" is not a port; use a whole number from 0 to 65535.`);
  const apiHost = v('CESAR_API_HOST') ?? '127.0.0.1';
  const hostProblem = checkListenHost(apiHost, 'CESAR_API_HOST');
  if (hostProblem) problems.push(hostProblem);
  const token = v('CESAR_API_TOKEN');
  const readToken = v('CESAR_API_READ_TOKEN');
  const metricsToken = v('CESAR_METRICS_TOKEN');
  for (const [name, value] of [['CESAR_API_TOKEN', token], ['CESAR_API_READ_TOKEN', readToken], ['CESAR_METRICS_TOKEN', metricsToken]] as const) {
    // a refused token is never shown (nor used); registering a short one would mask its letters in
    // ordinary words of the messages ("short")
    if (value !== undefined && value.length >= 16) registerSecret(value);
    if (value !== undefined && value.length < 16) problems.push(`${name}: too short; use at least 16 characters (e.g. \`openssl rand -hex 24\`).`);
  }
  // the same value for two of them would make the narrower one as powerful as the wider
  if (token !== undefined && (token === readToken || token === metricsToken)) problems.push('CESAR_API_READ_TOKEN / CESAR_METRICS_TOKEN: must differ from CESAR_API_TOKEN (it can do everything they can).');

  const syncIntervalMs = check(() => parseDuration(v('CESAR_SYNC_INTERVAL') ?? '5m', 'CESAR_SYNC_INTERVAL', { minMs: 1000, maxMs: 86_400_000 }), 300_000);
  const connectMs = check(() => parseDuration(v('CESAR_CONNECT_TIMEOUT') ?? '5s', 'CESAR_CONNECT_TIMEOUT', { minMs: 100, maxMs: 300_000 }), 5000);
  const statementMs = check(() => parseDuration(v('CESAR_STATEMENT_TIMEOUT') ?? '60s', 'CESAR_STATEMENT_TIMEOUT', { minMs: 100, maxMs: 86_400_000 }), 60_000);

  const list = (name: string, fallback: string[]): string[] => {
    const raw = v(name);
    return raw === undefined ? fallback : raw.split(',').map((s) => s.trim()).filter(Boolean);
  };
  const criticalTables = list('CESAR_CRITICAL_TABLES', ['agents']);
  for (const t of criticalTables) {
    if (!/^[a-z_][a-z0-9_]*$/.test(t)) problems.push(`CESAR_CRITICAL_TABLES: "${t}" is not a table name; use comma-separated lower_snake_case names.`);
  }
  const hostnames = list('CESAR_API_HOSTNAMES', []).map((h) => h.toLowerCase().replace(/\.$/, ''));
  for (const h of hostnames) {
    if (!/^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/.test(h) && !/^\[?[0-9a-f:.]+\]?$/.test(h)) {
      problems.push(`CESAR_API_HOSTNAMES: "${h}" is not a host name; use comma-separated names without scheme or port, like cesar.example.com,10.0.0.5.`);
    }
  }
  const corsOrigins = list('CESAR_API_CORS_ORIGINS', []);
  for (const o of corsOrigins) {
    if (!/^https?:\/\/[^/\s]+$/.test(o)) problems.push(`CESAR_API_CORS_ORIGINS: "${o}" is not an origin; use comma-separated origins like https://ops.example.com.`);
  }

  const strategyNames = ['lww', 'local-wins', 'cloud-wins'] as const;
  type StrategyName = (typeof strategyNames)[number];
  const isStrategy = (x: string): x is StrategyName => (strategyNames as readonly string[]).includes(x);
  const defaultStrategy = v('CESAR_CONFLICT_STRATEGY') ?? 'lww';
  if (!isStrategy(defaultStrategy)) problems.push(`CESAR_CONFLICT_STRATEGY: "${defaultStrategy}" is not allowed; use one of ${strategyNames.join(', ')}.`);
  const strategies: Record<string, StrategyName> = {};
  for (const pair of list('CESAR_TABLE_STRATEGIES', [])) {
    const [table = '', strategy = ''] = pair.split('=').map((s) => s.trim());
    if (!/^[a-z_][a-z0-9_]*$/.test(table) || !isStrategy(strategy)) {
      problems.push(`CESAR_TABLE_STRATEGIES: "${pair}" is not table=strategy; use e.g. agents=local-wins,memories=cloud-wins (strategies: ${strategyNames.join(', ')}).`);
    } else strategies[table] = strategy;
  }
  const batchText = v('CESAR_SYNC_BATCH_SIZE') ?? '500';
  const batchSize = Number(batchText);
  if (!/^\d+$/.test(batchText) || batchSize < 1 || batchSize > 10_000) problems.push(`CESAR_SYNC_BATCH_SIZE: "${batchText}" is not allowed; use a whole number from 1 to 10000.`);
  const overlapMs = check(() => parseDuration(v('CESAR_SYNC_OVERLAP') ?? '5s', 'CESAR_SYNC_OVERLAP', { minMs: 0, maxMs: 3_600_000 }), 5000);
  const deleteScanIntervalMs = check(() => parseDuration(v('CESAR_DELETE_SCAN_INTERVAL') ?? '10m', 'CESAR_DELETE_SCAN_INTERVAL', { minMs: 1000, maxMs: 7 * 86_400_000 }), 600_000);
  const criticalPollMs = check(() => parseDuration(v('CESAR_CRITICAL_POLL') ?? '200ms', 'CESAR_CRITICAL_POLL', { minMs: 50, maxMs: 60_000 }), 200);
  const leaseTtlMs = check(() => parseDuration(v('CESAR_SYNC_LEASE_TTL') ?? '15s', 'CESAR_SYNC_LEASE_TTL', { minMs: 1000, maxMs: 3_600_000 }), 15_000);
  const tombstoneMs = check(() => parseRetention(v('CESAR_TOMBSTONE_RETENTION') ?? '7d', 'CESAR_TOMBSTONE_RETENTION'), null);
  const conflictMs = check(() => parseRetention(v('CESAR_CONFLICT_RETENTION') ?? '30d', 'CESAR_CONFLICT_RETENTION'), null);
  const maxRowsText = v('CESAR_CONFLICT_MAX_ROWS') ?? '100000';
  const conflictMaxRows = /^off$/i.test(maxRowsText) ? null : Number(maxRowsText);
  if (conflictMaxRows !== null && (!/^\d+$/.test(maxRowsText) || conflictMaxRows < 1 || conflictMaxRows > 100_000_000)) {
    problems.push(`CESAR_CONFLICT_MAX_ROWS: "${maxRowsText}" is not allowed; use a whole number from 1 to 100000000, or off.`);
  }
  const retentionIntervalMs = check(() => parseDuration(v('CESAR_RETENTION_INTERVAL') ?? '5m', 'CESAR_RETENTION_INTERVAL', { minMs: 1000, maxMs: 86_400_000 }), 300_000);

  if (problems.length > 0 || !environment) {
    const where = loaded.files.length ? ` (read from the environment and ${loaded.files.join(', ')})` : '';
    throw new CesarError('CONFIG', `configuration error${where}:\n  - ${problems.join('\n  - ')}`, { exitCode: EXIT.usage });
  }
  return {
    environment,
    urls: { ...(localUrl ? { local: localUrl } : {}), ...(cloudUrl ? { cloud: cloudUrl } : {}) },
    embedded,
    api: { host: apiHost, port: apiPort, token, readToken, metricsToken, corsOrigins, hostnames: hostnames.map((h) => h.replace(/^\[|\]$/g, '')) },
    syncIntervalMs,
    dataDir: path.resolve(cwd, v('CESAR_DATA_DIR') ?? '.cesar'),
    logFile: v('CESAR_LOG_FILE') === undefined ? undefined : path.resolve(cwd, v('CESAR_LOG_FILE')!),
    timeouts: { connectMs, statementMs },
    criticalTables,
    criticalPollMs,
    sync: { batchSize, overlapMs, deleteScanIntervalMs, leaseTtlMs, defaultStrategy: isStrategy(defaultStrategy) ? defaultStrategy : 'lww', strategies },
    retention: { tombstoneMs, conflictMs, conflictMaxRows, intervalMs: retentionIntervalMs },
    loadedFiles: loaded.files,
    warnings: loaded.warnings,
  };
}

const MAX_RETENTION_MS = 3650 * 86_400_000;

/**
 * A retention period: the usual duration form (`30s`, `12h`) or days (`7d`, `30d`), from 1s to
 * 3650d; `off` or `0` turns that purge off (null).
 */
export function parseRetention(value: string, what: string): number | null {
  const text = value.trim();
  if (/^(off|0)$/i.test(text)) return null;
  const days = /^(\d+(?:\.\d+)?)d$/.exec(text);
  // days are written as hours for the shared parser, so range and rounding rules stay in one place
  const asDuration = days ? `${Number(days[1]) * 24}h` : text;
  if (/^\d+(?:\.\d+)?(ms|s|m|h)$/.test(asDuration)) {
    const ms = parseDuration(asDuration, what);
    if (ms >= 1000 && ms <= MAX_RETENTION_MS) return ms;
  }
  throw new CesarError('BAD_DURATION', `${what}: "${value}" is not allowed; use a number followed by s, m, h or d (e.g. 12h, 7d; 1s to 3650d), or off (or 0) to disable.`, { exitCode: EXIT.usage });
}

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[?::1\]?)$/i;

/**
 * An address to listen on without the brackets of a URL: `[::1]` is how people write an IPv6
 * address next to a port, but listen() wants `::1`.
 */
export function listenHost(host: string): string {
  return /^\[[0-9a-fA-F:.]+\]$/.test(host) ? host.slice(1, -1) : host;
}

/** Why `host` cannot be listened on (a problem message naming `what`), or undefined when it can. */
export function checkListenHost(host: string, what: string): string | undefined {
  if (host === '' || /[\s/[\]]/.test(listenHost(host))) return `${what}: "${host}" is not a host name or address (e.g. 127.0.0.1, 0.0.0.0, ::1, [::1]).`;
  return undefined;
}

/** True for localhost, 127.0.0.0/8 and ::1. */
export function isLoopbackHost(host: string): boolean {
  return LOOPBACK.test(host);
}

function requireTlsInProduction(url: string): void {
  const u = new URL(url);
  const mode = u.searchParams.get('sslmode') ?? 'prefer';
  if (!isLoopbackHost(u.hostname) && ['disable', 'allow', 'prefer'].includes(mode)) {
    throw new Error(
      `COCKROACH_DB_URL: production refuses a connection to ${u.hostname} without TLS (sslmode=${mode}); ` +
        'use sslmode=verify-full (and sslrootcert=<file> for a self-hosted cluster).',
    );
  }
}

export { DURATION_FORM };
