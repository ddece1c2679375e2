import { PANELS, type PanelId } from './state/types.js';

/** Below this the screen says "terminal too small" instead of drawing garbage. */
export const MIN_COLUMNS = 60;
export const MIN_ROWS = 16;
/** From this size on, every panel is on screen at once. */
export const WIDE_COLUMNS = 100;
export const WIDE_ROWS = 30;

/** A panel's outer box. */
export interface PanelBox {
  width: number;
  height: number;
}

/** Where everything goes for a terminal size (pure: the same size gives the same layout). */
export interface Layout {
  columns: number;
  rows: number;
  /** Height of the root box: one less than the terminal (a frame as tall as the screen makes Ink 6 clear it on every render). */
  frameRows: number;
  tooSmall: boolean;
  mode: 'wide' | 'condensed';
  headerRows: number;
  /** Height of the area between the header (and tab bar) and the message line. */
  bodyRows: number;
  /** Panel boxes; in condensed mode only the focused panel is drawn, in the one box. */
  panels: Record<PanelId, PanelBox>;
}

export const HEADER_ROWS = 4;
/** A panel box draws its title on the top line and a border at the bottom. */
const CHROME = 2;

let last: Layout | undefined;

/**
 * The layout for a terminal of `columns` x `rows`. The same size gives the same object, so that
 * panels (memoised on their box) do not re-render when the frame around them does.
 */
export function computeLayout(columns: number, rows: number): Layout {
  if (last?.columns === columns && last.rows === rows) return last;
  last = layoutFor(columns, rows);
  return last;
}

function layoutFor(columns: number, rows: number): Layout {
  const frameRows = Math.max(1, rows - 1);
  const tooSmall = columns < MIN_COLUMNS || rows < MIN_ROWS;
  const wide = columns >= WIDE_COLUMNS && rows >= WIDE_ROWS;
  // header, then (condensed only) the tab bar, then the body, the message line and the footer
  const bodyRows = Math.max(CHROME + 2, frameRows - HEADER_ROWS - (wide ? 0 : 1) - 2);
  const panels = {} as Record<PanelId, PanelBox>;
  if (wide) {
    const events = Math.max(5, Math.floor(bodyRows * 0.2));
    const rest = bodyRows - events;
    const top = Math.ceil(rest * 0.6);
    const left = Math.floor(columns / 2);
    panels.agents = { width: left, height: top };
    panels.sync = { width: columns - left, height: top };
    panels.conflicts = { width: left, height: rest - top };
    panels.migrations = { width: columns - left, height: rest - top };
    panels.events = { width: columns, height: events };
  } else {
    for (const p of PANELS) panels[p] = { width: columns, height: bodyRows };
  }
  return { columns, rows, frameRows, tooSmall, mode: wide ? 'wide' : 'condensed', headerRows: HEADER_ROWS, bodyRows, panels };
}

/** Inner width of a panel box (inside the borders). */
export function innerWidth(box: PanelBox): number {
  return Math.max(1, box.width - 2);
}

/** Content lines inside a panel box. */
export function innerRows(box: PanelBox): number {
  return Math.max(1, box.height - CHROME);
}

/** Data rows of a table panel: content lines minus the column heading and one line for details. */
export function listRows(box: PanelBox): number {
  return Math.max(1, innerRows(box) - 2);
}
