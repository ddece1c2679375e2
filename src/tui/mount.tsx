import { render, type Instance } from 'ink';
import { App } from './App.js';
import type { Controller } from './state/controller.js';
import type { DashboardStore } from './state/store.js';
import { ThemeProvider } from './theme/context.js';
import type { Theme } from './theme/theme.js';
import type { Screen } from './terminal.js';

/** The streams Ink draws on and reads from. */
export interface Io {
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

/**
 * Mounts the app, and mounts it afresh on every resize. Ink's incremental renderer moves the
 * cursor relative to its last frame; after the terminal changed height that frame is no longer
 * where Ink thinks it is, and a diff against it leaves stale lines. A new instance on a cleared
 * screen draws everything once. All state lives in the store, so nothing is lost.
 */
export function mountApp(opts: { io: Io; store: DashboardStore; controller: Controller; theme: Theme; screen: Screen; onError: (err: unknown) => void }): { unmount(): void } {
  const { io, store, controller, theme, screen } = opts;
  let instance: Instance | undefined;
  let done = false;
  const mount = (): void => {
    instance = render(
      <ThemeProvider value={theme}>
        <App store={store} controller={controller} />
      </ThemeProvider>,
      {
        stdin: io.stdin,
        stdout: io.stdout,
        stderr: io.stderr,
        // Ctrl-C is a key in the command table (exit 130), not Ink's silent exit
        exitOnCtrlC: false,
        // stdout belongs to the screen; logs go to a file (log.ts)
        patchConsole: false,
        incrementalRendering: true,
        maxFps: 20,
      },
    );
    // a render error reaches us here; a resolve is our own unmount (quit or resize)
    instance.waitUntilExit().catch((err: unknown) => {
      if (!done) opts.onError(err);
    });
  };
  let timer: NodeJS.Timeout | undefined;
  const onResize = (): void => {
    if (timer) clearTimeout(timer);
    // a window drag sends many resizes: draw once it settles
    timer = setTimeout(() => {
      if (done) return;
      instance?.unmount();
      store.update((s) => ({ ...s, size: { columns: io.stdout.columns || 80, rows: io.stdout.rows || 24 } }), true);
      screen.clear();
      mount();
    }, 60);
  };
  store.update((s) => ({ ...s, size: { columns: io.stdout.columns || 80, rows: io.stdout.rows || 24 } }), true);
  mount();
  io.stdout.on('resize', onResize);
  return {
    unmount() {
      done = true;
      if (timer) clearTimeout(timer);
      io.stdout.off('resize', onResize);
      instance?.unmount();
    },
  };
}
