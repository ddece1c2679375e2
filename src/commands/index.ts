import { checkCommand } from './check.js';
import { migrateCommand } from './migrate.js';
import { syncCommand } from './sync.js';
import { verifyCommand } from './verify.js';
import { restoreCommand } from './restore.js';
import { headlessCommand } from './headless.js';
import { dashboardCommand } from './dashboard.js';
import { statusCommand } from './status.js';
import type { Command } from './types.js';

/** Every subcommand, in the order help lists them. */
export const COMMANDS: readonly Command[] = [dashboardCommand, statusCommand, checkCommand, migrateCommand, syncCommand, verifyCommand, restoreCommand, headlessCommand];

/** Finds a command by name. */
export function findCommand(name: string): Command | undefined {
  return COMMANDS.find((c) => c.name === name);
}
