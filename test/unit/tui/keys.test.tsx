import { afterEach, describe, expect, it } from 'vitest';
import { cleanup } from 'ink-testing-library';
import { CesarError } from '../../../src/errors.js';
import { COMMANDS, commandFor, footerHints } from '../../../src/tui/keys/commands.js';
import { fixtureState, setup, tick } from './fixtures.js';

afterEach(() => cleanup());

const UP = '\u001B[A';
const DOWN = '\u001B[B';
const SHIFT_TAB = '\u001B[Z';
const ENTER = '\r';
const ESC = '\u001B';

describe('the command table', () => {
  it('gives every binding one meaning per mode', () => {
    for (const mode of ['normal', 'overlay', 'confirm', 'filter'] as const) {
      const seen = new Map<string, string>();
      for (const c of COMMANDS.filter((x) => (x.modes ?? ['normal']).includes(mode))) {
        for (const b of c.bindings) {
          const key = JSON.stringify(b);
          expect(seen.get(key), `${key} in ${mode}`).toBeUndefined();
          seen.set(key, c.id);
        }
      }
    }
  });

  it('maps keys to commands', () => {
    expect(commandFor({ input: 's' }, 'normal')?.spec.id).toBe('syncNow');
    expect(commandFor({ input: '', tab: true, shift: true }, 'normal')?.spec.id).toBe('prevPanel');
    expect(commandFor({ input: 'd', ctrl: true }, 'normal')?.spec.id).toBe('pageDown');
    expect(commandFor({ input: 'q' }, 'filter')).toBeUndefined();
    expect(commandFor({ input: 'y' }, 'confirm')?.spec.id).toBe('confirmYes');
  });

  it('the help overlay lists every command of the table, with its key', async () => {
    const { press, frame } = setup({ state: fixtureState(100, 40) });
    await press('?');
    const f = frame();
    expect(f).toContain('Keys (? or Esc closes)');
    for (const c of COMMANDS) {
      expect(f).toContain(c.label);
      expect(f).toContain(c.help.slice(0, 30));
    }
    await press(ESC);
    expect(frame()).not.toContain('Keys (? or Esc closes)');
  });

  it('the footer is generated from the table', () => {
    const f = setup({ state: fixtureState(200, 40) }).frame();
    const footer = f.split('\n').at(-1)!;
    expect(footer.trim()).toBe(footerHints('normal', false).map(([k, w]) => `${k} ${w}`).join('  '));
  });
});

describe('actions', () => {
  it('s runs a pass and shows how it went', async () => {
    const { press, frame, actions } = setup();
    await press('s');
    expect(actions.syncNow).toHaveBeenCalledWith();
    expect(frame()).toContain('pass p1 done: 3 rows applied, 1 conflict,');
  });

  it('s on a standby shows LEASE_HELD in the screen', async () => {
    const { press, frame, actions } = setup();
    actions.syncNow.mockRejectedValueOnce(new CesarError('LEASE_HELD', 'another cesar is the active syncer (host-b:1:ab, lease expires soon); this one stands by'));
    await press('s');
    expect(frame()).toContain('LEASE_HELD: another cesar is the active syncer');
  });

  it('t syncs the table selected in the Sync panel', async () => {
    const { press, actions } = setup();
    await press('2', 'j', 't');
    expect(actions.syncNow).toHaveBeenCalledWith(['memories']);
  });

  it('d shows what a pass would change', async () => {
    const { press, frame, actions } = setup({ state: fixtureState(100, 40) });
    await press('d');
    expect(actions.dryRun).toHaveBeenCalled();
    const f = frame();
    expect(f).toContain('Dry run: what a pass would change (nothing is written)');
    expect(f).toMatch(/agents\s+up\s+3\s+2\s+1\s+0\s+1/);
    expect(f).toContain('agents up would insert id-new-1 id-new-2; update id-upd-1');
  });

  it('m asks first; any key but y cancels, m twice never migrates', async () => {
    const { press, frame, actions } = setup();
    await press('m');
    expect(frame()).toContain('Apply the pending migrations (local 0, cloud 1)?');
    expect(frame()).toContain('y confirm  any other key cancels');
    await press('m');
    expect(actions.migrate).not.toHaveBeenCalled();
    expect(frame()).toContain('migration cancelled');
    await press('m', 'n');
    expect(actions.migrate).not.toHaveBeenCalled();
    await press('m', 'y');
    expect(actions.migrate).toHaveBeenCalledTimes(1);
    expect(frame()).toContain('migrations: local: up to date; cloud: 1 applied');
  });

  it('Space pauses scheduled passes and the header says so', async () => {
    const { press, frame, actions } = setup();
    await press(' ');
    expect(actions.setPaused).toHaveBeenCalledWith(true);
    expect(frame()).toContain('PAUSED');
    await press(' ');
    expect(actions.setPaused).toHaveBeenLastCalledWith(false);
  });

  it('+ and - step the refresh interval', async () => {
    const { press, frame, actions } = setup();
    await press('+');
    expect(actions.setRefreshMs).toHaveBeenLastCalledWith(1000);
    expect(frame()).toContain('refresh 1s');
    await press('-', '-');
    expect(actions.setRefreshMs).toHaveBeenLastCalledWith(5000);
  });

  it('--readonly disables every action and says so', async () => {
    const { press, frame, actions } = setup({ readonly: true });
    expect(frame()).toContain('READ-ONLY');
    const footer = frame().split('\n').at(-1)!;
    expect(footer).toContain('READ-ONLY: actions off');
    expect(footer).not.toContain('sync');
    await press('s', 't', 'd', 'm', ' ');
    expect(actions.syncNow).not.toHaveBeenCalled();
    expect(actions.dryRun).not.toHaveBeenCalled();
    expect(actions.migrate).not.toHaveBeenCalled();
    expect(actions.setPaused).not.toHaveBeenCalled();
    expect(frame()).toContain('read-only: "Space" (pause) is disabled');
    await press('?');
    expect(frame()).toContain('[off] Sync now');
  });
});

