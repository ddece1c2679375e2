#!/usr/bin/env node
import { Writable } from 'node:stream';
import meow from 'meow';
import { COMMANDS, findCommand } from './commands/index.js';
import { runLogged } from './commands/logging.js';
import type { Command, CommandContext } from './commands/types.js';
import { loadConfig } from './config/load.js';
import { redact, redactError } from './config/redact.js';
import { CesarError, EXIT, isCesarError } from './errors.js';
import { privateUmask } from './files.js';
import { REOPEN_SIGNAL } from './log-file.js';
import { openRuntime, type Runtime } from './runtime.js';
import { catchStopSignals, interruptedError, SIGNAL_EXIT, type StopSignal } from './signals.js';

// The entry point: parse, dispatch, turn every error into a message and an exit code.
// This is the only file that calls process.exit.

const DEFAULT_COMMAND = 'dashboard';
/** How long an interrupted command may take to stop (its statements in flight end, its lease is released). */
const STOP_GRACE_MS = 10_000;

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    'Usage: cesar <command> [flags]',
    '',
    'Commands:',
    ...lines,
    '',
    'With no command, cesar opens the dashboard on the configured (or embedded demo) databases; `cesar status` prints the same once.',
    'Configuration comes from the environment, .env and .env.cockroach (see README.md).',
    'Exit codes: 0 ok, 1 failure, 2 usage or configuration error.',
    'Run `cesar <command> --help` for a command\'s flags.',
  ].join('\n');
}

function commandHelp(cmd: Command): string {
  const flagLines = Object.entries(cmd.flags).map(([name, f]) => {
    const kebab = name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    const value = f.type === 'boolean' ? '' : f.choices ? ` <${f.choices.join('|')}>` : ` <${f.type}>`;
    const extra = [f.isMultiple ? 'repeatable' : '', f.default !== undefined ? `default ${String(f.default)}` : ''].filter(Boolean).join(', ');
    return `  --${kebab}${value}\n      ${f.description}${extra ? ` (${extra})` : ''}`;
  });
  return [`Usage: cesar ${cmd.usage}`, '', cmd.summary, '', 'Flags:', ...flagLines, '  --help\n      Show this help', '', `Exit codes: ${cmd.exitCodes ?? '0 ok, 1 failure'}, 2 usage or configuration error.`].join('\n');
}

/** A string or number flag given with nothing after it (`--table=`, or `--table` last or before another flag): meow would drop it silently. */
function flagsWithoutValue(cmd: Command, argv: string[]): string | undefined {
  for (const [name, f] of Object.entries(cmd.flags)) {
    if (f.type === 'boolean') continue;
    const kebab = name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i]!;
      if (a === `--${kebab}=` || (a === `--${kebab}` && (i + 1 >= argv.length || argv[i + 1]!.startsWith('--')))) return kebab;
    }
  }
  return undefined;
}

/**
 * A boolean flag written with a value other than true or false (`--dry-run=yes`): meow reads it as
 * false without a word, so `cesar sync --dry-run=yes` would write. Returns the message, if any.
 */
function booleanWithValue(cmd: Command, argv: string[]): string | undefined {
  for (const [name, f] of Object.entries(cmd.flags)) {
    if (f.type !== 'boolean') continue;
    const kebab = name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    const given = argv.find((a) => a.startsWith(`--${kebab}=`) && !['true', 'false'].includes(a.slice(kebab.length + 3)));
    if (given) return `--${kebab} takes no value (got ${JSON.stringify(given)}): write --${kebab} alone to turn it on`;
  }
  return undefined;
}

/** A number flag whose value is not a whole number in its range (meow turns `abc` into null). Returns the message, if any. */
function badNumber(cmd: Command, argv: string[], flags: Record<string, unknown>): string | undefined {
  for (const [name, f] of Object.entries(cmd.flags)) {
    if (f.type !== 'number') continue;
    const kebab = name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    const i = argv.findIndex((a) => a === `--${kebab}` || a.startsWith(`--${kebab}=`));
    if (i < 0) continue;
    const raw = argv[i] === `--${kebab}` ? argv[i + 1] : argv[i]!.slice(kebab.length + 3);
    const value = flags[name];
    const [min, max] = f.range ?? [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      return `--${kebab}: ${JSON.stringify(raw)} is not allowed; use a whole number${f.range ? ` from ${min} to ${max}` : ''}`;
    }
  }
  return undefined;
}

/**
 * A stream that redacts what it forwards to `out`: the last guard on what one-shot commands print
 * (each message is redacted where it is made; this catches one that was not). Each write is
 * forwarded at once, so nothing waits in a buffer when the process exits. Not for the dashboard,
 * which needs the terminal itself.
 */
function redacting(out: NodeJS.WriteStream): NodeJS.WritableStream {
  return new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      out.write(redact(chunk.toString()));
      done();
    },
  });
}

function parseFlags(cmd: Command, rest: string[]) {
  return meow({
    importMeta: import.meta,
    argv: rest,
    autoHelp: false,
    autoVersion: false,
    allowUnknownFlags: false,
    flags: Object.fromEntries(
      Object.entries(cmd.flags).map(([k, f]) => {
        const { description: _d, range: _r, ...spec } = f;
        return [k, spec];
      }),
    ) as never,
  });
}

