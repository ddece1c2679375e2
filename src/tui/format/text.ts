// Pure text helpers: every row is one precomputed string, so layout never measures cells.

// C0/C1 control characters (ESC above all): a value from the database must never move the
// cursor or recolour the terminal, whatever an agent's name contains.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/** Replaces control characters with a visible placeholder. */
export function clean(text: string): string {
  return text.replace(CONTROL, '?');
}

/** Cuts `text` to `width` characters (ending in an ellipsis when cut) and pads it to exactly `width`. */
export function fit(text: string, width: number, align: 'left' | 'right' = 'left'): string {
  if (width <= 0) return '';
  const t = clean(text);
  if (t.length > width) return width === 1 ? '…' : `${t.slice(0, width - 1)}…`;
  return align === 'left' ? t.padEnd(width) : t.padStart(width);
}

/** A column of a text table. `width` 0 means: take what is left. */
export interface Column {
  title: string;
  width: number;
  align?: 'left' | 'right';
}

/** Resolves flexible widths (0) so that the row fills `total`, with one space between columns. */
export function resolveWidths(columns: readonly Column[], total: number): number[] {
  const fixed = columns.reduce((sum, c) => sum + c.width, 0) + Math.max(0, columns.length - 1);
  const flex = columns.filter((c) => c.width === 0).length;
  const spare = Math.max(0, total - fixed);
  return columns.map((c) => (c.width === 0 ? Math.max(1, Math.floor(spare / Math.max(1, flex))) : c.width));
}

/** Formats one row of cells into a line exactly `total` wide. */
export function row(columns: readonly Column[], cells: readonly string[], total: number): string {
  const widths = resolveWidths(columns, total);
  const line = columns.map((c, i) => fit(cells[i] ?? '', widths[i]!, c.align)).join(' ');
  return fit(line, total);
}

/** The heading line of a table. */
export function heading(columns: readonly Column[], total: number): string {
  return row(columns, columns.map((c) => c.title), total);
}

/** "1 row", "2 rows". */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
