import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { record, TEST_API_TOKEN } from '../helpers/capture.js';
import { createTestDatabases, REPO, type TestDatabases } from '../helpers/databases.js';
import { applySchema } from '../helpers/schema.js';

// deploy/ as an operator installs it (issue 13 §4): the systemd unit under systemd-analyze verify,
// the Dockerfile's entrypoint and health check run against a real cesar headless (no container
// engine here: the image itself is not built), the compose file parsed, the cron line run by hand,
// logrotate -f with the shipped snippet against that headless, the alerting rules under promtool,
// and promtool check metrics on the live /metrics. A tool that is not installed skips its test,
// saying so (.ci/run installs promtool).

const DEPLOY = path.join(REPO, 'deploy');
const read = (rel: string): string => fs.readFileSync(path.join(DEPLOY, rel), 'utf8');
const has = (tool: string): boolean => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
const HAS_SYSTEMD_ANALYZE = has('systemd-analyze');
const HAS_PROMTOOL = has('promtool');
const HAS_LOGROTATE = has('logrotate');
// a fixed port from this suite's range: the health check reads CESAR_API_PORT, as in the image
const API_PORT = 47510;

/** Runs a program without blocking this process (which may serve the embedded test databases). */
function runAsync(file: string, args: string[], env: Record<string, string>, timeoutMs = 90_000): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** The unit's [Service] settings, last value wins (as systemd reads them). */
function unitSettings(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (m) out.set(m[1]!, [...(out.get(m[1]!) ?? []), m[2]!]);
  }
  return out;
}

/** Dockerfile instructions (continuation lines joined), as [keyword, rest]. */
function dockerInstructions(text: string): Array<[string, string]> {
  return text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const i = l.search(/\s/);
      return [l.slice(0, i).toUpperCase(), l.slice(i + 1).trim()] as [string, string];
    });
}

