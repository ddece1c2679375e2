import { describe, expect, it } from 'vitest';
import { checksumOf } from '../../src/migrations/files.js';
import { planMigrations, type FileState, type HistoryRow, type HistoryStatus, type PlanFile } from '../../src/migrations/plan.js';

// Files are named by a letter with the checksum "c<letter>"; an edited file gets checksum "x<letter>".
const file = (name: string, checksum = `c${name}`): PlanFile => ({ name, checksum });
const row = (name: string, status: HistoryStatus = 'applied', previous: string | null = null, checksum = `c${name}`): HistoryRow => ({
  name,
  checksum,
  status,
  startedAt: '2025-01-01 10:00:00+00',
  appliedAt: status === 'applied' ? '2025-01-01 10:00:01+00' : null,
  executionMs: status === 'applied' ? 12 : null,
  appliedBy: 'host:1',
  statementsDone: status === 'applied' ? 3 : 1,
  statementsTotal: 3,
  error: status === 'failed' ? 'statement 2 of 3, line 4: boom' : null,
  previous,
});
/** Rows for files applied in order, each recording its predecessor like the runner does. */
const appliedInOrder = (...names: string[]): HistoryRow[] => names.map((n, i) => row(n, 'applied', i === 0 ? '' : names[i - 1]!));

type Case = {
  title: string;
  files: PlanFile[];
  history: HistoryRow[];
  leaseLive?: boolean;
  states: Record<string, FileState>;
  toApply: string[];
  problems?: Array<[kind: string, name: string]>;
  blockedBy?: string;
};

const cases: Case[] = [
  { title: 'fresh database: everything pending', files: [file('a'), file('b')], history: [], states: { a: 'pending', b: 'pending' }, toApply: ['a', 'b'] },
  { title: 'all applied: nothing to do', files: [file('a'), file('b')], history: appliedInOrder('a', 'b'), states: { a: 'applied', b: 'applied' }, toApply: [] },
  { title: 'a new file at the end is pending', files: [file('a'), file('b'), file('c')], history: appliedInOrder('a', 'b'), states: { a: 'applied', b: 'applied', c: 'pending' }, toApply: ['c'] },
  {
    title: 'an applied file that was edited is modified and refuses',
    files: [file('a'), file('b', 'xb')],
    history: appliedInOrder('a', 'b'),
    states: { a: 'applied', b: 'modified' },
    toApply: [],
    problems: [['modified', 'b']],
  },
  {
    title: 'a recorded file missing from the folder refuses',
    files: [file('a')],
    history: appliedInOrder('a', 'b'),
    states: { a: 'applied', b: 'missing' },
    toApply: [],
    problems: [['missing', 'b']],
  },
  {
    title: 'a new file sorting between two applied ones is out of order',
    files: [file('a'), file('ab'), file('b')],
    history: appliedInOrder('a', 'b'),
    states: { a: 'applied', ab: 'pending', b: 'applied' },
    toApply: ['ab'],
    problems: [['out-of-order', 'ab']],
  },
  {
    title: 'a new file sorting before the first applied one is out of order',
    files: [file('0'), file('a'), file('b')],
    history: appliedInOrder('a', 'b'),
    states: { 0: 'pending', a: 'applied', b: 'applied' },
    toApply: ['0'],
    problems: [['out-of-order', '0']],
  },
  {
    title: 'a row deleted by the operator re-applies that file, not out of order',
    files: [file('a'), file('b'), file('c')],
    history: appliedInOrder('a', 'b', 'c').filter((r) => r.name !== 'b'),
    states: { a: 'applied', b: 'pending', c: 'applied' },
    toApply: ['b'],
  },
  {
    title: 'two consecutive rows deleted: both re-applied',
    files: [file('a'), file('b'), file('c'), file('d')],
    history: appliedInOrder('a', 'b', 'c', 'd').filter((r) => r.name !== 'b' && r.name !== 'c'),
    states: { a: 'applied', b: 'pending', c: 'pending', d: 'applied' },
    toApply: ['b', 'c'],
  },
  {
    title: 'a deleted row and a new file in the same gap: only the new file is out of order',
    files: [file('a'), file('b'), file('bb'), file('c')],
    history: appliedInOrder('a', 'b', 'c').filter((r) => r.name !== 'b'),
    states: { a: 'applied', b: 'pending', bb: 'pending', c: 'applied' },
    toApply: ['b', 'bb'],
    problems: [['out-of-order', 'bb']],
  },
  {
    title: 'rows of unknown predecessor (old runner) never flag out of order',
    files: [file('a'), file('ab'), file('b')],
    history: [row('a'), row('b')],
    states: { a: 'applied', ab: 'pending', b: 'applied' },
    toApply: ['ab'],
  },
  {
    title: 'an applied row without a checksum (old runner) is trusted',
    files: [file('a'), file('b')],
    history: [row('a', 'applied', null, ''), row('b', 'applied', null, '')],
    states: { a: 'applied', b: 'applied' },
    toApply: [],
  },
  {
    title: 'a failed migration is re-run first and blocks the later ones',
    files: [file('a'), file('b'), file('c'), file('d')],
    history: [...appliedInOrder('a'), row('b', 'failed', 'a')],
    states: { a: 'applied', b: 'failed', c: 'pending', d: 'pending' },
    toApply: ['b', 'c', 'd'],
    blockedBy: 'b',
  },
  {
    title: 'a failed migration whose file changed is still failed (the edit is the fix)',
    files: [file('a'), file('b', 'xb')],
    history: [...appliedInOrder('a'), row('b', 'failed', 'a')],
    states: { a: 'applied', b: 'failed' },
    toApply: ['b'],
    blockedBy: 'b',
  },
  {
    title: 'a new file before a failed (not applied) one is not out of order',
    files: [file('a'), file('ab'), file('b')],
    history: [...appliedInOrder('a'), row('b', 'failed', 'a')],
    states: { a: 'applied', ab: 'pending', b: 'failed' },
    toApply: ['ab', 'b'],
    blockedBy: 'b',
  },
  {
    title: 'running with a live lease: another runner is at it',
    files: [file('a'), file('b')],
    history: [row('a', 'running', '')],
    leaseLive: true,
    states: { a: 'running', b: 'pending' },
    toApply: ['b'],
  },
  {
    title: 'running without a live lease: interrupted, re-run like a failed one',
    files: [file('a'), file('b')],
    history: [row('a', 'running', '')],
    states: { a: 'failed', b: 'pending' },
    toApply: ['a', 'b'],
    blockedBy: 'a',
  },
  {
    title: 'several problems are all reported',
    files: [file('a', 'xa'), file('ab'), file('b')],
    history: [...appliedInOrder('a', 'b', 'c')],
    states: { a: 'modified', ab: 'pending', b: 'applied', c: 'missing' },
    toApply: ['ab'],
    problems: [
      ['modified', 'a'],
      ['out-of-order', 'ab'],
      ['missing', 'c'],
    ],
  },
];

