import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setCrashHook, SimulatedCrash, type CrashPoint } from '../../src/sync/crash.js';
import type { SyncEngine } from '../../src/sync/engine.js';
import { compareTs, sameTs } from '../../src/sync/timestamps.js';
import { verifyTable } from '../../src/sync/verify.js';
import { createSyncEnv, type SyncEnv } from '../helpers/sync-env.js';
import { describe as show, VersionModel, type Version } from '../helpers/version-model.js';

// Model-based property test of the sync engine (issue 12). Commands are writes on either side
// (insert, update, soft delete, hard delete, re-insert of a deleted id, writes stamped in the past
// and in the future, the same timestamp on both sides, a transaction held open across a pass and
// committed late), and passes in each direction with and without the key scan, some of them
// killed at a crash point between two commits (the n-th time the pass reaches it). A reference
// model (test/helpers/version-model.ts) records each version written and the one it was written
// on top of. After a quiet period and final passes, for every row: both sides hold the same
// bytes, and the version the model predicts (no loss: an update is never lost to the version it
// replaced; no resurrection: a delete written on top of everything leaves no row; concurrent
// versions resolved by the rule); every logged conflict was a real one (two concurrent versions)
// resolved by the rule; a last pass finds nothing to do; the base matches what both sides hold.
//
// Runs: CESAR_PROPERTY_RUNS (default 60 in CI), seed: CESAR_PROPERTY_SEED.

type Side = 'local' | 'cloud';
const SIDES: Side[] = ['local', 'cloud'];
const SLOTS = Array.from({ length: 3 }, (_, i) => `00000000-0000-4000-8000-00000000000${i + 1}`);
const CRASH_POINTS: CrashPoint[] = ['batch:target-committed', 'batch:source-committed', 'batch:bookkeeping-committed', 'scan:delete-committed', 'recovery:committed'];
const embedded = process.env.CESAR_TEST_BACKEND === 'embedded';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Real {
  env: SyncEnv;
  engine: SyncEngine;
  clients: Record<Side, pg.Client>;
  model: VersionModel;
  /** What each side is known to hold per slot (a row version, a delete, or null: never had it). */
  holds: Record<Side, Array<Version | null>>;
  conflicts: Set<string>;
  counter: number;
}

let env: SyncEnv;
const clients = {} as Record<Side, pg.Client>;
/** Superuser sessions for resets and reading the conflict log (one connection each, kept: a case runs hundreds of statements). */
const admin = {} as Record<Side, pg.Client>;

beforeAll(async () => {
  env = await createSyncEnv();
  for (const side of SIDES) {
    clients[side] = new pg.Client({ connectionString: side === 'local' ? env.dbs.localUrl : env.dbs.cloudUrl });
    await clients[side].connect();
    admin[side] = new pg.Client({ connectionString: side === 'local' ? env.dbs.localUrl : env.dbs.cloudAdminUrl });
    await admin[side].connect();
  }
}, 120_000);
afterAll(async () => {
  for (const side of SIDES) await clients[side]?.end().catch(() => undefined);
  for (const side of SIDES) await admin[side]?.end().catch(() => undefined);
  await env?.close();
});

const urlOf = (side: Side) => (side === 'local' ? env.dbs.localUrl : env.dbs.cloudUrl);

/** What a side holds for a slot now, as a version of the model; a row that vanished must have been deleted by a delete written on top of it. */
async function observe(r: Real, side: Side, slot: number): Promise<Version | null> {
  const { rows } = await r.clients[side].query<{ name: string }>('SELECT name FROM agents WHERE id = $1', [SLOTS[slot]]);
  if (rows[0]) {
    const v = r.model.byName(rows[0].name);
    r.holds[side][slot] = v;
    return v;
  }
  const held = r.holds[side][slot]!;
  if (held?.kind === 'row') {
    const del = r.model.deleteAfter(held);
    if (!del) throw new Error(`lost: version ${show(held)} vanished from ${side} and no delete was written on top of it`);
    r.holds[side][slot] = del;
    return del;
  }
  return held ?? null;
}

