import { Text } from 'ink';
import { clockTime } from '../format/time.js';
import { innerRows, innerWidth, type PanelBox } from '../layout.js';
import { Line } from '../components/Line.js';
import { Panel } from '../components/Panel.js';
import { useTheme } from '../theme/context.js';
import { useStore } from '../hooks/use-store.js';
import { countRender } from '../render-count.js';
import { eventsView } from '../state/views.js';

/** The last lines of the event log; scrolled back by the cursor (0: following the newest). */
export function EventsPanel({ box, focused }: { box: PanelBox; focused: boolean }) {
  countRender('events');
  const theme = useTheme();
  const s = useStore(eventsView);
  const width = innerWidth(box);
  const rows = innerRows(box);
  const back = s.back;
  const end = Math.max(0, s.events.length - back);
  const lines = s.events.slice(Math.max(0, end - rows), end);
  const color = { info: undefined, warn: theme.color.warn, error: theme.color.error } as const;
  return (
    <Panel number={5} title="Events" right={back > 0 ? `${back} lines back · j follows` : undefined} box={box} focused={focused}>
      {lines.length === 0 ? (
        <Text color={theme.color.muted}>no events yet</Text>
      ) : (
        lines.map((e, i) => (
          <Line
            key={`${e.at}-${end - lines.length + i}`}
            segments={[
              { text: `${clockTime(e.at, s.day)} `, color: theme.color.muted },
              { text: e.text, color: color[e.level] },
            ]}
            width={width}
          />
        ))
      )}
    </Panel>
  );
}