describe('navigation', () => {
  it('Tab, Shift-Tab and digits move between panels (condensed layout shows the focused one)', async () => {
    const { press, frame, store } = setup({ state: fixtureState(80, 24) });
    await press('\t');
    expect(store.get().ui.focus).toBe('sync');
    expect(frame()).toContain('memories');
    await press(SHIFT_TAB, SHIFT_TAB);
    expect(store.get().ui.focus).toBe('events');
    await press('3');
    expect(store.get().ui.focus).toBe('conflicts');
    expect(frame()).toContain('11111111');
  });

  it('arrows and j/k move the selection; leaving the page asks for a new one', async () => {
    const s = fixtureState(80, 24);
    const { press, store, actions } = setup({ state: s });
    await press(DOWN, 'j');
    expect(store.get().ui.cursor.agents).toBe(2);
    await press(UP);
    expect(store.get().ui.cursor.agents).toBe(1);
    await press('G');
    expect(store.get().ui.cursor.agents).toBe(1233);
    expect(actions.refresh).toHaveBeenCalledWith('agents');
    expect(store.get().ui.offset.agents).toBeGreaterThan(1200);
  });

  it('/ filters agents by name as you type; Esc clears', async () => {
    const { press, frame, store, actions } = setup();
    await press('/', 'c', 'r', 'q');
    expect(store.get().ui.filter).toBe('crq');
    expect(frame()).toContain('/ agent name contains: crq');
    expect(actions.quit).not.toHaveBeenCalled();
    await press('\u007F', ENTER);
    expect(store.get().ui.filter).toBe('cr');
    expect(store.get().ui.editing).toBeNull();
    expect(actions.refresh).toHaveBeenCalledWith('agents');
    await press(ESC);
    expect(store.get().ui.filter).toBe('');
  });

  it('o and O sort the agents', async () => {
    const { press, store, frame } = setup({ state: fixtureState(80, 24) });
    await press('o');
    expect(store.get().ui.sort).toEqual({ column: 'type', desc: false });
    await press('O');
    expect(store.get().ui.sort).toEqual({ column: 'type', desc: true });
    expect(frame()).toContain('sort type ↓');
  });

  it('Enter on a conflict opens both versions side by side with the differing fields marked', async () => {
    const { press, frame, actions } = setup({ state: fixtureState(100, 40) });
    await press('3', ENTER);
    await tick(50);
    expect(actions.readConflict).toHaveBeenCalledWith('c1');
    const f = frame();
    expect(f).toContain('Conflict in agents, row 11111111-2222-3333-4444-555555555555');
    expect(f).toMatch(/≠ status\s+"busy"\s+"paused"/);
    expect(f).toMatch(/ {2}name\s+"tool-1"\s+"tool-1"/);
    expect(f).toContain('1 of 4 fields differ');
    await press(ESC);
    expect(frame()).toContain('3 Conflicts');
  });

  it('q quits with 0, Ctrl-C with 130', async () => {
    const a = setup();
    await a.press('q');
    expect(a.actions.quit).toHaveBeenCalledWith(0);
    cleanup();
    const b = setup();
    await b.press('\u0003');
    expect(b.actions.quit).toHaveBeenCalledWith(130);
  });
});

describe('footer at 80 columns', () => {
  it('drops hints from the end of the table but always keeps help and quit', () => {
    const footer = setup({ state: fixtureState(80, 24) }).frame().split('\n').at(-1)!;
    expect(footer.length).toBeLessThanOrEqual(80);
    expect(footer).toContain('s sync');
    expect(footer).toContain('? help');
    expect(footer).toContain('q quit');
  });
});
