import path from 'node:path';
import { formatDuration, parseDuration } from '../config/duration.js';
import { redactError } from '../config/redact.js';
import { ROLES, type Role } from '../config/types.js';
import type { LeaseHolder } from '../db/lease.js';
import type { Db } from '../db/pool.js';
import { CesarError, EXIT, usageError } from '../errors.js';
import { defaultMigrationsDir, readMigrationFiles, type MigrationFile } from '../migrations/files.js';
import { inspectDatabase, planDryRun } from '../migrations/inspect.js';
import { lintDirectory } from '../migrations/lint.js';
import * as report from '../migrations/report.js';
import { repairMigration, runMigrations, type LeaseSettings } from '../migrations/runner.js';
import { notConfiguredReason, type Runtime } from '../runtime.js';
import { LOG_FILE_FLAG } from './logging.js';
import { printJson } from './output.js';
import type { Command, CommandContext } from './types.js';

const DEFAULT_LEASE_TTL = '60s';
const TARGETS = ['local', 'cloud', 'both'];
const DONE = { 'dry-run': 'Every check passed; nothing was written.', status: 'No problems found.', repair: 'Repaired.', apply: 'Done.' } as const;

/** `cesar migrate`: replaces apply_migrations_cockroach.sh. */
export const migrateCommand: Command = {
  name: 'migrate',
  summary: 'Apply the SQL migrations to both databases, with checks, a lease, status, dry-run, lint and repair',
  usage: 'migrate [--target local|cloud|both] [--dry-run | --status | --lint | --repair NAME] [--json] [--dir PATH] [--wait DURATION] [--log-file PATH]',
  flags: {
    // validated here rather than by meow's `choices`, whose error would not exit 2
    target: { type: 'string', default: 'both', description: 'Which database to migrate: local, cloud, or both (local first, then cloud)' },
    dryRun: { type: 'boolean', description: 'Run every check and print the plan and the SQL per target; write nothing anywhere' },
    status: { type: 'boolean', description: 'Show every file per target: applied, pending, modified, failed, running or missing' },
    lint: { type: 'boolean', description: 'Check the files for SQL outside the PostgreSQL/CockroachDB subset (connects to no database)' },
    repair: { type: 'string', description: 'Mark the failed migration NAME applied with the current file checksum, after fixing the database by hand' },
    json: { type: 'boolean', description: 'Print one JSON document instead of text' },
    dir: { type: 'string', description: "Migrations folder (default: the package's migrations/)" },
    wait: { type: 'string', default: '60s', description: "How long to wait for another runner's migration lease (e.g. 0s, 30s, 5m)" },
    logFile: LOG_FILE_FLAG,
  },
  logged: true,
  exitCodes: '0 done (or nothing to do, no problem found), 1 a check refused the run, a migration failed, a database was unreachable, the lease stayed held, or lint found something',
  run: migrate,
};

/** One database's outcome, as every mode reports it. */
interface TargetOutcome {
  target: Role;
  label: string;
  ok: boolean;
  error?: string;
  [key: string]: unknown;
}

