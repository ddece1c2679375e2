import { parseDuration } from '../config/duration.js';
import { EXIT } from '../errors.js';
import { terminalProblem } from '../tui/terminal.js';
import { LOG_FILE_FLAG } from './logging.js';
import type { Command } from './types.js';

/** `cesar dashboard` (and plain `cesar`): the full-screen live view. */
export const dashboardCommand: Command = {
  name: 'dashboard',
  summary: 'Full-screen live dashboard: databases, agents, sync, conflicts, migrations, events (the default)',
  usage: 'dashboard [--readonly] [--demo] [--refresh 2s] [--log-file PATH]',
  flags: {
    readonly: { type: 'boolean', description: 'Watch only: sync, dry-run, migrate and pause keys are disabled' },
    demo: { type: 'boolean', description: 'Run the demo workload on configured databases too (always on the embedded demo)' },
    refresh: { type: 'string', default: '2s', description: 'How often to re-read the databases for changes made by others (500ms to 1m)' },
    logFile: { ...LOG_FILE_FLAG, description: `${LOG_FILE_FLAG.description}; default $CESAR_DATA_DIR/dashboard.log` },
  },
  exitCodes: '0 quit with q, 1 unexpected error, 2 not a terminal (use cesar status or cesar headless), 129 SIGHUP, 130 Ctrl-C, 143 SIGTERM',
  async run(ctx) {
    const refreshMs = parseDuration(String(ctx.flags.refresh ?? '2s'), '--refresh', { minMs: 500, maxMs: 60_000 });
    // before any database is opened: a pipe or a service gets an explanation, not a raw-mode crash
    const problem = terminalProblem(process.stdin, ctx.stdout as NodeJS.WriteStream);
    if (problem) {
      ctx.stderr.write(`${problem}\n`);
      return EXIT.usage;
    }
    // React's development build checks and times every render and keeps a performance entry for
    // each (22,000 after 40 s): a screen left open for hours must run the production build
    process.env.NODE_ENV ??= 'production';
    // loaded only here: ink and react (behind src/dashboard/run.ts) cost nothing to the other commands
    const { runDashboard } = await import('../dashboard/run.js');
    return runDashboard(ctx, { readonly: ctx.flags.readonly === true, demo: ctx.flags.demo === true, refreshMs });
  },
};
