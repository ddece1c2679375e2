import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Runtime } from '../../src/db/runtime.js';
import { LiveSource } from '../../src/status/live.js';
import { Poller } from '../../src/tui/data/poller.js';
import { initialState } from '../../src/tui/state/initial.js';
import { DashboardStore } from '../../src/tui/state/store.js';
import type { SchedulerStatus } from '../../src/status/types.js';
import { sql } from '../helpers/databases.js';
import { createSyncEnv, type SyncEnv } from '../helpers/sync-env.js';

// The dashboard's poller against real databases: it reads what may have changed, and skips the rest.

let env: SyncEnv;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
async function until(test: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!test()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(50);
  }
}

function runtime(): Runtime {
  const dbs = { local: env.local, cloud: env.cloud };
  return {
    config: { environment: 'development' } as Runtime['config'],
    bus: env.bus,
    embedded: undefined,
    maybeDb: (r) => dbs[r],
    db: (r) => dbs[r],
    sidePool: () => undefined,
    close: async () => undefined,
  };
}

const ACTIVE: SchedulerStatus = { active: true, standbyFor: null, paused: false, running: false, lastPassAt: null, lastSuccessAt: null, nextPassAt: null, lastError: null, consecutiveFailures: 0, intervalMs: 300_000 };

beforeAll(async () => {
  env = await createSyncEnv();
  await sql(env.dbs.localUrl, `INSERT INTO agents (name, agent_type, status) SELECT 'poll-' || lpad(g::text, 3, '0'), 'worker', 'idle' FROM generate_series(1, 30) g`);
  await env.engine().runPass({ direction: 'both' });
}, 120_000);

afterAll(async () => {
  await env?.close();
});

describe('the dashboard poller', () => {
  it('while this process is the active syncer: pings every refresh, reads the agents page only when they changed, sync state only when asked', async () => {
    const store = new DashboardStore({ ...initialState({ environment: 'development', embedded: false, readonly: false, refreshMs: 300, columns: 120, rows: 40 }), scheduler: ACTIVE }, 0);
    const poller = new Poller(new LiveSource(runtime()), store);
    try {
      poller.start(300);
      await until(() => store.get().agents.rows.length > 0 && store.get().sync.rows.length > 0);
      await sleep(600);
      const settled = { ...poller.reads };
      await sleep(1500); // about five refreshes with nothing changing
      expect(poller.reads.health - settled.health).toBeGreaterThanOrEqual(3); // a SELECT 1 per database per refresh
      expect(poller.reads.fingerprint - settled.fingerprint).toBeGreaterThanOrEqual(3);
      expect(poller.reads.agents).toBe(settled.agents);
      expect(poller.reads.sync).toBe(settled.sync);
      expect(poller.reads.conflicts).toBe(settled.conflicts);

      // another program changes a visible agent: the next refresh reads the page and shows it
      await sql(env.dbs.localUrl, `UPDATE agents SET status = 'busy', updated_at = now() WHERE name = 'poll-001'`);
      await until(() => store.get().agents.rows.find((r) => r.name === 'poll-001')?.status === 'busy', 5000);
      expect(poller.reads.agents).toBe(settled.agents + 1);

      // an event of this process (a pass that applied rows) asks for the sync state
      const before = poller.reads.sync;
      poller.invalidate(['sync', 'lag']);
      await until(() => poller.reads.sync === before + 1, 5000);
    } finally {
      poller.stop();
    }
  }, 60_000);

  it('while another process may be syncing (standby): reads the sync state every refresh', async () => {
    const store = new DashboardStore({ ...initialState({ environment: 'development', embedded: false, readonly: false, refreshMs: 300, columns: 120, rows: 40 }), scheduler: { ...ACTIVE, active: false, standbyFor: 'host-b:1:x' } }, 0);
    const poller = new Poller(new LiveSource(runtime()), store);
    try {
      poller.start(300);
      await until(() => store.get().sync.rows.length > 0);
      const settled = poller.reads.sync;
      await sleep(1500);
      expect(poller.reads.sync - settled).toBeGreaterThanOrEqual(3);
      expect(poller.reads.conflicts).toBeGreaterThanOrEqual(3);
    } finally {
      poller.stop();
    }
  }, 60_000);
});
