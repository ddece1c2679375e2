import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CLI, runCli } from '../helpers/cli.js';
import { createTestDatabases, sql, type TestDatabases } from '../helpers/databases.js';
import { applySchema } from '../helpers/schema.js';
import { startProxy } from '../helpers/proxy.js';

// Drives the real binary in a real pseudo-terminal (tmux) against real databases: what an
// operator sees over SSH. Build first (npm run build); tmux is required, never skipped.

const SERVER = `cesar-e2e-${process.pid}`;
let dbs: TestDatabases;
let dataDir: string;
let sessions = 0;
/** Sessions of the running test, closed after it whatever happened (a dashboard left running would hold the sync lease). */
let open: string[] = [];

function tmux(...args: string[]): string {
  return execFileSync('tmux', ['-L', SERVER, ...args], { encoding: 'utf8' });
}

/** The pane as text (no escape codes). */
function screen(session: string): string {
  return tmux('capture-pane', '-p', '-t', session);
}

/** Polls the pane until `test` passes; fails with the last screen. */
async function waitFor(session: string, test: RegExp | ((s: string) => boolean), timeoutMs = 45_000): Promise<string> {
  const ok = typeof test === 'function' ? test : (s: string) => test.test(s);
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      last = screen(session);
    } catch {
      last = '(no pane)';
    }
    if (ok(last)) return last;
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`timed out waiting for ${String(test)}; the screen was:\n${last}`);
}