type WriteOp = 'insert' | 'update' | 'soft' | 'hard' | 'past' | 'future';

class Write implements fc.AsyncCommand<object, Real> {
  constructor(
    readonly side: Side,
    readonly slot: number,
    readonly op: WriteOp,
    readonly offsetMs: number,
  ) {}
  check = () => true;
  async run(_: object, r: Real): Promise<void> {
    const parent = await observe(r, this.side, this.slot);
    const present = parent?.kind === 'row';
    const id = SLOTS[this.slot];
    const c = r.clients[this.side];
    if (this.op === 'hard') {
      if (!present) return;
      await c.query('DELETE FROM agents WHERE id = $1', [id]);
      r.holds[this.side][this.slot] = r.model.add({ slot: this.slot, kind: 'del', token: null, ts: null, side: this.side, parent });
      return;
    }
    if ((this.op === 'insert') === present) return; // insert only when absent, changes only when present
    const token = `t${++r.counter}`;
    const micros = `${this.offsetMs}::FLOAT8 * INTERVAL '1 millisecond'`;
    const stamp = this.op === 'past' ? `now() - INTERVAL '1 second' - ${micros}` : this.op === 'future' ? `now() + INTERVAL '1 hour' + ${micros}` : 'now()';
    const text =
      this.op === 'insert'
        ? "INSERT INTO agents (id, name, agent_type) VALUES ($1, $2, 'worker') RETURNING updated_at::text AS ts"
        : `UPDATE agents SET name = $2, updated_at = ${stamp}${this.op === 'soft' ? ', deleted_at = now()' : ''} WHERE id = $1 RETURNING updated_at::text AS ts`;
    const { rows } = await c.query<{ ts: string }>(text, [id, token]);
    r.holds[this.side][this.slot] = r.model.add({ slot: this.slot, kind: 'row', token, ts: rows[0]!.ts, side: this.side, parent });
  }
  toString = () => `write(${this.side}, ${this.slot}, ${this.op}${this.op === 'past' || this.op === 'future' ? ` +${this.offsetMs}ms` : ''})`;
}

/** The same timestamp, to the microsecond, written on both sides (concurrent versions: the cloud's wins). */
class Tie implements fc.AsyncCommand<object, Real> {
  constructor(readonly slot: number) {}
  check = () => true;
  async run(_: object, r: Real): Promise<void> {
    const parents = { local: await observe(r, 'local', this.slot), cloud: await observe(r, 'cloud', this.slot) };
    if (parents.local?.kind !== 'row' || parents.cloud?.kind !== 'row') return;
    const { rows } = await r.clients.local.query<{ ts: string }>('SELECT clock_timestamp()::text AS ts');
    for (const side of SIDES) {
      const token = `t${++r.counter}`;
      await r.clients[side].query('UPDATE agents SET name = $2, updated_at = $3 WHERE id = $1', [SLOTS[this.slot], token, rows[0]!.ts]);
      r.holds[side][this.slot] = r.model.add({ slot: this.slot, kind: 'row', token, ts: rows[0]!.ts, side, parent: parents[side] });
    }
  }
  toString = () => `tie(${this.slot})`;
}

/**
 * A transaction that inserts a row, stays open across a pass (longer than the overlap window),
 * and commits late: its row is stamped before what the pass read.
 */
