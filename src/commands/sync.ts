import { ensureLeaseTable, acquireLease } from '../db/lease.js';
import { parseDuration } from '../config/duration.js';
import { isCesarError } from '../errors.js';
import { createEngine, validateConfiguredTables, validateTableNames, type PassReport } from '../sync/index.js';
import { columns, ms, printJson } from './output.js';
import { LOG_FILE_FLAG } from './logging.js';
import type { Command } from './types.js';

/** `cesar sync`: replaces the cron-driven Python sync (run_cockroach_sync.sh). */
export const syncCommand: Command = {
  name: 'sync',
  summary: 'Run one sync pass between the local database and CockroachDB',
  usage: 'sync [--direction both|up|down] [--table NAME]... [--dry-run] [--json] [--scan-deletes auto|always|never] [--wait 30s] [--log-file PATH]',
  flags: {
    direction: { type: 'string', choices: ['both', 'up', 'down'], default: 'both', description: 'up = local to cloud, down = cloud to local' },
    table: { type: 'string', isMultiple: true, description: 'Only this table; must be a synced table' },
    dryRun: { type: 'boolean', description: 'Show what a pass would insert, update, delete and resolve; write nothing' },
    json: { type: 'boolean', description: 'Print the pass report as JSON' },
    scanDeletes: { type: 'string', choices: ['auto', 'always', 'never'], default: 'auto', description: 'Key scan that propagates hard deletes: when due (CESAR_DELETE_SCAN_INTERVAL), always, or never' },
    wait: { type: 'string', default: '30s', description: 'How long to wait for another syncer holding the sync lease' },
    logFile: LOG_FILE_FLAG,
  },
  logged: true,
  exitCodes: '0 every table synced, 1 a table failed or drifted, or a database is unreachable',
  async run(ctx) {
    // validated before any connection: an unknown table sends no SQL at all
    const tables = ctx.flags.table && (ctx.flags.table as string[]).length ? await validateTableNames(ctx.flags.table as string[]) : undefined;
    const waitMs = parseDuration(String(ctx.flags.wait), '--wait', { maxMs: 3_600_000 });
    const rt = await ctx.runtime();
    await validateConfiguredTables(rt.config);
    const engine = createEngine(rt);
    const dryRun = ctx.flags.dryRun === true;
    const cloud = rt.db('cloud');
    let lease: Awaited<ReturnType<typeof acquireLease>> | undefined;
    const direction = ctx.flags.direction as 'both' | 'up' | 'down';
    if (!dryRun) {
      try {
        await ensureLeaseTable(cloud);
        lease = await acquireLease(cloud, {
          name: 'sync',
          ttlMs: rt.config.sync.leaseTtlMs,
          waitMs,
          bus: rt.bus,
          signal: ctx.signal,
          onWait: (h) => ctx.stderr.write(`cesar sync: waiting for the sync lease held by ${h.owner} (expires ${h.expiresAt})\n`),
        });
      } catch (err) {
        // the lease lives in the cloud: a cloud that is down fails here, before the pass could record why
        if (isCesarError(err, 'DB_UNREACHABLE')) await engine.recordUnreachable(err, { direction, ...(tables ? { tables } : {}) });
        throw err;
      }
    }
    try {
      const report = await engine.runPass({
        direction,
        ...(tables ? { tables } : {}),
        dryRun,
        deleteScan: ctx.flags.scanDeletes as 'auto' | 'always' | 'never',
        // a lost lease or an interruption (Ctrl-C) stops the pass; the finally below releases the lease
        signal: lease ? AbortSignal.any([lease.lost, ctx.signal]) : ctx.signal,
      });
      if (ctx.flags.json) printJson(ctx.stdout, { ...report, embedded: rt.config.embedded });
      else ctx.stdout.write(formatReport(report, rt.config.embedded));
      return report.ok ? 0 : 1;
    } finally {
      // when the pass failed because the cloud went away, releasing the lease (a row there) fails too:
      // that must not replace why the pass failed, and the lease then expires by itself
      await lease?.release().catch(() => undefined);
    }
  },
};

/** The pass report as aligned text. */
export function formatReport(r: PassReport, embedded: boolean): string {
  const verb = r.dryRun ? 'would ' : '';
  const head = r.dryRun
    ? ['TABLE', 'DIR', 'STATUS', 'READ', 'INSERT', 'UPDATE', 'SKIP', 'CONFLICTS', 'DELETE']
    : ['TABLE', 'DIR', 'STATUS', 'READ', 'INSERTED', 'UPDATED', 'SKIPPED', 'CONFLICTS', 'DELETED', 'ERRORS', 'TIME'];
  const rows = [head];
  // parked rows retried this pass count as activity: they are not "read" as changes, but they failed (or went through)
  const active = r.tables.filter((t) => t.status !== 'ok' || t.counts.read + t.counts.deleted + t.counts.errors + t.counts.applied > 0);
  for (const t of active) {
    const base = [t.table, t.direction, t.status, String(t.counts.read), String(t.inserted), String(t.updated), String(t.counts.skipped), String(t.counts.conflicts), String(t.counts.deleted)];
    rows.push(r.dryRun ? base : [...base, String(t.counts.errors), ms(t.ms)]);
  }
  const lines = [`cesar sync ${r.direction}${r.dryRun ? ' (dry run: nothing written)' : ''}${embedded ? ' on the embedded demo databases' : ''}, pass ${r.passId}`, ''];
  lines.push(active.length ? columns(rows) : 'Nothing to sync: both sides are up to date.');
  for (const t of r.tables) {
    if (t.error) lines.push('', `${t.table} ${t.direction}: ${t.error}`);
    if (r.dryRun && (t.samples.inserted.length || t.samples.updated.length || t.samples.deleted.length)) {
      const s = [
        t.samples.inserted.length ? `insert ${t.samples.inserted.join(' ')}` : '',
        t.samples.updated.length ? `update ${t.samples.updated.join(' ')}` : '',
        t.samples.deleted.length ? `delete ${t.samples.deleted.join(' ')}` : '',
      ].filter(Boolean);
      lines.push('', `${t.table} ${t.direction} would ${s.join('; ')}`);
    }
    for (const c of t.conflicts) lines.push(`  conflict ${t.table} ${c.rowId}: ${c.reason}, ${verb}keep the ${c.winner} version`);
  }
  const tot = r.totals;
  lines.push('', `${r.dryRun ? 'Would apply' : 'Applied'} ${tot.applied} rows, ${tot.conflicts} conflicts, ${tot.deleted} deletes, ${tot.errors} row errors in ${ms(r.ms)}.`);
  if (!r.ok) lines.push('Not every table synced: see the errors above and `SELECT * FROM sync_state ORDER BY last_sync_at DESC;`.');
  return `${lines.join('\n')}\n`;
}
