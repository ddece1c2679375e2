import { describe, expect, it, vi } from 'vitest';
import { agreement, containsPattern, countSql, pageSql } from '../../../src/status/agents.js';
import { buildSyncRows } from '../../../src/status/sync-rows.js';
import { Buckets, sparkline } from '../../../src/tui/format/sparkline.js';
import { fit, row } from '../../../src/tui/format/text.js';
import { lag, latency, parseTime, span, steadyLatency } from '../../../src/tui/format/time.js';
import { splitKeys } from '../../../src/tui/keys/split.js';
import { computeLayout, MIN_COLUMNS, MIN_ROWS } from '../../../src/tui/layout.js';
import { follow, passSummary } from '../../../src/tui/state/controller.js';
import { eventLine, Throughput } from '../../../src/tui/state/events.js';
import { DashboardStore } from '../../../src/tui/state/store.js';
import { terminalProblem } from '../../../src/tui/terminal.js';
import { themeFor } from '../../../src/tui/theme/theme.js';
import type { SyncStateRow } from '../../../src/status/sync-state.js';
import { fixtureState, report } from './fixtures.js';

describe('text', () => {
  it('fits, pads and never lets a control character through', () => {
    expect(fit('abc', 5)).toBe('abc  ');
    expect(fit('abcdef', 4)).toBe('abc…');
    expect(fit('7', 3, 'right')).toBe('  7');
    expect(fit('evil\u001B[2Jname', 20)).toBe('evil?[2Jname        ');
    expect(row([{ title: 'A', width: 0 }, { title: 'B', width: 3, align: 'right' }], ['name', '42'], 10)).toBe('name    42');
  });
});

describe('time', () => {
  it('parses database and ISO timestamps', () => {
    expect(parseTime('2025-01-02 03:04:05.5+00')).toBe(Date.parse('2025-01-02T03:04:05.500Z'));
    expect(parseTime('2025-01-02T03:04:05.000Z')).toBe(Date.parse('2025-01-02T03:04:05Z'));
    expect(parseTime(null)).toBeNaN();
  });
  it('formats spans, lags and latencies in stable steps', () => {
    expect(span(65_000)).toBe('1m05s');
    expect(span(3_700_000)).toBe('1h01m');
    expect(lag(0.3)).toBe('0s');
    expect(lag(125)).toBe('2m');
    expect(lag(null)).toBe('-');
    expect(latency(0.42)).toBe('<1 ms');
    expect(latency(42)).toBe('40 ms');
    // jitter within 30 % keeps the shown value, so an idle screen does not redraw
    expect(steadyLatency(10, 12)).toBe(10);
    expect(steadyLatency(10, 20)).toBe(20);
    // a loaded machine adds a millisecond or two to a loopback round trip: not worth a redraw
    expect(steadyLatency(0.4, 4.9)).toBe(0.4);
    expect(steadyLatency(0.4, 5.5)).toBe(5.5);
  });
});

describe('sparkline', () => {
  it('draws zero as the baseline and any activity at least one step up', () => {
    expect(sparkline([0, 0, 0])).toBe('▁▁▁');
    expect(sparkline([0, 1, 100])).toBe('▁▂█');
  });
  it('buckets by time and forgets old buckets', () => {
    const b = new Buckets(1000, 3);
    b.add(10_500, 2);
    b.add(10_900, 1);
    b.add(12_000, 4);
    expect(b.series(12_500)).toEqual([3, 0, 4]);
    expect(b.series(20_000)).toEqual([0, 0, 0]);
    expect(b.empty(20_000)).toBe(true);
  });
});

