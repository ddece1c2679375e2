import type pg from 'pg';
import type { Role } from '../config/types.js';
import type { Queryable } from '../db/pool.js';
import { decide, type Classified, type ConflictInfo, type Decision, type Strategy } from './decide.js';
import type { SyncTable } from './registry.js';
import { classifySql, jsonArray, upsertSql, type Guard } from './sql.js';
import type { Direction } from './state.js';
import { compareTs, microsToTs, tsToMicros } from './timestamps.js';

/** One row read from the source. */
export interface SourceRow {
  id: string;
  ts: string;
  doc: string;
}

/** A conflict to log, with both versions as JSON text (null for a side where the row is gone). */
export interface ConflictRecord extends ConflictInfo {
  table: string;
  rowId: string;
  localDoc: string | null;
  cloudDoc: string | null;
}

/** One row's classification and decision. */
export interface Planned {
  row: SourceRow;
  classified: Classified;
  decision: Decision;
  /** The target's version, when the row is a conflict candidate. */
  targetDoc: string | null;
  /** Already written by the classifying statement (a row the target did not have). */
  inserted: boolean;
}

/** What one batch did (or, in a dry run, would do). */
export interface BatchOutcome {
  inserted: string[];
  updated: string[];
  skipped: number;
  conflicts: ConflictRecord[];
  /** Target versions that won a conflict, to be written back to the source (`ts`: their updated_at). */
  writeBacks: Array<{ id: string; ts: string; doc: string; guard: Guard }>;
}

interface ClassifyRow {
  id: string;
  missing: boolean;
  inserted: boolean;
  same: boolean;
  cmp: number | null;
  target_changed: boolean;
  existed_before: boolean;
  target_ts: string | null;
  target_doc: string | null;
}

/** The role each side of a direction plays. */
export function rolesOf(direction: Direction): { source: Role; target: Role } {
  return direction === 'up' ? { source: 'local', target: 'cloud' } : { source: 'cloud', target: 'local' };
}

/** The guard for writing to a role: ties go to the cloud, so a write to local may replace an equal timestamp. */
export function guardFor(target: Role): Guard {
  return target === 'local' ? 'newer-or-tie' : 'newer';
}

/**
 * Classifies a page against the target (exact comparisons in SQL) and decides each row (pure).
 * With `insertMissing` (a real pass, inside the target's transaction) the classifying statement
 * also inserts the rows the target lacks, except versions this direction already copied.
 */
export async function planBatch(
  client: Queryable,
  table: SyncTable,
  direction: Direction,
  rows: SourceRow[],
  marks: { sourceHigh: string | null; targetHigh: string | null },
  strategy: Strategy,
  /** Versions this direction already processed (id -> updated_at): a re-read, not a change. */
  seen: Map<string, string>,
  insertMissing = false,
  /** Target versions the reverse direction knows (id -> updated_at): the target did not change since. */
  known: Map<string, string> = new Map(),
): Promise<Planned[]> {
  const { source } = rolesOf(direction);
  const isNew = (row: SourceRow) => !(seen.has(row.id) && compareTs(seen.get(row.id)!, row.ts) === 0);
  const params: unknown[] = [jsonArray(rows.map((r) => r.doc)), marks.sourceHigh, marks.targetHigh];
  if (insertMissing) params.push(rows.filter((r) => !isNew(r)).map((r) => r.id));
  const res = await client.query<ClassifyRow>(classifySql(table, insertMissing), params);
  const byId = new Map(res.rows.map((r) => [r.id, r]));
  return rows.map((row) => {
    const c = byId.get(row.id);
    if (!c) throw new Error(`classification lost row ${row.id} of ${table.name}`);
    const classified: Classified = {
      id: row.id,
      missing: c.missing,
      same: c.same,
      cmp: c.cmp === null ? null : (Math.sign(Number(c.cmp)) as 1 | 0 | -1),
      // exact: a version is new unless this direction already processed that very version
      sourceNew: isNew(row),
      // a target version the reverse direction knows (cesar wrote it, or read it) is not a change
      // on the target, whatever the high marks say (passes in one direction only never move them)
      targetChanged: c.target_changed && !(c.target_ts !== null && known.has(row.id) && compareTs(known.get(row.id)!, c.target_ts) === 0),
      sourceExistedBefore: c.existed_before,
    };
    const decision = decide(classified, source, strategy);
    // an inserted row was missing and new: decide() writes it (never a skip or keep-target)
    if (c.inserted && decision.action !== 'write') throw new Error(`row ${row.id} of ${table.name} was inserted but decided ${decision.action}`);
    return { row, classified, decision, targetDoc: c.target_doc, inserted: c.inserted };
  });
}

