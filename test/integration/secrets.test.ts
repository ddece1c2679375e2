import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { findLeaks, learnSecret, scanCaptures, STATIC_SECRET_MAP, TEST_API_TOKEN, TEST_CLOUD_PASSWORD, TEST_LOCAL_PASSWORD } from '../helpers/capture.js';
import { CLI, runCli } from '../helpers/cli.js';
import { createTestDatabases, type TestDatabases } from '../helpers/databases.js';
import { startProxy, type FaultProxy } from '../helpers/proxy.js';
import { applySchema } from '../helpers/schema.js';

// Security (issue 8): no password, token or URL with credentials in anything cesar prints or
// returns. Every surface is exercised here with known secrets in both URLs (the helpers put
// TEST_LOCAL_PASSWORD and TEST_CLOUD_PASSWORD there), a password given as a query parameter,
// and an API token, in normal operation and while the cloud is down (driver errors are where a
// conninfo tends to leak): CLI output of every command, headless JSON logs, every API answer,
// /metrics, WebSocket frames, dashboard screens and the dashboard's log file. The whole run is
// also scanned at the end (global-setup.ts), and the scanner itself is tested first.

const real = process.env.CESAR_TEST_BACKEND !== 'embedded';
// every test here starts cesar processes; other suites share the machine's two cores
vi.setConfig({ testTimeout: 90_000 });
const QUERY_SECRET = 'QueryPw-7h3x9Lq';
const SECRETS = new Map<string, string>([...STATIC_SECRET_MAP, [QUERY_SECRET, 'a password given as ?password=']]);

/** Fails naming the surface when `text` holds a secret or a URL with a password. */
function expectClean(surface: string, text: string): void {
  expect(text.length, `${surface}: nothing was captured`).toBeGreaterThan(0);
  expect(findLeaks(text, SECRETS), surface).toEqual([]);
}

