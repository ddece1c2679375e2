import { Box } from 'ink';
import { formatDuration } from '../../config/duration.js';
import { ROLES } from '../../config/types.js';
import { notConfiguredReason } from '../../status/format.js';
import { latency } from '../format/time.js';
import { Line, type Segment } from '../components/Line.js';
import { useStore } from '../hooks/use-store.js';
import { countRender } from '../render-count.js';
import { useTheme } from '../theme/context.js';
import type { Theme } from '../theme/theme.js';
import type { DbView, HeaderData } from '../state/types.js';
import { headerView, type HeaderView } from '../state/views.js';

const SEP = ' · ';

/** The title line: environment, read source, demo, API, read-only. */
export function titleLine(h: HeaderData, theme: Theme): Segment[] {
  const segs: Segment[] = [{ text: 'CESAR', bold: true, color: theme.color.accent }, { text: ` ${h.environment}` , bold: true }];
  const rs = h.readSource;
  if (!rs) segs.push({ text: `${SEP}reads: …`, color: theme.color.muted });
  else if (!rs.role) segs.push({ text: `${SEP}reads: none (${rs.reason})`, color: theme.color.error });
  else segs.push({ text: `${SEP}reads ${rs.role}` }, ...(rs.degraded ? [{ text: ' DEGRADED', bold: true, color: theme.color.warn }] : []));
  if (h.embedded) segs.push({ text: SEP }, { text: 'EMBEDDED DEMO', bold: true, color: theme.color.info });
  if (h.api) segs.push({ text: `${SEP}${h.api}`, color: h.api.startsWith('API off') ? theme.color.warn : undefined });
  if (h.readonly) segs.push({ text: SEP }, { text: 'READ-ONLY', bold: true, inverse: true });
  return segs;
}

/** A database line: role, up/down, server, where, latency. */
export function dbLine(role: 'local' | 'cloud', db: DbView | null, theme: Theme): Segment[] {
  const name = { text: role.padEnd(6), bold: true };
  if (!db) return [name, { text: 'connecting…', color: theme.color.muted }];
  if (!db.configured) return [name, { text: notConfiguredReason(role), color: theme.color.warn }];
  if (!db.up) return [name, { text: '✗ DOWN', bold: true, color: theme.color.error }, { text: `  ${db.label}  `, color: theme.color.muted }, { text: db.error ?? '', color: theme.color.error }];
  return [
    name,
    { text: '● up', color: theme.color.ok },
    { text: `  ${db.server ?? '?'}` },
    { text: `  ${latency(db.latencyMs)}` },
    { text: db.tls ? '  TLS' : '', color: theme.color.muted },
    { text: `  ${db.label}`, color: theme.color.muted },
  ];
}

/** The scheduler line: active or standby, last pass, countdown, paused, last error. */
export function syncLine(st: HeaderView, theme: Theme): Segment[] {
  const refresh = { text: `${SEP}refresh ${formatDuration(st.refreshMs)}`, color: theme.color.muted };
  if (!st.started) return [{ text: 'sync  ', bold: true }, { text: 'starting…', color: theme.color.muted }, refresh];
  const segs: Segment[] = [{ text: 'sync  ', bold: true }];
  if (st.active) segs.push({ text: 'active syncer', color: theme.color.ok });
  else segs.push({ text: `standby${st.standbyFor ? `: ${st.standbyFor} holds the sync lease` : ''}`, color: theme.color.warn });
  if (st.running) segs.push({ text: `${SEP}running…`, color: theme.color.info });
  // minutes, and a countdown by the minute: the critical tables are polled several times a second,
  // and an idle screen should not be redrawn every second for it
  segs.push({ text: `${SEP}last pass ${st.lastPass}` });
  if (st.paused) segs.push({ text: SEP }, { text: 'PAUSED', bold: true, inverse: true, color: theme.color.warn });
  else if (st.next) segs.push({ text: `${SEP}next in ${st.next}` });
  segs.push({ text: `${SEP}every ${formatDuration(st.intervalMs)}`, color: theme.color.muted }, refresh);
  if (st.lastError) segs.push({ text: `${SEP}last error: ${st.lastError}`, color: theme.color.error });
  return segs;
}

/** The four header lines; re-rendered only when their text changes (the countdown by the minute). */
export function Header({ width }: { width: number }) {
  countRender('header');
  const theme = useTheme();
  const v = useStore(headerView);
  return (
    <Box flexDirection="column" width={width} height={4}>
      <Line segments={titleLine(v.header, theme)} width={width} />
      {ROLES.map((r) => (
        <Line key={r} segments={dbLine(r, v.header.dbs[r], theme)} width={width} />
      ))}
      <Line segments={syncLine(v, theme)} width={width} />
    </Box>
  );
}
