import { verifyTable, isClean, createEngine, validateTableNames } from '../sync/index.js';
import { columns, printJson } from './output.js';
import type { Command } from './types.js';

/** `cesar verify`: compares both databases row by row. */
export const verifyCommand: Command = {
  name: 'verify',
  summary: 'Compare both databases by primary key: missing, extra and mismatched rows',
  usage: 'verify [--table NAME]... [--json]',
  flags: {
    table: { type: 'string', isMultiple: true, description: 'Only this table' },
    json: { type: 'boolean', description: 'Print the comparison as JSON' },
  },
  exitCodes: '0 both sides hold the same rows, 1 they differ (or a table drifted)',
  async run(ctx) {
    const wanted = ctx.flags.table && (ctx.flags.table as string[]).length ? await validateTableNames(ctx.flags.table as string[]) : undefined;
    const rt = await ctx.runtime();
    const registry = await createEngine(rt).registry();
    const tables = registry.tables.filter((t) => !wanted || wanted.includes(t.name));
    const diffs = [];
    for (const t of tables) diffs.push(await verifyTable(rt.db('local'), rt.db('cloud'), t));
    const drift = [...registry.drift].filter(([n]) => !wanted || wanted.includes(n)).map(([table, why]) => ({ table, why }));
    const clean = diffs.every(isClean) && drift.length === 0;
    if (ctx.flags.json) {
      printJson(ctx.stdout, { clean, tables: diffs, drift });
      return clean ? 0 : 1;
    }
    const rows = [['TABLE', 'LOCAL', 'CLOUD', 'MISSING IN CLOUD', 'MISSING IN LOCAL', 'MISMATCHED']];
    for (const d of diffs) rows.push([d.table, String(d.localRows), String(d.cloudRows), String(d.missingInCloud), String(d.missingInLocal), String(d.mismatched)]);
    const out = [`cesar verify${rt.config.embedded ? ' on the embedded demo databases' : ''}`, '', columns(rows)];
    for (const d of diffs.filter((x) => !isClean(x))) {
      for (const [kind, ids] of Object.entries(d.samples)) if (ids.length) out.push(`${d.table} ${kind}: ${ids.join(' ')}`);
    }
    for (const d of drift) out.push(`${d.table}: ${d.why}`);
    out.push('', clean ? 'Both databases hold the same rows.' : 'The databases differ.');
    ctx.stdout.write(`${out.join('\n')}\n`);
    return clean ? 0 : 1;
  },
};
