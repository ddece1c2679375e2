import { Box, Text } from 'ink';
import { ROLES, type Role } from '../../config/types.js';
import type { FileState } from '../../status/types.js';
import type { MigrationStatus } from '../../status/migrations.js';
import type { Column } from '../format/text.js';
import { innerWidth, listRows, type PanelBox } from '../layout.js';
import { Table, type TableRow } from '../components/Table.js';
import { Panel } from '../components/Panel.js';
import { useTheme } from '../theme/context.js';
import type { Theme } from '../theme/theme.js';
import { migrationFileNames } from '../state/controller.js';
import { useStore } from '../hooks/use-store.js';
import { countRender } from '../render-count.js';
import { migrationsView } from '../state/views.js';

/** Colour token of a migration file state. */
function stateColor(theme: Theme, state: FileState | undefined): string | undefined {
  if (state === 'applied') return theme.color.ok;
  if (state === 'pending') return theme.color.warn;
  if (state === 'failed' || state === 'modified' || state === 'missing') return theme.color.error;
  return theme.color.muted;
}

/** "11 applied, 1 pending": the non-zero counts. */
export function countsText(m: MigrationStatus): string {
  const parts = Object.entries(m.counts)
    .filter(([, n]) => n > 0)
    .map(([state, n]) => `${n} ${state}`);
  return parts.join(', ') || 'no files';
}

/** Every migration file, its state on each database, and the counts. */
export function MigrationsPanel({ box, focused }: { box: PanelBox; focused: boolean }) {
  countRender('migrations');
  const theme = useTheme();
  const s = useStore(migrationsView);
  const width = innerWidth(box);
  const byRole = s.migrations.byRole;
  const stateOf = (role: Role, name: string): FileState | undefined => {
    const m = byRole[role];
    return m && 'files' in m ? m.files.find((f) => f.name === name)?.state : undefined;
  };
  const columns: Column[] = [{ title: 'FILE', width: 0 }, ...ROLES.map((r) => ({ title: r.toUpperCase(), width: 9 }))];
  const offset = s.offset;
  const names = migrationFileNames(s.migrations);
  const rows: TableRow[] = names.slice(offset, offset + listRows(box)).map((name) => ({
    key: name,
    cells: [name, ...ROLES.map((r) => stateOf(r, name) ?? '-')],
    colors: [undefined, ...ROLES.map((r) => stateColor(theme, stateOf(r, name)))],
  }));
  const summary = ROLES.map((r) => {
    const m = byRole[r];
    if (!m) return `${r}: -`;
    return 'error' in m ? `${r}: ${m.error}` : `${r}: ${countsText(m)}`;
  }).join(' · ');
  const problem = ROLES.map((r) => byRole[r]).find((m): m is MigrationStatus => !!m && 'problems' in m && m.problems.length > 0)?.problems[0];
  const bad = ROLES.some((r) => {
    const m = byRole[r];
    return !!m && ('error' in m || m.counts.failed + m.counts.modified + m.counts.missing > 0);
  });
  return (
    <Panel number={4} title="Migrations" box={box} focused={focused}>
      <Box flexDirection="column" flexGrow={1}>
        <Table columns={columns} rows={rows} width={width} selected={s.cursor - offset} focused={focused} />
      </Box>
      <Text color={problem || bad ? theme.color.error : theme.color.muted} wrap="truncate">
        {problem ?? summary}
      </Text>
    </Panel>
  );
}
