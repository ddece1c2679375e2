import { compareTs } from '../../src/sync/timestamps.js';

/**
 * A reference model of what bi-directional sync must do to one row, used by the model-based
 * property tests. It knows nothing of passes, watermarks or crashes: only the versions the test
 * wrote, each with the version it was written on top of (its parent, observed on that side just
 * before the write), and the conflicts the engine logged (the loser then precedes the winner).
 *
 * The rule it predicts: once writes stop and passes run, every side holds the merge of the
 * versions nothing supersedes: a version written on top of another supersedes it (whatever the
 * timestamps: an update on one side is never lost to a version it replaced); of two concurrent
 * versions the later updated_at wins, exactly, a tie going to the version the cloud holds; an
 * update wins over a concurrent delete; deletes alone leave no row.
 */
export interface Version {
  n: number;
  slot: number;
  kind: 'row' | 'del';
  /** The name the test wrote (unique per version); rows only. */
  token: string | null;
  /** updated_at as the database stored it; rows only. */
  ts: string | null;
  side: 'local' | 'cloud';
  parents: Set<number>;
}

export class VersionModel {
  readonly versions: Version[] = [];
  private readonly byToken = new Map<string, Version>();

  /** Records a version written by the test. */
  add(v: Omit<Version, 'n' | 'parents'> & { parent: Version | null }): Version {
    const version: Version = { n: this.versions.length, slot: v.slot, kind: v.kind, token: v.token, ts: v.ts, side: v.side, parents: new Set(v.parent ? [v.parent.n] : []) };
    this.versions.push(version);
    if (version.token) this.byToken.set(version.token, version);
    return version;
  }

  /** The version with this name, or an error naming what nobody wrote. */
  byName(token: string): Version {
    const v = this.byToken.get(token);
    if (!v) throw new Error(`a row holds name ${JSON.stringify(token)}, which no write of the test produced`);
    return v;
  }

  /** True when `a` precedes `b` (or is `b`). */
  precedes(a: Version, b: Version): boolean {
    if (a.n === b.n) return true;
    const seen = new Set<number>();
    const stack = [...b.parents];
    while (stack.length) {
      const n = stack.pop()!;
      if (n === a.n) return true;
      if (seen.has(n)) continue;
      seen.add(n);
      stack.push(...this.versions[n]!.parents);
    }
    return false;
  }

  /** Records that `loser` precedes `winner` (a logged conflict); refuses an edge that would make a version precede its own ancestor. */
  supersede(loser: Version, winner: Version): void {
    if (loser.n === winner.n) return;
    if (this.precedes(winner, loser)) {
      throw new Error(`a logged conflict let version ${describe(winner)} win over ${describe(loser)}, which was written on top of it: an update lost to the version it replaced`);
    }
    winner.parents.add(loser.n);
  }

  /** The versions of a slot that nothing supersedes. */
  heads(slot: number): Version[] {
    const all = this.versions.filter((v) => v.slot === slot);
    return all.filter((v) => !all.some((w) => w.n !== v.n && this.precedes(v, w)));
  }

  /** Two versions neither of which precedes the other. */
  concurrent(a: Version, b: Version): boolean {
    return !this.precedes(a, b) && !this.precedes(b, a);
  }

  /**
   * What both sides must hold for a slot once they converge: the row version (or null for no row).
   * `inCloud` is the version the cloud holds before the final passes (it wins a tie).
   */
  predict(slot: number, inCloud: Version | null): Version | null | 'ambiguous' {
    const heads = this.heads(slot).filter((v) => v.kind === 'row');
    if (heads.length === 0) return null;
    let best = heads[0]!;
    for (const v of heads.slice(1)) {
      const c = compareTs(v.ts!, best.ts!);
      if (c > 0) best = v;
      else if (c === 0) {
        if (inCloud?.n === v.n) best = v;
        else if (inCloud?.n !== best.n) return 'ambiguous';
      }
    }
    return best;
  }

  /** The version a side holds after a row vanished from it: a delete written on top of what it held, if any. */
  deleteAfter(held: Version): Version | null {
    const dels = this.versions.filter((v) => v.slot === held.slot && v.kind === 'del' && this.precedes(held, v));
    return dels.find((d) => !dels.some((e) => e.n !== d.n && this.precedes(d, e))) ?? null;
  }
}

export function describe(v: Version): string {
  return v.kind === 'del' ? `#${v.n} (delete on ${v.side})` : `#${v.n} ${v.token} @${v.ts} (${v.side})`;
}
