import { Box, Text } from 'ink';
import type { ReactNode } from 'react';
import { fit } from '../format/text.js';
import type { PanelBox } from '../layout.js';
import { useTheme } from '../theme/context.js';

/** A bordered panel whose title sits in the top border: ┌─ 1 Agents ──── right ─┐ */
export function Panel({ number, title, right, box, focused, children }: { number: number; title: string; right?: string; box: PanelBox; focused: boolean; children: ReactNode }) {
  const theme = useTheme();
  const border = focused ? theme.color.accent : theme.color.muted;
  const label = ` ${number} ${title} `;
  const tail = right ? ` ${right} ` : '';
  // the right-hand note goes when the title needs the room
  const rightText = box.width - 4 - label.length - tail.length > 0 ? tail : '';
  return (
    <Box flexDirection="column" width={box.width} height={box.height}>
      <Text wrap="truncate">
        <Text color={border}>┌─</Text>
        {/* without colour the focused panel must still stand out: its title is inverted */}
        <Text bold={focused} inverse={focused && theme.noColor} color={focused ? theme.color.accent : undefined}>
          {fit(label, Math.min(label.length, Math.max(0, box.width - 3)))}
        </Text>
        <Text color={border}>{'─'.repeat(Math.max(0, box.width - 3 - label.length - rightText.length))}</Text>
        <Text color={theme.color.muted}>{rightText}</Text>
        <Text color={border}>┐</Text>
      </Text>
      {/* no overflow="hidden": every panel draws at most its box's lines, each cut to its width, and
          clipping would make Ink cut every line of every frame again (a fifth of a frame's CPU) */}
      <Box flexDirection="column" borderStyle="single" borderTop={false} borderColor={border} width={box.width} height={box.height - 1}>
        {children}
      </Box>
    </Box>
  );
}
