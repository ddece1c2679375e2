import { isCesarError } from '../../errors.js';
import { redactError } from '../../config/redact.js';
import type { PassReport } from '../../status/types.js';
import { commandFor, type CommandId, type KeyPress, type Mode } from '../keys/commands.js';
import { plural } from '../format/text.js';
import { computeLayout, listRows } from '../layout.js';
import { formatDuration } from '../../config/duration.js';
import type { DashboardActions } from './actions.js';
import type { DashboardStore } from './store.js';
import { AGENT_SORTS, PANELS, type DashboardState, type Message, type PanelId } from './types.js';

/** Refresh intervals `+` and `-` step through. */
export const REFRESH_STEPS = [500, 1000, 2000, 5000, 10_000, 30_000];

const MESSAGE_MS = 6000;

/** The mode a state is in: it decides which bindings are live. */
export function modeOf(s: DashboardState): Mode {
  if (s.ui.editing !== null) return 'filter';
  if (s.ui.overlay?.kind === 'confirm-migrate') return 'confirm';
  if (s.ui.overlay) return 'overlay';
  return 'normal';
}

/** How many rows a panel's list has. */
export function listLength(s: DashboardState, panel: PanelId): number {
  switch (panel) {
    case 'agents':
      return s.agents.total;
    case 'sync':
      return s.sync.rows.length;
    case 'conflicts':
      return s.conflicts.rows.length;
    case 'migrations':
      return migrationFileNames(s.migrations).length;
    case 'events':
      return s.events.length;
  }
}

/** Every migration file name known on either database, sorted. */
export function migrationFileNames(migrations: DashboardState['migrations']): string[] {
  const names = new Set<string>();
  for (const m of Object.values(migrations.byRole)) if (m && 'files' in m) for (const f of m.files) names.add(f.name);
  return [...names].sort();
}

/** Moves a window of `page` rows so that `cursor` stays inside it, moving as little as possible. */
export function follow(cursor: number, offset: number, page: number, length: number): number {
  let o = offset;
  if (cursor < o) o = cursor;
  if (cursor >= o + page) o = cursor - page + 1;
  return Math.max(0, Math.min(o, Math.max(0, length - page)));
}

/** One line about a finished pass. */
export function passSummary(r: PassReport): string {
  const t = r.totals;
  const head = r.dryRun ? `dry run ${r.passId}` : `pass ${r.passId}`;
  const body = `${plural(t.applied, 'row')} applied, ${plural(t.conflicts, 'conflict')}, ${plural(t.deleted, 'delete')}, ${plural(t.errors, 'row error')} in ${formatDuration(r.ms)}`;
  const failed = r.tables.find((x) => x.error);
  return failed ? `${head} finished with errors: ${failed.table} ${failed.direction}: ${failed.error}` : `${head} done: ${body}`;
}

/** An error for the message line: stable code first when there is one (LEASE_HELD, ...). */
export function errorText(err: unknown): string {
  return isCesarError(err) ? `${err.code}: ${err.message}` : redactError(err);
}

/**
 * Turns key presses into state changes and actions, through the command table only. Kept out of
 * React so that every flow (confirmation, read-only, filter typing) is testable without a screen.
 */
export class Controller {
  private readonly inFlight = new Set<string>();

  constructor(
    private readonly store: DashboardStore,
    private readonly actions: DashboardActions,
    private readonly readonly: boolean,
  ) {}

  /** Handles one key press. */
  key(k: KeyPress): void {
    const s = this.store.get();
    const mode = modeOf(s);
    const hit = commandFor(k, mode);
    if (mode === 'filter') {
      if (hit) return this.run(hit.spec.id, hit.input);
      if (k.backspace || k.delete) return this.editFilter(s.ui.editing!.slice(0, -1));
      if (k.input && !k.ctrl && !k.escape && !k.tab && !k.return && !/[\u0000-\u001f]/.test(k.input)) this.editFilter(s.ui.editing! + k.input);
      return;
    }
    if (mode === 'confirm') {
      if (hit) return this.run(hit.spec.id, hit.input);
      // any key but the confirming one cancels: `m` twice must never migrate
      this.store.ui({ overlay: null });
      this.say('migration cancelled', 'info');
      return;
    }
    if (mode === 'overlay' && !hit && k.return) return this.run('back', '');
    if (!hit) return;
    if (hit.spec.acts && this.readonly) {
      this.say(`read-only: "${hit.spec.label}" (${hit.spec.hint ?? hit.spec.id}) is disabled; started with --readonly`, 'warn');
      return;
    }
    this.run(hit.spec.id, hit.input);
  }

