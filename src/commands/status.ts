import { ROLES } from '../config/types.js';
import { notConfiguredReason } from '../runtime.js';
import { lag } from '../status/format.js';
import { readParked } from '../status/parked.js';
import { latestConflicts, probeAll, readMigrations, readSourceOf, readSyncRows, upDbs } from '../status/snapshot.js';
import { columns, ms, printJson } from './output.js';
import type { Command } from './types.js';

/** Parked rows listed (all are counted). */
const PARKED_ROWS = 20;

/** A database timestamp to the second, UTC ("2025-01-02 03:04:05 UTC"). */
function when(ts: string | null): string {
  return ts ? `${ts.slice(0, 19).replace('T', ' ')} UTC` : '-';
}

/**
 * `cesar status`: what the dashboard shows, printed once, for scripts and for terminals where a
 * full screen is not wanted. Reads only: it starts neither the scheduler nor the demo workload.
 */
export const statusCommand: Command = {
  name: 'status',
  summary: "The dashboard's content printed once: connections, migrations per database, sync state per table, parked rows, latest conflicts",
  usage: 'status [--json] [--conflicts N]',
  flags: {
    json: { type: 'boolean', description: 'Print one JSON document instead of text' },
    conflicts: { type: 'number', default: 10, range: [0, 100], description: 'How many of the latest conflicts to list (0 to 100)' },
  },
  exitCodes: '0 every database reachable, 1 a database is unreachable or not configured',
  async run(ctx) {
    const limit = Math.max(0, Math.min(100, Math.floor(Number(ctx.flags.conflicts ?? 10)) || 0));
    const rt = await ctx.runtime();
    const probes = await probeAll(rt, 3);
    const readSource = readSourceOf(rt, probes);
    const dbs = upDbs(rt, probes);
    const [migrations, sync, conflicts, parked] = await Promise.all([
      readMigrations(dbs),
      readSyncRows(dbs),
      dbs.local && limit > 0 ? latestConflicts(dbs.local, limit) : Promise.resolve([]),
      dbs.local ? readParked(dbs.local, PARKED_ROWS) : Promise.resolve(null),
    ]);
    const databases = ROLES.map((role) => probes[role] ?? { role, configured: false as const, up: false as const, error: notConfiguredReason(role) });
    const ok = ROLES.every((r) => probes[r]?.up === true);
    if (ctx.flags.json) {
      printJson(ctx.stdout, { environment: rt.config.environment, embedded: rt.config.embedded, ok, readSource, databases, migrations, sync: sync.rows, conflicts, parked });
      return ok ? 0 : 1;
    }
    const out: string[] = [`cesar status (${rt.config.environment}${rt.config.embedded ? ', embedded demo databases' : ''})`, ''];
    const dbRows = [['ROLE', 'STATE', 'SERVER', 'WHERE', 'LATENCY', 'TLS']];
    for (const d of databases) {
      if ('configured' in d) dbRows.push([d.role, 'not configured', '-', '-', '-', '-']);
      else dbRows.push([d.role, d.up ? 'up' : 'DOWN', d.server?.label ?? '-', d.label, d.up ? ms(d.latencyMs) : '-', d.up ? (d.tls ? 'yes' : 'no') : '-']);
    }
    out.push(columns(dbRows));
    for (const d of databases) if (!d.up && d.error) out.push(`${d.role}: ${d.error}`);
    out.push(`Reads: ${readSource.role ?? 'none'}${readSource.degraded ? ' (DEGRADED)' : ''}: ${readSource.reason}.`, '', 'Migrations');
    for (const role of ROLES) {
      const m = migrations[role];
      if (!m) {
        out.push(`  ${role}: unknown (database not reachable)`);
        continue;
      }
      if ('error' in m) {
        out.push(`  ${role}: ${m.error}`);
        continue;
      }
      const counts = Object.entries(m.counts).filter(([, n]) => n > 0).map(([s, n]) => `${n} ${s}`).join(', ');
      out.push(`  ${role}: ${counts || 'no files'}`);
      for (const f of m.files) if (f.state !== 'applied') out.push(`    ${f.state.padEnd(8)} ${f.name}`);
      for (const p of m.problems) out.push(`    problem: ${p}`);
    }
    out.push('', 'Sync (UP local→cloud and DOWN cloud→local: rows applied in the last pass; LAG: age of the oldest unsynced change)');
    if (!dbs.local) out.push('  unknown: the local database, which keeps the sync state, is not reachable');
    else {
      const rows = [['TABLE', 'STATUS', 'LAST PASS', 'UP', 'DOWN', 'LAG', 'CONFLICTS', 'PARKED', 'LAST ERROR']];
      for (const r of sync.rows) rows.push([r.table, r.status, when(r.lastSyncAt), String(r.up), String(r.down), lag(r.lagSeconds), String(r.conflicts), String(r.parked), r.lastError ?? '']);
      out.push(columns(rows).replace(/^/gm, '  '));
    }
    if (parked) {
      out.push('', `Parked rows: ${parked.total} in sync_errors (refused by the other side; retried every pass)`);
      if (parked.rows.length > 0) {
        const rows = [['LAST SEEN', 'TABLE', 'DIR', 'ROW', 'SQLSTATE', 'ATTEMPTS', 'MESSAGE']];
        for (const p of parked.rows) rows.push([when(p.lastSeenAt), p.table, p.direction, p.rowId, p.sqlState ?? '-', String(p.attempts), p.message]);
        out.push(columns(rows).replace(/^/gm, '  '));
        if (parked.total > parked.rows.length) out.push(`  … ${parked.total - parked.rows.length} more: SELECT * FROM sync_errors ORDER BY last_seen_at DESC;`);
      }
    }
    out.push('', `Latest conflicts (${conflicts.length})`);
    if (conflicts.length > 0) {
      const rows = [['DETECTED', 'TABLE', 'ROW', 'KEPT', 'STRATEGY', 'REASON']];
      for (const c of conflicts) rows.push([when(c.detectedAt), c.table, c.rowId, c.winner, c.strategy, c.reason]);
      out.push(columns(rows).replace(/^/gm, '  '));
    }
    out.push('', ok ? 'Both databases are reachable.' : 'Not every database is reachable.');
    ctx.stdout.write(`${out.join('\n')}\n`);
    return ok ? 0 : 1;
  },
};
