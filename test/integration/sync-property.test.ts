import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyTable } from '../../src/sync/verify.js';
import { sql } from '../helpers/databases.js';
import { createSyncEnv, type SyncEnv } from '../helpers/sync-env.js';

// Property: after any interleaving of writes on both sides and passes between them, once writes
// stop and two passes run, both sides hold the same rows; every logged conflict's winner follows
// the rule; and a row written on one side only always ends as that side left it (no lost update).

type Side = 'local' | 'cloud';
const SLOTS = ['00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000003', '00000000-0000-4000-8000-000000000004', '00000000-0000-4000-8000-000000000005'];

type Command =
  | { kind: 'insert'; side: Side; slot: number; name: string }
  | { kind: 'update'; side: Side; slot: number; name: string }
  | { kind: 'softDelete'; side: Side; slot: number }
  | { kind: 'hardDelete'; side: Side; slot: number }
  | { kind: 'pass' }
  | { kind: 'openAcrossPass'; side: Side; slot: number; name: string }
  | { kind: 'equalTimestamps'; slot: number; localName: string; cloudName: string }
  | { kind: 'clockAhead'; side: Side; slot: number; name: string };

const side = fc.constantFrom<Side>('local', 'cloud');
const slot = fc.integer({ min: 0, max: SLOTS.length - 1 });
const name = fc.constantFrom('a', 'b', 'c', 'd', 'e');
const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('insert' as const), side, slot, name }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('update' as const), side, slot, name }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('softDelete' as const), side, slot }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('hardDelete' as const), side, slot }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('pass' as const) }) },
  // not on the embedded test backend: PGlite serialises transactions, so one held open across a pass blocks the pass
  ...(process.env.CESAR_TEST_BACKEND === 'embedded' ? [] : [{ weight: 1, arbitrary: fc.record({ kind: fc.constant('openAcrossPass' as const), side, slot, name }) }]),
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('equalTimestamps' as const), slot, localName: name, cloudName: name }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('clockAhead' as const), side, slot, name }) },
);

let env: SyncEnv;
let engine: ReturnType<SyncEnv['engine']>;
beforeAll(async () => {
  env = await createSyncEnv();
  engine = env.engine();
}, 120_000);
afterAll(async () => {
  await env?.close();
});

const pass = () => engine.runPass({ direction: 'both', tables: ['agents'], deleteScan: 'always' });
const urlOf = (s: Side) => (s === 'local' ? env.dbs.localUrl : env.dbs.cloudUrl);

async function run(cmd: Command, writers: Map<string, Set<Side>>): Promise<void> {
  const mark = (slotIndex: number, s: Side) => {
    const id = SLOTS[slotIndex]!;
    if (!writers.has(id)) writers.set(id, new Set());
    writers.get(id)!.add(s);
  };
  switch (cmd.kind) {
    case 'insert':
      mark(cmd.slot, cmd.side);
      await sql(urlOf(cmd.side), "INSERT INTO agents (id, name, agent_type) VALUES ($1, $2, 'worker') ON CONFLICT (id) DO NOTHING", [SLOTS[cmd.slot], cmd.name]);
      return;
    case 'update':
      mark(cmd.slot, cmd.side);
      await sql(urlOf(cmd.side), 'UPDATE agents SET name = $2, updated_at = now() WHERE id = $1', [SLOTS[cmd.slot], cmd.name]);
      return;
    case 'softDelete':
      mark(cmd.slot, cmd.side);
      await sql(urlOf(cmd.side), 'UPDATE agents SET deleted_at = now(), updated_at = now() WHERE id = $1', [SLOTS[cmd.slot]]);
      return;
    case 'hardDelete':
      mark(cmd.slot, cmd.side);
      await sql(urlOf(cmd.side), 'DELETE FROM agents WHERE id = $1', [SLOTS[cmd.slot]]);
      return;
    case 'pass':
      await pass();
      return;
    case 'openAcrossPass': {
      mark(cmd.slot, cmd.side);
      const c = new pg.Client({ connectionString: urlOf(cmd.side) });
      await c.connect();
      try {
        await c.query('BEGIN');
        await c.query('UPDATE agents SET name = $2, updated_at = now() WHERE id = $1', [SLOTS[cmd.slot], cmd.name]);
        await pass();
        await c.query('COMMIT');
      } catch (err) {
        await c.query('ROLLBACK').catch(() => undefined);
        // the cloud role is SERIALIZABLE: the pass may have made this writer's commit fail; that is a rejected write, not a lost one
        if ((err as { code?: string }).code !== '40001') throw err;
      } finally {
        await c.end();
      }
      return;
    }
    case 'equalTimestamps': {
      // the same present timestamp, to the microsecond, on both sides (a timestamp in the past is
      // a clock running behind: see the regression test below for what that does)
      mark(cmd.slot, 'local');
      mark(cmd.slot, 'cloud');
      const [{ ts }] = (await sql<{ ts: string }>(env.dbs.localUrl, 'SELECT clock_timestamp()::text AS ts')) as [{ ts: string }];
      await sql(env.dbs.localUrl, 'UPDATE agents SET name = $2, updated_at = $3 WHERE id = $1', [SLOTS[cmd.slot], `${cmd.localName}-l`, ts]);
      await sql(env.dbs.cloudUrl, 'UPDATE agents SET name = $2, updated_at = $3 WHERE id = $1', [SLOTS[cmd.slot], `${cmd.cloudName}-c`, ts]);
      return;
    }
    case 'clockAhead':
      mark(cmd.slot, cmd.side);
      await sql(urlOf(cmd.side), "UPDATE agents SET name = $2, updated_at = now() + interval '1 hour' WHERE id = $1", [SLOTS[cmd.slot], cmd.name]);
      return;
  }
}

