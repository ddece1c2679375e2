import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { record } from '../helpers/capture.js';
import { CLI, runCli } from '../helpers/cli.js';
import { createTestDatabases, type TestDatabases } from '../helpers/databases.js';

// --log-file / CESAR_LOG_FILE for sync, migrate and headless as operators use them (issue 13 §4,
// issue 17 "files"): the real binary, real databases, JSON lines appended to a file that is private
// under umask 000, a symbolic link at the path refused with exit 2, the file reopened on SIGUSR2
// after it was moved away, and SIGUSR2 never killing a cesar process.

interface Line {
  level: string;
  time: string;
  msg: string;
  event?: string;
  [key: string]: unknown;
}

let dbs: TestDatabases;
let env: Record<string, string>;
let dir: string;
let savedUmask: number;
const running = new Set<ChildProcess>();

const readLines = (file: string): Line[] => {
  const text = fs.readFileSync(file, 'utf8');
  record(`log file ${path.basename(file)}`, text);
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Line); // every line is JSON, or this throws
};
const mode = (file: string): number => fs.statSync(file).mode & 0o777;

function start(args: string[], extra: Record<string, string> = {}): { child: ChildProcess; out: () => string; err: () => string; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> } {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: dir, env: { PATH: process.env.PATH ?? '', HOME: dir, NO_COLOR: '1', ...env, ...extra }, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    }),
  );
  return { child, out: () => out, err: () => err, exited };
}

async function until<T>(what: () => T | undefined | false, timeoutMs: number, why: () => string = () => ''): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = what();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms ${why()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  dbs = await createTestDatabases();
  // the embedded backend serves one connection at a time and is slow on a busy machine: wait longer
  env = { LOCAL_DB_URL: dbs.localUrl, COCKROACH_DB_URL: dbs.cloudUrl, ...(dbs.backend === 'embedded' ? { CESAR_CONNECT_TIMEOUT: '30s' } : {}) };
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cesar-logs-'));
  // the children inherit the most permissive umask: the log must be private anyway
  savedUmask = process.umask(0);
}, 120_000);

afterEach(() => {
  for (const c of running) c.kill('SIGKILL');
});