describe('deploy/systemd/cesar-headless.service', () => {
  const text = read('systemd/cesar-headless.service');
  const s = unitSettings(text);

  it('runs cesar headless as a non-root user from an EnvironmentFile, restarts on failure, stops with SIGTERM and waits longer than the drain', () => {
    expect(s.get('ExecStart')).toEqual(['/usr/bin/node /opt/cesar/dist/cli.js headless']);
    expect(s.get('User')?.[0]).toMatch(/^(?!root$)[a-z_][a-z0-9_-]*$/);
    expect(s.get('EnvironmentFile')).toEqual(['/etc/cesar/cesar.env']);
    expect(s.get('Restart')).toEqual(['on-failure']);
    expect(s.get('RestartPreventExitStatus')).toEqual(['2']); // a configuration error does not loop
    expect(s.get('KillSignal')).toEqual(['SIGTERM']);
    expect(s.get('SuccessExitStatus')).toEqual(['143']); // cesar exits 143 after draining on SIGTERM
    const stop = /^(\d+)s$/.exec(s.get('TimeoutStopSec')?.[0] ?? '');
    expect(Number(stop?.[1])).toBeGreaterThanOrEqual(15); // the drain takes at most 10 s
    expect(s.get('UMask')).toEqual(['0077']);
  });

  it.skipIf(!HAS_SYSTEMD_ANALYZE)('passes systemd-analyze verify with no warning (paths pointed at this checkout)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cesar-unit-'));
    try {
      // verify checks that ExecStart's program exists: point it at this node and this checkout
      const unit = path.join(dir, 'cesar-headless.service');
      fs.writeFileSync(unit, text.replaceAll('/usr/bin/node', process.execPath).replaceAll('/opt/cesar', REPO));
      const r = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
      record('systemd-analyze verify', `${r.stdout}${r.stderr}`);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      // and it does find problems: a program that does not exist fails it
      fs.writeFileSync(unit, text.replaceAll('/usr/bin/node', '/nonexistent/node').replaceAll('/opt/cesar', REPO));
      const bad = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
      expect(bad.status).not.toBe(0);
      expect(bad.stderr).toContain('/nonexistent/node');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('deploy/Dockerfile and deploy/compose.yaml (not built here: no container engine)', () => {
  const instructions = dockerInstructions(read('Dockerfile'));
  const all = (kw: string): string[] => instructions.filter(([k]) => k === kw).map(([, rest]) => rest);

  it('is multi-stage on Node 20 slim, installs production dependencies only, runs as a non-root user, and copies files that exist', () => {
    const froms = all('FROM');
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const f of froms) expect(f).toMatch(/^node:20[-.\w]*-slim\b/);
    expect(all('RUN').some((r) => /npm ci --omit=dev\b/.test(r))).toBe(true);
    expect(all('USER').at(-1)).toMatch(/^(?!root$|0$)\w+$/);
    expect(all('STOPSIGNAL')).toEqual(['SIGTERM']);
    for (const copy of all('COPY').filter((c) => !c.startsWith('--from'))) {
      const sources = copy.split(/\s+/).slice(0, -1);
      for (const src of sources) expect(fs.existsSync(path.join(REPO, src)), `COPY ${src}`).toBe(true);
    }
    // BuildKit reads deploy/Dockerfile.dockerignore: everything copied must be let through
    const ignore = read('Dockerfile.dockerignore');
    for (const src of ['package.json', 'package-lock.json', 'tsconfig.json', 'src/', 'migrations/']) expect(ignore).toContain(`!${src}`);
  });

  it('compose: PostgreSQL and cesar headless, the CockroachDB URL from the environment, a stop grace longer than the drain', () => {
    const compose = parseYaml(read('compose.yaml')) as {
      services: Record<string, { image?: string; build?: { context: string; dockerfile: string }; command?: string[]; environment?: Record<string, string>; ports?: string[]; stop_grace_period?: string; depends_on?: Record<string, { condition: string }>; healthcheck?: unknown }>;
      volumes: Record<string, unknown>;
    };
    const { postgres, cesar } = compose.services;
    expect(postgres?.image).toMatch(/^postgres:/);
    expect(postgres?.healthcheck).toBeDefined();
    expect(cesar?.build).toBeDefined();
    const build = cesar!.build!;
    expect(path.resolve(DEPLOY, build.context, build.dockerfile)).toBe(path.join(DEPLOY, 'Dockerfile'));
    expect(cesar!.command?.[0]).toBe('headless');
    expect(cesar!.depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
    const env = cesar!.environment!;
    expect(env.COCKROACH_DB_URL).toMatch(/^\$\{COCKROACH_DB_URL[:?}]/);
    expect(new URL(env.LOCAL_DB_URL!.replace(/\$\{[^}]+\}/g, 'x')).hostname).toBe('postgres');
    expect(env.CESAR_API_TOKEN).toMatch(/^\$\{CESAR_API_TOKEN[:?}]/); // the image listens on 0.0.0.0
    // every variable set for cesar is one cesar reads (the README's configuration table)
    const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
    for (const name of Object.keys(env)) expect(readme, name).toContain(`\`${name}\``);
    expect(cesar!.ports).toEqual(['127.0.0.1:8000:8000']);
    expect(Number(/^(\d+)s$/.exec(cesar!.stop_grace_period ?? '')?.[1])).toBeGreaterThanOrEqual(15);
  });
});

describe('deploy/prometheus: the alerting rules', () => {
  it.skipIf(!HAS_PROMTOOL)('promtool check rules, and promtool test rules with the unit tests beside them', () => {
    const check = spawnSync('promtool', ['check', 'rules', 'cesar-alerts.yml'], { cwd: path.join(DEPLOY, 'prometheus'), encoding: 'utf8' });
    record('promtool check rules', `${check.stdout}${check.stderr}`);
    expect(check.stdout).toMatch(/SUCCESS: \d+ rules found/);
    expect(check.status).toBe(0);
    const test = spawnSync('promtool', ['test', 'rules', 'cesar-alerts.test.yml'], { cwd: path.join(DEPLOY, 'prometheus'), encoding: 'utf8' });
    record('promtool test rules', `${test.stdout}${test.stderr}`);
    expect(`${test.stdout}${test.stderr}`).toContain('SUCCESS');
    expect(test.status).toBe(0);
  });

  it('every alert has a unit test that makes it fire', () => {
    const alerts = [...read('prometheus/cesar-alerts.yml').matchAll(/- alert: (\w+)/g)].map((m) => m[1]);
    const tests = read('prometheus/cesar-alerts.test.yml');
    for (const a of alerts) expect(tests, a).toMatch(new RegExp(`alertname: ${a}\\n\\s+exp_alerts:\\n\\s+- exp_labels`));
  });
});

describe('deployed as written: cron, the image entrypoint and health check, logrotate, /metrics', () => {
  let dbs: TestDatabases;
  let root: string;
  let app: string;
  let logs: string;
  let child: ChildProcess | undefined;
  let exited: Promise<number | null>;

  beforeAll(async () => {
    dbs = await createTestDatabases();
    await applySchema(dbs.localUrl);
    await applySchema(dbs.cloudUrl);
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'cesar-deploy-'));
    // an "installed" cesar: its own directory with the built program and an .env, as /opt/cesar or /app
    app = path.join(root, 'app');
    logs = path.join(root, 'log');
    fs.mkdirSync(app);
    fs.mkdirSync(logs, { mode: 0o700 });
    fs.symlinkSync(path.join(REPO, 'dist'), path.join(app, 'dist'));
    // the embedded backend serves one connection at a time and is slow on a busy machine: wait longer
    const slow = dbs.backend === 'embedded' ? 'CESAR_CONNECT_TIMEOUT=30s\n' : '';
    fs.writeFileSync(path.join(app, '.env'), `LOCAL_DB_URL=${dbs.localUrl}\nCOCKROACH_DB_URL=${dbs.cloudUrl}\n${slow}`, { mode: 0o600 });
  }, 120_000);

  afterAll(async () => {
    child?.kill('SIGKILL');
    await dbs?.drop();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it('the crontab line, run by hand as cron would (sh -c, a bare environment): one pass, its JSON log in the file, nothing on stdout', async () => {
    const line = read('cron/cesar-sync').split('\n').find((l) => l.trim() && !l.startsWith('#'))!;
    const m = /^(\S+ \S+ \S+ \S+ \S+) (\S+) (.*)$/.exec(line)!;
    expect(m[1]).toBe('*/5 * * * *');
    expect(m[2]).toBe('cesar');
    const command = m[3]!.replaceAll('/opt/cesar', app).replaceAll('/usr/bin/node', process.execPath).replaceAll('/var/log/cesar', logs);
    // asynchronous: on the embedded backend the databases are served from this very process
    const r = await runAsync('/bin/sh', ['-c', command], { HOME: root, LOGNAME: 'cesar', PATH: '/usr/bin:/bin', SHELL: '/bin/sh' });
    record('cron line', `${command}\n${r.stdout}${r.stderr}`);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    const lines = fs.readFileSync(path.join(logs, 'sync.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    record('sync.log', lines.map((l) => JSON.stringify(l)).join('\n'));
    expect(lines.map((l) => l.event)).toEqual(expect.arrayContaining(['command.started', 'sync.pass.completed', 'command.finished']));
    expect(lines.at(-1)).toMatchObject({ event: 'command.finished', exitCode: 0 });
    expect(fs.statSync(path.join(logs, 'sync.log')).mode & 0o777).toBe(0o600);
  }, 90_000);

  it("the image's ENTRYPOINT + CMD with its ENV start cesar headless; its HEALTHCHECK command answers 0, and 1 when nothing listens", async () => {
    const ins = dockerInstructions(read('Dockerfile'));
    const entrypoint = JSON.parse(ins.filter(([k]) => k === 'ENTRYPOINT').at(-1)![1]) as string[];
    const cmd = JSON.parse(ins.filter(([k]) => k === 'CMD').at(-1)![1]) as string[];
    expect(entrypoint).toEqual(['node', 'dist/cli.js']);
    expect(cmd).toEqual(['headless']);
    // the runtime stage's ENV (KEY=VALUE pairs)
    const imageEnv = Object.fromEntries(ins.filter(([k]) => k === 'ENV').flatMap(([, rest]) => [...rest.matchAll(/(\w+)=(\S+)/g)].map((x) => [x[1]!, x[2]!])));
    expect(imageEnv).toMatchObject({ CESAR_API_HOST: '0.0.0.0', CESAR_API_PORT: '8000' });
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: root,
      ...imageEnv,
      CESAR_API_PORT: String(API_PORT),
      CESAR_DATA_DIR: path.join(root, 'data'),
      CESAR_API_TOKEN: TEST_API_TOKEN,
      CESAR_LOG_FILE: path.join(logs, 'headless.log'),
    };
    child = spawn(entrypoint[0] === 'node' ? process.execPath : entrypoint[0]!, [...entrypoint.slice(1), ...cmd], { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    exited = new Promise((r) => child!.on('exit', (code) => r(code)));

    const healthcheck = /^(?:--\S+\s+)*CMD\s+(\[.*\])$/.exec(ins.find(([k]) => k === 'HEALTHCHECK')![1])!;
    const probe = JSON.parse(healthcheck[1]!) as string[];
    expect(probe.join(' ')).toContain('/livez');
    const runProbe = async (port: number) => (await runAsync(probe[0] === 'node' ? process.execPath : probe[0]!, probe.slice(1), { PATH: env.PATH, CESAR_API_PORT: String(port) }, 10_000)).status;
    const deadline = Date.now() + 60_000;
    let status = await runProbe(API_PORT);
    while (status !== 0 && Date.now() < deadline && child.exitCode === null) {
      await new Promise((r) => setTimeout(r, 250));
      status = await runProbe(API_PORT);
    }
    expect(status, err).toBe(0);
    expect(await runProbe(API_PORT + 1)).toBe(1); // nothing listens there
    expect(err).toContain(`logging to ${path.join(logs, 'headless.log')}`);
  }, 90_000);

  it.skipIf(!HAS_PROMTOOL)('promtool check metrics is clean on the live /metrics, and every sync_ metric the alerting rules use is served', async () => {
    const text = await (await fetch(`http://127.0.0.1:${API_PORT}/metrics`, { headers: { Authorization: `Bearer ${TEST_API_TOKEN}` } })).text();
    expect(text).toContain('sync_lease_held');
    const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    record('promtool check metrics', `${r.stdout}${r.stderr}`);
    expect(`${r.stdout}${r.stderr}`).toBe('');
    expect(r.status).toBe(0);
    expect(text).toMatch(/^nodejs_active_handles_all \d+/m); // the default gauge, renamed, still served
    const used = new Set([...read('prometheus/cesar-alerts.yml').matchAll(/\b(sync_[a-z_]+)\{/g)].map((m) => m[1]!));
    expect(used.size).toBeGreaterThanOrEqual(8);
    for (const name of used) expect(text, name).toMatch(new RegExp(`^# TYPE ${name} `, 'm'));
  }, 30_000);

  it.skipIf(!HAS_LOGROTATE)('logrotate -f with the shipped snippet: the file is rotated, cesar reopens it on SIGUSR2, a second rotation compresses the first', async () => {
    const file = path.join(logs, 'headless.log');
    await expect.poll(() => fs.existsSync(file) && fs.readFileSync(file, 'utf8').includes('"event":"startup"'), { timeout: 30_000 }).toBe(true);
    const snippet = read('logrotate/cesar');
    const signal = 'pkill -USR2 -u cesar -x cesar || true';
    expect(snippet).toContain(signal);
    expect(snippet).toContain('create 0600 cesar cesar');
    // the same snippet for this test's directory and user; the signal goes to this test's cesar only
    // (other cesar processes on a shared machine are not ours to signal)
    const user = os.userInfo().username;
    const group = execFileSync('id', ['-gn'], { encoding: 'utf8' }).trim();
    const conf = path.join(root, 'logrotate.conf');
    fs.writeFileSync(conf, snippet.replace('/var/log/cesar/*.log', `${logs}/*.log`).replace('create 0600 cesar cesar', `create 0600 ${user} ${group}`).replace(signal, `kill -USR2 ${child!.pid}`));
    const state = path.join(root, 'logrotate.state');
    for (const round of [1, 2]) {
      const r = await runAsync('logrotate', ['-f', '-s', state, conf], { PATH: process.env.PATH ?? '/usr/bin:/bin' });
      record(`logrotate -f (round ${round})`, `${r.stdout}${r.stderr}`);
      expect(r.status, r.stderr).toBe(0);
      await expect.poll(() => fs.existsSync(file) && fs.readFileSync(file, 'utf8').includes('"event":"log.reopen"'), { timeout: 10_000 }).toBe(true);
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      expect(fs.readFileSync(`${file}.1`, 'utf8')).toMatch(round === 1 ? /"event":"startup"/ : /"event":"log.reopen"/);
    }
    expect(fs.existsSync(`${file}.2.gz`)).toBe(true); // delaycompress: compressed at the second rotation
    expect(fs.existsSync(path.join(logs, 'sync.log.1'))).toBe(true); // the cron job's log rotates too
    // SIGTERM: the drain ends well within the unit's TimeoutStopSec and the compose stop grace
    const t0 = Date.now();
    child!.kill('SIGTERM');
    expect(await exited).toBe(143);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(fs.readFileSync(file, 'utf8')).toContain('"event":"stopped"');
    record('headless.log', fs.readFileSync(file, 'utf8'));
  }, 60_000);
});
