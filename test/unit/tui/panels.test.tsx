import { afterEach, describe, expect, it } from 'vitest';
import { cleanup } from 'ink-testing-library';
import { fixtureState, NOW, plain, setup, tick } from './fixtures.js';

afterEach(() => cleanup());

describe('header', () => {
  it('shows environment, read source, API, each database and the scheduler', () => {
    const { frame } = setup();
    const f = frame();
    expect(f).toContain('CESAR staging');
    expect(f).toContain('reads cloud');
    expect(f).toContain('API http://127.0.0.1:8000');
    expect(f).toMatch(/local\s+● up\s+PostgreSQL 15\.20\s+<1 ms\s+app@127\.0\.0\.1:5432\/cesar/);
    expect(f).toMatch(/cloud\s+● up\s+CockroachDB v24\.3\.0\s+40 ms\s+TLS\s+app@crdb\.example:26257\/cesar/);
    expect(f).toContain('active syncer');
    expect(f).toContain('next in 1m'); // 65 s: by the minute until the last minute
    expect(f).toContain('every 5m');
    expect(f).not.toContain('EMBEDDED DEMO');
  });

  it('says so when embedded, degraded, paused, standby, down, and never shows a password', () => {
    const s = fixtureState();
    s.header.embedded = true;
    s.header.api = 'API off: port 8000 in use';
    s.header.readSource = { role: 'local', degraded: true, reason: 'staging reads CockroachDB, which is down: falling back to local' };
    s.header.dbs.cloud = { role: 'cloud', configured: true, label: 'app@crdb.example:26257/cesar', up: false, error: 'connect ECONNREFUSED 10.0.0.1:26257' };
    s.scheduler = { ...s.scheduler!, active: false, standbyFor: 'host-b:4242:abcd', paused: true, nextPassAt: null };
    const f = setup({ state: s }).frame();
    expect(f).toContain('EMBEDDED DEMO');
    expect(f).toContain('API off: port 8000 in use');
    expect(f).toContain('reads local DEGRADED');
    expect(f).toMatch(/cloud\s+✗ DOWN\s+app@crdb\.example:26257\/cesar\s+connect ECONNREFUSED/);
    expect(f).toContain('standby: host-b:4242:abcd holds the sync lease');
    expect(f).toContain('PAUSED');
    expect(f).not.toContain('next in');
    expect(f).not.toMatch(/:[^@\s]+@crdb/);
  });
});

/** The condensed layout with one panel focused: the panel gets the full 80 columns. */
function focused(panel: 'agents' | 'sync' | 'conflicts' | 'migrations' | 'events', change: (s: ReturnType<typeof fixtureState>) => void = () => undefined) {
  const s = fixtureState(80, 24);
  s.ui.focus = panel;
  change(s);
  return setup({ state: s }).frame();
}

describe('panels', () => {
  it('agents: the visible page, agreement with the other side, position in the whole list', () => {
    const f = focused('agents');
    expect(f).toContain('1 Agents');
    expect(f).toMatch(/planner-01\s+planner\s+active\s+\S+\s+same/);
    expect(f).toMatch(/critic-02\s+critic\s+error\s+\S+\s+DIFFERS/);
    expect(f).toMatch(/worker-03\s+worker\s+idle\s+\S+\s+missing/);
    expect(f).toContain('=LOCAL');
    expect(f).toContain('1-3 of 1234 · from cloud · sort name ↑');
  });

  it('agents: explains an empty list and a database that cannot serve reads', () => {
    const empty = focused('agents', (s) => {
      s.agents = { ...s.agents, rows: [], total: 0 };
      s.ui.filter = 'zz';
    });
    expect(empty).toContain('no agent name contains "zz"');
    const none = focused('agents', (t) => {
      t.header.readSource = { role: null, degraded: false, reason: 'production reads CockroachDB only, which is down' };
      t.agents = { ...t.agents, role: null, rows: [] };
    });
    expect(none).toContain('no database to read from: production reads CockroachDB only');
  });

  it('sync: one row per table with last pass counts, lag, conflicts; the error of the selected table', () => {
    const f = focused('sync', (s) => {
      s.ui.cursor.sync = 1;
    });
    expect(f).toContain('2 Sync');
    expect(f).toMatch(/agents\s+ok\s+\S+\s+3\s+1\s+0s\s+2\s+0/);
    expect(f).toMatch(/memories\s+error\s+\S+\s+0\s+0\s+2m\s+0\s+2/);
    expect(f).toMatch(/tasks\s+never\s+-\s+0\s+0\s+-\s+0\s+0/);
    expect(f).toContain('PARKED');
    expect(f).toContain('memories: up: relation "memories" does not exist');
    expect(f).toContain('9 rows/5m');
  });

  it('sync: rows parked in sync_errors, in total and for the selected table', () => {
    const total = focused('sync');
    expect(total).toContain('2 rows parked in sync_errors: memories 2 · cesar status lists them');
    const one = focused('sync', (s) => {
      s.ui.cursor.sync = 1;
      s.sync.rows[1]!.lastError = null;
    });
    expect(one).toContain('memories: 2 rows parked in sync_errors, retried every pass');
    // too narrow for the column (the wide layout's half panel): the footer still says it
    const wide = plain(setup({ state: fixtureState(120, 40) }).frame());
    expect(wide).not.toContain('PARKED');
    expect(wide).toContain('2 rows parked in sync_errors');
  });

  it('conflicts: the latest ones with table, row, winner and why', () => {
    const f = focused('conflicts');
    expect(f).toContain('3 Conflicts');
    expect(f).toMatch(/agents\s+11111111\s+cloud\s+update-update \(lww\)/);
  });

  it('migrations: every file on each database, with counts', () => {
    const f = focused('migrations');
    expect(f).toContain('4 Migrations');
    expect(f).toMatch(/001_a\s+applied\s+applied/);
    expect(f).toMatch(/002_b\s+applied\s+pending/);
    expect(f).toContain('local: 2 applied · cloud: 1 applied, 1 pending');
  });

  it('events: the last lines of the log, newest at the bottom', () => {
    const f = focused('events');
    expect(f).toContain('5 Events');
    const i = f.indexOf('pass abcd1234');
    const j = f.indexOf('memories up: relation');
    expect(i).toBeGreaterThan(0);
    expect(j).toBeGreaterThan(i);
  });
});

describe('layout', () => {
  it('80 x 24 is condensed: a tab bar and the focused panel only, within 23 lines', () => {
    const { frame } = setup({ state: fixtureState(80, 24) });
    const f = frame();
    expect(f).toMatch(/1 Agents\s+2 Sync\s+3 Conflicts\s+4 Migrations\s+5 Events/);
    expect(f).toContain('planner-01');
    expect(f).not.toContain('4 Migrations ─');
    expect(f.split('\n').length).toBeLessThanOrEqual(23);
    for (const line of f.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
  });

  it('100 x 40 shows every panel at once, one line shorter than the terminal', () => {
    const f = setup({ state: fixtureState(100, 40) }).frame();
    for (const title of ['1 Agents', '2 Sync', '3 Conflicts', '4 Migrations', '5 Events']) expect(f).toContain(title);
    expect(f.split('\n').length).toBe(39);
  });

  it('below the minimum it says what size it needs', () => {
    const f = setup({ state: fixtureState(50, 12) }).frame();
    expect(f).toContain('terminal too small: 50 x 12, need 60 x 16');
  });

  it('keeps a clock: the countdown follows "now"', async () => {
    const { store, frame } = setup();
    store.update((s) => ({ ...s, now: NOW + 10_000 }), true);
    await tick();
    expect(frame()).toContain('next in 55s');
  });
});
