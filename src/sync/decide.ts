import type { Role } from '../config/types.js';
import { compareTs, sameTs } from './timestamps.js';

/** Per-table conflict strategy: last writer wins by updated_at (default), or one side always wins. */
export type Strategy = 'lww' | 'local-wins' | 'cloud-wins';
export const STRATEGIES: readonly Strategy[] = ['lww', 'local-wins', 'cloud-wins'];

/**
 * What is known of one row when a source version of it is about to be copied: the source's
 * version, the target's (if it has the row), and the base: the version both sides last held in
 * common (cesar copied it, or found both sides identical), kept in the local database's
 * sync_base. The base is what tells "not yet seen" from "seen and then deleted", and "changed
 * here" from "changed there": without it nothing is ever deleted.
 */
export interface RowState {
  /** updated_at of the source version. */
  sourceTs: string;
  /** The target's row, or null when the target has no row with this id. */
  target: { ts: string; same: boolean } | null;
  /** updated_at of the base version, or null when none is recorded. */
  baseTs: string | null;
}

/** A conflict found while deciding. */
export interface ConflictInfo {
  winner: Role;
  reason: 'update-update' | 'update-delete' | 'tie';
  strategy: Strategy;
}

/** The decision for one row. */
export type Decision =
  /** Nothing to copy: identical (record the base if it is not this version yet), or the target changed and the source did not, or the target deleted a version the source still holds unchanged (the key scan propagates that delete). */
  | { action: 'skip'; why: 'same' | 'target-changed' | 'deleted-on-target'; recordBase: boolean }
  /** Write the source version to the target: insert (target has no row) or replace the target's version (compare-and-swap on its updated_at). */
  | { action: 'write'; insert: boolean; conflict?: ConflictInfo }
  /** A conflict the target's version won: write the target's version back to the source. */
  | { action: 'keep-target'; conflict: ConflictInfo };

/**
 * Decides what to do with one source row: a three-way merge against the base. Pure: the same
 * inputs give the same answer on every run, machine and direction.
 *
 * - identical on the target: skip (nothing echoes back).
 * - missing on the target: never seen on both sides (no base): copy it. Seen on both sides and
 *   the source still holds that version: the target deleted it (skip; the key scan propagates the
 *   delete). The source changed it since: an update-versus-delete conflict, and the update wins.
 * - on both sides: whichever side still holds the base version did not change; the other side's
 *   version is copied. Both changed (or no base says which): a conflict, decided by the strategy;
 *   under `lww` the later updated_at wins, compared exactly, and a tie goes to the cloud (the
 *   durable copy), a rule both directions compute alike.
 */
export function decide(row: RowState, source: Role, strategy: Strategy): Decision {
  const { target, baseTs } = row;
  if (!target) {
    if (baseTs === null) return { action: 'write', insert: true };
    if (sameTs(row.sourceTs, baseTs)) return { action: 'skip', why: 'deleted-on-target', recordBase: false };
    return { action: 'write', insert: true, conflict: { winner: source, reason: 'update-delete', strategy } };
  }
  if (target.same) return { action: 'skip', why: 'same', recordBase: !sameTs(row.sourceTs, baseTs) };
  const sourceChanged = baseTs === null || !sameTs(row.sourceTs, baseTs);
  const targetChanged = baseTs === null || !sameTs(target.ts, baseTs);
  if (sourceChanged && !targetChanged) return { action: 'write', insert: false };
  if (!sourceChanged && targetChanged) return { action: 'skip', why: 'target-changed', recordBase: false };
  // Both changed since the base, or neither did yet the rows differ (a writer that changed a row
  // without moving updated_at): a conflict, resolved the same way from either direction.
  const cmp = compareTs(row.sourceTs, target.ts);
  const lwwWinner: Role = cmp > 0 ? source : cmp < 0 ? other(source) : 'cloud';
  const winner: Role = strategy === 'local-wins' ? 'local' : strategy === 'cloud-wins' ? 'cloud' : lwwWinner;
  const conflict: ConflictInfo = { winner, reason: cmp === 0 && strategy === 'lww' ? 'tie' : 'update-update', strategy };
  return winner === source ? { action: 'write', insert: false, conflict } : { action: 'keep-target', conflict };
}

/** The other role. */
export function other(role: Role): Role {
  return role === 'local' ? 'cloud' : 'local';
}