async function resetAgents(): Promise<void> {
  await sql(env.dbs.localUrl, 'DELETE FROM agents');
  await sql(env.dbs.cloudUrl, 'DELETE FROM agents');
  for (const t of ['sync_state', 'sync_conflicts', 'sync_errors', 'sync_recent']) await sql(env.dbs.localUrl, `DELETE FROM ${t}`).catch(() => undefined);
}

async function rows(url: string): Promise<Map<string, string>> {
  const r = await sql<{ id: string; doc: string }>(url, 'SELECT id::text AS id, row_to_json(t)::text AS doc FROM agents t ORDER BY id');
  return new Map(r.map((x) => [x.id, x.doc]));
}

describe('sync property: convergence, conflict rule, no lost update', () => {
  it('holds for random interleavings on both sides', async () => {
    const table = (await env.engine().registry()).tables.find((t) => t.name === 'agents')!;
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 14 }), async (commands) => {
        await resetAgents();
        const writers = new Map<string, Set<Side>>();
        const lastOnWriterSide = new Map<string, string | undefined>();
        for (const cmd of commands) await run(cmd, writers);
        // The clock policy: a version stamped in the future wins until real time catches up, even
        // against a later write on the same side stamped by a correct clock. For such rows "no lost
        // update" does not hold by design (regression test below); convergence and the rule do.
        for (const cmd of commands) if (cmd.kind === 'clockAhead') writers.get(SLOTS[cmd.slot]!)?.add(cmd.side === 'local' ? 'cloud' : 'local');
        // what the single writer left, before the final passes
        const before = { local: await rows(env.dbs.localUrl), cloud: await rows(env.dbs.cloudAdminUrl) };
        for (const [id, sides] of writers) if (sides.size === 1) lastOnWriterSide.set(id, before[[...sides][0]!].get(id));
        await pass();
        await pass();
        const d = await verifyTable(env.local, env.cloud, table);
        expect(d, JSON.stringify(commands)).toMatchObject({ missingInCloud: 0, missingInLocal: 0, mismatched: 0 });
        const after = await rows(env.dbs.localUrl);
        for (const [id, doc] of lastOnWriterSide) expect(after.get(id), `no lost update for ${id}: ${JSON.stringify(commands)}`).toBe(doc);
        const conflicts = await sql<{ winner: string; reason: string; lts: string | null; cts: string | null; lv: boolean; cv: boolean }>(
          env.dbs.localUrl,
          `SELECT winner, reason, local_updated_at::text AS lts, cloud_updated_at::text AS cts,
                  local_version IS NOT NULL AS lv, cloud_version IS NOT NULL AS cv FROM sync_conflicts`,
        );
        for (const c of conflicts) {
          if (c.reason === 'update-delete') expect(c.winner === 'local' ? c.lv : c.cv).toBe(true);
          else {
            const [order] = await sql<{ o: number }>(env.dbs.localUrl, 'SELECT CASE WHEN $1::timestamptz > $2::timestamptz THEN 1 WHEN $1::timestamptz < $2::timestamptz THEN -1 ELSE 0 END AS o', [c.lts, c.cts]);
            const expected = order!.o === 1 ? 'local' : 'cloud';
            expect(c.winner, `conflict rule: ${JSON.stringify(c)} in ${JSON.stringify(commands)}`).toBe(expected);
            expect(c.reason).toBe(order!.o === 0 ? 'tie' : 'update-update');
          }
        }
      }),
      { numRuns: Number(process.env.CESAR_PROPERTY_RUNS ?? 25), endOnFailure: false },
    );
  }, 600_000);
});

