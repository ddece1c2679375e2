import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import dotenv from 'dotenv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { record, TEST_API_TOKEN } from '../helpers/capture.js';
import { createTestDatabases, REPO, sql, type TestDatabases } from '../helpers/databases.js';
import { startTlsProxy, TEST_CA, type TlsProxy } from '../helpers/tls-proxy.js';

// docs/operations.md, run as written (issue 13 §5): every ```sh block of the runbook is executed in
// document order by bash (-e -o pipefail) against real databases, unless a `<!-- runbook: skip
// <reason> -->` comment says why it cannot run here; the ```text block after a command lists lines
// its output must contain (whole lines; `…` matches anything). The comments also carry what the
// section describes and the reader does not type: `exit N` (the expected status), `env K=V` (for
// this block only, e.g. a cluster behind a TLS server with an unknown CA), `setup NAME` (one of the
// actions below, e.g. a broken migration). The ```ini block is the configuration file the blocks
// load, the ```cron line must be deploy/cron/cesar-sync's, the ```yaml block passes promtool check
// config. So the document and this test cannot drift apart: change one and the other fails.
//
// The paths of a real install map to a scratch directory (the table below), `sudo` is a
// pass-through, `localhost:8000` is a `cesar headless` started for the block, and every node
// process runs with test/helpers/no-egress.cjs: nothing here reaches beyond this machine.

const DOC = path.join(REPO, 'docs/operations.md');

interface Block {
  /** Fence info string: sh, text, ini, cron, yaml... */
  lang: string;
  body: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** The heading the block is under. */
  section: string;
  /** The `<!-- runbook: ... -->` directives given just before it. */
  directives: { skip?: string; exit?: number; env: Record<string, string>; setup: string[] };
}

// The doc's structure is kept simple on purpose (fences at the start of a line, no nesting), so
// reading it needs no Markdown library: fences, headings and the comment before a fence.
function readBlocks(markdown: string): Block[] {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  let section = '';
  let pending: Block['directives'] | null = null;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const heading = /^#{1,6}\s+(.*)$/.exec(line);
    if (heading) section = heading[1]!;
    const comment = /^<!-- runbook: (.*) -->$/.exec(line);
    if (comment) {
      pending = { env: {}, setup: [] };
      for (const part of comment[1]!.split(';').map((p) => p.trim()).filter(Boolean)) {
        const [word, ...rest] = part.split(/\s+/);
        if (word === 'skip') pending.skip = rest.join(' ');
        else if (word === 'exit') pending.exit = Number(rest[0]);
        else if (word === 'setup') pending.setup.push(...rest);
        else if (word === 'env') for (const kv of rest) pending.env[kv.slice(0, kv.indexOf('='))] = kv.slice(kv.indexOf('=') + 1);
        else throw new Error(`docs/operations.md line ${i + 1}: unknown runbook directive "${part}"`);
      }
      continue;
    }
    const fence = /^```(\S*)\s*$/.exec(line);
    if (fence && fence[1] !== '') {
      const start = i;
      const body: string[] = [];
      for (i++; i < lines.length && lines[i] !== '```'; i++) body.push(lines[i]!);
      blocks.push({ lang: fence[1]!, body: body.join('\n'), line: start + 1, section, directives: pending ?? { env: {}, setup: [] } });
      pending = null;
    } else if (line.trim() !== '' && pending) {
      throw new Error(`docs/operations.md line ${i + 1}: a runbook comment must be followed by a code block`);
    }
  }
  return blocks;
}

/** Each expected line must equal a line of the output (trailing spaces aside); `…` matches anything. */
function missingLines(expected: string, output: string): string[] {
  const got = output.split('\n').map((l) => l.trimEnd());
  const matches = (want: string, line: string): boolean => {
    const parts = want.split('…');
    if (parts.length === 1) return line === want;
    if (!line.startsWith(parts[0]!) || !line.endsWith(parts[parts.length - 1]!)) return false;
    let at = parts[0]!.length;
    for (const part of parts.slice(1, -1)) {
      const found = line.indexOf(part, at);
      if (found < 0) return false;
      at = found + part.length;
    }
    return at <= line.length - parts[parts.length - 1]!.length;
  };
  return expected
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l !== '')
    .filter((want) => !got.some((line) => matches(want, line)));
}

