import type { Role } from '../config/types.js';
import type { Db } from '../db/pool.js';

/** cesar's own tables: never synced (sync_recent is the bookkeeping of earlier versions, kept out too). */
export const INTERNAL_TABLES = new Set([
  'schema_migrations',
  'sync_state',
  'sync_conflicts',
  'sync_errors',
  'sync_recent',
  'sync_base',
  'sync_acks',
  'cesar_site',
  'cesar_changes',
  'cesar_leases',
]);

/** A table of the schema that follows the sync contract, as the migration files define it. */
export interface SchemaTable {
  name: string;
  /** Column names in table order. */
  columns: string[];
  /** Tables this one references (parents), for ordering. */
  parents: string[];
  hasCreatedAt: boolean;
}

/** How one column's values travel: as text, turned back into the column's type on arrival. */
export interface ColumnType {
  /** The SQL type a text value is cast to on this side (with its modifiers: `numeric(12,6)`, `text[]`). */
  cast: string;
  /** A variable-width type (text, jsonb, arrays...): counts towards the byte size of a page. */
  variable: boolean;
}

/** A table that follows the sync contract (`id UUID` key, `updated_at`, `deleted_at`) on both sides. */
export interface SyncTable extends SchemaTable {
  /** Each column's type on each side (the sides may differ: rows that do not fit are parked). */
  types: Record<Role, Map<string, ColumnType>>;
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
  udt_name: string;
  char_len: number | null;
  num_precision: number | null;
  num_scale: number | null;
  dt_precision: number | null;
}

/** A column as the catalog describes it. */
export interface CatalogColumn {
  /** information_schema's data_type, lower case (`uuid`, `timestamp with time zone`, `array`). */
  dataType: string;
  type: ColumnType;
}

const FIXED_WIDTH = new Set(['uuid', 'int2', 'int4', 'int8', 'float4', 'float8', 'bool', 'date', 'timestamp', 'timestamptz', 'time', 'timetz', 'interval', 'oid']);

/** Quotes a type name unless it is a plain lower-case identifier (an enum or domain may need it). */
function typeIdent(name: string): string {
  return /^[a-z_][a-z0-9_]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

/**
 * The type a column's text value is cast to, with the modifiers that round the stored value the
 * way an INSERT does (`numeric(12,6)`, `timestamptz(3)`), so classifying and writing see what the
 * column will hold. Length modifiers are left out on purpose: an explicit cast to `varchar(8)`
 * silently truncates, where storing into the column refuses a value too long (22001): the row is
 * then parked, never cut.
 */
export function columnType(r: Pick<ColumnRow, 'data_type' | 'udt_name' | 'char_len' | 'num_precision' | 'num_scale' | 'dt_precision'>): ColumnType {
  const dt = r.data_type.toLowerCase();
  const udt = r.udt_name;
  if (dt === 'array') return { cast: `${typeIdent(udt.replace(/^_/, ''))}[]`, variable: true };
  if (dt === 'user-defined') return { cast: typeIdent(udt), variable: true };
  if (dt === 'numeric') return { cast: r.num_precision != null ? `numeric(${r.num_precision},${r.num_scale ?? 0})` : 'numeric', variable: true };
  if (dt === 'character varying') return { cast: 'varchar', variable: true };
  if (dt === 'character') return { cast: 'bpchar', variable: true };
  if (dt === 'bit' || dt === 'bit varying') return { cast: 'varbit', variable: true };
  if ((udt === 'timestamptz' || udt === 'timestamp' || udt === 'time' || udt === 'timetz' || udt === 'interval') && r.dt_precision != null && r.dt_precision < 6) {
    return { cast: `${udt}(${r.dt_precision})`, variable: false };
  }
  return { cast: typeIdent(udt), variable: !FIXED_WIDTH.has(udt) };
}

/** Reads the columns of every base table in the public schema (information_schema: portable). */
export async function readColumns(db: Db): Promise<Map<string, Map<string, CatalogColumn>>> {
  const { rows } = await db.query<ColumnRow>(
    `SELECT c.table_name, c.column_name, c.data_type, c.udt_name,
            c.character_maximum_length AS char_len, c.numeric_precision AS num_precision,
            c.numeric_scale AS num_scale, c.datetime_precision AS dt_precision
       FROM information_schema.columns c
       JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
      WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'
      ORDER BY c.table_name, c.ordinal_position`,
  );
  const tables = new Map<string, Map<string, CatalogColumn>>();
  for (const r of rows) {
    if (!tables.has(r.table_name)) tables.set(r.table_name, new Map());
    const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
    const row = { ...r, char_len: num(r.char_len), num_precision: num(r.num_precision), num_scale: num(r.num_scale), dt_precision: num(r.dt_precision) };
    tables.get(r.table_name)!.set(r.column_name, { dataType: r.data_type.toLowerCase(), type: columnType(row) });
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
export function followsContract(columns: Map<string, CatalogColumn>): boolean {
  return columns.get('id')?.dataType === 'uuid' && /^timestamp/.test(columns.get('updated_at')?.dataType ?? '') && columns.has('deleted_at');
}

/**
 * Builds the registry from both sides' catalogs: the tables of the local schema that follow the
 * contract, in dependency order; a table whose columns differ between the sides, or that is
 * missing on one, is listed in `drift` with the difference and not synced.
 */
export function buildRegistry(
  local: Map<string, Map<string, CatalogColumn>>,
  cloud: Map<string, Map<string, CatalogColumn>>,
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
    const types = (side: Map<string, CatalogColumn>) => new Map([...side].map(([col, c]) => [col, c.type]));
    candidates.push({ name, columns: [...l.keys()], parents, hasCreatedAt: l.has('created_at'), types: { local: types(l), cloud: types(c) } });
  }
  return { tables: dependencyOrder(candidates), drift };
}

/** Orders tables parents first (Kahn's algorithm, ties by name); a cycle falls back to name order for its members. */
export function dependencyOrder<T extends { name: string; parents: string[] }>(tables: T[]): T[] {
  const byName = new Map(tables.map((t) => [t.name, t]));
  const pending = new Map(tables.map((t) => [t.name, new Set(t.parents.filter((p) => byName.has(p)))]));
  const out: T[] = [];
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