describe('layout', () => {
  it('wide from 100 x 30: every panel, nothing taller than the terminal minus one', () => {
    const l = computeLayout(120, 40);
    expect(l.mode).toBe('wide');
    expect(l.frameRows).toBe(39);
    const { agents, sync, conflicts, migrations, events } = l.panels;
    expect(agents.height + conflicts.height + events.height).toBe(l.bodyRows);
    expect(agents.width + sync.width).toBe(120);
    expect(migrations.height).toBe(conflicts.height);
  });
  it('condensed below, too small under the minimum', () => {
    expect(computeLayout(80, 24).mode).toBe('condensed');
    expect(computeLayout(80, 24).panels.agents).toEqual({ width: 80, height: 16 });
    expect(computeLayout(MIN_COLUMNS, MIN_ROWS).tooSmall).toBe(false);
    expect(computeLayout(MIN_COLUMNS - 1, 30).tooSmall).toBe(true);
  });
  it('keeps the cursor inside the window, moving it as little as possible', () => {
    expect(follow(5, 0, 10, 100)).toBe(0);
    expect(follow(12, 0, 10, 100)).toBe(3);
    expect(follow(2, 5, 10, 100)).toBe(2);
    expect(follow(99, 0, 10, 100)).toBe(90);
  });
});

describe('agents queries', () => {
  it('reads one page with a bound filter, whitelisted order and a stable tie-break', () => {
    const q = pageSql({ sort: 'updated', desc: true, filter: "50%_off'; DROP TABLE agents; --", limit: 20, offset: 40 });
    expect(q.text).toContain('ORDER BY updated_at DESC, id DESC LIMIT $1 OFFSET $2');
    expect(q.text).toContain('name ILIKE $3');
    expect(q.text).not.toContain('DROP');
    expect(q.params).toEqual([20, 40, "%50\\%\\_off'; DROP TABLE agents; --%"]);
    expect(containsPattern('a\\b')).toBe('%a\\\\b%');
  });
  it('counts up to a cap, so a million agents cost as little as ten thousand', () => {
    expect(countSql('', 10_000)).toEqual({ text: 'SELECT count(*) AS n FROM (SELECT 1 FROM agents WHERE deleted_at IS NULL LIMIT $1) AS t', params: [10_001] });
  });
  it('agrees on the same version to the microsecond, whatever the text form', () => {
    expect(agreement('2025-01-01 00:00:00.1+00', '2025-01-01 00:00:00.100000+00')).toBe('same');
    expect(agreement('2025-01-01 00:00:00.1+00', '2025-01-01 00:00:00.100001+00')).toBe('differs');
    expect(agreement('2025-01-01 00:00:00+00', undefined)).toBe('missing');
  });
});

describe('sync rows', () => {
  const state = (over: Partial<SyncStateRow>): SyncStateRow => ({
    table: 'agents',
    direction: 'up',
    status: 'ok',
    lastSyncAt: '2025-01-01 00:00:01+00',
    lastSuccessAt: null,
    watermark: null,
    last: { read: 0, applied: 0, skipped: 0, conflicts: 0, deleted: 0, errors: 0, durationMs: 0 },
    total: { read: 0, applied: 0, skipped: 0, conflicts: 0, deleted: 0, errors: 0 },
    lastError: null,
    lastErrorAt: null,
    ...over,
  });
  it('merges both directions: worse status, later pass, rows each way, all conflicts, parked rows, the error', () => {
    const rows = buildSyncRows(
      ['agents', 'memories'],
      [
        state({ direction: 'up', last: { ...state({}).last, applied: 3 }, total: { ...state({}).total, conflicts: 2 } }),
        state({ direction: 'down', status: 'error', lastSyncAt: '2025-01-01 00:00:05+00', lastError: 'boom', lastErrorAt: '2025-01-01 00:00:05+00', last: { ...state({}).last, applied: 1 }, total: { ...state({}).total, conflicts: 1 } }),
      ],
      new Map([['agents', 12]]),
      new Map([['agents', 4]]),
    );
    expect(rows).toEqual([
      { table: 'agents', status: 'error', lastSyncAt: '2025-01-01 00:00:05+00', up: 3, down: 1, lagSeconds: 12, conflicts: 3, parked: 4, lastError: 'down: boom' },
      { table: 'memories', status: 'never', lastSyncAt: null, up: 0, down: 0, lagSeconds: null, conflicts: 0, parked: 0, lastError: null },
    ]);
  });
});

