import fs from 'node:fs';
import path from 'node:path';
import { defaultMigrationsDir } from '../migrations/files.js';
import { parseSql } from '../migrations/split.js';
import { dependencyOrder, INTERNAL_TABLES, type SchemaTable } from './registry.js';

interface Node {
  [key: string]: unknown;
}

/**
 * The sync registry as the migration files define it, read with the PostgreSQL parser: every
 * table that follows the contract (id UUID, updated_at, deleted_at), with its columns and parents,
 * in dependency order. It needs no database, so a `--table` name is checked before any SQL is sent.
 */
export async function schemaRegistry(dir = defaultMigrationsDir()): Promise<SchemaTable[]> {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.sql')).sort();
  const tables = new Map<string, { columns: Map<string, string>; parents: Set<string> }>();
  for (const file of files) {
    const parsed = await parseSql(fs.readFileSync(path.join(dir, file), 'utf8'), file);
    for (const raw of parsed.result.stmts ?? []) {
      const stmt = raw.stmt as Node | undefined;
      const create = stmt?.CreateStmt as Node | undefined;
      const alter = stmt?.AlterTableStmt as Node | undefined;
      if (create) {
        const name = relname(create.relation);
        if (!tables.has(name)) tables.set(name, { columns: new Map(), parents: new Set() });
        const t = tables.get(name)!;
        for (const elt of (create.tableElts as Node[] | undefined) ?? []) addElement(t, elt);
      } else if (alter) {
        const t = tables.get(relname(alter.relation));
        for (const cmd of (alter.cmds as Node[] | undefined) ?? []) {
          const c = cmd.AlterTableCmd as Node | undefined;
          if (t && c?.subtype === 'AT_AddColumn' && c.def) addElement(t, c.def as Node);
          if (t && c?.subtype === 'AT_AddConstraint' && c.def) addElement(t, c.def as Node);
        }
      }
    }
  }
  const out: SchemaTable[] = [];
  for (const [name, t] of tables) {
    if (INTERNAL_TABLES.has(name)) continue;
    if (t.columns.get('id') !== 'uuid' || !/^timestamp/.test(t.columns.get('updated_at') ?? '') || !t.columns.has('deleted_at')) continue;
    out.push({ name, columns: [...t.columns.keys()], parents: [...t.parents].filter((p) => p !== name).sort(), hasCreatedAt: t.columns.has('created_at') });
  }
  return dependencyOrder(out);
}

function relname(relation: unknown): string {
  return String((relation as Node | undefined)?.relname ?? '');
}

function addElement(t: { columns: Map<string, string>; parents: Set<string> }, elt: Node): void {
  const col = elt.ColumnDef as Node | undefined;
  if (col) {
    const names = ((col.typeName as Node | undefined)?.names as Node[] | undefined) ?? [];
    const type = names.map((n) => String((n.String as Node | undefined)?.sval ?? '')).filter((n) => n !== 'pg_catalog').join('.');
    t.columns.set(String(col.colname), type);
    for (const c of (col.constraints as Node[] | undefined) ?? []) addConstraint(t, c);
    return;
  }
  addConstraint(t, elt);
}

function addConstraint(t: { parents: Set<string> }, node: Node): void {
  const c = node.Constraint as Node | undefined;
  if (c?.contype === 'CONSTR_FOREIGN') t.parents.add(relname(c.pktable));
}
