import { notConfiguredReason } from '../runtime.js';
import { probeDb, type Probe } from '../db/probe.js';
import { ROLES } from '../config/types.js';
import { columns, ms, printJson } from './output.js';
import type { Command } from './types.js';

/** A role that is not configured at all. */
type Missing = { role: string; configured: false; up: false; error: string };

/** `cesar check`: replaces test_cockroach_connection.py. */
export const checkCommand: Command = {
  name: 'check',
  summary: 'Test both database connections: reachability, flavor, version, latency, TLS, clock offset',
  usage: 'check [--json] [--pings N]',
  flags: {
    json: { type: 'boolean', description: 'Print one JSON document instead of text' },
    pings: { type: 'number', default: 5, range: [1, 100], description: 'Round trips to time per database (median is reported)' },
  },
  exitCodes: '0 both databases reachable, 1 otherwise',
  async run(ctx) {
    const rt = await ctx.runtime();
    const pings = Math.max(1, Math.min(100, Math.floor(Number(ctx.flags.pings) || 5)));
    const results: Array<(Probe & { configured: true }) | Missing> = await Promise.all(
      ROLES.map(async (role) => {
        const db = rt.maybeDb(role);
        if (!db) return { role, configured: false as const, up: false as const, error: notConfiguredReason(role) };
        return { ...(await probeDb(db, pings)), configured: true as const };
      }),
    );
    const ok = results.every((r) => r.up);
    if (ctx.flags.json) {
      printJson(ctx.stdout, { environment: rt.config.environment, embedded: rt.config.embedded, ok, databases: results });
      return ok ? 0 : 1;
    }
    const title = `cesar check (${rt.config.environment}${rt.config.embedded ? ', embedded demo databases' : ''})`;
    const rows = [['ROLE', 'STATE', 'SERVER', 'WHERE', 'LATENCY', 'TLS', 'CLOCK OFFSET']];
    for (const r of results) {
      if (!r.up) {
        rows.push([r.role, 'DOWN', '-', 'label' in r ? r.label : '-', '-', '-', '-']);
        continue;
      }
      const offset = r.clockOffsetMs === undefined ? '-' : `${r.clockOffsetMs >= 0 ? '+' : ''}${ms(r.clockOffsetMs)}`;
      rows.push([r.role, 'up', r.server?.label ?? '?', r.label, ms(r.latencyMs), r.tls ? 'yes' : 'no', offset]);
    }
    ctx.stdout.write(`${title}\n\n${columns(rows)}\n`);
    for (const r of results) if (!r.up) ctx.stdout.write(`\n${r.role}: ${r.error}`);
    if (rt.config.embedded) ctx.stdout.write('\nThese are embedded demo databases (PGlite) under CESAR_DATA_DIR; configure LOCAL_DB_URL and COCKROACH_DB_URL for real ones.');
    ctx.stdout.write(ok ? '\n\nBoth databases are reachable.\n' : '\n\nNot every database is reachable.\n');
    return ok ? 0 : 1;
  },
};
