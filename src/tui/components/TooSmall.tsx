import { Box, Text } from 'ink';
import { MIN_COLUMNS, MIN_ROWS } from '../layout.js';
import { useTheme } from '../theme/context.js';

/** Shown instead of a garbled layout when the terminal is below the minimum. */
export function TooSmall({ columns, rows }: { columns: number; rows: number }) {
  const theme = useTheme();
  const width = Math.max(1, columns);
  return (
    <Box flexDirection="column" width={width} height={Math.max(1, rows - 1)}>
      <Text bold color={theme.color.warn} wrap="truncate">
        terminal too small: {columns} x {rows}, need {MIN_COLUMNS} x {MIN_ROWS}
      </Text>
      <Text color={theme.color.muted} wrap="truncate">
        enlarge the window, or press q to quit
      </Text>
    </Box>
  );
}
