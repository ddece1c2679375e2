import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decide, type Decision, type RowState, type Strategy } from '../../src/sync/decide.js';
import { compareTs, microsToTs, TS_INFINITY, TS_MINUS_INFINITY, tsToMicros } from '../../src/sync/timestamps.js';

const T1 = '2026-01-01 10:00:00.000001+00';
const T2 = '2026-01-01 10:00:00.000002+00';
const T3 = '2026-01-01 10:00:00.000003+00';

type Row = [what: string, state: RowState, source: 'local' | 'cloud', strategy: Strategy, expected: Decision];

// (the microsecond figures were computed by PostgreSQL: extract(epoch from ...) * 1000000)
// decide() is the three-way merge of one row: the source's version, the target's, and the base
// (what both last held). Each line is one case, with the reason in words.
const CASES: Row[] = [
  ['new row, no base: copy', { sourceTs: T1, target: null, baseTs: null }, 'local', 'lww', { action: 'write', insert: true }],
  ['gone from the target, source unchanged since the base: deleted there, skip (the key scan deletes here)', { sourceTs: T1, target: null, baseTs: T1 }, 'local', 'lww', { action: 'skip', why: 'deleted-on-target', recordBase: false }],
  ['gone from the target, source changed since: the update wins over the delete', { sourceTs: T2, target: null, baseTs: T1 }, 'cloud', 'lww', { action: 'write', insert: true, conflict: { winner: 'cloud', reason: 'update-delete', strategy: 'lww' } }],
  ['identical, base already this version: nothing', { sourceTs: T1, target: { ts: T1, same: true }, baseTs: T1 }, 'local', 'lww', { action: 'skip', why: 'same', recordBase: false }],
  ['identical, no base yet (a full re-sync): record the base', { sourceTs: T1, target: { ts: T1, same: true }, baseTs: null }, 'local', 'lww', { action: 'skip', why: 'same', recordBase: true }],
  ['only the source changed: copy, even when its stamp is older (a clock behind)', { sourceTs: T1, target: { ts: T2, same: false }, baseTs: T2 }, 'local', 'lww', { action: 'write', insert: false }],
  ['only the target changed: leave it (the reverse direction copies it)', { sourceTs: T1, target: { ts: T2, same: false }, baseTs: T1 }, 'local', 'lww', { action: 'skip', why: 'target-changed', recordBase: false }],
  ['both changed, source later: the source wins', { sourceTs: T3, target: { ts: T2, same: false }, baseTs: T1 }, 'local', 'lww', { action: 'write', insert: false, conflict: { winner: 'local', reason: 'update-update', strategy: 'lww' } }],
  ['both changed, target later: the target wins, written back', { sourceTs: T2, target: { ts: T3, same: false }, baseTs: T1 }, 'local', 'lww', { action: 'keep-target', conflict: { winner: 'cloud', reason: 'update-update', strategy: 'lww' } }],
  ['both changed, a tie, source local: the cloud wins', { sourceTs: T2, target: { ts: T2, same: false }, baseTs: T1 }, 'local', 'lww', { action: 'keep-target', conflict: { winner: 'cloud', reason: 'tie', strategy: 'lww' } }],
  ['both changed, a tie, source cloud: the cloud wins', { sourceTs: T2, target: { ts: T2, same: false }, baseTs: T1 }, 'cloud', 'lww', { action: 'write', insert: false, conflict: { winner: 'cloud', reason: 'tie', strategy: 'lww' } }],
  ['no base and different (a full re-sync): a conflict', { sourceTs: T2, target: { ts: T1, same: false }, baseTs: null }, 'cloud', 'lww', { action: 'write', insert: false, conflict: { winner: 'cloud', reason: 'update-update', strategy: 'lww' } }],
  ['both at the base stamp yet different (a writer that did not move updated_at): a tie conflict', { sourceTs: T1, target: { ts: T1, same: false }, baseTs: T1 }, 'local', 'lww', { action: 'keep-target', conflict: { winner: 'cloud', reason: 'tie', strategy: 'lww' } }],
  ['local-wins keeps the older local version', { sourceTs: T2, target: { ts: T3, same: false }, baseTs: T1 }, 'local', 'local-wins', { action: 'write', insert: false, conflict: { winner: 'local', reason: 'update-update', strategy: 'local-wins' } }],
  ['cloud-wins keeps the older cloud version', { sourceTs: T3, target: { ts: T2, same: false }, baseTs: T1 }, 'local', 'cloud-wins', { action: 'keep-target', conflict: { winner: 'cloud', reason: 'update-update', strategy: 'cloud-wins' } }],
  ['infinity is later than anything', { sourceTs: 'infinity', target: { ts: T3, same: false }, baseTs: T1 }, 'local', 'lww', { action: 'write', insert: false, conflict: { winner: 'local', reason: 'update-update', strategy: 'lww' } }],
];

