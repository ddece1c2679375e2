import { redactError } from '../config/redact.js';
import type { Db } from '../db/pool.js';
import type { EventBus } from '../events/bus.js';

/** How busy the demo is. */
export interface DemoOptions {
  /** Milliseconds between steps (each step makes one or two writes). */
  stepMs: number;
  /** Every this many steps, the same agent is edited on both sides: a conflict for the next pass. */
  conflictEvery: number;
  /** Agents seeded into an empty local database. */
  seedAgents: number;
}

export const DEFAULT_DEMO: DemoOptions = { stepMs: 1000, conflictEvery: 20, seedAgents: 40 };

const TYPES = ['orchestrator', 'worker', 'researcher', 'critic', 'planner', 'tool'];
const STATUSES = ['idle', 'active', 'busy', 'paused', 'error', 'offline'];
const KINDS = ['episodic', 'semantic', 'procedural', 'working', 'reflection'];

/**
 * A small workload on both databases so that a newcomer sees passes, conflicts and agents change
 * with no set-up: seeds agents into an empty local database, then updates statuses and adds
 * memories on both sides, and now and then edits one agent on both sides at once. Single
 * statements only (the embedded server serialises transactions across connections). It is only
 * started on the embedded demo databases, or when asked for with --demo.
 */
export function startDemoWorkload(local: Db, cloud: Db, bus: EventBus, options: Partial<DemoOptions> = {}): { close(): Promise<void> } {
  const opts = { ...DEFAULT_DEMO, ...options };
  let step = 0;
  let stopped = false;
  let current: Promise<void> = Promise.resolve();
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)]!;

  const randomAgent = async (db: Db): Promise<string | undefined> => {
    const { rows } = await db.query<{ id: string }>('SELECT id::text AS id FROM agents WHERE deleted_at IS NULL ORDER BY random() LIMIT 1');
    return rows[0]?.id;
  };
  const setStatus = (db: Db, id: string, status: string) =>
    db.query("UPDATE agents SET status = $2, last_heartbeat_at = now(), updated_at = now() WHERE id = $1::uuid", [id, status]);

  const seed = async (): Promise<void> => {
    const { rows } = await local.query<{ n: number }>('SELECT count(*) AS n FROM agents');
    if (Number(rows[0]!.n) > 0) return;
    await local.query(
      `INSERT INTO agents (name, agent_type, status, description, capabilities)
       SELECT ($1::text[])[1 + (g % 6)] || '-' || lpad(g::text, 2, '0'), ($1::text[])[1 + (g % 6)], ($2::text[])[1 + (g % 4)],
              'demo agent ' || g, jsonb_build_object('skills', jsonb_build_array('plan', 'search'), 'tier', g % 3)
         FROM generate_series(1, $3::int) g`,
      [TYPES, STATUSES, opts.seedAgents],
    );
    bus.emit({ type: 'log', level: 'info', message: `demo: seeded ${opts.seedAgents} agents in the local database` });
  };

  const tick = async (): Promise<void> => {
    step++;
    const id = await randomAgent(local);
    if (id) await setStatus(local, id, pick(STATUSES));
    if (step % 3 === 0) {
      const cloudId = await randomAgent(cloud);
      if (cloudId) await setStatus(cloud, cloudId, pick(STATUSES));
    }
    if (step % 5 === 0 && id) {
      await local.query("INSERT INTO memories (agent_id, memory_kind, content, importance) VALUES ($1::uuid, $2, $3, $4)", [id, pick(KINDS), `observation ${step}`, Math.round(Math.random() * 100) / 100]);
    }
    if (step % opts.conflictEvery === 0) {
      // the same agent edited on both sides before the next pass: a conflict, resolved by last-writer-wins
      const both = await randomAgent(cloud);
      if (both) {
        await setStatus(local, both, 'busy');
        await setStatus(cloud, both, 'paused');
      }
    }
  };

  const loop = async (): Promise<void> => {
    try {
      await seed();
    } catch (err) {
      bus.emit({ type: 'log', level: 'warn', message: `demo: cannot seed (${redactError(err)}); is the schema migrated?` });
    }
    while (!stopped) {
      await new Promise((r) => setTimeout(r, opts.stepMs));
      if (stopped) break;
      current = tick().catch((err: unknown) => {
        bus.emit({ type: 'log', level: 'warn', message: `demo: ${redactError(err)}` });
      });
      await current;
    }
  };
  const running = loop();
  return {
    async close() {
      stopped = true;
      await current;
      await running;
    },
  };
}
