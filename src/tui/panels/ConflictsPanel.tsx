import { Box, Text } from 'ink';
import type { Column } from '../format/text.js';
import { clockTime } from '../format/time.js';
import { innerWidth, listRows, type PanelBox } from '../layout.js';
import { Table, type TableRow } from '../components/Table.js';
import { Panel } from '../components/Panel.js';
import { useTheme } from '../theme/context.js';
import { useStore } from '../hooks/use-store.js';
import { countRender } from '../render-count.js';
import { conflictsView } from '../state/views.js';

const COLUMNS: Column[] = [
  { title: 'WHEN', width: 8 },
  { title: 'TABLE', width: 14 },
  { title: 'ROW', width: 8 },
  { title: 'KEPT', width: 5 },
  { title: 'WHY', width: 0 },
];

/** The latest logged conflicts; Enter opens one. */
export function ConflictsPanel({ box, focused }: { box: PanelBox; focused: boolean }) {
  countRender('conflicts');
  const theme = useTheme();
  const s = useStore(conflictsView);
  const width = innerWidth(box);
  const offset = s.offset;
  const rows: TableRow[] = s.conflicts.rows.slice(offset, offset + listRows(box)).map((c) => ({
    key: c.id,
    cells: [clockTime(c.detectedAt, s.day), c.table, c.rowId.slice(0, 8), c.winner, `${c.reason} (${c.strategy})`],
    colors: [theme.color.muted, undefined, theme.color.muted, theme.color.info, undefined],
  }));
  const footer = s.conflicts.error
    ? { text: s.conflicts.error, color: theme.color.error }
    : s.conflicts.rows.length === 0
      ? { text: 'no conflicts logged', color: theme.color.muted }
      : { text: `${s.conflicts.rows.length} latest · Enter opens both versions side by side`, color: theme.color.muted };
  return (
    <Panel number={3} title="Conflicts" box={box} focused={focused}>
      <Box flexDirection="column" flexGrow={1}>
        <Table columns={COLUMNS} rows={rows} width={width} selected={s.cursor - offset} focused={focused} />
      </Box>
      <Text color={footer.color} wrap="truncate">
        {footer.text}
      </Text>
    </Panel>
  );
}
