import { Box, Text } from 'ink';
import { plural, type Column } from '../format/text.js';
import { sparkline } from '../format/sparkline.js';
import { clockTime, lag } from '../format/time.js';
import { innerWidth, listRows, type PanelBox } from '../layout.js';
import { Table, type TableRow } from '../components/Table.js';
import { Panel } from '../components/Panel.js';
import { useTheme } from '../theme/context.js';
import { statusColor } from './AgentsPanel.js';
import { SPARK_BUCKET_MS, SPARK_BUCKETS } from '../state/events.js';
import { useStore } from '../hooks/use-store.js';
import { countRender } from '../render-count.js';
import { syncView } from '../state/views.js';

const SPARK = 10;

/** Columns for a width: parked rows and the sparkline from 76 columns, the error text from 100. */
function columnsFor(width: number): Column[] {
  const cols: Column[] = [
    { title: 'TABLE', width: 0 },
    { title: 'STATUS', width: 6 },
    { title: 'LAST', width: 8 },
    { title: 'UP', width: 5, align: 'right' },
    { title: 'DOWN', width: 5, align: 'right' },
    { title: 'LAG', width: 4, align: 'right' },
    { title: 'CONFL', width: 5, align: 'right' },
  ];
  if (width >= 76) cols.push({ title: 'PARKED', width: 6, align: 'right' }, { title: 'ROWS/10s', width: SPARK });
  if (width >= 100) cols.push({ title: 'LAST ERROR', width: 0 });
  return width < 56 ? cols.filter((c) => c.title !== 'LAST' && c.title !== 'CONFL') : cols;
}

/** One row per synced table, with the throughput history in the title. */
export function SyncPanel({ box, focused }: { box: PanelBox; focused: boolean }) {
  countRender('sync');
  const theme = useTheme();
  const s = useStore(syncView);
  const width = innerWidth(box);
  const columns = columnsFor(width);
  const titles = columns.map((c) => c.title);
  const page = listRows(box);
  const offset = s.offset;
  const rows: TableRow[] = s.sync.rows.slice(offset, offset + page).map((r) => {
    const spark = s.tableSpark[r.table];
    const all: Record<string, [string, string | undefined]> = {
      TABLE: [r.table, undefined],
      STATUS: [r.status, statusColor(theme, r.status)],
      LAST: [clockTime(r.lastSyncAt, s.day), theme.color.muted],
      UP: [String(r.up), undefined],
      DOWN: [String(r.down), undefined],
      LAG: [lag(r.lagSeconds), r.lagSeconds !== null && r.lagSeconds >= 60 ? theme.color.warn : undefined],
      CONFL: [String(r.conflicts), r.conflicts > 0 ? theme.color.warn : theme.color.muted],
      PARKED: [String(r.parked), r.parked > 0 ? theme.color.error : theme.color.muted],
      'ROWS/10s': [spark ? sparkline(spark.slice(-SPARK)) : '', theme.color.info],
      'LAST ERROR': [r.lastError ?? '', theme.color.error],
    };
    return { key: r.table, cells: titles.map((t) => all[t]![0]), colors: titles.map((t) => all[t]![1]) };
  });
  const selected = s.sync.rows[s.cursor];
  const total = s.sync.spark.reduce((a, b) => a + b, 0);
  const window = `${(SPARK_BUCKETS * SPARK_BUCKET_MS) / 60_000}m`;
  const right = s.sync.spark.length ? `${sparkline(s.sync.spark.slice(-Math.min(SPARK_BUCKETS, Math.max(0, box.width - 30))))} ${total} rows/${window}` : undefined;
  const parked = s.sync.rows.filter((r) => r.parked > 0);
  const parkedTotal = parked.reduce((a, r) => a + r.parked, 0);
  let footer: { text: string; color: string | undefined };
  if (s.sync.error) footer = { text: s.sync.error, color: theme.color.error };
  else if (s.sync.rows.length === 0) footer = { text: 'loading…', color: theme.color.muted };
  else if (selected?.lastError) footer = { text: `${selected.table}: ${selected.lastError}`, color: theme.color.error };
  else if (selected && selected.parked > 0) footer = { text: `${selected.table}: ${plural(selected.parked, 'row')} parked in sync_errors, retried every pass · cesar status lists them`, color: theme.color.error };
  else if (parkedTotal > 0) footer = { text: `${plural(parkedTotal, 'row')} parked in sync_errors: ${parked.map((r) => `${r.table} ${r.parked}`).join(', ')} · cesar status lists them`, color: theme.color.error };
  else footer = { text: `${s.sync.rows.length} tables · UP local→cloud, DOWN cloud→local (last pass) · t syncs one`, color: theme.color.muted };
  return (
    <Panel number={2} title="Sync" right={right} box={box} focused={focused}>
      <Box flexDirection="column" flexGrow={1}>
        <Table columns={columns} rows={rows} width={width} selected={s.cursor - offset} focused={focused} />
      </Box>
      <Text color={footer.color} wrap="truncate">
        {footer.text}
      </Text>
    </Panel>
  );
}