afterAll(async () => {
  process.umask(savedUmask);
  await dbs?.drop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('log files of one-shot commands', () => {
  it('cesar migrate (CESAR_LOG_FILE) and cesar sync (--log-file) append JSON lines, 0600 under umask 000; stdout keeps the report', async () => {
    const file = path.join(dir, 'cesar.log');
    const m = await runCli(['migrate'], { ...env, CESAR_LOG_FILE: file }, { cwd: dir });
    expect(m.code, m.stderr).toBe(0);
    expect(m.stdout).toContain('Done.');
    expect(mode(file)).toBe(0o600);
    const afterMigrate = readLines(file);
    expect(afterMigrate[0]).toMatchObject({ level: 'info', command: 'migrate', event: 'command.started', msg: 'cesar migrate started' });
    expect(afterMigrate.filter((l) => l.event === 'migration.applied').length).toBeGreaterThanOrEqual(22); // eleven files on each database
    expect(afterMigrate.at(-1)).toMatchObject({ event: 'command.finished', exitCode: 0 });

    const s = await runCli(['sync', '--log-file', file], env, { cwd: dir });
    expect(s.code, s.stderr).toBe(0);
    expect(s.stdout).toContain('cesar sync both');
    const lines = readLines(file);
    expect(lines.length).toBeGreaterThan(afterMigrate.length);
    expect(lines.slice(0, afterMigrate.length)).toEqual(afterMigrate); // appended, never truncated
    const mine = lines.slice(afterMigrate.length);
    expect(mine.map((l) => l.event)).toEqual(expect.arrayContaining(['command.started', 'lease.acquired', 'sync.pass.completed', 'lease.released', 'command.finished']));
    expect(mine.every((l) => l.command === 'sync' && typeof l.time === 'string' && typeof l.msg === 'string')).toBe(true);
    expect(mine.at(-1)).toMatchObject({ event: 'command.finished', exitCode: 0, level: 'info' });
    expect(mode(file)).toBe(0o600);
  }, 120_000);

  it('a failed run leaves its exit code and reason in the log (a cloud that refuses connections)', async () => {
    const file = path.join(dir, 'failed.log');
    const r = await runCli(['sync', '--log-file', file, '--wait', '0s'], { ...env, COCKROACH_DB_URL: 'postgresql://nobody@127.0.0.1:1/x?sslmode=disable' }, { cwd: dir });
    expect(r.code).toBe(1);
    const last = readLines(file).at(-1)!;
    expect(last).toMatchObject({ level: 'error', event: 'command.failed', exitCode: 1, command: 'sync' });
    expect(String(last.error)).toMatch(/ECONNREFUSED|refused/);
  }, 60_000);

  it('a symbolic link at the log path is refused with exit 2 before anything runs, and its target is untouched', async () => {
    const target = path.join(dir, 'victim.txt');
    fs.writeFileSync(target, 'precious\n', { mode: 0o644 });
    const link = path.join(dir, 'planted.log');
    fs.symlinkSync(target, link);
    for (const args of [['sync', '--log-file', link], ['migrate', '--status', '--log-file', link], ['headless', '--log-file', link]]) {
      const r = await runCli(args, env, { cwd: dir });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain(`cesar: log file ${link}: is a symbolic link; cesar does not follow links for its log file`);
      expect(r.stdout).toBe('');
    }
    const viaEnv = await runCli(['sync'], { ...env, CESAR_LOG_FILE: link }, { cwd: dir });
    expect(viaEnv.code).toBe(2);
    expect(fs.readFileSync(target, 'utf8')).toBe('precious\n');
    expect(mode(target)).toBe(0o644);
  }, 60_000);

  it('SIGUSR2 never kills a cesar process, whatever it runs (here `cesar check` waiting on a server that never answers)', async () => {
    // a server that accepts and says nothing: check waits for CESAR_CONNECT_TIMEOUT
    const silent = net.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const c = start(['check', '--pings', '1'], { COCKROACH_DB_URL: `postgresql://nobody@127.0.0.1:${port}/x?sslmode=disable`, CESAR_CONNECT_TIMEOUT: '3s' });
      await until(() => c.out().length > 0 || c.err().length > 0 || fs.readFileSync(`/proc/${c.child.pid}/comm`, 'utf8').trim() === 'cesar', 10_000);
      await new Promise((r) => setTimeout(r, 300));
      c.child.kill('SIGUSR2');
      const exit = await c.exited;
      expect(exit).toEqual({ code: 1, signal: null });
      expect(c.out()).toMatch(/cloud/);
    } finally {
      silent.close();
    }
  }, 30_000);
});

describe('cesar headless --log-file', () => {
  it('logs to the file only, reopens it on SIGUSR2 after a rename, and writes its last lines to the new file', async () => {
    const file = path.join(dir, 'headless.log');
    const h = start(['headless', '--log-file', file, '--interval', '1h'], { CESAR_API_PORT: '0' });
    const startup = await until(() => fs.existsSync(file) && readLines(file).find((l) => l.event === 'startup'), 30_000, () => h.err());
    expect(startup).toMatchObject({ logFile: file, pid: h.child.pid });
    expect(mode(file)).toBe(0o600);
    expect(h.err()).toBe(`cesar headless: logging to ${file} (JSON lines; SIGUSR2 reopens it)\n`);
    fs.renameSync(file, `${file}.1`);
    h.child.kill('SIGUSR2');
    const reopened = await until(() => fs.existsSync(file) && readLines(file).find((l) => l.event === 'log.reopen'), 10_000, () => h.err());
    expect(reopened).toMatchObject({ level: 'info', path: file, msg: 'SIGUSR2: log file reopened' });
    expect(mode(file)).toBe(0o600);
    h.child.kill('SIGTERM');
    expect((await h.exited).code).toBe(143);
    const after = readLines(file);
    expect(after.map((l) => l.event)).toEqual(expect.arrayContaining(['log.reopen', 'shutdown', 'stopped']));
    const before = readLines(`${file}.1`);
    expect(before.map((l) => l.event)).toContain('startup');
    expect(before.map((l) => l.event)).not.toContain('stopped');
    expect(h.out()).toBe(''); // nothing on stdout: the file has it all
  }, 60_000);

  it('without a log file it logs to stdout, and SIGUSR2 only says there is nothing to reopen', async () => {
    const h = start(['headless', '--interval', '1h'], { CESAR_API_PORT: '0' });
    await until(() => h.out().includes('"event":"startup"'), 30_000, () => h.err());
    h.child.kill('SIGUSR2');
    await until(() => h.out().includes('no log file to reopen'), 10_000, () => h.out());
    expect(h.child.exitCode).toBeNull();
    h.child.kill('SIGTERM');
    expect((await h.exited).code).toBe(143);
  }, 60_000);
});