class LongTransaction implements fc.AsyncCommand<object, Real> {
  constructor(
    readonly side: Side,
    readonly slot: number,
  ) {}
  check = () => true;
  async run(_: object, r: Real): Promise<void> {
    const parent = await observe(r, this.side, this.slot);
    const c = new pg.Client({ connectionString: urlOf(this.side) });
    await c.connect();
    try {
      const token = `t${++r.counter}`;
      let ts: string | null = null;
      await c.query('BEGIN');
      if (parent?.kind !== 'row') {
        const { rows } = await c.query<{ ts: string }>("INSERT INTO agents (id, name, agent_type) VALUES ($1, $2, 'worker') RETURNING updated_at::text AS ts", [SLOTS[this.slot], token]);
        ts = rows[0]!.ts;
      }
      await sleep(300); // older than the overlap (200 ms) by the time the pass reads
      await r.engine.runPass({ direction: this.side === 'local' ? 'up' : 'down', tables: ['agents'], deleteScan: 'never' });
      try {
        await c.query('COMMIT');
      } catch (err) {
        // the cloud is SERIALIZABLE: a late commit may be refused; that is a write that did not happen
        if ((err as { code?: string }).code === '40001') return;
        throw err;
      }
      if (ts) r.holds[this.side][this.slot] = r.model.add({ slot: this.slot, kind: 'row', token, ts, side: this.side, parent });
    } finally {
      await c.end().catch(() => undefined);
    }
    await recordConflicts(r);
  }
  toString = () => `longTransaction(${this.side}, ${this.slot})`;
}

class Pass implements fc.AsyncCommand<object, Real> {
  constructor(
    readonly direction: 'both' | 'up' | 'down',
    readonly scan: boolean,
    readonly crash: { point: CrashPoint; nth: number } | null,
  ) {}
  check = () => true;
  async run(_: object, r: Real): Promise<void> {
    let seen = 0;
    if (this.crash) {
      const { point, nth } = this.crash;
      setCrashHook((p) => {
        if (p === point && ++seen === nth) throw new SimulatedCrash(p);
      });
    }
    try {
      await r.engine.runPass({ direction: this.direction, tables: ['agents'], deleteScan: this.scan ? 'always' : 'never' });
    } catch (err) {
      if (!(err instanceof SimulatedCrash)) throw err;
      r.engine = r.env.engine(); // the process died: a new one starts with nothing in memory
    } finally {
      setCrashHook(null);
    }
    await recordConflicts(r);
  }
  toString = () => `pass(${this.direction}${this.scan ? ', scan' : ''}${this.crash ? `, crash at ${this.crash.point} #${this.crash.nth}` : ''})`;
}

/** Reads the conflicts logged since the last look: each must be between concurrent versions and follow the rule; the loser then precedes the winner. */
async function recordConflicts(r: Real): Promise<void> {
  const { rows } = await admin.local.query<{ id: string; row_id: string; winner: Side; reason: string; strategy: string; ln: string | null; cn: string | null; lts: string | null; cts: string | null }>(
    `SELECT id::text AS id, row_id::text AS row_id, winner, reason, strategy, local_version->>'name' AS ln, cloud_version->>'name' AS cn,
            local_updated_at::text AS lts, cloud_updated_at::text AS cts
       FROM sync_conflicts ORDER BY detected_at, id`,
  ).catch(() => ({ rows: [] }));
  for (const c of rows) {
    if (r.conflicts.has(c.id)) continue;
    r.conflicts.add(c.id);
    const what = JSON.stringify(c);
    expect(c.strategy, what).toBe('lww');
    const slot = SLOTS.indexOf(c.row_id);
    const winner = r.model.byName((c.winner === 'local' ? c.ln : c.cn)!);
    if (c.reason === 'update-delete') {
      expect(c.winner === 'local' ? c.cn : c.ln, what).toBeNull();
      const deletes = r.model.heads(slot).filter((v) => v.kind === 'del' && r.model.concurrent(v, winner));
      expect(deletes.length, `update-delete conflict without a concurrent delete (spurious): ${what}`).toBeGreaterThan(0);
      for (const d of deletes) r.model.supersede(d, winner);
      continue;
    }
    const loser = r.model.byName((c.winner === 'local' ? c.cn : c.ln)!);
    expect(r.model.concurrent(loser, winner), `a conflict between ${show(loser)} and ${show(winner)}, one written on top of the other (spurious): ${what}`).toBe(true);
    const order = compareTs(c.lts!, c.cts!);
    expect(c.reason, what).toBe(order === 0 ? 'tie' : 'update-update');
    expect(c.winner, `the rule: later updated_at wins, a tie goes to the cloud: ${what}`).toBe(order > 0 ? 'local' : 'cloud');
    r.model.supersede(loser, winner);
  }
}

