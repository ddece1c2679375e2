import type { Db } from '../db/pool.js';

/** cesar's own tables: never synced. */
export const INTERNAL_TABLES = new Set(['schema_migrations', 'sync_state', 'sync_conflicts', 'sync_errors', 'sync_recent', 'cesar_leases']);

/** A table that follows the sync contract (`id UUID` key, `updated_at`, `deleted_at`). */
export interface SyncTable {
  name: string;
  /** Column names in table order. */
  columns: string[];
  /** Tables this one references (parents), for ordering. */
  parents: string[];
  hasCreatedAt: boolean;
}

/** The synced tables in dependency order (parents first), and what could not be synced. */
export interface Registry {
  tables: SyncTable[];
  /** Tables refused because the two sides differ, with the difference in words. */
  drift: Map<string, string>;
}

interface ColumnRow {
  table_name: string;
  column_name: string;
  data_type: string;
}

/** Reads the columns of every base table in the public schema (information_schema: portable). */
export async function readColumns(db: Db): Promise<Map<string, Map<string, string>>> {
  const { rows } = await db.query<ColumnRow>(
    `SELECT c.table_name, c.column_name, c.data_type
       FROM information_schema.columns c
       JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
      WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'
      ORDER BY c.table_name, c.ordinal_position`,
  );
  const tables = new Map<string, Map<string, string>>();
  for (const r of rows) {
    if (!tables.has(r.table_name)) tables.set(r.table_name, new Map());
    tables.get(r.table_name)!.set(r.column_name, r.data_type.toLowerCase());
  }
  return tables;
}

/** Reads foreign-key edges child -> parent in the public schema. */
export async function readForeignKeys(db: Db): Promise<Array<{ child: string; parent: string }>> {
  const { rows } = await db.query<{ child: string; parent: string }>(
    `SELECT DISTINCT kcu.table_name AS child, pk.table_name AS parent
       FROM information_schema.referential_constraints rc
       JOIN information_schema.key_column_usage kcu
         ON kcu.constraint_schema = rc.constraint_schema AND kcu.constraint_name = rc.constraint_name
       JOIN information_schema.key_column_usage pk
         ON pk.constraint_schema = rc.unique_constraint_schema AND pk.constraint_name = rc.unique_constraint_name
      WHERE rc.constraint_schema = 'public' AND kcu.table_schema = 'public'`,
  );
  return rows;
}

/** True when a table has the contract columns with usable types. */
export function followsContract(columns: Map<string, string>): boolean {
  return columns.get('id') === 'uuid' && /^timestamp/.test(columns.get('updated_at') ?? '') && columns.has('deleted_at');
}

/**
 * Builds the registry from both sides' catalogs: the tables of the local schema that follow the
 * contract, in dependency order; a table whose columns differ between the sides, or that is
 * missing on one, is listed in `drift` with the difference and not synced.
 */
export function buildRegistry(
  local: Map<string, Map<string, string>>,
  cloud: Map<string, Map<string, string>>,
  edges: Array<{ child: string; parent: string }>,
): Registry {
  const drift = new Map<string, string>();
  const candidates: SyncTable[] = [];
  const names = new Set([...local.keys(), ...cloud.keys()].filter((n) => !INTERNAL_TABLES.has(n)));
  for (const name of [...names].sort()) {
    const l = local.get(name);
    const c = cloud.get(name);
    const contract = (l && followsContract(l)) || (c && followsContract(c));
    if (!contract) continue;
    if (!l || !c) {
      drift.set(name, `table ${name} exists only in the ${l ? 'local' : 'cloud'} database`);
      continue;
    }
    const onlyLocal = [...l.keys()].filter((k) => !c.has(k));
    const onlyCloud = [...c.keys()].filter((k) => !l.has(k));
    if (onlyLocal.length || onlyCloud.length) {
      const parts = [
        onlyLocal.length ? `column${onlyLocal.length > 1 ? 's' : ''} ${onlyLocal.join(', ')} only in local` : '',
        onlyCloud.length ? `column${onlyCloud.length > 1 ? 's' : ''} ${onlyCloud.join(', ')} only in cloud` : '',
      ].filter(Boolean);
      drift.set(name, `schema drift in ${name}: ${parts.join('; ')}`);
      continue;
    }
    if (!followsContract(l) || !followsContract(c)) {
      drift.set(name, `${name} does not follow the sync contract on both sides (id UUID, updated_at TIMESTAMPTZ, deleted_at)`);
      continue;
    }
    const parents = [...new Set(edges.filter((e) => e.child === name && e.parent !== name).map((e) => e.parent))].sort();
    candidates.push({ name, columns: [...l.keys()], parents, hasCreatedAt: l.has('created_at') });
  }
  return { tables: dependencyOrder(candidates), drift };
}

/** Orders tables parents first (Kahn's algorithm, ties by name); a cycle falls back to name order for its members. */
export function dependencyOrder(tables: SyncTable[]): SyncTable[] {
  const byName = new Map(tables.map((t) => [t.name, t]));
  const pending = new Map(tables.map((t) => [t.name, new Set(t.parents.filter((p) => byName.has(p)))]));
  const out: SyncTable[] = [];
  while (pending.size > 0) {
    const ready = [...pending.entries()].filter(([, deps]) => deps.size === 0).map(([n]) => n).sort();
    const next = ready.length > 0 ? ready : [[...pending.keys()].sort()[0]!];
    for (const name of next) {
      out.push(byName.get(name)!);
      pending.delete(name);
      for (const deps of pending.values()) deps.delete(name);
    }
  }
  return out;
}

/** Loads the registry from both databases. */
export async function loadRegistry(local: Db, cloud: Db): Promise<Registry> {
  const [l, c, edges] = await Promise.all([readColumns(local), readColumns(cloud), readForeignKeys(local)]);
  return buildRegistry(l, c, edges);
}
