import type { LeaseHolder } from '../db/lease.js';
import type { Inspection } from './inspect.js';
import type { FileState, Plan, PlanEntry, Problem } from './plan.js';
import type { RunResult } from './runner.js';
import type { SqlStatement } from './split.js';

// Pure rendering of what the runner found and did: text for operators, plain objects for --json.

/** Aligned columns; the last column is not padded. */
function columns(rows: string[][], indent = '  '): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => indent + row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]! + 2))).join('').trimEnd()).join('\n');
}

/** "11 applied, 0 pending" with every non-zero state (applied and pending always shown). */
export function countsLine(counts: Record<FileState, number>): string {
  const parts = (Object.entries(counts) as Array<[FileState, number]>).filter(([s, n]) => n > 0 || s === 'applied' || s === 'pending');
  return parts.map(([s, n]) => `${n} ${s}`).join(', ');
}

function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '';
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** The DETAIL column of a status line. */
export function detail(e: PlanEntry): string {
  const r = e.row;
  switch (e.state) {
    case 'applied':
      return [r!.statementsTotal ? `${r!.statementsTotal} statements` : '', duration(r!.executionMs), r!.appliedBy ?? '', r!.checksum === '' ? 'checksum not recorded yet' : ''].filter(Boolean).join(', ');
    case 'pending':
      return [e.outOfOrder ? 'OUT OF ORDER: sorts before an applied migration' : '', e.blockedBy ? `blocked by ${e.blockedBy}` : ''].filter(Boolean).join('; ');
    case 'modified':
      return `file changed since applied: recorded ${r!.checksum.slice(0, 12)}, file ${e.fileChecksum!.slice(0, 12)}`;
    case 'failed':
      return e.interrupted
        ? `interrupted after ${r!.statementsDone} of ${r!.statementsTotal} statements (${r!.appliedBy ?? 'runner'} died); re-run from statement 1`
        : (r!.error ?? `failed after ${r!.statementsDone} of ${r!.statementsTotal} statements`);
    case 'running':
      return `statement ${r!.statementsDone + 1} of ${r!.statementsTotal}, by ${r!.appliedBy ?? '?'} since ${r!.startedAt ?? '?'}`;
    case 'missing':
      return 'recorded in schema_migrations, no such file in the folder';
  }
}

/** The status table of one database. */
export function renderStatus(ins: Inspection): string {
  const rows = [['MIGRATION', 'STATE', 'APPLIED AT', 'DETAIL']];
  for (const e of ins.plan.entries) rows.push([e.name, e.state, e.row?.appliedAt ?? '-', detail(e)]);
  const lines = [columns(rows), `  ${countsLine(ins.plan.counts)}`];
  if (!ins.historyTable) lines.push('  (schema_migrations does not exist yet: nothing was applied by cesar on this database)');
  if (ins.holder && !ins.holder.expired) lines.push(`  ${holderLine(ins.holder)}`);
  return lines.join('\n');
}

/** "the migration lease is held by X since T" */
export function holderLine(h: LeaseHolder): string {
  return `the migration lease is held by ${h.owner} since ${h.acquiredAt} (expires ${h.expiresAt})`;
}

/** Problems as an indented list. */
export function renderProblems(problems: readonly Problem[]): string {
  return problems.map((p) => `  - ${p.message}`).join('\n');
}

/** The plan and SQL of a dry-run on one database. */
export function renderDryRun(plan: Plan, statements: Map<string, SqlStatement[]>, historyTable: boolean): string {
  if (plan.toApply.length === 0) return `  nothing to apply: ${countsLine(plan.counts)}.`;
  const out: string[] = [];
  for (const name of plan.toApply) {
    const entry = plan.entries.find((e) => e.name === name)!;
    const stmts = statements.get(name) ?? [];
    const verb = entry.state === 'failed' ? `would re-run (${entry.interrupted ? 'interrupted' : 'failed'}) from statement 1` : 'would apply';
    out.push(`  ${verb} ${name} (${stmts.length} statements)`);
    for (const s of stmts) {
      out.push(`    -- ${name}: statement ${s.index + 1} of ${stmts.length}, line ${s.line}`);
      out.push(...`${s.text};`.split('\n').map((l) => `    ${l}`));
    }
  }
  out.push(`  ${plan.toApply.length} to apply; ${countsLine(plan.counts)}.${historyTable ? '' : ' schema_migrations would be created.'}`);
  return out.join('\n');
}

/** The summary of a run on one database (the per-migration lines were printed as they happened). */
export function renderRun(result: RunResult, target: string): string {
  if (result.outcome === 'refused') return `  refused, nothing was run:\n${renderProblems(result.problems)}`;
  const lines: string[] = [];
  if (result.skipped.length > 0) lines.push(`  already applied by another runner: ${result.skipped.join(', ')}`);
  const f = result.failed;
  if (f) {
    lines.push(`  ${f.name} FAILED: ${f.error}`);
    lines.push(`  schema_migrations records it as failed after ${f.statement - 1} of ${f.of} statements.`);
    if (result.blocked.length > 0) lines.push(`  not applied, blocked by ${f.name}: ${result.blocked.join(', ')}`);
    lines.push(`  Fix ${f.name}.sql (or the database) and run cesar migrate again: it re-runs ${f.name} from its first statement.`);
    lines.push(`  If you fixed the database by hand instead, mark it applied: cesar migrate --target ${target} --repair ${f.name}`);
    return lines.join('\n');
  }
  const total = result.plan.entries.filter((e) => e.state !== 'missing').length;
  lines.push(result.applied.length === 0 ? `  up to date: ${total} of ${total} applied, nothing to do.` : `  ${result.applied.length} applied by this run; ${total} of ${total} are applied.`);
  return lines.join('\n');
}

/** One file's state for --json. */
export function entryJson(e: PlanEntry): Record<string, unknown> {
  const r = e.row;
  return {
    name: e.name,
    state: e.state,
    checksum: e.fileChecksum ?? null,
    recordedChecksum: r ? r.checksum || null : null,
    appliedAt: r?.appliedAt ?? null,
    startedAt: r?.startedAt ?? null,
    executionMs: r?.executionMs ?? null,
    appliedBy: r?.appliedBy ?? null,
    statementsDone: r?.statementsDone ?? null,
    statementsTotal: r?.statementsTotal ?? null,
    error: r?.error ?? null,
    ...(e.interrupted ? { interrupted: true } : {}),
    ...(e.outOfOrder ? { outOfOrder: true } : {}),
    ...(e.blockedBy ? { blockedBy: e.blockedBy } : {}),
  };
}

/** A dry-run's plan for --json. */
export function dryRunJson(plan: Plan, statements: Map<string, SqlStatement[]>): Array<Record<string, unknown>> {
  return plan.toApply.map((name) => ({
    name,
    action: plan.entries.find((e) => e.name === name)?.state === 'failed' ? 'rerun' : 'apply',
    statements: (statements.get(name) ?? []).map((s) => ({ index: s.index + 1, line: s.line, sql: s.text })),
  }));
}