async function reset(): Promise<void> {
  await admin.local.query('TRUNCATE agents CASCADE');
  await admin.cloud.query('TRUNCATE agents CASCADE');
  // the bookkeeping exists once the first pass ran
  await admin.local.query("SELECT 1 FROM information_schema.tables WHERE table_name = 'sync_base'").then(async ({ rows }) => {
    if (rows.length) await admin.local.query('TRUNCATE sync_state, sync_conflicts, sync_errors, sync_base, sync_acks');
  });
  await admin.cloud.query("SELECT 1 FROM information_schema.tables WHERE table_name = 'cesar_changes'").then(async ({ rows }) => {
    if (rows.length) await admin.cloud.query('TRUNCATE cesar_changes');
  });
}

const side = fc.constantFrom<Side>('local', 'cloud');
const slot = fc.integer({ min: 0, max: SLOTS.length - 1 });
const offset = fc.integer({ min: 0, max: 3_600_000 });
const commands = fc.commands(
  [
    fc.tuple(side, slot, fc.constantFrom<WriteOp>('insert', 'insert', 'update', 'update', 'soft', 'hard', 'hard', 'past', 'future'), offset).map(([a, b, c, d]) => new Write(a, b, c, d)),
    slot.map((s) => new Tie(s)),
    ...(embedded ? [] : [fc.tuple(side, slot).map(([a, b]) => new LongTransaction(a, b))]),
    fc
      .tuple(
        fc.constantFrom<'both' | 'up' | 'down'>('both', 'both', 'up', 'down'),
        fc.boolean(),
        fc.option(fc.record({ point: fc.constantFrom(...CRASH_POINTS, 'batch:target-committed', 'batch:target-committed'), nth: fc.integer({ min: 1, max: 2 }) }), { freq: 1 }),
      )
      .map(([d, s, c]) => new Pass(d, s, c)),
  ],
  { maxCommands: 24 },
);

