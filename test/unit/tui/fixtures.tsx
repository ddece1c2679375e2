import { render } from 'ink-testing-library';
import { vi } from 'vitest';
import { App } from '../../../src/tui/App.js';
import type { DashboardActions } from '../../../src/tui/state/actions.js';
import { Controller } from '../../../src/tui/state/controller.js';
import { initialState } from '../../../src/tui/state/initial.js';
import { DashboardStore } from '../../../src/tui/state/store.js';
import type { DashboardState } from '../../../src/tui/state/types.js';
import { shareInkCaches } from '../../../src/tui/ink-caches.js';
import { ThemeProvider } from '../../../src/tui/theme/context.js';
import { themeFor } from '../../../src/tui/theme/theme.js';
import type { PassReport } from '../../../src/sync/engine.js';

/** A fixed "now" so that countdowns are stable. */
export const NOW = Date.parse('2025-03-04T10:00:00Z');
const iso = (ms: number): string => new Date(ms).toISOString();
const db = (ms: number): string => iso(ms).replace('T', ' ').replace('Z', '+00');

/** A dashboard with something in every panel. */
export function fixtureState(columns = 100, rows = 40): DashboardState {
  const s = initialState({ environment: 'staging', embedded: false, readonly: false, refreshMs: 2000, columns, rows, now: NOW, api: 'API http://127.0.0.1:8000' });
  return {
    ...s,
    header: {
      ...s.header,
      readSource: { role: 'cloud', degraded: false, reason: 'staging reads CockroachDB' },
      dbs: {
        local: { role: 'local', configured: true, label: 'app@127.0.0.1:5432/cesar', up: true, server: 'PostgreSQL 15.20', latencyMs: 0.4, tls: false },
        cloud: { role: 'cloud', configured: true, label: 'app@crdb.example:26257/cesar', up: true, server: 'CockroachDB v24.3.0', latencyMs: 42, tls: true },
      },
    },
    scheduler: { active: true, standbyFor: null, paused: false, running: false, lastPassAt: iso(NOW - 5000), lastSuccessAt: iso(NOW - 5000), nextPassAt: iso(NOW + 65_000), lastError: null, consecutiveFailures: 0, intervalMs: 300_000 },
    agents: {
      role: 'cloud',
      offset: 0,
      total: 1234,
      capped: false,
      error: null,
      rows: [
        { id: 'a1', name: 'planner-01', type: 'planner', status: 'active', updatedAt: db(NOW - 1000), agree: 'same' },
        { id: 'a2', name: 'critic-02', type: 'critic', status: 'error', updatedAt: db(NOW - 2000), agree: 'differs' },
        { id: 'a3', name: 'worker-03', type: 'worker', status: 'idle', updatedAt: db(NOW - 3000), agree: 'missing' },
      ],
    },
    sync: {
      error: null,
      spark: [0, 0, 3, 5, 1],
      rows: [
        { table: 'agents', status: 'ok', lastSyncAt: db(NOW - 5000), up: 3, down: 1, lagSeconds: 0.2, conflicts: 2, parked: 0, lastError: null },
        { table: 'memories', status: 'error', lastSyncAt: db(NOW - 5000), up: 0, down: 0, lagSeconds: 125, conflicts: 0, parked: 2, lastError: 'up: relation "memories" does not exist' },
        { table: 'tasks', status: 'never', lastSyncAt: null, up: 0, down: 0, lagSeconds: null, conflicts: 0, parked: 0, lastError: null },
      ],
    },
    tableSpark: { agents: [0, 1, 4] },
    conflicts: {
      error: null,
      rows: [
        { id: 'c1', table: 'agents', rowId: '11111111-2222-3333-4444-555555555555', winner: 'cloud', strategy: 'lww', reason: 'update-update', detectedAt: db(NOW - 60_000), localUpdatedAt: db(NOW - 61_000), cloudUpdatedAt: db(NOW - 60_500) },
      ],
    },
    migrations: {
      byRole: {
        local: { role: 'local', counts: { applied: 2, pending: 0, modified: 0, failed: 0, running: 0, missing: 0 }, files: [{ name: '001_a', state: 'applied', appliedAt: null }, { name: '002_b', state: 'applied', appliedAt: null }], problems: [] },
        cloud: { role: 'cloud', counts: { applied: 1, pending: 1, modified: 0, failed: 0, running: 0, missing: 0 }, files: [{ name: '001_a', state: 'applied', appliedAt: null }, { name: '002_b', state: 'pending', appliedAt: null }], problems: [] },
      },
    },
    events: [
      { at: iso(NOW - 3000), level: 'info', text: 'pass abcd1234: 4 rows applied, 1 conflicts, 0 errors (12 ms)' },
      { at: iso(NOW - 2000), level: 'warn', text: 'conflict agents 1111: update-update, kept cloud (lww)' },
      { at: iso(NOW - 1000), level: 'error', text: 'memories up: relation "memories" does not exist' },
    ],
  };
}

