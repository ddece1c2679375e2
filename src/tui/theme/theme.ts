/**
 * Semantic colour tokens: components never name a colour, they name a meaning. The palette uses
 * 256-colour indices chosen to read on dark and light backgrounds alike (SSH forwards TERM but
 * rarely COLORTERM, so truecolour is not assumed; chalk downsamples to 16 colours where needed).
 */
export interface Theme {
  /** True when NO_COLOR is set: every colour is dropped, bold and inverse stay. */
  noColor: boolean;
  color: {
    /** Focused panel border and titles. */
    accent: string | undefined;
    /** Secondary text: column headings, timestamps, hints. */
    muted: string | undefined;
    ok: string | undefined;
    warn: string | undefined;
    error: string | undefined;
    info: string | undefined;
    /** Fields that differ in the conflict detail view. */
    diff: string | undefined;
  };
}

const PALETTE: Theme['color'] = {
  accent: 'ansi256(33)', // #0087ff
  muted: 'ansi256(244)', // #808080: mid grey, visible on black and on white
  ok: 'ansi256(34)', // #00af00
  warn: 'ansi256(172)', // #d78700: yellow is unreadable on white, orange is not
  error: 'ansi256(160)', // #d70000
  info: 'ansi256(37)', // #00afaf
  diff: 'ansi256(164)', // #d700d7
};

const NONE: Theme['color'] = { accent: undefined, muted: undefined, ok: undefined, warn: undefined, error: undefined, info: undefined, diff: undefined };

/**
 * The theme for an environment. chalk does not honour NO_COLOR (https://no-color.org), and
 * FORCE_COLOR=0 would also drop bold and inverse, losing the selected row: so NO_COLOR is
 * implemented here, by dropping colours only.
 */
export function themeFor(env: NodeJS.ProcessEnv = process.env): Theme {
  const noColor = env.NO_COLOR !== undefined && env.NO_COLOR !== '';
  return { noColor, color: noColor ? NONE : PALETTE };
}

/** Level of a status word, for colouring. */
export type Level = 'ok' | 'warn' | 'error' | 'info' | 'muted';

/** The colour token for a level. */
export function levelColor(theme: Theme, level: Level): string | undefined {
  return theme.color[level];
}
