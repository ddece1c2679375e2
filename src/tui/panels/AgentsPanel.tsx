import { Box, Text } from 'ink';
import type { Column } from '../format/text.js';
import { clockTime } from '../format/time.js';
import { innerWidth, listRows, type PanelBox } from '../layout.js';
import { Table, type TableRow } from '../components/Table.js';
import { Panel } from '../components/Panel.js';
import { useTheme } from '../theme/context.js';
import type { Theme } from '../theme/theme.js';
import { useStore } from '../hooks/use-store.js';
import { countRender } from '../render-count.js';
import type { AgentRow } from '../state/types.js';
import { agentsView } from '../state/views.js';

const AGREE_TEXT: Record<AgentRow['agree'], string> = { same: 'same', differs: 'DIFFERS', missing: 'missing', unknown: '?' };

/** Colour token of an agent status. */
export function statusColor(theme: Theme, status: string): string | undefined {
  if (status === 'active' || status === 'busy' || status === 'ok') return theme.color.ok;
  if (status === 'error') return theme.color.error;
  if (status === 'paused' || status === 'drift' || status === 'running') return theme.color.warn;
  if (status === 'offline' || status === 'never') return theme.color.muted;
  return undefined;
}

/** Columns for a width: the type column goes first when narrow. */
function columnsFor(width: number, other: string): Column[] {
  const cols: Column[] = [
    { title: 'NAME', width: 0 },
    { title: 'TYPE', width: 12 },
    { title: 'STATUS', width: 7 },
    { title: 'UPDATED', width: 8 },
    { title: `=${other.toUpperCase()}`, width: 7 },
  ];
  return width < 52 ? cols.filter((c) => c.title !== 'TYPE') : cols;
}

/** The agents table: the visible page only, read from the database that serves reads. */
export function AgentsPanel({ box, focused }: { box: PanelBox; focused: boolean }) {
  countRender('agents');
  const theme = useTheme();
  const v = useStore(agentsView);
  const width = innerWidth(box);
  const a = v.agents;
  const other = a.role === 'cloud' ? 'local' : 'cloud';
  const columns = columnsFor(width, other);
  const narrow = columns.length === 4;
  const rows: TableRow[] = a.rows.slice(0, listRows(box)).map((r) => {
    const cells = [r.name, r.type, r.status, clockTime(r.updatedAt, v.day), AGREE_TEXT[r.agree]];
    const colors = [undefined, theme.color.muted, statusColor(theme, r.status), theme.color.muted, r.agree === 'same' ? theme.color.ok : r.agree === 'unknown' ? theme.color.muted : theme.color.warn];
    return { key: r.id, cells: narrow ? cells.filter((_, i) => i !== 1) : cells, colors: narrow ? colors.filter((_, i) => i !== 1) : colors };
  });
  const sort = `sort ${v.sort.column} ${v.sort.desc ? '↓' : '↑'}`;
  const filter = v.filter ? ` · name contains "${v.filter}"` : '';
  let footer: { text: string; color: string | undefined };
  if (a.error) footer = { text: a.error, color: theme.color.error };
  else if (!a.role) footer = { text: v.readSource ? `no database to read from: ${v.readSource.reason}` : 'connecting…', color: v.readSource ? theme.color.error : theme.color.muted };
  else if (a.total === 0) footer = { text: v.filter ? `no agent name contains "${v.filter}"` : 'no agents yet', color: theme.color.muted };
  else {
    const first = a.offset + 1;
    const last = a.offset + rows.length;
    footer = { text: `${first}-${last} of ${a.total}${a.capped ? '+' : ''} · from ${a.role} · ${sort}${filter}`, color: theme.color.muted };
  }
  return (
    <Panel number={1} title="Agents" right={a.role ? `reads ${a.role}` : undefined} box={box} focused={focused}>
      <Box flexDirection="column" flexGrow={1}>
        <Table columns={columns} rows={rows} width={width} selected={v.cursor - a.offset} focused={focused} />
      </Box>
      <Text color={footer.color} wrap="truncate">
        {footer.text}
      </Text>
    </Panel>
  );
}