/** GitHub's anchor for a heading. */
function anchor(heading: string): string {
  return heading.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').trim().replace(/\s/g, '-');
}

const markdown = fs.readFileSync(DOC, 'utf8');
const blocks = readBlocks(markdown);

let dbs: TestDatabases;
let spare: TestDatabases | undefined;
let root: string;
const dirs = { opt: '', etc: '', varlib: '', varlog: '', bin: '', shims: '', home: '' };
let baseEnv: Record<string, string> = {};
let proxy: TlsProxy;
let silent: net.Server;
const vars: Record<string, string> = {};

/** The mapping of a real install's paths to the scratch install (applied to commands, env values and expected output). */
function substitute(text: string, apiPort?: number): string {
  let out = text
    .replaceAll('/opt/cesar', dirs.opt)
    .replaceAll('/etc/cesar', dirs.etc)
    .replaceAll('/var/lib/cesar', dirs.varlib)
    .replaceAll('/var/log/cesar', dirs.varlog)
    .replaceAll('/usr/local/bin', dirs.bin)
    .replaceAll('/usr/bin/node', process.execPath);
  if (apiPort !== undefined) out = out.replaceAll('localhost:8000', `127.0.0.1:${apiPort}`);
  return out.replace(/\{([A-Z_]+)\}/g, (m, name: string) => vars[name] ?? m);
}

// Asynchronous on purpose: the TLS server the TLS section talks to lives in this process.
function run(file: string, args: string[], env: Record<string, string>, timeoutMs = 120_000): Promise<{ status: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: dirs.home, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, out });
    });
  });
}

const runShell = (script: string, env: Record<string, string>) => run('bash', ['-e', '-o', 'pipefail', '-c', script], env);

async function cesar(args: string[], env: Record<string, string> = baseEnv): Promise<{ status: number | null; out: string }> {
  const r = await run(path.join(dirs.bin, 'cesar'), args, env);
  record(`runbook setup: cesar ${args.join(' ')}`, r.out);
  return r;
}