describe('decide: the three-way merge of one row', () => {
  it.each(CASES)('%s', (_, state, source, strategy, expected) => {
    expect(decide(state, source, strategy)).toEqual(expected);
  });

  it('both directions agree on every conflict: the same winner from either side', () => {
    const ts = fc.constantFrom(T1, T2, T3);
    fc.assert(
      fc.property(ts, ts, fc.option(ts), fc.constantFrom<Strategy>('lww', 'local-wins', 'cloud-wins'), (l, c, base, strategy) => {
        const up = decide({ sourceTs: l, target: { ts: c, same: false }, baseTs: base }, 'local', strategy);
        const down = decide({ sourceTs: c, target: { ts: l, same: false }, baseTs: base }, 'cloud', strategy);
        const winner = (d: Decision, source: 'local' | 'cloud') => (d.action === 'write' ? source : d.action === 'keep-target' ? (source === 'local' ? 'cloud' : 'local') : null);
        // a side that did not change is never written over by the other's unchanged version, and a conflict's winner is the same both ways
        const w1 = winner(up, 'local');
        const w2 = winner(down, 'cloud');
        if (w1 && w2) expect(w1).toBe(w2);
      }),
    );
  });
});

describe('timestamps: exact, for every value PostgreSQL stores', () => {
  it.each([
    ['1970-01-01 00:00:00+00', 0n],
    ['1970-01-01 00:00:00.000001+00', 1n],
    ['1969-12-31 23:59:59.999999+00', -1n],
    ['2026-12-04 17:02:47.123456+00', 1_796_403_767_123_456n],
    ['2026-12-04 17:02:47.123456+00:00', 1_796_403_767_123_456n],
    ['0001-01-01 00:00:00+00', -62_135_596_800_000_000n],
    ['0001-12-31 00:00:00+00 BC', -62_135_683_200_000_000n],
    ['0044-03-15 10:00:00.5+00 BC', -63_517_787_999_500_000n],
    ['200000-01-01 00:00:00+00', 6_249_223_180_800_000_000n],
    ['infinity', TS_INFINITY],
    ['-infinity', TS_MINUS_INFINITY],
  ])('%s is %d microseconds, and prints back the same', (text, micros) => {
    expect(tsToMicros(text)).toBe(micros);
    expect(tsToMicros(microsToTs(micros))).toBe(micros);
  });

  it('round-trips any microsecond from 4713 BC to 294276 AD, and orders like the numbers', () => {
    const min = tsToMicros('4713-01-01 00:00:00+00 BC');
    const max = tsToMicros('294276-12-31 23:59:59.999999+00');
    fc.assert(
      fc.property(fc.bigInt({ min, max }), fc.bigInt({ min, max }), (a, b) => {
        expect(tsToMicros(microsToTs(a))).toBe(a);
        expect(Math.sign(compareTs(microsToTs(a), microsToTs(b)))).toBe(a < b ? -1 : a > b ? 1 : 0);
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses a form it does not know instead of guessing (the session must be pinned)', () => {
    expect(() => tsToMicros('04/12/2026 17:02:47 UTC')).toThrow(/unexpected timestamp form/);
  });
});
