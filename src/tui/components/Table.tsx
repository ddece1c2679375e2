import { Text } from 'ink';
import { fit, heading, resolveWidths, type Column } from '../format/text.js';
import { useTheme } from '../theme/context.js';
import { Line, type Segment } from './Line.js';

/** A table row: its cells and, optionally, a colour token per cell. */
export interface TableRow {
  key: string;
  cells: string[];
  colors?: Array<string | undefined>;
}

/**
 * A heading and rows, each row one line built from precomputed strings. The selected row is
 * inverse + bold (visible without colour, see theme.ts); only in the focused panel.
 */
export function Table({ columns, rows, width, selected, focused }: { columns: Column[]; rows: TableRow[]; width: number; selected: number; focused: boolean }) {
  const theme = useTheme();
  const widths = resolveWidths(columns, width);
  return (
    <>
      <Text color={theme.color.muted} bold wrap="truncate">
        {heading(columns, width)}
      </Text>
      {rows.map((r, i) => {
        if (i === selected && focused) {
          const line = fit(columns.map((c, j) => fit(r.cells[j] ?? '', widths[j]!, c.align)).join(' '), width);
          return (
            <Text key={r.key} inverse bold wrap="truncate">
              {line}
            </Text>
          );
        }
        const segments: Segment[] = columns.map((c, j) => ({ text: fit(r.cells[j] ?? '', widths[j]!, c.align) + (j < columns.length - 1 ? ' ' : ''), color: r.colors?.[j] }));
        return <Line key={r.key} segments={i === selected ? segments.map((sg) => ({ ...sg, bold: true })) : segments} width={width} />;
      })}
    </>
  );
}