// Shrunk counterexample (fast-check, first run): both sides rewrite a synced row with the same
// timestamp from the past. A write stamped earlier than the watermark is invisible to updated_at
// polling on both sides: this is the documented limit of the design (README, "Clocks"). It is not
// silent: verify reports the difference, and a full re-sync (DELETE FROM sync_state) converges it
// deterministically (equal timestamps: the cloud wins).
describe('regression: a write stamped in the past', () => {
  it('is reported by verify and converged by a full re-sync', async () => {
    await resetAgents();
    const table = (await engine.registry()).tables.find((t) => t.name === 'agents')!;
    await run({ kind: 'insert', side: 'local', slot: 2, name: 'a' }, new Map());
    await pass();
    await sql(env.dbs.localUrl, "UPDATE agents SET name = 'a-l', updated_at = '2001-02-03 04:05:06.789012+00' WHERE id = $1", [SLOTS[2]]);
    await sql(env.dbs.cloudUrl, "UPDATE agents SET name = 'a-c', updated_at = '2001-02-03 04:05:06.789012+00' WHERE id = $1", [SLOTS[2]]);
    await pass();
    expect((await verifyTable(env.local, env.cloud, table)).mismatched).toBe(1);
    await sql(env.dbs.localUrl, 'DELETE FROM sync_state');
    await pass();
    expect(await verifyTable(env.local, env.cloud, table)).toMatchObject({ missingInCloud: 0, missingInLocal: 0, mismatched: 0 });
    const [row] = await sql<{ name: string }>(env.dbs.localUrl, 'SELECT name FROM agents WHERE id = $1', [SLOTS[2]]);
    expect(row!.name).toBe('a-c');
  });
});

// Shrunk counterexample (fast-check, 400 runs): a row stamped an hour ahead, then rewritten on the
// same side by a correct clock while a pass runs. By the clock policy the future-stamped version
// wins on both sides (and is flagged); the two sides still converge.
describe.skipIf(process.env.CESAR_TEST_BACKEND === 'embedded')('regression: a version stamped in the future', () => {
  it('keeps winning until the clock catches up, is flagged, and the sides converge', async () => {
    await resetAgents();
    const table = (await engine.registry()).tables.find((t) => t.name === 'agents')!;
    const warnings: string[] = [];
    const off = env.bus.on((e) => {
      if (e.type === 'log' && e.level === 'warn') warnings.push(e.message);
    });
    try {
      await run({ kind: 'insert', side: 'local', slot: 1, name: 'a' }, new Map());
      await run({ kind: 'clockAhead', side: 'local', slot: 1, name: 'ahead' }, new Map());
      await run({ kind: 'openAcrossPass', side: 'local', slot: 1, name: 'later' }, new Map());
      await pass();
      await pass();
    } finally {
      off();
    }
    expect(await verifyTable(env.local, env.cloud, table)).toMatchObject({ missingInCloud: 0, missingInLocal: 0, mismatched: 0 });
    const [row] = await sql<{ name: string }>(env.dbs.localUrl, 'SELECT name FROM agents WHERE id = $1', [SLOTS[1]]);
    expect(row!.name).toBe('ahead');
    expect(warnings.some((w) => w.includes('ahead of the local clock'))).toBe(true);
  });
});

// Shrunk counterexample (fast-check, second 400-run hunt): a row created on the cloud, copied
// down, then deleted on the cloud before the next pass read the echo back from local. It used to
// be re-inserted in the cloud (resurrected); the echo ledger now recognises it, and the delete wins.
describe.skipIf(process.env.CESAR_TEST_BACKEND === 'embedded')('regression: a short-lived cloud row', () => {
  it('deleted before its echo is read back is deleted on both sides, not resurrected', async () => {
    await resetAgents();
    await run({ kind: 'insert', side: 'cloud', slot: 4, name: 'a' }, new Map());
    await run({ kind: 'openAcrossPass', side: 'local', slot: 0, name: 'a' }, new Map());
    await run({ kind: 'hardDelete', side: 'cloud', slot: 4 }, new Map());
    await pass();
    await pass();
    for (const url of [env.dbs.localUrl, env.dbs.cloudUrl]) expect(await sql(url, 'SELECT id FROM agents WHERE id = $1', [SLOTS[4]])).toEqual([]);
  });
});
