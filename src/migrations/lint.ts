import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CesarError, usageError } from '../errors.js';
import { NODE_CHECKS, type RuleHit } from './lint-rules.js';
import { parseSql, SqlParseError, statementRange } from './split.js';

export { LINT_RULES } from './lint-rules.js';

/** One portability problem in a migration file. */
export interface LintFinding {
  file: string;
  /** 1-based line of the offending node (or of its statement when the node carries no location). */
  line: number;
  /** Stable kebab-case id, a key of LINT_RULES. */
  rule: string;
  /** What is wrong and the portable alternative. */
  message: string;
}

type AstObject = Record<string, unknown>;

// Fields that hold a TypeName or FuncCall struct directly; everywhere else the JSON wraps
// a node as { "NodeType": {...} }, which is how the walker learns the type.
const UNWRAPPED_FIELDS: Record<string, string> = {
  typeName: 'TypeName',
  ofTypename: 'TypeName',
  datatype: 'TypeName',
  storedtype: 'TypeName',
  returnType: 'TypeName',
  argType: 'TypeName',
  sourcetype: 'TypeName',
  targettype: 'TypeName',
  type_name: 'TypeName',
  funccall: 'FuncCall',
};

/** Lints one file's SQL for constructs outside the portable PostgreSQL/CockroachDB subset. */
export async function lintSql(sql: string, file: string): Promise<LintFinding[]> {
  let parsed;
  try {
    parsed = await parseSql(sql, file);
  } catch (err) {
    if (err instanceof SqlParseError) return [parseErrorFinding(err, file)];
    throw err;
  }
  const findings: LintFinding[] = [];
  for (const raw of parsed.result.stmts ?? []) {
    const { start } = statementRange(raw, parsed.bytes.length);
    walk(raw.stmt, undefined, (type, node) => {
      const check = NODE_CHECKS[type];
      if (!check) return;
      const result = check(node as never);
      const hits: RuleHit[] = result === undefined ? [] : Array.isArray(result) ? result : [result];
      for (const hit of hits) {
        const offset = validOffset(hit.location) ?? validOffset(node.location) ?? start;
        findings.push({ file, line: parsed.lineAt(offset), rule: hit.rule, message: hit.message });
      }
    });
  }
  // Walk order within a statement is field order, not source order; the sort is stable.
  return findings.sort((a, b) => a.line - b.line);
}

/** Lints every *.sql file in a directory (sorted by name). */
export async function lintDirectory(dir: string): Promise<LintFinding[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw usageError('MIGRATIONS_DIR_NOT_FOUND', `Migrations directory not found: ${dir}`);
    throw new CesarError('MIGRATIONS_DIR_UNREADABLE', `Cannot read migrations directory ${dir}: ${(err as Error).message}`, { cause: err });
  }
  const files = entries
    .filter((e) => e.isFile() && e.name.toLowerCase().endsWith('.sql'))
    .map((e) => e.name)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const findings: LintFinding[] = [];
  for (const name of files) {
    const path = join(dir, name);
    findings.push(...(await lintSql(await readFile(path, 'utf8'), path)));
  }
  return findings;
}

/** Calls `visit` for every AST node below `value`, with the node's type name. */
function walk(value: unknown, typeHint: string | undefined, visit: (type: string, node: AstObject) => void): void {
  if (Array.isArray(value)) {
    for (const item of value) walk(item, undefined, visit);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  const obj = value as AstObject;
  const keys = Object.keys(obj);
  const only = keys.length === 1 ? keys[0] : undefined;
  if (typeHint === undefined && only !== undefined && /^[A-Z]/.test(only)) {
    const inner = obj[only];
    if (inner !== null && typeof inner === 'object' && !Array.isArray(inner)) {
      visit(only, inner as AstObject);
      walkFields(inner as AstObject, visit);
      return;
    }
  }
  if (typeHint !== undefined) visit(typeHint, obj);
  walkFields(obj, visit);
}

function walkFields(obj: AstObject, visit: (type: string, node: AstObject) => void): void {
  for (const [key, child] of Object.entries(obj)) walk(child, UNWRAPPED_FIELDS[key], visit);
}

/** Parser locations are byte offsets; -1 (and a missing field) mean "unknown". */
function validOffset(location: unknown): number | undefined {
  return typeof location === 'number' && location >= 0 ? location : undefined;
}

function parseErrorFinding(err: SqlParseError, file: string): LintFinding {
  // The parser names the token it choked on; IF/NOT/EXISTS there is the usual CockroachDB-only IF NOT EXISTS.
  const ifNotExists = /at or near "(IF|NOT|EXISTS)"/i.test(err.parserMessage)
    ? ' ADD CONSTRAINT IF NOT EXISTS and CREATE TYPE IF NOT EXISTS are CockroachDB-only: declare constraints inside CREATE TABLE IF NOT EXISTS and use TEXT + CHECK instead of types.'
    : '';
  return {
    file,
    line: err.line,
    rule: 'parse-error',
    message: `PostgreSQL cannot parse this (${err.parserMessage}, line ${err.line}, column ${err.column}); SQL that PostgreSQL rejects is not portable (outside the PostgreSQL/CockroachDB subset).${ifNotExists}`,
  };
}
