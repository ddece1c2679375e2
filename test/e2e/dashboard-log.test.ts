import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { record } from '../helpers/capture.js';
import { CLI } from '../helpers/cli.js';
import { createTestDatabases, type TestDatabases } from '../helpers/databases.js';

// The dashboard's log file in a real terminal (tmux), issue 17 "files": dashboard.log used to follow
// a symbolic link planted at its path and append to the target, created 0644. Now: the link is
// refused with exit 2 before the screen opens, the file is 0600 under umask 000 in a data
// directory made 0700, it holds the same JSON lines as headless, and SIGUSR2 reopens it.

const SERVER = `cesar-dashlog-${process.pid}`;
let dbs: TestDatabases;
let root: string;
let sessions = 0;
const open: string[] = [];

const tmux = (...args: string[]): string => execFileSync('tmux', ['-L', SERVER, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const quote = (v: string): string => `'${v.replace(/'/g, `'\\''`)}'`;
const screen = (s: string): string => tmux('capture-pane', '-p', '-t', s);
const mode = (file: string): number => fs.statSync(file).mode & 0o777;

async function waitFor(session: string, test: RegExp, timeoutMs = 45_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    last = screen(session);
    if (test.test(last)) return last;
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`timed out waiting for ${String(test)}; the screen was:\n${last}`);
}

/** `cesar dashboard` under umask 000 in a new session; the shell stays to print the exit code. */
function start(dataDir: string, args: string[] = []): string {
  const name = `d${++sessions}`;
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: root, TERM: 'xterm-256color', LOCAL_DB_URL: dbs.localUrl, COCKROACH_DB_URL: dbs.cloudUrl, CESAR_DATA_DIR: dataDir, CESAR_API_PORT: '0', CESAR_SYNC_INTERVAL: '1h' };
  const assignments = Object.entries(env).map(([k, v]) => `${k}=${quote(v)}`).join(' ');
  tmux('new-session', '-d', '-s', name, '-x', '120', '-y', '40', `umask 000; env -i ${assignments} ${quote(process.execPath)} ${quote(CLI)} dashboard ${args.map(quote).join(' ')}; echo "EXIT=$?"; sleep 60`);
  open.push(name);
  return name;
}

function programPid(session: string): number {
  const shell = tmux('display', '-p', '-t', session, '#{pane_pid}').trim();
  const children = execFileSync('ps', ['-o', 'pid=,comm=', '--ppid', shell], { encoding: 'utf8' }).trim().split('\n');
  const node = children.map((l) => l.trim().split(/\s+/)).find(([pid, comm]) => pid && comm === 'cesar');
  if (!node) throw new Error(`no cesar running in ${session}: ${children.join(' | ')}`);
  return Number(node[0]);
}

beforeAll(async () => {
  dbs = await createTestDatabases();
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'cesar-dashlog-'));
}, 120_000);

afterEach(() => {
  for (const s of open.splice(0)) {
    try {
      record(`dashboard screen ${s}`, screen(s));
      tmux('kill-session', '-t', s);
    } catch {
      // already gone
    }
  }
});

afterAll(async () => {
  try {
    tmux('kill-server');
  } catch {
    // no server left
  }
  await dbs?.drop();
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

describe('the dashboard log file', () => {
  it('a symbolic link planted at dashboard.log (or given as --log-file) is refused with exit 2; the target is untouched', async () => {
    const dataDir = path.join(root, 'planted');
    fs.mkdirSync(dataDir);
    const target = path.join(root, 'victim.txt');
    fs.writeFileSync(target, 'precious\n', { mode: 0o644 });
    fs.symlinkSync(target, path.join(dataDir, 'dashboard.log'));
    const s = start(dataDir);
    const shown = await waitFor(s, /EXIT=\d+/);
    expect(shown).toContain('EXIT=2');
    expect(shown.replace(/\n/g, '')).toContain(`log file ${path.join(dataDir, 'dashboard.log')}: is a symbolic link`);
    const s2 = start(dataDir, ['--log-file', path.join(dataDir, 'dashboard.log')]);
    expect(await waitFor(s2, /EXIT=\d+/)).toContain('EXIT=2');
    expect(fs.readFileSync(target, 'utf8')).toBe('precious\n');
    expect(mode(target)).toBe(0o644);
  }, 60_000);

  it('under umask 000: data directory 0700, dashboard.log 0600 with JSON lines; SIGUSR2 after a rename reopens it', async () => {
    const dataDir = path.join(root, 'fresh');
    const file = path.join(dataDir, 'dashboard.log');
    const s = start(dataDir);
    await waitFor(s, /local\s+● up/);
    expect(mode(dataDir)).toBe(0o700);
    expect(mode(file)).toBe(0o600);
    fs.renameSync(file, `${file}.1`);
    process.kill(programPid(s), 'SIGUSR2');
    const deadline = Date.now() + 10_000;
    while (!fs.existsSync(file) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(mode(file)).toBe(0o600);
    tmux('send-keys', '-t', s, 'q');
    expect(await waitFor(s, /EXIT=\d+/)).toContain('EXIT=0');
    const text = fs.readFileSync(file, 'utf8');
    record('dashboard.log', text);
    const lines = text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ level: 'info', command: 'dashboard', event: 'log.reopen', msg: 'SIGUSR2: log file reopened' });
    const before = fs.readFileSync(`${file}.1`, 'utf8').split('\n').filter(Boolean);
    expect(before.length).toBeGreaterThan(0); // the database status lines written while it started
    expect(before.every((l) => (JSON.parse(l) as { command?: string }).command === 'dashboard')).toBe(true);
  }, 90_000);
});
