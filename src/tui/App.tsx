import { Box } from 'ink';
import { memo, type ComponentType } from 'react';
import { Footer, MessageLine } from './components/Footer.js';
import { TabBar } from './components/TabBar.js';
import { TooSmall } from './components/TooSmall.js';
import { StoreProvider, useStore } from './hooks/use-store.js';
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
import { countRender } from './render-count.js';
import type { Controller } from './state/controller.js';
import type { DashboardStore } from './state/store.js';
import type { PanelId } from './state/types.js';
import { frameView, overlayView } from './state/views.js';

type PanelProps = { box: Layout['panels'][PanelId]; focused: boolean };
// memo: a panel re-renders for its own data (useStore) or a new box or focus, never because the frame did
const PANEL_VIEWS: Record<PanelId, ComponentType<PanelProps>> = {
  agents: memo(AgentsPanel),
  sync: memo(SyncPanel),
  conflicts: memo(ConflictsPanel),
  migrations: memo(MigrationsPanel),
  events: memo(EventsPanel),
};
const HeaderView = memo(Header);
const FooterView = memo(Footer);
const MessageView = memo(MessageLine);

/** An overlay over the panels (confirmation, dry run, conflict detail), with its own data. */
function OverlayBody({ width, height }: { width: number; height: number }) {
  countRender('overlay');
  const { overlay: o, migrations, day } = useStore(overlayView);
  if (o?.kind === 'confirm-migrate') return <ConfirmMigrate migrations={migrations} width={width} height={height} />;
  if (o?.kind === 'dry-run') return <DryRunView running={o.running} report={o.report} error={o.error} width={width} height={height} />;
  if (o?.kind === 'conflict') return <ConflictDetail id={o.id} row={o.row} error={o.error} width={width} height={height} now={day} />;
  return null;
}

/** The panels for a layout. */
function Body({ layout, focus }: { layout: Layout; focus: PanelId }) {
  const height = layout.bodyRows;
  const view = (p: PanelId) => {
    const View = PANEL_VIEWS[p];
    return <View key={p} box={layout.panels[p]} focused={focus === p} />;
  };
  if (layout.mode === 'condensed') return <Box height={height}>{view(focus)}</Box>;
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
 * The frame: which components are on screen for the size, the focus and the overlay. It reads
 * nothing else, so new data re-renders only the components that show it. The root box is one row
 * shorter than the terminal: in Ink 6 a frame as tall as the screen clears it on every render.
 */
function Frame() {
  countRender('frame');
  const f = useStore(frameView);
  const layout = computeLayout(f.columns, f.rows);
  if (layout.tooSmall) return <TooSmall columns={f.columns} rows={f.rows} />;
  if (f.overlay?.kind === 'help') {
    // the help takes the header's room too: at 80 x 24 that is two readable columns instead of three cut ones
    return (
      <Box flexDirection="column" width={layout.columns} height={layout.frameRows}>
        <HelpOverlay width={layout.columns} height={layout.frameRows - 2} readonly={f.readonly} />
        <MessageView width={layout.columns} />
        <FooterView width={layout.columns} />
      </Box>
    );
  }
  return (
    <Box flexDirection="column" width={layout.columns} height={layout.frameRows}>
      <HeaderView width={layout.columns} />
      {layout.mode === 'condensed' ? <TabBar focus={f.focus} width={layout.columns} /> : null}
      {f.overlay ? <OverlayBody width={layout.columns} height={layout.bodyRows} /> : <Body layout={layout} focus={f.focus} />}
      <MessageView width={layout.columns} />
      <FooterView width={layout.columns} />
    </Box>
  );
}

/** The whole screen: keys go to the controller, data comes from the store. */
export function App({ store, controller }: { store: DashboardStore; controller: Controller }) {
  useKeys(controller);
  return (
    <StoreProvider value={store}>
      <Frame />
    </StoreProvider>
  );
}