async function migrate(ctx: CommandContext): Promise<number> {
  const f = ctx.flags;
  const modes = [f.dryRun && '--dry-run', f.status && '--status', f.lint && '--lint', f.repair !== undefined && '--repair'].filter(Boolean);
  if (modes.length > 1) throw usageError('MIGRATE_MODES', `${modes.join(' and ')} cannot be combined: give at most one of --dry-run, --status, --lint, --repair.`);
  if (!TARGETS.includes(String(f.target))) throw usageError('MIGRATE_TARGET', `--target: "${String(f.target)}" is not allowed; use one of ${TARGETS.join(', ')}.`);
  const dir = typeof f.dir === 'string' ? path.resolve(f.dir) : defaultMigrationsDir();
  if (f.lint) return lint(ctx, dir);

  const waitMs = parseDuration(String(f.wait ?? '60s'), '--wait', { maxMs: 86_400_000 });
  const ttlMs = parseDuration(process.env.CESAR_MIGRATE_LEASE_TTL?.trim() || DEFAULT_LEASE_TTL, 'CESAR_MIGRATE_LEASE_TTL', { minMs: 300, maxMs: 3_600_000 });
  const repairName = typeof f.repair === 'string' ? f.repair.replace(/\.sql$/i, '') : undefined;
  if (f.repair !== undefined && !repairName) throw usageError('MIGRATE_REPAIR', '--repair needs the name of a failed migration, e.g. --repair 005_phase_d_attention_coordination.');
  const files = await readMigrationFiles(dir);
  const repairFile = repairName === undefined ? undefined : files.find((x) => x.name === repairName);
  if (repairName !== undefined && !repairFile) throw usageError('MIGRATE_REPAIR', `--repair ${repairName}: there is no ${repairName}.sql in ${dir}.`);

  const rt = await ctx.runtime();
  const targets: Role[] = f.target === 'local' || f.target === 'cloud' ? [f.target] : [...ROLES];
  if (targets.length === 1) rt.db(targets[0]!); // a usage error (exit 2) naming the variable when not configured

  // Text goes out as it happens; with --json only the final document is printed.
  const out: Out = (s) => {
    if (!f.json) ctx.stdout.write(s);
  };
  const where = rt.config.embedded ? ', embedded demo databases' : '';
  const mode = f.dryRun ? 'dry-run' : f.status ? 'status' : repairName ? 'repair' : 'apply';
  const title = mode === 'dry-run' ? 'dry run: nothing will be written' : mode === 'repair' ? `repair ${repairName}` : mode;
  out(`cesar migrate (${title}): ${files.length} files in ${dir}${where}\n`);

  const lease = (target: Role): LeaseSettings => ({
    ttlMs,
    waitMs,
    signal: ctx.signal,
    onWait: (h: LeaseHolder) => {
      ctx.stderr.write(`cesar: ${target}: waiting for the migration lease held by ${h.owner} since ${h.acquiredAt} (up to ${formatDuration(waitMs)})\n`);
    },
  });
  const outcomes: TargetOutcome[] = [];
  for (const target of targets) {
    const db = rt.maybeDb(target);
    out(`\n${target}${db ? ` (${db.label})` : ''}\n`);
    if (!db) {
      const error = notConfiguredReason(target);
      out(`  ${error}\n`);
      outcomes.push({ target, label: '-', ok: false, error });
      continue;
    }
    try {
      let outcome: TargetOutcome;
      if (f.status) outcome = await status(db, files, out);
      else if (f.dryRun) outcome = await dryRun(db, files, out);
      else if (repairFile) outcome = await repair(db, repairFile, lease(target), rt, out);
      else outcome = await apply(db, files, lease(target), rt, out);
      outcomes.push(outcome);
    } catch (err) {
      // interrupted (Ctrl-C): stop here, the next target is not started
      if (err instanceof CesarError && (err.exitCode === EXIT.usage || err.code === 'INTERRUPTED')) throw err;
      const error = err instanceof CesarError ? err.message : redactError(err);
      out(`\n  ${error}\n`);
      outcomes.push({ target, label: db.label, ok: false, error });
    }
  }
  const ok = outcomes.every((o) => o.ok);
  if (f.json) printJson(ctx.stdout, { mode, dir, embedded: rt.config.embedded, ok, targets: outcomes });
  else out(ok ? `\n${DONE[mode]}\n` : '\nNot every target succeeded (see above).\n');
  return ok ? EXIT.ok : EXIT.failure;
}

type Out = (s: string) => void;

async function status(db: Db, files: readonly MigrationFile[], out: Out): Promise<TargetOutcome> {
  const ins = await inspectDatabase(db, files);
  out(`${report.renderStatus(ins)}\n`);
  if (ins.plan.problems.length > 0) out(`  problems that refuse a run:\n${report.renderProblems(ins.plan.problems)}\n`);
  const failed = ins.plan.entries.some((e) => e.state === 'failed');
  return {
    target: db.role,
    label: db.label,
    ok: ins.plan.problems.length === 0 && !failed,
    historyTable: ins.historyTable,
    lease: ins.holder,
    counts: ins.plan.counts,
    problems: ins.plan.problems,
    migrations: ins.plan.entries.map(report.entryJson),
  };
}

