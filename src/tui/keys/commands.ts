// The one table of key bindings. The key handler, the `?` help overlay and the footer hints are
// all generated from it, so a binding documented is a binding that works (and vice versa).

/** Every command the dashboard understands. */
export type CommandId =
  | 'syncNow'
  | 'syncTable'
  | 'dryRun'
  | 'migrate'
  | 'pause'
  | 'nextPanel'
  | 'prevPanel'
  | 'gotoPanel'
  | 'up'
  | 'down'
  | 'pageUp'
  | 'pageDown'
  | 'top'
  | 'bottom'
  | 'filter'
  | 'sortNext'
  | 'sortReverse'
  | 'open'
  | 'back'
  | 'faster'
  | 'slower'
  | 'help'
  | 'quit'
  | 'interrupt'
  | 'confirmYes'
  | 'filterApply'
  | 'filterCancel';

/** Modes change which bindings are live: typing a filter must not quit on `q`. */
export type Mode = 'normal' | 'overlay' | 'confirm' | 'filter';

/** A key as Ink reports it, reduced to what bindings look at. */
export interface KeyPress {
  input: string;
  upArrow?: boolean;
  downArrow?: boolean;
  pageUp?: boolean;
  pageDown?: boolean;
  home?: boolean;
  end?: boolean;
  return?: boolean;
  escape?: boolean;
  tab?: boolean;
  shift?: boolean;
  ctrl?: boolean;
  backspace?: boolean;
  delete?: boolean;
}

/** One way to press a command: a character, or a named key with modifiers. */
export type Binding = { char: string; ctrl?: boolean } | { key: 'up' | 'down' | 'pageUp' | 'pageDown' | 'home' | 'end' | 'return' | 'escape' | 'tab'; shift?: boolean };

/** A row of the table. */
export interface CommandSpec {
  id: CommandId;
  bindings: Binding[];
  /** How the help and the footer write the key. */
  label: string;
  /** One line for the help overlay. */
  help: string;
  /** Short word for the footer; commands without one are only in the help. */
  hint?: string;
  group: 'Actions' | 'Navigation' | 'View';
  /** Changes a database or the scheduler: disabled by --readonly. */
  acts?: boolean;
  /** Modes in which the binding is live (default: normal). */
  modes?: Mode[];
}

const chars = (...cs: string[]): Binding[] => cs.map((char) => ({ char }));

