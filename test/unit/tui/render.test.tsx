import { cleanup } from 'ink-testing-library';
import { afterEach, describe, expect, it } from 'vitest';
import { wireScheduler } from '../../../src/tui/data/scheduler.js';
import { renderCounts } from '../../../src/tui/render-count.js';
import type { SchedulerStatus } from '../../../src/sync/scheduler.js';
import { fixtureState, NOW, setup, tick } from './fixtures.js';

afterEach(() => cleanup());

const COMPONENTS = ['frame', 'header', 'agents', 'sync', 'conflicts', 'migrations', 'events', 'message', 'footer'] as const;

/** Renders of each component since `before` (a copy of the counters). */
function since(before: Map<string, number>): Record<string, number> {
  return Object.fromEntries(COMPONENTS.map((c) => [c, (renderCounts.get(c) ?? 0) - (before.get(c) ?? 0)]));
}

/** The wide layout, every panel on screen, and the counters after the first frame settled. */
async function mounted() {
  const t = setup({ state: fixtureState(120, 40) });
  await tick(30);
  return { ...t, before: new Map(renderCounts) };
}

const none = Object.fromEntries(COMPONENTS.map((c) => [c, 0]));

describe('render on change', () => {
  it('new sync data re-renders the sync panel only', async () => {
    const { store, before, frame } = await mounted();
    store.update((s) => ({ ...s, sync: { ...s.sync, rows: s.sync.rows.map((r) => (r.table === 'agents' ? { ...r, up: 99 } : r)) } }), true);
    await tick(30);
    expect(since(before)).toEqual({ ...none, sync: 1 });
    expect(frame()).toMatch(/agents\s+ok\s+\S+\s+99/);
  });

  it('each panel re-renders for its own data only', async () => {
    const { store, before } = await mounted();
    store.update((s) => ({ ...s, agents: { ...s.agents, total: 1235 } }), true);
    await tick(30);
    store.update((s) => ({ ...s, conflicts: { ...s.conflicts, rows: [] } }), true);
    await tick(30);
    store.update((s) => ({ ...s, events: [...s.events, { at: new Date(NOW).toISOString(), level: 'info', text: 'hello' }] }), true);
    await tick(30);
    store.update((s) => ({ ...s, migrations: { byRole: {} } }), true);
    await tick(30);
    expect(since(before)).toEqual({ ...none, agents: 1, conflicts: 1, events: 1, migrations: 1 });
  });

  it('a poll that found the same content, and the clock within the minute, render nothing', async () => {
    const { store, before, frame } = await mounted();
    const first = frame();
    // the same state object for the slices (what the poller keeps when a read found no change)
    store.update((s) => ({ ...s, header: s.header, sync: s.sync }), true);
    // the clock ticks every second; the countdown shows minutes until its last minute
    for (let i = 1; i <= 5; i++) store.update((s) => ({ ...s, now: NOW + i * 1000 }), true);
    await tick(30);
    expect(since(before)).toEqual(none);
    expect(frame()).toBe(first);
  });

  it('the clock re-renders the header only when its text changes (the countdown by the minute)', async () => {
    const { store, before, frame } = await mounted();
    expect(frame()).toContain('next in 1m'); // next pass at NOW + 65 s
    store.update((s) => ({ ...s, now: NOW + 6000 }), true); // 59 s left: the last minute counts in seconds
    await tick(30);
    expect(since(before)).toEqual({ ...none, header: 1 });
    expect(frame()).toContain('next in 59s');
  });

  it('scheduler announcements that change nothing shown (a critical poll) render nothing; a pause renders the header', async () => {
    const { store, before, frame } = await mounted();
    const base = store.get().scheduler!;
    let listener: ((s: SchedulerStatus) => void) | undefined;
    let status: SchedulerStatus = base;
    const off = wireScheduler({ status: () => status, onStatus: (l) => ((listener = l), () => undefined) }, store);
    await tick(250); // the store's throttled flush
    const quiet = since(before);
    // a pass of the critical tables: running for a few ms, last pass a few ms later (same minute)
    status = { ...base, running: true, lastPassAt: new Date(NOW - 4990).toISOString() };
    listener!(status);
    status = { ...status, running: false };
    listener!(status);
    await tick(250);
    expect(since(before)).toEqual(quiet);
    expect(quiet.header).toBe(0);
    status = { ...status, paused: true, nextPassAt: null };
    listener!(status);
    await tick(250);
    expect(since(before)).toEqual({ ...quiet, header: 1 });
    expect(frame()).toContain('PAUSED');
    off();
  });

  it('a key re-renders what it changes: moving in a panel, not the others', async () => {
    const { press, before, frame } = await mounted();
    await press('j');
    expect(since(before)).toEqual({ ...none, agents: 1 });
    expect(frame()).toMatch(/critic-02/);
  });
});

describe('the scheduler feed', () => {
  it('shows "running" only for a pass that has lasted a second', async () => {
    const { store, frame } = await mounted();
    const base = store.get().scheduler!;
    let listener: ((s: SchedulerStatus) => void) | undefined;
    const off = wireScheduler({ status: () => base, onStatus: (l) => ((listener = l), () => undefined) }, store);
    listener!({ ...base, running: true });
    await tick(400);
    expect(store.get().scheduler!.running).toBe(false);
    expect(frame()).not.toContain('running…');
    await tick(800);
    expect(store.get().scheduler!.running).toBe(true);
    await tick(250);
    expect(frame()).toContain('running…');
    listener!({ ...base, running: false });
    expect(store.get().scheduler!.running).toBe(false);
    off();
  });
});

describe("Ink's caches", () => {
  it('are kept across frames with the installed Ink (an Ink upgrade that changes its internals fails here)', async () => {
    const { shareInkCaches } = await import('../../../src/tui/ink-caches.js');
    expect(await shareInkCaches()).toBe(true);
    // frames drawn with the kept caches are the frames drawn without them: a change, then back
    const { store, frame } = await mounted();
    const first = frame();
    store.update((s) => ({ ...s, agents: { ...s.agents, total: 1235 } }), true);
    await tick(30);
    expect(frame()).toContain('1-3 of 1235');
    store.update((s) => ({ ...s, agents: { ...s.agents, total: 1234 } }), true);
    await tick(30);
    expect(frame()).toBe(first);
  });
});