/** Turns a plan into an outcome, and writes it to the target through `client` (none in a dry run). */
export async function executePlan(client: pg.PoolClient | null, table: SyncTable, direction: Direction, plan: Planned[]): Promise<BatchOutcome> {
  const { source, target } = rolesOf(direction);
  const out: BatchOutcome = { inserted: [], updated: [], skipped: 0, conflicts: [], writeBacks: [] };
  const guarded: string[] = [];
  const forced: string[] = [];
  for (const { row, classified, decision, targetDoc, inserted } of plan) {
    if (decision.action === 'skip') {
      out.skipped++;
      continue;
    }
    if (decision.conflict) {
      const otherDoc = decision.conflict.reason === 'update-delete' ? null : targetDoc;
      out.conflicts.push({
        ...decision.conflict,
        table: table.name,
        rowId: row.id,
        localDoc: source === 'local' ? row.doc : otherDoc,
        cloudDoc: source === 'cloud' ? row.doc : otherDoc,
      });
    }
    if (decision.action === 'keep-target') {
      out.skipped++;
      if (targetDoc) {
        const ts = microsToTs(tsToMicros(String((JSON.parse(targetDoc) as { updated_at: string }).updated_at)));
        out.writeBacks.push({ id: row.id, ts, doc: targetDoc, guard: decision.force ? 'force' : guardFor(source) });
      }
      continue;
    }
    if (!inserted) (decision.force ? forced : guarded).push(row.doc);
    (classified.missing ? out.inserted : out.updated).push(row.id);
  }
  if (client) {
    if (guarded.length) await client.query(upsertSql(table, guardFor(target)), [jsonArray(guarded)]);
    if (forced.length) await client.query(upsertSql(table, 'force'), [jsonArray(forced)]);
  }
  return out;
}

/** Writes target winners back to the source (in the source's transaction). */
export async function writeBack(client: pg.PoolClient, table: SyncTable, writeBacks: BatchOutcome['writeBacks']): Promise<void> {
  for (const guard of ['newer', 'newer-or-tie', 'force'] as const) {
    const docs = writeBacks.filter((w) => w.guard === guard).map((w) => w.doc);
    if (docs.length) await client.query(upsertSql(table, guard), [jsonArray(docs)]);
  }
}

/** Logs conflicts with both versions in the local database (in the caller's transaction). */
export async function logConflicts(client: pg.PoolClient, conflicts: ConflictRecord[], passId: string): Promise<void> {
  if (conflicts.length === 0) return;
  const items = conflicts.map(
    (c) =>
      `{"table_name":${JSON.stringify(c.table)},"row_id":${JSON.stringify(c.rowId)},"local_version":${c.localDoc ?? 'null'},` +
      `"cloud_version":${c.cloudDoc ?? 'null'},"winner":${JSON.stringify(c.winner)},"strategy":${JSON.stringify(c.strategy)},` +
      `"reason":${JSON.stringify(c.reason)},"pass_id":${JSON.stringify(passId)}}`,
  );
  await client.query(
    `INSERT INTO sync_conflicts (table_name, row_id, local_version, cloud_version, local_updated_at, cloud_updated_at, winner, strategy, reason, pass_id)
     SELECT table_name, row_id, local_version, cloud_version,
            (local_version->>'updated_at')::timestamptz, (cloud_version->>'updated_at')::timestamptz,
            winner, strategy, reason, pass_id
       FROM jsonb_populate_recordset(NULL::sync_conflicts, $1::jsonb)`,
    [`[${items.join(',')}]`],
  );
}