const keys = (session: string, ...k: string[]): void => void tmux('send-keys', '-t', session, ...k);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const quote = (v: string): string => `'${v.replace(/'/g, `'\\''`)}'`;

/** Starts `cesar dashboard` in a new detached session; the shell stays to report the exit code. */
function start(size: { x: number; y: number }, extraEnv: Record<string, string> = {}, args: string[] = []): string {
  const name = `s${++sessions}`;
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    TERM: 'xterm-256color',
    ENVIRONMENT: 'development',
    LOCAL_DB_URL: dbs.localUrl,
    COCKROACH_DB_URL: dbs.cloudUrl,
    CESAR_DATA_DIR: dataDir,
    CESAR_API_PORT: '0',
    CESAR_SYNC_INTERVAL: '1h',
    ...extraEnv,
  };
  // env -i: nothing of the test runner's environment (CI, NO_COLOR...) leaks into the program
  const assignments = Object.entries(env).map(([k, v]) => `${k}=${quote(v)}`).join(' ');
  const command = `env -i ${assignments} ${quote(process.execPath)} ${quote(CLI)} dashboard ${args.join(' ')}; echo "EXIT=$?"; sleep 60`;
  tmux('new-session', '-d', '-s', name, '-x', String(size.x), '-y', String(size.y), command);
  open.push(name);
  return name;
}

/** The pid of the node process in a session (the child of the pane's shell). */
function programPid(session: string): number {
  const shell = tmux('display', '-p', '-t', session, '#{pane_pid}').trim();
  const children = execFileSync('ps', ['-o', 'pid=,comm=', '--ppid', shell], { encoding: 'utf8' }).trim().split('\n');
  // the program names itself (process.title), so it is the child that is not the shell's `sleep`
  const node = children.map((l) => l.trim().split(/\s+/)).find(([pid, comm]) => pid && comm !== 'sleep');
  if (!node) throw new Error(`no program running in ${session}: ${children.join(" | ")} (shell ${shell})`);
  return Number(node[0]);
}

const alternateOn = (session: string): string => tmux('display', '-p', '-t', session, '#{alternate_on}').trim();

beforeAll(async () => {
  try {
    execFileSync('tmux', ['-V']);
  } catch {
    throw new Error('tmux is required for the dashboard end-to-end test (apt-get install tmux); it is not skipped');
  }
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  dbs = await createTestDatabases();
  await applySchema(dbs.localUrl);
  await applySchema(dbs.cloudUrl);
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cesar-e2e-'));
}, 120_000);

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

afterEach(async () => {
  for (const s of open) {
    let pid = 0;
    try {
      pid = programPid(s);
    } catch {
      // the session is gone already
    }
    try {
      tmux('kill-session', '-t', s);
    } catch {
      // gone
    }
    const deadline = Date.now() + 45_000;
    while (pid > 0 && alive(pid) && Date.now() < deadline) await sleep(100);
  }
  open = [];
}, 120_000);

afterAll(async () => {
  try {
    tmux('kill-server');
  } catch {
    // no server left
  }
  await dbs?.drop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('cesar dashboard in a terminal', () => {
  it('writes nothing while idle and paused; while running, little, and what changed within a refresh', async () => {
    const s = start({ x: 120, y: 40 });
    await waitFor(s, /active syncer/);
    await waitFor(s, (t) => /Migrations/.test(t) && /001_phase_a_foundation/.test(t) && /agents\s+ok/.test(t));
    const measure = async (during: () => Promise<unknown>): Promise<number> => {
      const file = path.join(dataDir, `bytes-${Date.now()}`);
      tmux('pipe-pane', '-t', s, '-o', `cat > ${quote(file)}`);
      await during();
      tmux('pipe-pane', '-t', s);
      await sleep(200);
      return fs.existsSync(file) ? fs.statSync(file).size : 0;
    };
    // Running with nothing changing, the screen changes rarely: the countdown and the last pass by
    // the minute, the critical table's row when its late-commit window is re-read (every 15 s). A
    // screen redrawn on a timer would write a frame (over 10 KB) every time; an idle machine often
    // writes nothing at all in this window, so only the upper bound is asserted here.
    // (after the start settled: the first full pass's times reach the sync panel within 5 s)
    await sleep(8000);
    const quiet = await measure(() => sleep(8000));
    // a change made by another program shows within a refresh (2 s) and costs a few lines, not a frame
    let shownAfter = 0;
    const changed = await measure(async () => {
      const t0 = Date.now();
      await sql(dbs.localUrl, `INSERT INTO agents (name, agent_type, status) VALUES ('e2e-bytes', 'tool', 'busy')`);
      await waitFor(s, /e2e-bytes\s+tool\s+busy/, 10_000);
      shownAfter = Date.now() - t0;
      await sleep(300);
    });
    keys(s, 'Space');
    await waitFor(s, /PAUSED/);
    // the "paused" message expires after 6 s; after that nothing on the screen depends on time
    await sleep(7000);
    // an unchanged screen writes no bytes. On a loaded machine a database's latency may really
    // change and be redrawn, so up to five windows are measured: a screen that redrew on a timer
    // would write in every one of them.
    const windows: number[] = [];
    while (windows.length < 5 && !windows.includes(0)) windows.push(await measure(() => sleep(4000)));
    console.log(`bytes written while running: ${quiet} in 8 s with nothing changing, ${changed} for a new agent (shown after ${shownAfter} ms); idle and paused, per 4 s window: ${windows.join(', ')}`);
    expect(windows).toContain(0);
    expect(quiet).toBeLessThan(4000);
    expect(changed).toBeGreaterThan(0);
    expect(changed).toBeLessThan(12_000);
    keys(s, 'q');
    await waitFor(s, /EXIT=0/);
  }, 120_000);

  it('shows every panel, syncs on s, shows a conflict, migrates on m y, resizes, and restores the terminal on q', async () => {
    await sql(dbs.localUrl, `INSERT INTO agents (name, agent_type, status) VALUES ('e2e-alpha', 'planner', 'idle'), ('e2e-beta', 'worker', 'active'), ('e2e-gamma', 'critic', 'idle')`);
    const s = start({ x: 120, y: 40 });
    let t = await waitFor(s, (x) => /e2e-alpha/.test(x) && /active syncer/.test(x));
    expect(alternateOn(s)).toBe('1');
    for (const title of ['1 Agents', '2 Sync', '3 Conflicts', '4 Migrations', '5 Events']) expect(t).toContain(title);
    expect(t).toMatch(new RegExp(`local\\s+● up\\s+${process.env.CESAR_TEST_BACKEND === 'embedded' ? 'embedded PostgreSQL' : 'PostgreSQL'}`));
    expect(t).toContain('reads local');
    expect(t).not.toContain('EMBEDDED DEMO');
    // the first full pass brings the seeded agents to the cloud
    await waitFor(s, /e2e-alpha\s+planner\s+idle\s+\S+\s+same/);

    // pause the schedule so that only our key presses run passes
    keys(s, 'Space');
    await waitFor(s, /PAUSED/);
    await sql(dbs.localUrl, `INSERT INTO agents (name, agent_type, status) VALUES ('e2e-delta', 'tool', 'busy')`);
    const [before] = await sql<{ at: string }>(dbs.localUrl, `SELECT max(last_sync_at)::text AS at FROM sync_state WHERE table_name = 'agents'`);
    keys(s, 's');
    t = await waitFor(s, /pass \w+ done: \d+ rows? applied/);
    const [after] = await sql<{ at: string }>(dbs.localUrl, `SELECT max(last_sync_at)::text AS at FROM sync_state WHERE table_name = 'agents'`);
    expect(Date.parse(after!.at.replace(' ', 'T').replace(/\+00$/, 'Z'))).toBeGreaterThan(Date.parse(before!.at.replace(' ', 'T').replace(/\+00$/, 'Z')));
    expect(await sql(dbs.cloudAdminUrl, `SELECT 1 FROM agents WHERE name = 'e2e-delta'`)).toHaveLength(1);

    // the same agent edited on both sides, then a pass: a conflict
    await sql(dbs.localUrl, `UPDATE agents SET status = 'busy', updated_at = now() WHERE name = 'e2e-alpha'`);
    await sql(dbs.cloudUrl, `UPDATE agents SET status = 'paused', updated_at = now() + interval '1 second' WHERE name = 'e2e-alpha'`);
    keys(s, 's');
    await waitFor(s, /agents\s+\w{8}\s+cloud\s+update-update/);
    keys(s, '3');
    await sleep(300);
    keys(s, 'Enter');
    t = await waitFor(s, /Conflict in agents, row/);
    expect(t).toMatch(/≠ status\s+"busy"\s+"paused"/);
    expect(t).toMatch(/CLOUD \(kept\)/);
    keys(s, 'Escape');
    await waitFor(s, /3 Conflicts/);

    // migrations: the schema was applied by hand, so every file is pending until m, y
    await waitFor(s, /001_phase_a_foundation\s+pending\s+pending/);
    keys(s, 'm');
    await waitFor(s, /Apply the pending migrations \(local 11, cloud 11\)\?/);
    keys(s, 'y');
    await waitFor(s, /migrations: local: 11 applied; cloud: 11 applied/, 60_000);
    await waitFor(s, /001_phase_a_foundation\s+applied\s+applied/);
    for (const url of [dbs.localUrl, dbs.cloudAdminUrl]) {
      const [row] = await sql<{ n: number }>(url, `SELECT count(*)::int AS n FROM schema_migrations WHERE status = 'applied'`);
      expect(row!.n).toBe(11);
    }

    // a smaller terminal gets the condensed layout, every line within the width
    tmux('resize-window', '-t', s, '-x', '80', '-y', '24');
    t = await waitFor(s, /1 Agents\s+2 Sync\s+3 Conflicts\s+4 Migrations\s+5 Events/);
    const lines = t.replace(/\n$/, '').split('\n');
    expect(lines.length).toBeLessThanOrEqual(24);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(80);
    keys(s, '2');
    await waitFor(s, /┌─ 2 Sync/);
    tmux('resize-window', '-t', s, '-x', '50', '-y', '12');
    await waitFor(s, /terminal too small: 50 x 12, need 60 x 16/);
    tmux('resize-window', '-t', s, '-x', '120', '-y', '40');
    await waitFor(s, (x) => x.includes('4 Migrations') && x.includes('1 Agents'));

    keys(s, 'q');
    t = await waitFor(s, /EXIT=0/);
    expect(alternateOn(s)).toBe('0');
    expect(t).not.toContain('1 Agents');
  }, 300_000);

  it('restores the terminal on Ctrl-C (130), SIGTERM (143) and SIGHUP (129)', async () => {
    for (const [how, code] of [['C-c', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const) {
      const s = start({ x: 100, y: 30 }, {}, ['--readonly']);
      await waitFor(s, (x) => /READ-ONLY/.test(x) && /active syncer|standby/.test(x));
      expect(alternateOn(s)).toBe('1');
      if (how === 'C-c') keys(s, 'C-c');
      else process.kill(programPid(s), how);
      await waitFor(s, new RegExp(`EXIT=${code}`));
      expect(alternateOn(s)).toBe('0');
    }
  }, 180_000);

  it('shows a database going down and coming back, and keeps running', async () => {
    const target = new URL(dbs.cloudUrl);
    const proxy = await startProxy({ targetHost: target.hostname, targetPort: Number(target.port || 5432) });
    try {
      const s = start({ x: 120, y: 40 }, { COCKROACH_DB_URL: proxy.urlFor(dbs.cloudUrl), CESAR_CONNECT_TIMEOUT: '1s' });
      await waitFor(s, /cloud\s+● up/);
      proxy.refuseNew(true);
      proxy.cutAll();
      const t = await waitFor(s, (x) => /cloud\s+✗ DOWN/.test(x) && /cloud database down/.test(x));
      expect(t).toMatch(/local\s+● up/);
      expect(t).not.toMatch(/crdb_app:[^@\s]+@/);
      proxy.refuseNew(false);
      await waitFor(s, (x) => /cloud\s+● up/.test(x) && /cloud database up/.test(x), 60_000);
      keys(s, 'q');
      await waitFor(s, /EXIT=0/);
    } finally {
      await proxy.close();
    }
  }, 150_000);

  it('a dropped terminal (the session killed: SIGHUP) still shuts down cleanly and releases the sync lease', async () => {
    const s = start({ x: 100, y: 30 });
    await waitFor(s, /active syncer/);
    const pid = programPid(s);
    expect(await sql(dbs.cloudAdminUrl, `SELECT owner FROM cesar_leases WHERE name = 'sync'`)).toHaveLength(1);
    tmux('kill-session', '-t', s);
    const deadline = Date.now() + 45_000;
    while (alive(pid) && Date.now() < deadline) await sleep(100);
    expect(alive(pid)).toBe(false);
    expect(await sql(dbs.cloudAdminUrl, `SELECT owner FROM cesar_leases WHERE name = 'sync'`)).toHaveLength(0);
  }, 120_000);

  it('refuses without a terminal, before opening any database: exit 2 and what to use instead', async () => {
    const t0 = Date.now();
    const r = await runCli(['dashboard'], { LOCAL_DB_URL: 'postgres://nobody@127.0.0.1:1/none', COCKROACH_DB_URL: 'postgres://nobody@127.0.0.1:1/none' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('not a terminal');
    expect(r.stderr).toContain('cesar status');
    expect(r.stderr).toContain('cesar headless');
    expect(r.stdout).toBe('');
    expect(Date.now() - t0).toBeLessThan(5000);
  });
});
