import { footerHints } from '../keys/commands.js';
import { useStore } from '../hooks/use-store.js';
import { countRender } from '../render-count.js';
import { footerView, messageView } from '../state/views.js';
import { useTheme } from '../theme/context.js';
import { Line, type Segment } from './Line.js';

/** Key hints generated from the command table for the current mode. */
export function Footer({ width }: { width: number }) {
  countRender('footer');
  const theme = useTheme();
  const { mode, readonly } = useStore(footerView);
  const segs: Segment[] = [];
  if (readonly) segs.push({ text: 'READ-ONLY: actions off', inverse: true, bold: true }, { text: '  ' });
  if (mode === 'confirm') segs.push({ text: 'y', bold: true, color: theme.color.accent }, { text: ' confirm  ', color: theme.color.muted }, { text: 'any other key', bold: true }, { text: ' cancels', color: theme.color.muted });
  else {
    const hints = footerHints(mode, readonly);
    if (mode === 'overlay') hints.unshift(['Esc', 'close']);
    // help and quit always fit: other hints are dropped from the end of the table when narrow
    const essential = (h: [string, string]): boolean => h[1] === 'help' || h[1] === 'quit';
    const size = (h: [string, string]): number => h[0].length + h[1].length + 3;
    let room = width - segs.reduce((n, x) => n + x.text.length, 0) - hints.filter(essential).reduce((n, h) => n + size(h), 0);
    const shown = hints.filter((h) => {
      if (essential(h)) return true;
      room -= size(h);
      return room >= 0;
    });
    for (const [key, word] of shown) segs.push({ text: key, bold: true, color: theme.color.accent }, { text: ` ${word}  `, color: theme.color.muted });
  }
  return <Line segments={segs} width={width} />;
}

/** The line above the footer: the filter being typed, or the latest message. */
export function MessageLine({ width }: { width: number }) {
  countRender('message');
  const theme = useTheme();
  const s = useStore(messageView);
  if (s.editing !== null) {
    return (
      <Line
        segments={[
          { text: '/ agent name contains: ', bold: true },
          { text: `${s.editing}▏`, underline: true },
          { text: '   Enter keeps it · Esc clears', color: theme.color.muted },
        ]}
        width={width}
      />
    );
  }
  const m = s.message;
  if (!m) return <Line segments={[]} width={width} />;
  const color = { info: theme.color.info, warn: theme.color.warn, error: theme.color.error }[m.level];
  return <Line segments={[{ text: m.text, color, bold: m.level !== 'info' }]} width={width} />;
}
