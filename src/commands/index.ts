import { checkCommand } from './check.js';
import type { Command } from './types.js';

/** Every subcommand, in the order help lists them. */
export const COMMANDS: readonly Command[] = [checkCommand];

/** Finds a command by name. */
export function findCommand(name: string): Command | undefined {
  return COMMANDS.find((c) => c.name === name);
}