/** Starts `cesar headless` as the service would run it; resolves with its API port once it holds the sync lease. */
async function startHeadless(): Promise<{ port: number; stop(): Promise<void> }> {
  const child: ChildProcess = spawn(path.join(dirs.bin, 'cesar'), ['headless'], { cwd: dirs.home, env: { ...baseEnv, CESAR_API_PORT: '0', CESAR_DATA_DIR: dirs.varlib }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  const stop = async (): Promise<void> => {
    child.kill('SIGTERM');
    await exited;
    record('runbook: cesar headless', out);
  };
  const deadline = Date.now() + 60_000;
  let port = 0;
  while (Date.now() < deadline && child.exitCode === null) {
    const line = out.split('\n').find((l) => l.includes('"event":"startup"'));
    if (line && !port) port = Number(new URL((JSON.parse(line) as { api: { url: string } }).api.url).port);
    if (port) {
      const metrics = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { Authorization: `Bearer ${TEST_API_TOKEN}` } }).then((r) => r.text(), () => '');
      if (/^sync_lease_held 1$/m.test(metrics)) return { port, stop };
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  await stop();
  throw new Error(`cesar headless did not start and take the sync lease: ${out.slice(-2000)}`);
}

/** What the reader has done, or what happened, before a block: named in the doc's comments. */
const SETUPS: Record<string, () => Promise<void> | void> = {
  async seed() {
    await sql(dbs.localUrl, `INSERT INTO agents (name, agent_type) SELECT 'local agent ' || g, 'worker' FROM generate_series(1, 20) g`);
    await sql(dbs.cloudUrl, `INSERT INTO agents (name, agent_type) SELECT 'cloud agent ' || g, 'worker' FROM generate_series(1, 5) g`);
  },
  async 'cron-ran'() {
    // the line of deploy/cron/cesar-sync, with the configuration in its environment (as the doc says)
    const line = fs.readFileSync(path.join(REPO, 'deploy/cron/cesar-sync'), 'utf8').split('\n').find((l) => l.trim() && !l.startsWith('#'))!;
    const command = substitute(line.split(/\s+/).slice(6).join(' '));
    const r = await runShell(command, baseEnv);
    record('runbook setup: the cron line', r.out);
    expect(r.status, r.out).toBe(0);
  },
  'ca-downloaded'() {
    fs.mkdirSync(path.join(dirs.varlib, '.postgresql'), { recursive: true });
    fs.copyFileSync(TEST_CA, path.join(dirs.varlib, '.postgresql/root.crt'));
  },
  async conflict() {
    const [agent] = await sql<{ id: string }>(dbs.localUrl, "SELECT id::text AS id FROM agents WHERE deleted_at IS NULL ORDER BY name LIMIT 1");
    await sql(dbs.localUrl, "UPDATE agents SET name = 'edited locally', updated_at = now() WHERE id = $1", [agent!.id]);
    await new Promise((r) => setTimeout(r, 20));
    await sql(dbs.cloudUrl, "UPDATE agents SET name = 'edited in the cloud', updated_at = now() WHERE id = $1", [agent!.id]);
    expect((await cesar(['sync'])).status).toBe(0);
  },
  async 'parked-row'() {
    // a constraint only the cloud has: the row goes up, the cloud refuses it (23514)
    await sql(dbs.cloudAdminUrl, "ALTER TABLE agents ADD CONSTRAINT runbook_refused CHECK (name <> 'refused by the cloud') NOT VALID");
    await sql(dbs.localUrl, "INSERT INTO agents (name, agent_type) VALUES ('refused by the cloud', 'worker')");
    await cesar(['sync']);
  },
  'broken-migration'() {
    fs.writeFileSync(
      path.join(dirs.opt, 'migrations/012_agents_by_type.sql'),
      '-- Agents by type, for the routing queries.\nCREATE INDEX IF NOT EXISTS agents_type_idx ON agents (agent_type);\nCREATE INDEX IF NOT EXISTS agents_type_status_idx ON agents (agent_type, statuss);\n',
    );
  },
  async 'empty-local-database'() {
    // what "create an empty database and point LOCAL_DB_URL at it" leaves behind
    spare = await createTestDatabases();
    const file = path.join(dirs.etc, 'cesar.env');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/^LOCAL_DB_URL=.*$/m, `LOCAL_DB_URL='${spare.localUrl}'`));
    baseEnv = { ...baseEnv, LOCAL_DB_URL: spare.localUrl };
  },
};