/** A pass report for the fakes. */
export function report(over: Partial<PassReport> = {}): PassReport {
  return {
    passId: 'p1',
    direction: 'both',
    dryRun: false,
    ok: true,
    ms: 120,
    totals: { read: 3, applied: 3, skipped: 0, conflicts: 1, deleted: 0, errors: 0 },
    drift: {},
    tables: [
      {
        table: 'agents',
        direction: 'up',
        status: 'ok',
        counts: { read: 3, applied: 3, skipped: 0, conflicts: 1, deleted: 0, errors: 0 },
        inserted: 2,
        updated: 1,
        conflicts: [{ rowId: 'r1', winner: 'local', reason: 'update-update' }],
        samples: { inserted: ['id-new-1', 'id-new-2'], updated: ['id-upd-1'], deleted: [] },
        ms: 10,
      },
    ],
    ...over,
  } as PassReport;
}

/** Fake actions that record their calls. */
export function fakeActions(): { [K in keyof DashboardActions]: ReturnType<typeof vi.fn> } & DashboardActions {
  return {
    syncNow: vi.fn(async () => report()),
    dryRun: vi.fn(async () => report({ dryRun: true })),
    migrate: vi.fn(async () => 'migrations: local: up to date; cloud: 1 applied'),
    setPaused: vi.fn(),
    refresh: vi.fn(),
    readConflict: vi.fn(async () => ({
      ...fixtureState().conflicts.rows[0]!,
      localVersion: JSON.stringify({ id: 'x', name: 'tool-1', status: 'busy', version: 1 }),
      cloudVersion: JSON.stringify({ id: 'x', name: 'tool-1', status: 'paused', version: 1 }),
    })),
    setRefreshMs: vi.fn(),
    quit: vi.fn(),
  } as never;
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001B\[[0-9;?]*[A-Za-z]/g;

/** Text without escape codes. */
export function plain(text: string | undefined): string {
  return (text ?? '').replace(ANSI, '');
}

/** Listeners attach in effects: give them a turn before and after input. */
export const tick = (ms = 20): Promise<void> => new Promise((r) => setTimeout(r, ms));

// as the dashboard runs: Ink's line caches kept across frames (every frame below is drawn with them)
await shareInkCaches();

/** Renders the dashboard on a fixture state with fake actions. */
export function setup(options: { state?: DashboardState; readonly?: boolean; env?: NodeJS.ProcessEnv } = {}) {
  const state = options.state ?? fixtureState();
  const withRo = options.readonly ? { ...state, header: { ...state.header, readonly: true } } : state;
  const store = new DashboardStore(withRo, 0);
  const actions = fakeActions();
  const controller = new Controller(store, actions, options.readonly ?? false);
  const r = render(
    <ThemeProvider value={themeFor(options.env ?? { NO_COLOR: '1' })}>
      <App store={store} controller={controller} />
    </ThemeProvider>,
  );
  return {
    store,
    actions,
    controller,
    r,
    frame: () => plain(r.lastFrame()),
    async press(...keys: string[]) {
      for (const k of keys) {
        await tick();
        r.stdin.write(k);
      }
      await tick(40);
    },
  };
}
