import type { Config } from '../config/types.js';
import type { Runtime } from '../runtime.js';

/** One flag's contract, written once: meow parses and validates from it, help is generated from it. */
export interface FlagSpec {
  type: 'string' | 'boolean' | 'number';
  description: string;
  choices?: string[];
  isMultiple?: boolean;
  default?: string | boolean | number;
  shortFlag?: string;
  /** For number flags: the allowed whole numbers, inclusive (anything else is a usage error). */
  range?: [number, number];
}

/** What a command gets: parsed flags and a way to open the runtime (so `--help` never connects). */
export interface CommandContext {
  flags: Record<string, unknown>;
  input: string[];
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Loads and validates the configuration (once; a CesarError with exit 2 when it is wrong), without opening anything. */
  config(): Config;
  /**
   * Aborted when a one-shot command is interrupted (SIGINT, SIGTERM, SIGHUP): the databases then
   * refuse new statements; pass it on to waits (a lease) and loops. Never aborted for the dashboard
   * and headless mode, which handle signals themselves.
   */
  signal: AbortSignal;
  /** Loads the configuration and opens the databases; closed by the entry point. */
  runtime(): Promise<Runtime>;
}

/** A subcommand of `cesar`. */
export interface Command {
  name: string;
  summary: string;
  /** Usage line after `cesar `. */
  usage: string;
  flags: Record<string, FlagSpec>;
  /** Exit codes beyond 0/1/2, documented in help. */
  exitCodes?: string;
  /** A one-shot command whose run is logged to --log-file / CESAR_LOG_FILE by the entry point (commands/logging.ts). */
  logged?: boolean;
  run(ctx: CommandContext): Promise<number>;
}