beforeAll(async () => {
  dbs = await createTestDatabases();
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'cesar-runbook-'));
  for (const k of Object.keys(dirs) as Array<keyof typeof dirs>) {
    dirs[k] = path.join(root, k);
    fs.mkdirSync(dirs[k], { mode: 0o700 });
  }
  // the install that `git clone` + `npm ci` leave in /opt/cesar: the built program, its migrations
  // (a copy: a section adds a file), the deploy files; dependencies are this checkout's
  fs.cpSync(path.join(REPO, 'dist'), path.join(dirs.opt, 'dist'), { recursive: true });
  fs.cpSync(path.join(REPO, 'migrations'), path.join(dirs.opt, 'migrations'), { recursive: true });
  fs.copyFileSync(path.join(REPO, 'package.json'), path.join(dirs.opt, 'package.json'));
  for (const link of ['node_modules', 'deploy', 'scripts']) fs.symlinkSync(path.join(REPO, link), path.join(dirs.opt, link));
  fs.writeFileSync(path.join(dirs.shims, 'sudo'), '#!/bin/sh\n# the tests run as one user: sudo [-u user] [-options] command... runs the command\nwhile [ $# -gt 0 ]; do case "$1" in -u|-g) shift 2 ;; -*) shift ;; *) break ;; esac; done\nexec "$@"\n', { mode: 0o755 });

  // the cloud behind TLS with the test CA, whose certificate sits where the doc's URL expects it
  // (the doc's configuration reaches the cluster with sslmode=verify-full and sslrootcert)
  const cloud = new URL(dbs.cloudUrl);
  proxy = await startTlsProxy({ host: cloud.hostname, port: Number(cloud.port || 5432) });
  fs.mkdirSync(path.join(dirs.varlib, '.postgresql'));
  fs.copyFileSync(TEST_CA, path.join(dirs.varlib, '.postgresql/root.crt'));
  const tlsCloud = new URL(dbs.cloudUrl);
  tlsCloud.hostname = 'localhost';
  tlsCloud.port = String(proxy.port);
  tlsCloud.search = `?sslmode=verify-full&sslrootcert=${path.join(dirs.varlib, '.postgresql/root.crt')}`;

  // the configuration file: the doc's example with this test's databases and token
  const ini = blocks.find((b) => b.lang === 'ini');
  if (!ini) throw new Error('docs/operations.md has no ```ini block (the configuration file)');
  expect(ini.body).toMatch(/^COCKROACH_DB_URL='[^']*\?sslmode=verify-full&sslrootcert=\/var\/lib\/cesar\/\.postgresql\/root\.crt'$/m);
  const values: Record<string, string> = { LOCAL_DB_URL: dbs.localUrl, COCKROACH_DB_URL: tlsCloud.toString(), CESAR_API_TOKEN: TEST_API_TOKEN };
  const envText = ini.body.replace(/^(\w+)=('?)(.*)\2$/gm, (line, key: string, quote: string) => (key in values ? `${key}=${quote}${values[key]}${quote}` : line));
  fs.writeFileSync(path.join(dirs.etc, 'cesar.env'), envText, { mode: 0o640 });
  baseEnv = {
    PATH: `${dirs.bin}:${dirs.shims}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    HOME: dirs.home,
    NO_COLOR: '1',
    NODE_OPTIONS: `--require ${path.join(REPO, 'test/helpers/no-egress.cjs')}`,
    ...(dotenv.parse(envText) as Record<string, string>),
  };

  silent = net.createServer(() => undefined); // accepts, never answers: packets dropped by an allowlist
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const closed = net.createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  vars.CLOSED_PORT = String((closed.address() as net.AddressInfo).port);
  await new Promise<void>((r) => closed.close(() => r()));
  vars.SILENT_PORT = String((silent.address() as net.AddressInfo).port);
  vars.TLS_PORT = String(proxy.port);
  vars.CLOUD_USER = cloud.username;
  vars.CLOUD_DB = cloud.pathname.slice(1);
  const plain = new URL(dbs.cloudUrl);
  plain.password = '';
  plain.searchParams.set('sslmode', 'verify-full');
  vars.CLOUD_URL_NO_TLS_SERVER = plain.toString();
}, 120_000);

afterAll(async () => {
  await proxy?.close();
  silent?.close();
  await spare?.drop();
  await dbs?.drop();
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

describe('docs/operations.md: the structure the test relies on', () => {
  it('every sh block runs here or says why not; every text block follows a command that runs; enough of it runs', () => {
    let previous: Block | undefined;
    for (const b of blocks) {
      if (b.lang === 'sh' && b.directives.skip !== undefined) expect(b.directives.skip, `line ${b.line}: skip needs a reason`).toMatch(/\w{3,}/);
      if (b.lang === 'text') expect(previous?.lang === 'sh' && previous.directives.skip === undefined, `line ${b.line}: output shown for a command that is not run`).toBe(true);
      previous = b;
    }
    const run = blocks.filter((b) => b.lang === 'sh' && b.directives.skip === undefined);
    const skipped = blocks.filter((b) => b.lang === 'sh' && b.directives.skip !== undefined);
    expect(run.length).toBeGreaterThanOrEqual(30);
    expect(run.length).toBeGreaterThan(2 * skipped.length);
  });

  it('the crontab line is deploy/cron/cesar-sync\'s', () => {
    const cron = blocks.filter((b) => b.lang === 'cron');
    expect(cron).toHaveLength(1);
    const line = fs.readFileSync(path.join(REPO, 'deploy/cron/cesar-sync'), 'utf8').split('\n').find((l) => l.trim() && !l.startsWith('#'));
    expect(cron[0]!.body.trim()).toBe(line);
  });

  it('every runbook link of the alerting rules points at a heading of this document', () => {
    const rules = fs.readFileSync(path.join(REPO, 'deploy/prometheus/cesar-alerts.yml'), 'utf8');
    const anchors = new Set(markdown.split('\n').filter((l) => /^#{1,6}\s/.test(l)).map((l) => anchor(l.replace(/^#+\s+/, ''))));
    const links = [...rules.matchAll(/docs\/operations\.md#([\w-]+)/g)].map((m) => m[1]!);
    expect(links.length).toBeGreaterThanOrEqual(10);
    for (const a of links) expect(anchors, a).toContain(a);
  });

  it.skipIf(spawnSync('sh', ['-c', 'command -v promtool']).status !== 0)('the Prometheus configuration passes promtool check config (with the rules it loads)', () => {
    const yamlBlock = blocks.find((b) => b.lang === 'yaml')!;
    const config = parseYaml(yamlBlock.body) as { scrape_configs: Array<{ job_name: string }> };
    expect(config.scrape_configs.map((s) => s.job_name)).toContain('cesar'); // the rules select job="cesar"
    const file = path.join(dirs.etc, 'prometheus.yml');
    fs.writeFileSync(file, substitute(yamlBlock.body));
    const r = spawnSync('promtool', ['check', 'config', file], { encoding: 'utf8' });
    record('promtool check config', `${r.stdout}${r.stderr}`);
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/SUCCESS: \d+ rules found/);
  });
});

// Tools the commands use besides cesar. The machines the project is tested on have them (CI runs
// every block); elsewhere a block that needs a missing one is skipped, naming it.
const TOOLS = ['psql', 'jq', 'curl', 'openssl'];
const missingTool = (body: string): string | undefined => TOOLS.find((t) => new RegExp(`(^|[|;&(]\\s*|sudo\\s+)${t}\\b`, 'm').test(body) && spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);

describe('docs/operations.md: every command, as written', () => {
  blocks.forEach((b, i) => {
    if (b.lang !== 'sh') return;
    const first = b.body.split('\n')[0]!;
    const title = `line ${b.line} (${b.section}): ${first}${b.body.includes('\n') ? ' …' : ''}`;
    if (b.directives.skip !== undefined) {
      it.skip(`${title} [not run here: ${b.directives.skip}]`, () => undefined);
      return;
    }
    const tool = missingTool(b.body);
    if (tool) {
      it.skip(`${title} [${tool} is not installed on this machine]`, () => undefined);
      return;
    }
    it(title, async () => {
      let headless: { port: number; stop(): Promise<void> } | undefined;
      for (const name of b.directives.setup) {
        if (name === 'headless') headless = await startHeadless();
        else if (SETUPS[name]) await SETUPS[name]!();
        else throw new Error(`unknown setup "${name}" at line ${b.line}`);
      }
      try {
        const env = { ...baseEnv, ...Object.fromEntries(Object.entries(b.directives.env).map(([k, v]) => [k, substitute(v)])) };
        const script = substitute(b.body, headless?.port);
        const r = await runShell(script, env);
        record(`runbook line ${b.line}`, `$ ${script}\n${r.out}`);
        expect(r.status, r.out).toBe(b.directives.exit ?? 0);
        expect(r.out).not.toContain('NO-EGRESS'); // nothing tried to leave the machine
        const next = blocks[i + 1];
        if (next?.lang === 'text') expect(missingLines(substitute(next.body), r.out), r.out).toEqual([]);
      } finally {
        await headless?.stop();
      }
    }, 180_000);
  });
});
