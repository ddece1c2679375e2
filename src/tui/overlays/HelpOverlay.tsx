import { Box, Text } from 'ink';
import { COMMANDS, type CommandSpec } from '../keys/commands.js';
import { fit } from '../format/text.js';
import { Overlay } from '../components/Overlay.js';
import { useTheme } from '../theme/context.js';

type HelpLine = { heading: string } | { spec: CommandSpec };

/** The help, generated from the command table: one line per command, grouped, in columns as needed. */
export function helpLines(): HelpLine[] {
  const lines: HelpLine[] = [];
  for (const group of ['Actions', 'Navigation', 'View'] as const) {
    lines.push({ heading: group });
    for (const spec of COMMANDS) if (spec.group === group) lines.push({ spec });
  }
  return lines;
}

/** The `?` overlay. */
export function HelpOverlay({ width, height, readonly }: { width: number; height: number; readonly: boolean }) {
  const theme = useTheme();
  const lines = helpLines();
  const rows = Math.max(1, height - 3);
  const columns = Math.ceil(lines.length / rows);
  const colWidth = Math.floor((width - 2) / columns);
  const chunks = Array.from({ length: columns }, (_, i) => lines.slice(i * rows, (i + 1) * rows));
  return (
    <Overlay title="Keys (? or Esc closes)" width={width} height={height}>
      <Box flexDirection="row" flexGrow={1}>
        {chunks.map((chunk, c) => (
          <Box key={c} flexDirection="column" width={colWidth}>
            {chunk.map((l, i) =>
              'heading' in l ? (
                <Text key={i} bold underline wrap="truncate">
                  {l.heading}
                </Text>
              ) : (
                <Text key={i} wrap="truncate" color={readonly && l.spec.acts ? theme.color.muted : undefined}>
                  <Text bold color={theme.color.accent}>
                    {fit(l.spec.label, 7)}
                  </Text>
                  {fit(`${readonly && l.spec.acts ? '[off] ' : ''}${l.spec.help}`, Math.max(1, colWidth - 8))}
                </Text>
              ),
            )}
          </Box>
        ))}
      </Box>
      <Text color={theme.color.muted} wrap="truncate">
        {readonly ? 'Started with --readonly: actions are off. ' : ''}Exit codes: 0 q, 130 Ctrl-C, 143 SIGTERM, 129 SIGHUP, 1 error.
      </Text>
    </Overlay>
  );
}
