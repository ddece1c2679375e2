import { PANELS, PANEL_TITLES, type PanelId } from '../state/types.js';
import { useTheme } from '../theme/context.js';
import { Line, type Segment } from './Line.js';

/** In the condensed layout, which panel is shown and how to reach the others. */
export function TabBar({ focus, width }: { focus: PanelId; width: number }) {
  const theme = useTheme();
  const segs: Segment[] = [];
  PANELS.forEach((p, i) => {
    const on = p === focus;
    segs.push({ text: ` ${i + 1} ${PANEL_TITLES[p]} `, inverse: on, bold: on, color: on ? theme.color.accent : theme.color.muted }, { text: ' ' });
  });
  return <Line segments={segs} width={width} />;
}