describe('the scanner', () => {
  it('finds each secret and URLs with a password; a masked password and the documented URL form are not leaks', () => {
    expect(findLeaks(`x ${TEST_LOCAL_PASSWORD} y`, SECRETS)).toEqual(['the secret TEST_LOCAL_PASSWORD']);
    expect(findLeaks(`token=${TEST_API_TOKEN}`, SECRETS)).toEqual(['the secret TEST_API_TOKEN']);
    expect(findLeaks('failed: postgresql://app:hunter2x@db.example.com/x', SECRETS)).toEqual(['a URL with a password (postgresql://app:<password>@)']);
    expect(findLeaks('postgres://app:***@db/x; expected postgres://user[:password]@host[:port]/database', SECRETS)).toEqual([]);
  });

  it('scans a capture directory, with learned secrets, naming file and line', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cesar-scan-'));
    const saved = process.env.CESAR_TEST_CAPTURE_DIR;
    try {
      fs.writeFileSync(path.join(dir, 'clean.log'), 'nothing here\npostgres://u:***@h/d\n');
      fs.writeFileSync(path.join(dir, 'leaky.log'), `line one\nline two\nAuthorization: Bearer ${TEST_API_TOKEN}\nlearned Learned-9secret\n`);
      process.env.CESAR_TEST_CAPTURE_DIR = dir;
      learnSecret('Learned-9secret', 'a token a test sent');
      learnSecret('short', 'too short to be a secret: ignored');
      expect(scanCaptures(dir)).toEqual([
        { file: 'leaky.log', line: 3, what: 'the secret TEST_API_TOKEN' },
        { file: 'leaky.log', line: 4, what: 'the secret a token a test sent' },
      ]);
    } finally {
      if (saved === undefined) delete process.env.CESAR_TEST_CAPTURE_DIR;
      else process.env.CESAR_TEST_CAPTURE_DIR = saved;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

let dbs: TestDatabases;
let proxy: FaultProxy;
let env: Record<string, string>;

/** A loopback port with nothing listening. */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe.skipIf(!real)('every surface, with passwords in both URLs and a token', () => {
  beforeAll(async () => {
    dbs = await createTestDatabases();
    await applySchema(dbs.localUrl);
    await applySchema(dbs.cloudUrl);
    expect(dbs.localUrl).toContain(TEST_LOCAL_PASSWORD);
    expect(dbs.cloudUrl).toContain(TEST_CLOUD_PASSWORD);
    proxy = await startProxy({ targetHost: '127.0.0.1', targetPort: 5432 });
    env = { LOCAL_DB_URL: dbs.localUrl, COCKROACH_DB_URL: proxy.urlFor(dbs.cloudUrl), CESAR_API_TOKEN: TEST_API_TOKEN, CESAR_CONNECT_TIMEOUT: '10s' }; // refused connections fail at once; a loaded machine may be slow to accept
  }, 60_000);
  afterAll(async () => {
    await proxy?.close();
    await dbs?.drop();
  });

  it('the output of every command, with both databases up, then with the cloud refusing connections, and with a query-string password', async () => {
    const down = `postgres://crdb_app:${TEST_CLOUD_PASSWORD}@127.0.0.1:${await closedPort()}/x?sslpassword=${QUERY_SECRET}`;
    const runs: Array<[string, string[], Record<string, string>]> = [
      ['check', ['check'], env],
      ['check --json', ['check', '--json'], env],
      ['status', ['status'], env],
      ['status --json', ['status', '--json'], env],
      ['migrate --status', ['migrate', '--status'], env],
      ['migrate --dry-run --json', ['migrate', '--dry-run', '--json'], env],
      ['sync', ['sync'], env],
      ['sync --dry-run --json', ['sync', '--dry-run', '--json'], env],
      ['verify', ['verify'], env],
      ['check, cloud down', ['check'], { ...env, COCKROACH_DB_URL: down }],
      ['status --json, cloud down', ['status', '--json'], { ...env, COCKROACH_DB_URL: down }],
      ['sync, cloud down', ['sync', '--wait', '0s'], { ...env, COCKROACH_DB_URL: down }],
      ['migrate, cloud down', ['migrate'], { ...env, COCKROACH_DB_URL: down }],
      ['verify, cloud down', ['verify'], { ...env, COCKROACH_DB_URL: down }],
      ['restore --yes, local not empty', ['restore', '--yes'], { ...env, COCKROACH_DB_URL: down }],
      ['check, password as a query parameter', ['check'], { ...env, COCKROACH_DB_URL: `postgres://crdb_app@127.0.0.1:${await closedPort()}/x?password=${QUERY_SECRET}` }],
      ['a configuration error with the URLs set', ['check'], { ...env, CESAR_SYNC_INTERVAL: 'soon', DATABASE_URL: `postgres://app:${QUERY_SECRET}@127.0.0.1:99999/x` }],
    ];
    const results = await Promise.all(runs.map(async ([label, args, e]) => [label, await runCli(args, e)] as const));
    for (const [label, r] of results) expectClean(`cesar ${label}`, r.stdout + r.stderr);
    // the runs did what they say: up, down, refused
    const byLabel = new Map(results);
    expect(byLabel.get('check')!.code).toBe(0);
    expect(byLabel.get('check, cloud down')!.stdout).toContain('ECONNREFUSED');
    expect(byLabel.get('sync, cloud down')!.code).toBe(1);
    expect(byLabel.get('a configuration error with the URLs set')!.code).toBe(2);
  }, 120_000);

  it('headless: JSON logs at debug level, every API answer, /metrics and WebSocket frames, before, during and after a cloud outage', async () => {
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'cesar-secrets-'));
    const child = spawn(process.execPath, [CLI, 'headless', '--log-level', 'debug', '--interval', '2s', '--port', '0'], {
      cwd,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NO_COLOR: '1', ...env, CESAR_SYNC_LEASE_TTL: '3s' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    let out = '';
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const answers: string[] = [];
    const frames: string[] = [];
    let ws: WebSocket | undefined;
    try {
      const base = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no start-up line: ${out.slice(-1000)}`)), 30_000);
        child.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          const line = out.split('\n').find((l) => l.includes('"event":"startup"'));
          if (line) {
            clearTimeout(timer);
            resolve((JSON.parse(line) as { api: { url: string } }).api.url);
          }
        });
      });
      ws = new WebSocket(`${base.replace(/^http/, 'ws')}/ws/events`);
      ws.on('message', (d) => frames.push(d.toString()));
      const get = async (p: string, init?: RequestInit): Promise<number> => {
        const res = await fetch(`${base}${p}`, init);
        answers.push(`${p} ${res.status}\n${[...res.headers].map(([k, v]) => `${k}: ${v}`).join('\n')}\n${await res.text()}`);
        return res.status;
      };
      const everything = async () => {
        for (const p of ['/livez', '/readyz', '/health', '/api/agents', '/api/sync/state', '/api/sync/conflicts', '/api/migrations', '/metrics']) await get(p);
        await get('/api/sync', { method: 'POST', headers: { Authorization: `Bearer ${TEST_API_TOKEN}x`, 'Content-Type': 'application/json' }, body: '{}' });
      };
      await everything();
      const started = await fetch(`${base}/api/sync`, { method: 'POST', headers: { Authorization: `Bearer ${TEST_API_TOKEN}`, 'Content-Type': 'application/json' }, body: '{"dryRun":true}' });
      const job = (await started.json()) as { id: string };
      await expect.poll(async () => ((await (await fetch(`${base}/api/jobs/${job.id}`)).json()) as { status: string }).status, { timeout: 15_000 }).not.toBe('running');
      await get(`/api/jobs/${job.id}`);

      // the cloud goes away: connections cut and refused
      proxy.refuseNew(true);
      proxy.cutAll();
      // /health stays 200 in development (it reads local); readiness needs both
      await expect.poll(() => get('/readyz'), { timeout: 20_000, interval: 300 }).toBe(503);
      await expect.poll(() => out.includes('"event":"db.status"') && /cloud database is down/.test(out), { timeout: 20_000 }).toBe(true);
      await everything();
      proxy.refuseNew(false);
      await expect.poll(() => get('/readyz'), { timeout: 20_000, interval: 300 }).toBe(200);
      await everything();
    } finally {
      proxy.refuseNew(false);
      ws?.close();
      child.kill('SIGTERM');
      await exited;
      fs.rmSync(cwd, { recursive: true, force: true });
    }
    expect(frames.some((f) => f.includes('"type":"db.status"') && f.includes('"up":false'))).toBe(true);
    expectClean('headless stdout (JSON logs)', out);
    if (err) expectClean('headless stderr', err);
    expectClean('API answers', answers.join('\n'));
    expectClean('WebSocket frames', frames.join('\n'));
  }, 120_000);

  it('dashboard: screens and its log file, with the cloud going down', async () => {
    const server = `cesar-secrets-${process.pid}`;
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cesar-secrets-dash-'));
    const tmux = (...args: string[]) => execFileSync('tmux', ['-L', server, ...args], { encoding: 'utf8' });
    const quote = (v: string) => `'${v.replace(/'/g, `'\\''`)}'`;
    const vars = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', TERM: 'xterm-256color', ...env, CESAR_DATA_DIR: dataDir, CESAR_API_PORT: '0', CESAR_SYNC_INTERVAL: '1h' };
    const command = `env -i ${Object.entries(vars).map(([k, v]) => `${k}=${quote(v)}`).join(' ')} ${quote(process.execPath)} ${quote(CLI)} dashboard; sleep 30`;
    const screens: string[] = [];
    const screen = () => {
      const s = tmux('capture-pane', '-p', '-t', 'd');
      if (screens[screens.length - 1] !== s) screens.push(s);
      return s;
    };
    try {
      tmux('new-session', '-d', '-s', 'd', '-x', '120', '-y', '40', command);
      await expect.poll(screen, { timeout: 45_000, interval: 200 }).toMatch(/cloud\s+● up/);
      proxy.refuseNew(true);
      proxy.cutAll();
      await expect.poll(screen, { timeout: 45_000, interval: 200 }).toMatch(/cloud database down/);
      const logFile = path.join(dataDir, 'dashboard.log');
      await expect.poll(() => fs.existsSync(logFile) && /"up":false/.test(fs.readFileSync(logFile, 'utf8')), { timeout: 20_000 }).toBe(true);
      proxy.refuseNew(false);
      tmux('send-keys', '-t', 'd', 'q');
    } finally {
      proxy.refuseNew(false);
      try {
        tmux('kill-server');
      } catch {
        // gone
      }
    }
    expectClean('dashboard screens', screens.join('\n'));
    const log = fs.readFileSync(path.join(dataDir, 'dashboard.log'), 'utf8');
    expect(log).toMatch(/"up":false/);
    expectClean('dashboard.log', log);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }, 120_000);
});