async function dryRun(db: Db, files: readonly MigrationFile[], out: Out): Promise<TargetOutcome> {
  const { inspection: ins, statements, problems } = await planDryRun(db, files);
  if (problems.length > 0) out(`  refused, a real run would not start:\n${report.renderProblems(problems)}\n`);
  else out(`${report.renderDryRun(ins.plan, statements, ins.historyTable)}\n`);
  if (ins.holder && !ins.holder.expired) out(`  note: ${report.holderLine(ins.holder)}: a real run would wait for it.\n`);
  return {
    target: db.role,
    label: db.label,
    ok: problems.length === 0,
    historyTable: ins.historyTable,
    counts: ins.plan.counts,
    problems,
    migrations: ins.plan.entries.map(report.entryJson),
    plan: problems.length === 0 ? report.dryRunJson(ins.plan, statements) : [],
  };
}

async function apply(db: Db, files: readonly MigrationFile[], lease: LeaseSettings, rt: Runtime, out: Out): Promise<TargetOutcome> {
  const width = Math.max(0, ...files.map((x) => x.name.length));
  // Each migration's line is written as it starts and completed when it ends: an operator sees what is running.
  const off = rt.bus.on((e) => {
    if (e.type === 'migration.started' && e.target === db.role) out(`  ${e.name.padEnd(width)}  `);
    if (e.type === 'migration.applied' && e.target === db.role) out(`applied  ${String(e.statements).padStart(3)} statements  ${msText(e.ms)}\n`);
    if (e.type === 'migration.failed' && e.target === db.role) out(`FAILED at statement ${e.statement}\n`);
  });
  try {
    const result = await runMigrations(db, { files, ...lease, bus: rt.bus });
    out(`${report.renderRun(result, db.role)}\n`);
    const base = { target: db.role, label: db.label, outcome: result.outcome, migrations: result.plan.entries.map(report.entryJson) };
    if (result.outcome === 'refused') return { ...base, ok: false, problems: result.problems, applied: [], blocked: [] };
    return {
      ...base,
      ok: !result.failed,
      problems: [],
      applied: result.applied.map((a) => ({ ...a, ms: Math.round(a.ms) })),
      failed: result.failed ?? null,
      blocked: result.blocked,
      skipped: result.skipped,
    };
  } finally {
    off();
  }
}

function msText(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

async function repair(db: Db, file: MigrationFile, lease: LeaseSettings, rt: Runtime, out: Out): Promise<TargetOutcome> {
  const r = await repairMigration(db, file, { ...lease, bus: rt.bus });
  if (r.repaired) out(`  ${file.name} marked applied with checksum ${file.checksum}. Run cesar migrate to apply the migrations after it.\n`);
  else out(`  refused: ${r.message}\n`);
  return { target: db.role, label: db.label, ok: r.repaired, repaired: r.repaired, name: file.name, ...(r.repaired ? {} : { status: r.status, error: r.message }) };
}

async function lint(ctx: CommandContext, dir: string): Promise<number> {
  const findings = await lintDirectory(dir);
  if (ctx.flags.json) {
    printJson(ctx.stdout, { dir, ok: findings.length === 0, findings });
  } else {
    for (const x of findings) ctx.stdout.write(`${x.file}:${x.line}: ${x.rule}: ${x.message}\n`);
    const files = new Set(findings.map((x) => x.file)).size;
    ctx.stdout.write(findings.length === 0 ? `No portability findings in ${dir}.\n` : `${findings.length} finding${findings.length === 1 ? '' : 's'} in ${files} file${files === 1 ? '' : 's'}.\n`);
  }
  return findings.length === 0 ? EXIT.ok : EXIT.failure;
}
