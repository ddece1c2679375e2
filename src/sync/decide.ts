import type { Role } from '../config/types.js';

/** Per-table conflict strategy: last writer wins by updated_at (default), or one side always wins. */
export type Strategy = 'lww' | 'local-wins' | 'cloud-wins';
export const STRATEGIES: readonly Strategy[] = ['lww', 'local-wins', 'cloud-wins'];

/** What the target holds for one incoming source row, as classified in SQL. */
export interface Classified {
  id: string;
  /** The target has no row with this id. */
  missing: boolean;
  /** The target row is identical to the source row (all columns). */
  same: boolean;
  /** Source updated_at compared with target updated_at, exactly: 1, 0, -1 (null when missing). */
  cmp: 1 | 0 | -1 | null;
  /** This version of the source row was not processed by this direction before (not a re-read). */
  sourceNew: boolean;
  /** The target row changed since the other direction last read that side. */
  targetChanged: boolean;
  /** The source row existed before the last pass of this direction (created_at not after its high mark). */
  sourceExistedBefore: boolean;
}

/** The decision for one row. */
export type Decision =
  | { action: 'skip'; why: 'same' | 'target-newer' | 'deleted-on-target' }
  | { action: 'write'; force: boolean; conflict?: ConflictInfo }
  | { action: 'keep-target'; force: boolean; conflict: ConflictInfo };

/** A conflict found while deciding. */
export interface ConflictInfo {
  winner: Role;
  reason: 'update-update' | 'update-delete' | 'tie';
  strategy: Strategy;
}

/**
 * Decides what to do with one source row. Pure: the same inputs give the same answer on every
 * run and machine.
 *
 * - identical on the target: skip (nothing echoes back).
 * - missing on the target: a version processed before was deleted there (skip; the key scan
 *   propagates the delete); a new version is written, and when the row existed before the last
 *   pass the target must have deleted it since: an update-versus-delete conflict the update wins.
 * - changed on both sides since the last pass (a conflict): the strategy decides; under `lww` the
 *   later updated_at wins and a tie goes to the cloud (the durable copy), a rule both directions
 *   compute alike.
 * - otherwise last-writer-wins by updated_at, ties to the cloud.
 */
export function decide(row: Classified, source: Role, strategy: Strategy): Decision {
  if (row.same) return { action: 'skip', why: 'same' };
  if (row.missing) {
    // a version already copied and now gone: the target deleted it (the key scan propagates that)
    if (!row.sourceNew) return { action: 'skip', why: 'deleted-on-target' };
    return row.sourceExistedBefore
      ? { action: 'write', force: false, conflict: { winner: source, reason: 'update-delete', strategy } }
      : { action: 'write', force: false };
  }
  const lwwWinner: Role = row.cmp === 1 ? source : row.cmp === -1 ? other(source) : 'cloud';
  const conflict = row.sourceNew && row.targetChanged;
  if (!conflict) {
    return lwwWinner === source ? { action: 'write', force: false } : { action: 'skip', why: 'target-newer' };
  }
  const winner: Role = strategy === 'local-wins' ? 'local' : strategy === 'cloud-wins' ? 'cloud' : lwwWinner;
  const info: ConflictInfo = { winner, reason: row.cmp === 0 && strategy === 'lww' ? 'tie' : 'update-update', strategy };
  if (winner === source) return { action: 'write', force: winner !== lwwWinner, conflict: info };
  // the target won: the source gets the target's version (forced when the strategy overrode last-writer-wins)
  return { action: 'keep-target', force: winner !== lwwWinner, conflict: info };
}

/** The other role. */
export function other(role: Role): Role {
  return role === 'local' ? 'cloud' : 'local';
}
