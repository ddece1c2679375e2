import { Box, Text } from 'ink';
import { diffVersions, type ConflictRow } from '../../status/sync-state.js';
import { fit } from '../format/text.js';
import { clockTime } from '../format/time.js';
import { Overlay } from '../components/Overlay.js';
import { useTheme } from '../theme/context.js';

/** Both versions of a conflicting row side by side; differing fields first, marked ≠. */
export function ConflictDetail({ id, row, error, width, height, now }: { id: string; row?: ConflictRow | undefined; error?: string | undefined; width: number; height: number; now: number }) {
  const theme = useTheme();
  const inner = width - 2;
  const title = row ? `Conflict in ${row.table}, row ${row.rowId}` : `Conflict ${id}`;
  if (!row) {
    return (
      <Overlay title={title} width={width} height={height}>
        <Text color={error ? theme.color.error : theme.color.muted}>{error ?? 'loading…'}</Text>
      </Overlay>
    );
  }
  const fields = diffVersions(row.localVersion ?? null, row.cloudVersion ?? null);
  const sorted = [...fields.filter((f) => f.differs), ...fields.filter((f) => !f.differs)];
  const fieldW = Math.min(24, Math.max(8, ...fields.map((f) => f.field.length)));
  const valueW = Math.max(4, Math.floor((inner - fieldW - 4) / 2));
  const rows = Math.max(1, height - 6);
  const kept = (role: 'local' | 'cloud'): string => (row.winner === role ? ' (kept)' : '');
  return (
    <Overlay title={`${title} (Esc closes)`} width={width} height={height}>
      <Text wrap="truncate">
        kept <Text bold>{row.winner}</Text> by {row.strategy}: {row.reason} · detected {clockTime(row.detectedAt, now)} · {fields.filter((f) => f.differs).length} of {fields.length} fields differ
      </Text>
      <Text bold color={theme.color.muted} wrap="truncate">
        {`  ${fit('FIELD', fieldW)} ${fit(`LOCAL${kept('local')} ${clockTime(row.localUpdatedAt, now)}`, valueW)} ${fit(`CLOUD${kept('cloud')} ${clockTime(row.cloudUpdatedAt, now)}`, valueW)}`}
      </Text>
      <Box flexDirection="column">
        {sorted.slice(0, rows).map((f) => (
          <Text key={f.field} wrap="truncate" bold={f.differs} color={f.differs ? theme.color.diff : undefined}>
            {`${f.differs ? '≠' : ' '} ${fit(f.field, fieldW)} ${fit(f.local, valueW)} ${fit(f.cloud, valueW)}`}
          </Text>
        ))}
      </Box>
      {sorted.length > rows ? <Text color={theme.color.muted}>… {sorted.length - rows} more fields (a larger terminal shows them)</Text> : null}
    </Overlay>
  );
}
