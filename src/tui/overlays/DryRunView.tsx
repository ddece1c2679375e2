import { Box, Text } from 'ink';
import { formatDuration } from '../../config/duration.js';
import type { PassReport } from '../../status/types.js';
import { heading, row, type Column } from '../format/text.js';
import { Overlay } from '../components/Overlay.js';
import { useTheme } from '../theme/context.js';

const COLUMNS: Column[] = [
  { title: 'TABLE', width: 0 },
  { title: 'DIR', width: 4 },
  { title: 'READ', width: 6, align: 'right' },
  { title: 'INSERT', width: 6, align: 'right' },
  { title: 'UPDATE', width: 6, align: 'right' },
  { title: 'DELETE', width: 6, align: 'right' },
  { title: 'CONFL', width: 5, align: 'right' },
];

/** The lines of a dry-run report: a row per table and direction that would change, then samples. */
export function dryRunLines(r: PassReport, width: number): Array<{ text: string; kind: 'head' | 'row' | 'sample' | 'error' }> {
  const active = r.tables.filter((t) => t.status !== 'ok' || t.counts.read + t.counts.deleted > 0);
  if (active.length === 0) return [{ text: 'Nothing to sync: both sides are up to date.', kind: 'row' }];
  const out: Array<{ text: string; kind: 'head' | 'row' | 'sample' | 'error' }> = [{ text: heading(COLUMNS, width), kind: 'head' }];
  for (const t of active) out.push({ text: row(COLUMNS, [t.table, t.direction, String(t.counts.read), String(t.inserted), String(t.updated), String(t.counts.deleted), String(t.counts.conflicts)], width), kind: 'row' });
  for (const t of active) {
    if (t.error) out.push({ text: `${t.table} ${t.direction}: ${t.error}`, kind: 'error' });
    const s = t.samples;
    const parts = [s.inserted.length ? `insert ${s.inserted.join(' ')}` : '', s.updated.length ? `update ${s.updated.join(' ')}` : '', s.deleted.length ? `delete ${s.deleted.join(' ')}` : ''].filter(Boolean);
    if (parts.length) out.push({ text: `${t.table} ${t.direction} would ${parts.join('; ')}`, kind: 'sample' });
    for (const c of t.conflicts) out.push({ text: `  conflict ${c.rowId}: ${c.reason}, would keep ${c.winner}`, kind: 'sample' });
  }
  return out;
}

/** The `d` overlay: what a pass would change, from the engine's dry-run report. */
export function DryRunView({ running, report, error, width, height }: { running: boolean; report?: PassReport | undefined; error?: string | undefined; width: number; height: number }) {
  const theme = useTheme();
  const inner = width - 2;
  const lines = report ? dryRunLines(report, inner) : [];
  const t = report?.totals;
  return (
    <Overlay title="Dry run: what a pass would change (nothing is written)" width={width} height={height}>
      {running ? <Text color={theme.color.muted}>computing a dry-run pass…</Text> : null}
      {error ? (
        <Text color={theme.color.error} wrap="truncate">
          {error}
        </Text>
      ) : null}
      {t && report ? (
        <Text bold wrap="truncate">
          Would apply {t.applied} rows, {t.conflicts} conflicts, {t.deleted} deletes ({formatDuration(report.ms)})
        </Text>
      ) : null}
      <Box flexDirection="column">
        {lines.slice(0, Math.max(0, height - 4)).map((l, i) => (
          <Text key={i} wrap="truncate" bold={l.kind === 'head'} color={l.kind === 'head' || l.kind === 'sample' ? theme.color.muted : l.kind === 'error' ? theme.color.error : undefined}>
            {l.text}
          </Text>
        ))}
      </Box>
    </Overlay>
  );
}
