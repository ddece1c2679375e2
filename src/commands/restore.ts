import { ensureLeaseTable, acquireLease } from '../db/lease.js';
import { usageError } from '../errors.js';
import { defaultMigrationsDir, readMigrationFiles, runMigrations } from '../migrations/index.js';
import { createEngine, isClean, schemaRegistry, verifyTable } from '../sync/index.js';
import { ident } from '../sync/sql.js';
import { printJson } from './output.js';
import type { Command } from './types.js';

/** `cesar restore --yes`: disaster recovery of the local database from the cloud. */
export const restoreCommand: Command = {
  name: 'restore',
  summary: 'Rebuild an empty or new local database from the cloud: migrations, full copy down, verify',
  usage: 'restore --yes [--json]',
  flags: {
    yes: { type: 'boolean', description: 'Confirm: fill the (empty) local database from the cloud' },
    json: { type: 'boolean', description: 'Print the outcome as JSON' },
  },
  exitCodes: '0 restored and verified, 1 refused (local not empty), failed, or differences remain',
  async run(ctx) {
    if (ctx.flags.yes !== true) {
      throw usageError('CONFIRM', 'restore fills the local database with every row of the cloud; run it again with --yes to confirm (it refuses a local database that has rows).');
    }
    const rt = await ctx.runtime();
    const local = rt.db('local');
    const cloud = rt.db('cloud');
    const say = (line: string) => {
      if (!ctx.flags.json) ctx.stdout.write(`${line}\n`);
    };
    await cloud.query('SELECT 1');
    // 1. only an empty or new local database
    const existing = await local.query<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'");
    const present = new Set(existing.rows.map((r) => r.table_name));
    const withRows: string[] = [];
    for (const t of await schemaRegistry()) {
      if (present.has(t.name) && (await local.query(`SELECT 1 FROM ${ident(t.name)} LIMIT 1`)).rows.length > 0) withRows.push(t.name);
    }
    if (withRows.length > 0) {
      const msg = `the local database is not empty (rows in ${withRows.join(', ')}); restore only fills an empty or new database. Point LOCAL_DB_URL at a new database, or use \`cesar sync\` to reconcile.`;
      if (ctx.flags.json) printJson(ctx.stdout, { restored: false, reason: msg });
      else ctx.stderr.write(`cesar restore: ${msg}\n`);
      return 1;
    }
    // 2. the schema
    say(`restore: applying migrations to the local database (${local.label})`);
    const migrated = await runMigrations(local, { files: await readMigrationFiles(defaultMigrationsDir()), ttlMs: 60_000, waitMs: 60_000, bus: rt.bus, signal: ctx.signal });
    if (migrated.outcome === 'refused' || migrated.failed) {
      const why = migrated.outcome === 'refused' ? migrated.problems.map((p) => p.message).join('; ') : migrated.failed!.error;
      ctx.stderr.write(`cesar restore: migrations failed on the local database: ${why}\n`);
      return 1;
    }
    say(`restore: ${migrated.applied.length} migrations applied`);
    // 3. a full copy down, parents first, as a fresh start
    for (const t of ['sync_state', 'sync_recent', 'sync_errors']) await local.query(`DELETE FROM ${t}`).catch(() => undefined);
    await ensureLeaseTable(cloud);
    const lease = await acquireLease(cloud, { name: 'sync', ttlMs: rt.config.sync.leaseTtlMs, waitMs: 60_000, bus: rt.bus, signal: ctx.signal });
    let copied = 0;
    try {
      const engine = createEngine(rt);
      const report = await engine.runPass({ direction: 'down', deleteScan: 'never', signal: AbortSignal.any([lease.lost, ctx.signal]) });
      copied = report.totals.applied;
      say(`restore: copied ${copied} rows from the cloud in ${Math.round(report.ms)} ms`);
      if (!report.ok) {
        for (const t of report.tables.filter((x) => x.error)) ctx.stderr.write(`cesar restore: ${t.table}: ${t.error}\n`);
        return 1;
      }
      // 4. verify
      const registry = await engine.registry(true);
      const diffs = [];
      for (const t of registry.tables) diffs.push(await verifyTable(local, cloud, t));
      const clean = diffs.every(isClean);
      if (ctx.flags.json) printJson(ctx.stdout, { restored: clean, migrationsApplied: migrated.applied.length, rowsCopied: copied, tables: diffs });
      else say(clean ? `restore: verified, ${registry.tables.length} tables identical on both sides` : 'restore: verification found differences (run `cesar verify`)');
      return clean ? 0 : 1;
    } finally {
      // also when interrupted or failed; a cloud gone away cannot take the release (the lease then
      // expires by itself), and that must not replace why the restore failed
      await lease.release().catch(() => undefined);
    }
  },
};