describe('sync model: no loss, no resurrection, the winner rule, across crashes at every commit boundary', () => {
  it('holds for random writes, passes and crashes on both sides', async () => {
    await fc.assert(
      fc.asyncProperty(commands, async (cmds) => {
        if (process.env.DEBUG_MODEL) console.log('CASE', [...cmds].map(String).join(' '));
        await reset();
        const r: Real = { env, engine: env.engine(), clients, model: new VersionModel(), holds: { local: SLOTS.map(() => null), cloud: SLOTS.map(() => null) }, conflicts: new Set(), counter: 0 };
        await fc.asyncModelRun(() => ({ model: {}, real: r }), cmds);
        // quiet: every write is older than the overlap window; then a new process runs full passes
        await sleep(250);
        const inCloud: Array<Version | null> = [];
        for (let s = 0; s < SLOTS.length; s++) inCloud.push(await observe(r, 'cloud', s));
        for (let s = 0; s < SLOTS.length; s++) await observe(r, 'local', s);
        r.engine = env.engine();
        let last = null;
        for (let i = 0; i < 4; i++) {
          last = await r.engine.runPass({ direction: 'both', tables: ['agents'], deleteScan: 'always' });
          expect(last.ok, JSON.stringify(last.tables)).toBe(true);
          await recordConflicts(r);
        }
        // quiescent: the last pass found nothing to do
        expect({ applied: last!.totals.applied, deleted: last!.totals.deleted, conflicts: last!.totals.conflicts }).toEqual({ applied: 0, deleted: 0, conflicts: 0 });
        // both sides hold the same bytes, and what the model predicts
        const table = (await r.engine.registry()).tables.find((t) => t.name === 'agents')!;
        expect(await verifyTable(env.local, env.cloud, table)).toMatchObject({ missingInCloud: 0, missingInLocal: 0, mismatched: 0 });
        const base = new Map((await admin.local.query<{ id: string; ts: string }>("SELECT row_id::text AS id, row_ts::text AS ts FROM sync_base WHERE table_name = 'agents'")).rows.map((b) => [b.id, b.ts]));
        for (let s = 0; s < SLOTS.length; s++) {
          const local = await observe(r, 'local', s);
          const cloud = await observe(r, 'cloud', s);
          const held = (v: Version | null) => (v?.kind === 'row' ? v : null);
          expect(held(local)?.n, `slot ${s}: both sides hold the same version`).toBe(held(cloud)?.n);
          const expected = r.model.predict(s, held(inCloud[s] ?? null));
          if (expected !== 'ambiguous') {
            expect(held(local) ? show(held(local)!) : 'no row', `slot ${s}: the version the model predicts`).toBe(expected ? show(expected) : 'no row');
          }
          // the base is the version both sides hold, and nothing for a row neither side has
          const row = held(local);
          if (row) expect(sameTs(base.get(SLOTS[s]!), row.ts), `slot ${s}: base ${base.get(SLOTS[s]!)} vs ${row.ts}`).toBe(true);
          else expect(base.has(SLOTS[s]!), `slot ${s}: a base for a row neither side has`).toBe(false);
        }
      }),
      {
        numRuns: Number(process.env.CESAR_PROPERTY_RUNS ?? 60),
        // the cases of the issue, always run first: a crash between the cloud's commit and the local
        // bookkeeping, then a delete of that row (it must not come back), on each side
        examples: [
          [[new Write('local', 0, 'insert', 0), new Pass('both', false, { point: 'batch:target-committed', nth: 1 }), new Write('local', 0, 'hard', 0), new Pass('both', true, null)]],
          [[new Write('cloud', 1, 'insert', 0), new Pass('down', false, { point: 'batch:target-committed', nth: 1 }), new Write('cloud', 1, 'hard', 0), new Pass('both', true, null)]],
          [[new Write('local', 2, 'insert', 0), new Pass('up', false, null), new Write('cloud', 2, 'update', 0), new Pass('down', false, { point: 'batch:target-committed', nth: 1 }), new Write('cloud', 2, 'hard', 0), new Pass('both', true, null)]],
          // a conflict the target wins: its version written back to the source must record the base
          // with it (a delete made on top of it afterwards must win), from each side, across a crash
          [[new Write('local', 0, 'insert', 0), new Pass('both', false, null), new Write('local', 0, 'update', 0), new Write('cloud', 0, 'update', 0), new Pass('up', false, null), new Write('local', 0, 'hard', 0), new Pass('both', true, null)]],
          [[new Write('cloud', 1, 'insert', 0), new Pass('both', false, null), new Write('cloud', 1, 'update', 0), new Write('local', 1, 'update', 0), new Pass('down', false, { point: 'batch:source-committed', nth: 1 }), new Write('cloud', 1, 'hard', 0), new Pass('both', true, null)]],
          // an update stamped in the past on one side is a change like any other: it reaches the other side
          [[new Write('local', 2, 'insert', 0), new Pass('both', false, null), new Write('cloud', 2, 'past', 5000), new Pass('both', true, null)]],
        ] as unknown as Array<[Iterable<fc.AsyncCommand<object, Real>>]>,
        ...(process.env.CESAR_PROPERTY_SEED ? { seed: Number(process.env.CESAR_PROPERTY_SEED) } : {}),
        endOnFailure: true,
      },
    );
  }, 1_800_000);
});
