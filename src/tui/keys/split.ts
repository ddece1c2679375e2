import type { KeyPress } from './commands.js';

/**
 * Ink hands a run of plain characters over as one input ("3\r" when keys arrive in one read: a
 * paste, a fast typist over a slow link, tmux send-keys). Each character is a key press here.
 */
export function splitKeys(k: KeyPress): KeyPress[] {
  if (k.input.length <= 1 || k.ctrl || k.input.startsWith('\u001B')) return [k];
  return [...k.input].map((ch): KeyPress => {
    if (ch === '\r' || ch === '\n') return { input: '', return: true };
    if (ch === '\t') return { input: '', tab: true };
    if (ch === '\u007F' || ch === '\b') return { input: '', backspace: true };
    return { input: ch, shift: /[A-Z]/.test(ch) };
  });
}