  /** Runs a command by id (the key handler's second half; tests may call it directly). */
  run(id: CommandId, input = ''): void {
    const s = this.store.get();
    switch (id) {
      case 'quit':
        return this.actions.quit(0);
      case 'interrupt':
        return this.actions.quit(130);
      case 'help':
        return this.store.ui({ overlay: s.ui.overlay?.kind === 'help' ? null : { kind: 'help' } });
      case 'back':
        if (s.ui.overlay) return this.store.ui({ overlay: null });
        if (s.ui.filter) return this.setFilter('');
        return;
      case 'nextPanel':
      case 'prevPanel': {
        const i = PANELS.indexOf(s.ui.focus);
        const next = PANELS[(i + (id === 'nextPanel' ? 1 : PANELS.length - 1)) % PANELS.length]!;
        return this.store.ui({ focus: next });
      }
      case 'gotoPanel': {
        const panel = PANELS[Number(input) - 1];
        if (panel) this.store.ui({ focus: panel });
        return;
      }
      case 'up':
        return this.move(-1);
      case 'down':
        return this.move(1);
      case 'pageUp':
        return this.move(-this.page(s.ui.focus));
      case 'pageDown':
        return this.move(this.page(s.ui.focus));
      case 'top':
        return this.move(-Infinity);
      case 'bottom':
        return this.move(Infinity);
      case 'filter':
        return this.store.ui({ focus: 'agents', editing: s.ui.filter });
      case 'filterApply':
        return this.store.ui({ editing: null });
      case 'filterCancel':
        this.store.ui({ editing: null });
        return this.setFilter('');
      case 'sortNext':
      case 'sortReverse': {
        const sort =
          id === 'sortReverse'
            ? { ...s.ui.sort, desc: !s.ui.sort.desc }
            : { column: AGENT_SORTS[(AGENT_SORTS.indexOf(s.ui.sort.column) + 1) % AGENT_SORTS.length]!, desc: false };
        this.store.ui((ui) => ({ focus: 'agents', sort, cursor: { ...ui.cursor, agents: 0 }, offset: { ...ui.offset, agents: 0 } }));
        this.say(`agents sorted by ${sort.column} ${sort.desc ? 'descending' : 'ascending'}`, 'info');
        return this.actions.refresh('agents');
      }
      case 'open':
        return this.openSelected();
      case 'faster':
      case 'slower':
        return this.stepRefresh(id === 'faster' ? -1 : 1);
      case 'pause': {
        const paused = !(s.scheduler?.paused ?? false);
        this.actions.setPaused(paused);
        this.store.update((x) => ({ ...x, scheduler: x.scheduler ? { ...x.scheduler, paused, nextPassAt: paused ? null : x.scheduler.nextPassAt } : x.scheduler }), true);
        this.say(paused ? 'scheduled passes paused (Space resumes; s still syncs now)' : 'scheduled passes resumed', 'info');
        return;
      }
      case 'syncNow':
        return this.pass('sync', 'sync pass running…', () => this.actions.syncNow());
      case 'syncTable': {
        const row = s.ui.focus === 'sync' ? s.sync.rows[s.ui.cursor.sync] : undefined;
        if (!row) {
          this.store.ui({ focus: 'sync' });
          this.say('select a table in the Sync panel, then press t', 'warn');
          return;
        }
        return this.pass('sync', `syncing ${row.table}…`, () => this.actions.syncNow([row.table]));
      }
      case 'dryRun':
        return this.dryRun();
      case 'migrate':
        return this.store.ui({ overlay: { kind: 'confirm-migrate' } });
      case 'confirmYes':
        this.store.ui({ overlay: null });
        return this.task('migrate', 'applying migrations…', () => this.actions.migrate(), (summary) => this.say(summary, /fail|error|refused/i.test(summary) ? 'error' : 'info'));
    }
  }

  /** Shows a message above the footer. */
  say(text: string, level: Message['level'], ms = MESSAGE_MS): void {
    this.store.ui({ message: { text, level, until: Date.now() + ms } });
  }

  private page(panel: PanelId): number {
    const s = this.store.get();
    return listRows(computeLayout(s.size.columns, s.size.rows).panels[panel]);
  }

