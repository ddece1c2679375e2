import { describe, expect, it } from 'vitest';

// chalk decides its colour level when first imported: force colour support before importing ink,
// so that the escape codes a real terminal would get are visible here.
process.env.FORCE_COLOR = '3';
const { cleanup } = await import('ink-testing-library');
const { setup } = await import('./fixtures.js');

const INVERSE = '\u001B[7m';
const FOREGROUND = /\u001B\[(?:3[0-7]|9[0-7]|38;[25];[\d;]+)m/;

describe('colours', () => {
  it('uses the 256-colour palette by default', () => {
    const { r } = setup({ env: {} });
    expect(r.lastFrame()).toMatch(/\u001B\[38;5;\d+m/);
    cleanup();
  });

  it('NO_COLOR: no colour at all, and the selected row is still inverse', () => {
    const { r } = setup({ env: { NO_COLOR: '1' } });
    const frame = r.lastFrame()!;
    expect(frame).not.toMatch(FOREGROUND);
    const selected = frame.split('\n').find((l) => l.includes('planner-01'))!;
    expect(selected).toContain(INVERSE);
    cleanup();
  });
});
