import { Box, Text } from 'ink';
import type { ReactNode } from 'react';
import { fit } from '../format/text.js';
import { useTheme } from '../theme/context.js';

/** A full-body bordered box for modal views (help, confirmation, dry run, conflict detail). */
export function Overlay({ title, width, height, children }: { title: string; width: number; height: number; children: ReactNode }) {
  const theme = useTheme();
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Text wrap="truncate">
        <Text color={theme.color.accent}>┌─</Text>
        <Text bold inverse={theme.noColor} color={theme.color.accent}>
          {fit(` ${title} `, Math.max(0, Math.min(title.length + 2, width - 3)))}
        </Text>
        <Text color={theme.color.accent}>{'─'.repeat(Math.max(0, width - 3 - Math.min(title.length + 2, width - 3)))}┐</Text>
      </Text>
      <Box flexDirection="column" borderStyle="single" borderTop={false} borderColor={theme.color.accent} width={width} height={height - 1} overflow="hidden">
        {children}
      </Box>
    </Box>
  );
}