  private move(delta: number): void {
    const s = this.store.get();
    const panel = s.ui.focus;
    const length = listLength(s, panel);
    if (length === 0) return;
    const page = this.page(panel);
    const clamp = (v: number, max: number): number => Math.max(0, Math.min(max, v));
    if (panel === 'events') {
      // the event log's "cursor" is how far it is scrolled back from the newest line (0: following)
      const back = clamp(s.ui.cursor.events - delta, Math.max(0, length - page));
      this.store.ui((ui) => ({ cursor: { ...ui.cursor, events: back } }));
      return;
    }
    const cursor = clamp(s.ui.cursor[panel] + delta, length - 1);
    const offset = follow(cursor, s.ui.offset[panel], page, length);
    this.store.ui((ui) => ({ cursor: { ...ui.cursor, [panel]: cursor }, offset: { ...ui.offset, [panel]: offset } }));
    // the agents panel holds only the visible page: a new window means a new query
    if (panel === 'agents' && offset !== s.agents.offset) this.actions.refresh('agents');
  }

  private editFilter(text: string): void {
    this.store.ui({ editing: text });
    this.setFilter(text);
  }

  private setFilter(filter: string): void {
    this.store.ui((ui) => ({ filter, cursor: { ...ui.cursor, agents: 0 }, offset: { ...ui.offset, agents: 0 } }));
    this.actions.refresh('agents');
  }

  private openSelected(): void {
    const s = this.store.get();
    if (s.ui.focus !== 'conflicts') return;
    const row = s.conflicts.rows[s.ui.cursor.conflicts];
    if (!row) return;
    this.store.ui({ overlay: { kind: 'conflict', id: row.id } });
    this.actions.readConflict(row.id).then(
      (full) => this.replaceOverlay('conflict', full ? { kind: 'conflict', id: row.id, row: full } : { kind: 'conflict', id: row.id, error: 'this conflict is no longer logged' }),
      (err: unknown) => this.replaceOverlay('conflict', { kind: 'conflict', id: row.id, error: errorText(err) }),
    );
  }

  private dryRun(): void {
    if (this.inFlight.has('dry-run')) return;
    this.inFlight.add('dry-run');
    this.store.ui({ overlay: { kind: 'dry-run', running: true } });
    this.actions
      .dryRun()
      .then(
        (report) => this.replaceOverlay('dry-run', { kind: 'dry-run', running: false, report }),
        (err: unknown) => this.replaceOverlay('dry-run', { kind: 'dry-run', running: false, error: errorText(err) }),
      )
      .finally(() => this.inFlight.delete('dry-run'));
  }

  /** Updates an overlay only if the operator has not closed it meanwhile. */
  private replaceOverlay(kind: 'dry-run' | 'conflict', overlay: NonNullable<DashboardState['ui']['overlay']>): void {
    if (this.store.get().ui.overlay?.kind === kind) this.store.ui({ overlay });
  }

  private pass(key: string, running: string, run: () => Promise<PassReport>): void {
    this.task(key, running, run, (report) => this.say(passSummary(report), report.ok ? 'info' : 'error'));
  }

  private task<T>(key: string, running: string, run: () => Promise<T>, done: (value: T) => void): void {
    if (this.inFlight.has(key)) {
      this.say(`${key === 'migrate' ? 'migrations are' : 'a pass is'} already running`, 'warn');
      return;
    }
    this.inFlight.add(key);
    this.say(running, 'info', 10 * 60_000);
    run()
      .then(done, (err: unknown) => this.say(errorText(err), 'error', 15_000))
      .finally(() => {
        this.inFlight.delete(key);
        this.actions.refresh('all');
      });
  }

  private stepRefresh(direction: -1 | 1): void {
    const current = this.store.get().ui.refreshMs;
    const i = REFRESH_STEPS.findIndex((ms) => ms >= current);
    const at = i === -1 ? REFRESH_STEPS.length - 1 : i;
    const next = REFRESH_STEPS[Math.max(0, Math.min(REFRESH_STEPS.length - 1, REFRESH_STEPS[at] === current ? at + direction : direction < 0 ? at - 1 : at))]!;
    this.actions.setRefreshMs(next);
    this.store.ui({ refreshMs: next });
    this.say(`refresh every ${formatDuration(next)}`, 'info');
  }
}
