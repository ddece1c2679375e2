import { Text } from 'ink';
import { ROLES } from '../../config/types.js';
import { Overlay } from '../components/Overlay.js';
import { countsText } from '../panels/MigrationsPanel.js';
import type { MigrationsData } from '../state/types.js';
import { useTheme } from '../theme/context.js';

/** Asks before migrating: only `y` goes ahead, any other key cancels. */
export function ConfirmMigrate({ migrations, width, height }: { migrations: MigrationsData; width: number; height: number }) {
  const theme = useTheme();
  const pending = ROLES.map((r) => {
    const m = migrations.byRole[r];
    if (!m) return { role: r, text: 'state unknown', n: 0 };
    if ('error' in m) return { role: r, text: m.error, n: 0 };
    return { role: r, text: countsText(m), n: m.counts.pending + m.counts.failed };
  });
  const total = pending.reduce((a, p) => a + p.n, 0);
  return (
    <Overlay title="Apply migrations?" width={width} height={height}>
      {pending.map((p) => (
        <Text key={p.role} wrap="truncate">
          <Text bold>{p.role.padEnd(7)}</Text>
          {p.text}
        </Text>
      ))}
      <Text> </Text>
      <Text bold wrap="truncate" color={theme.color.warn}>
        {total > 0 ? `Apply the pending migrations (${pending.map((p) => `${p.role} ${p.n}`).join(', ')})?` : 'Nothing is pending; run the migration checks anyway?'}
      </Text>
      <Text wrap="truncate">
        Press <Text bold inverse> y </Text> to apply. Any other key cancels.
      </Text>
    </Overlay>
  );
}
