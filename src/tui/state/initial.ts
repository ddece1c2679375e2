import type { Environment } from '../../config/types.js';
import { PANELS, type DashboardState, type PanelId } from './types.js';

/** What the first frame knows before any database answered. */
export interface InitialOptions {
  environment: Environment;
  embedded: boolean;
  readonly: boolean;
  refreshMs: number;
  columns: number;
  rows: number;
  api?: string | null;
  now?: number;
}

const zero = (): Record<PanelId, number> => Object.fromEntries(PANELS.map((p) => [p, 0])) as Record<PanelId, number>;

/** The empty state: every panel says "loading" until its first poll. */
export function initialState(o: InitialOptions): DashboardState {
  return {
    now: o.now ?? Date.now(),
    size: { columns: o.columns, rows: o.rows },
    header: { environment: o.environment, embedded: o.embedded, readonly: o.readonly, readSource: null, dbs: { local: null, cloud: null }, api: o.api ?? null },
    scheduler: null,
    agents: { role: null, rows: [], offset: 0, total: 0, capped: false, error: null },
    sync: { rows: [], error: null, spark: [] },
    tableSpark: {},
    conflicts: { rows: [], error: null },
    migrations: { byRole: {} },
    events: [],
    ui: {
      focus: 'agents',
      cursor: zero(),
      offset: zero(),
      sort: { column: 'name', desc: false },
      filter: '',
      editing: null,
      overlay: null,
      message: null,
      refreshMs: o.refreshMs,
    },
  };
}