export const COMMANDS: readonly CommandSpec[] = [
  { id: 'syncNow', bindings: chars('s'), label: 's', help: 'Sync now: every table, both ways', hint: 'sync', group: 'Actions', acts: true },
  { id: 'syncTable', bindings: chars('t'), label: 't', help: 'Sync the selected table (Sync panel)', hint: 'table', group: 'Actions', acts: true },
  { id: 'dryRun', bindings: chars('d'), label: 'd', help: 'Dry run: what a pass would change', hint: 'dry-run', group: 'Actions', acts: true },
  { id: 'migrate', bindings: chars('m'), label: 'm', help: 'Migrate both databases (asks: y)', hint: 'migrate', group: 'Actions', acts: true },
  { id: 'pause', bindings: chars(' '), label: 'Space', help: 'Pause / resume scheduled passes', hint: 'pause', group: 'Actions', acts: true },
  { id: 'nextPanel', bindings: [{ key: 'tab' }], label: 'Tab', help: 'Next panel', group: 'Navigation' },
  { id: 'prevPanel', bindings: [{ key: 'tab', shift: true }], label: 'S-Tab', help: 'Previous panel', group: 'Navigation' },
  { id: 'gotoPanel', bindings: chars('1', '2', '3', '4', '5'), label: '1..5', help: 'Agents, Sync, Conflicts, Migrations, Events', hint: 'panel', group: 'Navigation' },
  { id: 'up', bindings: [{ key: 'up' }, { char: 'k' }], label: '↑/k', help: 'Select the row above', group: 'Navigation' },
  { id: 'down', bindings: [{ key: 'down' }, { char: 'j' }], label: '↓/j', help: 'Select the row below', hint: 'scroll', group: 'Navigation' },
  { id: 'pageUp', bindings: [{ key: 'pageUp' }, { char: 'u', ctrl: true }], label: 'PgUp', help: 'One page up', group: 'Navigation' },
  { id: 'pageDown', bindings: [{ key: 'pageDown' }, { char: 'd', ctrl: true }], label: 'PgDn', help: 'One page down', group: 'Navigation' },
  { id: 'top', bindings: [{ key: 'home' }, { char: 'g' }], label: 'g/Home', help: 'First row', group: 'Navigation' },
  { id: 'bottom', bindings: [{ key: 'end' }, { char: 'G' }], label: 'G/End', help: 'Last row', group: 'Navigation' },
  { id: 'filter', bindings: chars('/'), label: '/', help: 'Filter agents by name', hint: 'filter', group: 'View' },
  { id: 'sortNext', bindings: chars('o'), label: 'o', help: 'Sort agents by the next column', hint: 'sort', group: 'View' },
  { id: 'sortReverse', bindings: chars('O'), label: 'O', help: 'Reverse the sort order', group: 'View' },
  { id: 'open', bindings: [{ key: 'return' }], label: 'Enter', help: 'Open a conflict: both versions', hint: 'open', group: 'View' },
  { id: 'back', bindings: [{ key: 'escape' }], label: 'Esc', help: 'Close the view; clear the filter', group: 'View', modes: ['normal', 'overlay'] },
  { id: 'faster', bindings: chars('+', '='), label: '+', help: 'Re-read the databases more often', group: 'View' },
  { id: 'slower', bindings: chars('-', '_'), label: '-', help: 'Re-read the databases less often', group: 'View' },
  { id: 'help', bindings: chars('?'), label: '?', help: 'This help', hint: 'help', group: 'View', modes: ['normal', 'overlay'] },
  { id: 'quit', bindings: chars('q'), label: 'q', help: 'Quit (exit 0)', hint: 'quit', group: 'View', modes: ['normal', 'overlay'] },
  { id: 'interrupt', bindings: [{ char: 'c', ctrl: true }], label: 'Ctrl-C', help: 'Quit (exit 130)', group: 'View', modes: ['normal', 'overlay', 'confirm', 'filter'] },
  { id: 'confirmYes', bindings: chars('y', 'Y'), label: 'y', help: 'Confirm (any other key cancels)', hint: 'confirm', group: 'Actions', modes: ['confirm'] },
  { id: 'filterApply', bindings: [{ key: 'return' }], label: 'Enter', help: 'Apply the filter', hint: 'apply', group: 'View', modes: ['filter'] },
  { id: 'filterCancel', bindings: [{ key: 'escape' }], label: 'Esc', help: 'Cancel and clear the filter', hint: 'cancel', group: 'View', modes: ['filter'] },
];

function matches(b: Binding, k: KeyPress): boolean {
  if ('char' in b) return k.input === b.char && (b.ctrl ?? false) === (k.ctrl ?? false);
  if (b.key === 'tab') return k.tab === true && (b.shift ?? false) === (k.shift ?? false);
  const named: Record<Exclude<typeof b.key, 'tab'>, boolean | undefined> = {
    up: k.upArrow,
    down: k.downArrow,
    pageUp: k.pageUp,
    pageDown: k.pageDown,
    home: k.home,
    end: k.end,
    return: k.return,
    escape: k.escape,
  };
  return named[b.key] === true;
}

/** The command a key press means in a mode, with the character that chose it (for 1..5). */
export function commandFor(k: KeyPress, mode: Mode): { spec: CommandSpec; input: string } | undefined {
  for (const spec of COMMANDS) {
    if (!(spec.modes ?? ['normal']).includes(mode)) continue;
    if (spec.bindings.some((b) => matches(b, k))) return { spec, input: k.input };
  }
  return undefined;
}

/** The commands of a mode, in table order (the help overlay lists the normal ones). */
export function commandsIn(mode: Mode): CommandSpec[] {
  return COMMANDS.filter((c) => (c.modes ?? ['normal']).includes(mode));
}

/** Footer hints for a mode: `[label, word]` pairs; acting commands are left out when read-only. */
export function footerHints(mode: Mode, readonly: boolean): Array<[string, string]> {
  return commandsIn(mode)
    .filter((c) => c.hint && !(readonly && c.acts))
    .map((c) => [c.label, c.hint!]);
}