async function main(argv: string[]): Promise<number> {
  // what cesar creates (the embedded databases, logs) is for its user only, whatever the umask (issue 17)
  privateUmask();
  const first = argv[0];
  if (first === '--help' || first === '-h' || first === 'help') {
    process.stdout.write(`${overview()}\n`);
    return EXIT.ok;
  }
  if (first === '--version' || first === '-v') {
    const { VERSION } = await import('./version.js');
    process.stdout.write(`${VERSION}\n`);
    return EXIT.ok;
  }
  const name = first === undefined || first.startsWith('-') ? DEFAULT_COMMAND : first;
  const cmd = findCommand(name);
  if (!cmd) {
    process.stderr.write(redact(`cesar: unknown command "${name}". Commands: ${COMMANDS.map((c) => c.name).join(', ')}.\n`));
    return EXIT.usage;
  }
  const rest = name === first ? argv.slice(1) : argv;
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${commandHelp(cmd)}\n`);
    return EXIT.ok;
  }
  const missing = flagsWithoutValue(cmd, rest);
  if (missing) {
    process.stderr.write(`cesar ${cmd.name}: --${missing} needs a value. Usage: cesar ${cmd.usage}\n`);
    return EXIT.usage;
  }
  const valued = booleanWithValue(cmd, rest);
  if (valued) {
    process.stderr.write(redact(`cesar ${cmd.name}: ${valued}. Usage: cesar ${cmd.usage}\n`));
    return EXIT.usage;
  }
  let cli: ReturnType<typeof meow>;
  try {
    cli = parseFlags(cmd, rest);
  } catch (err) {
    // meow throws for a value outside a flag's choices: that is a usage error
    process.stderr.write(redact(`cesar ${cmd.name}: ${(err as Error).message}. Usage: cesar ${cmd.usage}\n`));
    return EXIT.usage;
  }
  const number = badNumber(cmd, rest, cli.flags as Record<string, unknown>);
  if (number) {
    process.stderr.write(redact(`cesar ${cmd.name}: ${number}. Usage: cesar ${cmd.usage}\n`));
    return EXIT.usage;
  }
  if (cli.input.length > 0) {
    process.stderr.write(redact(`cesar ${cmd.name}: unexpected argument "${cli.input[0]}". Usage: cesar ${cmd.usage}\n`));
    return EXIT.usage;
  }
  let runtime: Runtime | undefined;
  let config: ReturnType<typeof loadConfig> | undefined;
  const interrupt = new AbortController();
  let stoppedBy: StopSignal | undefined;
  // The dashboard and headless mode handle signals themselves (terminal, drain); a one-shot command
  // stops at its next statement and unwinds through its finally blocks (a lease is released there).
  const uninstall =
    cmd.name === 'dashboard' || cmd.name === 'headless'
      ? () => undefined
      : catchStopSignals((signal, count) => {
          if (count > 1) process.exit(SIGNAL_EXIT[stoppedBy ?? signal]);
          stoppedBy = signal;
          interrupt.abort(interruptedError(signal));
          const again = signal === 'SIGINT' ? 'Ctrl-C again' : 'a second signal';
          if (signal !== 'SIGHUP') process.stderr.write(`cesar: ${signal}: stopping after the statements already sent (${again} quits at once)\n`);
          setTimeout(() => {
            process.stderr.write(`cesar: still not stopped after ${STOP_GRACE_MS / 1000} s: quitting (a lease it held expires by itself)\n`);
            process.exit(SIGNAL_EXIT[signal]);
          }, STOP_GRACE_MS).unref();
        });
  const ctx: CommandContext = {
    flags: cli.flags as Record<string, unknown>,
    input: cli.input,
    stdout: cmd.name === 'dashboard' ? process.stdout : redacting(process.stdout),
    stderr: cmd.name === 'dashboard' ? process.stderr : redacting(process.stderr),
    signal: interrupt.signal,
    config() {
      if (!config) {
        config = loadConfig();
        for (const w of config.warnings) process.stderr.write(`cesar: warning: ${w}\n`);
      }
      return config;
    },
    async runtime() {
      runtime ??= await openRuntime(ctx.config(), { interrupt: interrupt.signal });
      return runtime;
    },
  };
  try {
    const code = cmd.logged ? await runLogged(ctx, cmd.name, cmd.run) : await cmd.run(ctx);
    return stoppedBy ? SIGNAL_EXIT[stoppedBy] : code;
  } catch (err) {
    if (!stoppedBy) throw err;
    // what the interruption caused is not news; anything else is still said
    if (!isCesarError(err, 'INTERRUPTED')) process.stderr.write(`cesar: ${isCesarError(err) ? redact(err.message) : redactError(err)}\n`);
    process.stderr.write(`cesar: stopped by ${stoppedBy}\n`);
    return SIGNAL_EXIT[stoppedBy];
  } finally {
    await runtime?.close();
    uninstall();
  }
}

// The process is called `cesar` (ps, pkill -x cesar), whatever node's path: logrotate's snippet
// (deploy/logrotate/cesar) signals cesar processes by that name.
process.title = 'cesar';

// SIGUSR2 asks for the log file to be reopened (log-file.ts). It never kills a cesar process,
// whichever command it runs: a rotation must not end a `cesar restore` that happens to be running.
process.on(REOPEN_SIGNAL, () => undefined);

// A reader that goes away (`cesar status | head -1`) is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(EXIT.ok);
});
// A terminal that hung up (SIGHUP) fails writes with EIO: there is nobody left to tell, and the
// command must still unwind (release its lease) instead of dying of an unhandled 'error'.
process.stderr.on('error', () => undefined);

main(process.argv.slice(2)).then(
  (code) => {
    process.exit(code);
  },
  (err: unknown) => {
    if (err instanceof CesarError) {
      process.stderr.write(`cesar: ${redact(err.message)}\n`);
      process.exit(err.exitCode);
    }
    process.stderr.write(`cesar: unexpected error: ${redactError(err)}\n`);
    process.exit(EXIT.failure);
  },
);