describe('planMigrations', () => {
  it.each(cases)('$title', (c) => {
    const plan = planMigrations(c.files, c.history, { leaseLive: c.leaseLive ?? false });
    expect(Object.fromEntries(plan.entries.map((e) => [e.name, e.state]))).toEqual(c.states);
    expect(plan.entries.map((e) => e.name)).toEqual(Object.keys(c.states).sort());
    expect(plan.toApply).toEqual(c.toApply);
    expect(plan.problems.map((p) => [p.kind, p.name])).toEqual(c.problems ?? []);
    expect(plan.blockedBy).toBe(c.blockedBy);
    const total = Object.values(plan.counts).reduce((a, b) => a + b, 0);
    expect(total).toBe(plan.entries.length);
  });

  it('names both checksums and the way out in a modified-file problem', () => {
    const plan = planMigrations([file('002_x', 'new')], [row('002_x', 'applied', '', 'old')], { leaseLive: false });
    const msg = plan.problems[0]!.message;
    expect(msg).toContain('002_x.sql');
    expect(msg).toContain('old');
    expect(msg).toContain('new');
    expect(msg).toContain("DELETE FROM schema_migrations WHERE migration_name = '002_x'");
  });

  it('names the applied file an out-of-order file sorts before, and where to move it', () => {
    const plan = planMigrations([file('001'), file('001b'), file('002')], appliedInOrder('001', '002'), { leaseLive: false });
    expect(plan.problems[0]!.message).toMatch(/001b\.sql is pending but sorts before 002.*sorts after 002/);
  });

  it('marks pending files after a failed one as blocked by it', () => {
    const plan = planMigrations([file('a'), file('b'), file('c')], [row('a', 'failed', '')], { leaseLive: false });
    expect(plan.entries.map((e) => e.blockedBy)).toEqual([undefined, 'a', 'a']);
  });
});

describe('checksumOf', () => {
  it.each([
    ['CRLF and LF give the same checksum', 'SELECT 1;\r\nSELECT 2;\r\n', 'SELECT 1;\nSELECT 2;\n', true],
    ['a changed character changes it', 'SELECT 1;\n', 'SELECT 2;\n', false],
    ['a trailing newline counts', 'SELECT 1;', 'SELECT 1;\n', false],
  ])('%s', (_t, a, b, same) => {
    expect(checksumOf(a) === checksumOf(b)).toBe(same);
    expect(checksumOf(a)).toMatch(/^[0-9a-f]{64}$/);
  });
});
