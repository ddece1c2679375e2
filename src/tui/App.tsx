import { Box } from 'ink';
import type { ReactElement } from 'react';
import { Footer, MessageLine } from './components/Footer.js';
import { TabBar } from './components/TabBar.js';
import { TooSmall } from './components/TooSmall.js';
import { useDashboard } from './hooks/use-dashboard.js';
import { useKeys } from './hooks/use-keys.js';
import { computeLayout, type Layout } from './layout.js';
import { ConflictDetail } from './overlays/ConflictDetail.js';
import { ConfirmMigrate } from './overlays/ConfirmMigrate.js';
import { DryRunView } from './overlays/DryRunView.js';
import { HelpOverlay } from './overlays/HelpOverlay.js';
import { AgentsPanel } from './panels/AgentsPanel.js';
import { ConflictsPanel } from './panels/ConflictsPanel.js';
import { EventsPanel } from './panels/EventsPanel.js';
import { Header } from './panels/Header.js';
import { MigrationsPanel } from './panels/MigrationsPanel.js';
import { SyncPanel } from './panels/SyncPanel.js';
import type { Controller } from './state/controller.js';
import type { DashboardStore } from './state/store.js';
import type { DashboardState, PanelId } from './state/types.js';

type PanelProps = { s: DashboardState; box: Layout['panels'][PanelId]; focused: boolean };
const PANEL_VIEWS: Record<PanelId, (p: PanelProps) => ReactElement> = {
  agents: AgentsPanel,
  sync: SyncPanel,
  conflicts: ConflictsPanel,
  migrations: MigrationsPanel,
  events: EventsPanel,
};

/** The panels (or the overlay on top of them) for a layout. */
function Body({ s, layout }: { s: DashboardState; layout: Layout }) {
  const width = layout.columns;
  const height = layout.bodyRows;
  const o = s.ui.overlay;
  if (o?.kind === 'confirm-migrate') return <ConfirmMigrate s={s} width={width} height={height} />;
  if (o?.kind === 'dry-run') return <DryRunView running={o.running} report={o.report} error={o.error} width={width} height={height} />;
  if (o?.kind === 'conflict') return <ConflictDetail id={o.id} row={o.row} error={o.error} width={width} height={height} now={s.now} />;
  const view = (p: PanelId) => {
    const View = PANEL_VIEWS[p];
    return <View key={p} s={s} box={layout.panels[p]} focused={s.ui.focus === p} />;
  };
  if (layout.mode === 'condensed') return <Box height={height}>{view(s.ui.focus)}</Box>;
  return (
    <Box flexDirection="column" height={height}>
      <Box flexDirection="row">
        {view('agents')}
        {view('sync')}
      </Box>
      <Box flexDirection="row">
        {view('conflicts')}
        {view('migrations')}
      </Box>
      {view('events')}
    </Box>
  );
}

/**
 * The whole screen. The root box is one row shorter than the terminal: in Ink 6 a frame as tall
 * as the screen clears it on every render (flicker).
 */
export function App({ store, controller }: { store: DashboardStore; controller: Controller }) {
  useKeys(controller);
  const s = useDashboard(store);
  const layout = computeLayout(s.size.columns, s.size.rows);
  if (layout.tooSmall) return <TooSmall columns={s.size.columns} rows={s.size.rows} />;
  if (s.ui.overlay?.kind === 'help') {
    // the help takes the header's room too: at 80 x 24 that is two readable columns instead of three cut ones
    return (
      <Box flexDirection="column" width={layout.columns} height={layout.frameRows}>
        <HelpOverlay width={layout.columns} height={layout.frameRows - 2} readonly={s.header.readonly} />
        <MessageLine s={s} width={layout.columns} />
        <Footer s={s} width={layout.columns} />
      </Box>
    );
  }
  return (
    <Box flexDirection="column" width={layout.columns} height={layout.frameRows}>
      <Header s={s} width={layout.columns} />
      {layout.mode === 'condensed' ? <TabBar focus={s.ui.focus} width={layout.columns} /> : null}
      <Body s={s} layout={layout} />
      <MessageLine s={s} width={layout.columns} />
      <Footer s={s} width={layout.columns} />
    </Box>
  );
}