describe('events', () => {
  const at = '2025-01-01T00:00:00.000Z';
  it('keeps what matters and drops the twice-a-second noise', () => {
    expect(eventLine({ type: 'sync.pass.completed', passId: 'p', ms: 3, applied: 0, conflicts: 0, errors: 0, dryRun: false, at })).toBeNull();
    expect(eventLine({ type: 'sync.pass.progress', passId: 'p', table: 't', direction: 'up', read: 1, applied: 1, skipped: 0, conflicts: 0, at })).toBeNull();
    expect(eventLine({ type: 'sync.pass.completed', passId: 'p', ms: 3, applied: 2, conflicts: 1, errors: 0, dryRun: false, at })?.text).toBe('pass p: 2 rows applied, 1 conflict, 0 errors (3 ms)');
    expect(eventLine({ type: 'sync.pass.failed', passId: 'p', error: 'cloud down', at })).toEqual({ at, level: 'error', text: 'pass p failed: cloud down' });
    expect(eventLine({ type: 'db.status', role: 'cloud', up: false, error: 'ECONNREFUSED', at })?.text).toBe('cloud database down: ECONNREFUSED');
  });
  it('counts rows applied from running totals, per table, skipping dry runs', () => {
    const t = new Throughput();
    const now = Date.parse(at);
    t.add({ type: 'sync.pass.started', passId: 'a', direction: 'both', tables: [], dryRun: false, at });
    t.add({ type: 'sync.pass.progress', passId: 'a', table: 'agents', direction: 'up', read: 5, applied: 5, skipped: 0, conflicts: 0, at });
    t.add({ type: 'sync.pass.progress', passId: 'a', table: 'agents', direction: 'up', read: 8, applied: 8, skipped: 0, conflicts: 0, at });
    t.add({ type: 'sync.pass.started', passId: 'd', direction: 'both', tables: [], dryRun: true, at });
    t.add({ type: 'sync.pass.progress', passId: 'd', table: 'agents', direction: 'up', read: 50, applied: 50, skipped: 0, conflicts: 0, at });
    expect(t.total.series(now).at(-1)).toBe(8);
    expect(t.perTable(now).agents!.at(-1)).toBe(8);
  });
});

describe('store', () => {
  it('batches updates into one flush per interval; immediate updates flush at once', async () => {
    vi.useFakeTimers();
    try {
      const store = new DashboardStore(fixtureState(), 200);
      const seen = vi.fn();
      store.subscribe(seen);
      const burst = (from: number): void => {
        for (let i = from; i < from + 50; i++) store.update((s) => ({ ...s, events: [...s.events, { at: '', level: 'info', text: String(i) }] }));
      };
      burst(0);
      expect(seen).not.toHaveBeenCalled();
      vi.advanceTimersByTime(0);
      expect(seen).toHaveBeenCalledTimes(1); // fifty events, one render
      burst(50);
      vi.advanceTimersByTime(100);
      expect(seen).toHaveBeenCalledTimes(1); // at most one flush per 200 ms
      vi.advanceTimersByTime(100);
      expect(seen).toHaveBeenCalledTimes(2);
      expect(store.snapshot().events.at(-1)!.text).toBe('99');
      store.ui({ focus: 'sync' });
      expect(seen).toHaveBeenCalledTimes(3); // a key press does not wait
      store.update((s) => s);
      vi.advanceTimersByTime(1000);
      expect(seen).toHaveBeenCalledTimes(3); // no change, no flush
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('keys and terminal', () => {
  it('splits a run of characters into key presses', () => {
    expect(splitKeys({ input: '3\r' })).toEqual([{ input: '3', shift: false }, { input: '', return: true }]);
    expect(splitKeys({ input: 'q' })).toEqual([{ input: 'q' }]);
  });
  it('explains a missing terminal and points to status and headless', () => {
    expect(terminalProblem({ isTTY: true }, { isTTY: true })).toBeNull();
    const why = terminalProblem({ isTTY: false }, { isTTY: true })!;
    expect(why).toContain('stdin is not a terminal');
    expect(why).toContain('cesar status');
    expect(why).toContain('cesar headless');
  });
  it('NO_COLOR drops the colours only', () => {
    expect(Object.values(themeFor({ NO_COLOR: '1' }).color).every((c) => c === undefined)).toBe(true);
    expect(themeFor({}).color.ok).toMatch(/^ansi256\(\d+\)$/);
  });
  it('summarises a pass', () => {
    expect(passSummary(report())).toBe('pass p1 done: 3 rows applied, 1 conflict, 0 deletes, 0 row errors in 120ms');
  });
});
