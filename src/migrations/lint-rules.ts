import type {
  AlterTableCmd,
  CommentStmt,
  Constraint,
  CreateExtensionStmt,
  CreateFunctionStmt,
  CreateSchemaStmt,
  CreateStmt,
  CreateTableAsStmt,
  CreateTrigStmt,
  DropStmt,
  FuncCall,
  IndexElem,
  IndexStmt,
  Node,
  TransactionStmt,
  TypeName,
  ViewStmt,
} from 'libpg-query';

/** Rule ids with a one-line description, for the CLI's help. */
export const LINT_RULES: Record<string, string> = {
  'parse-error': 'PostgreSQL cannot parse the file (CockroachDB-only syntax is not portable)',
  serial: 'SERIAL/BIGSERIAL/SMALLSERIAL column types (unique_rowid() on CockroachDB)',
  sequence: 'CREATE/ALTER SEQUENCE and nextval()/setval()/currval()',
  identity: 'GENERATED ... AS IDENTITY columns',
  'listen-notify': 'LISTEN/NOTIFY/UNLISTEN and pg_notify() (absent on CockroachDB)',
  'advisory-lock': 'pg_advisory_* / pg_try_advisory_* calls (stubs or undefined on CockroachDB)',
  'do-block': 'DO blocks',
  'create-extension': 'CREATE EXTENSION',
  trigger: 'CREATE [OR REPLACE] TRIGGER and CREATE EVENT TRIGGER',
  'function-language': 'functions/procedures in PL/pgSQL or any language other than SQL',
  'jsonb-path-ops': 'indexes using the jsonb_path_ops operator class',
  'nested-array': 'multi-dimensional array types (INT[][])',
  'jsonb-array': 'jsonb[] / json[] columns and casts',
  'enum-type': 'CREATE TYPE ... AS ENUM',
  domain: 'CREATE DOMAIN',
  rule: 'CREATE RULE',
  'temp-table': 'CREATE TEMP/TEMPORARY TABLE',
  recordset: 'json_to_recordset() / jsonb_to_recordset()',
  'txid-snapshot': 'txid_current(), pg_current_xact_id(), pg_current_snapshot() and friends',
  'not-idempotent': 'CREATE without IF NOT EXISTS (OR REPLACE for views), ADD COLUMN without IF NOT EXISTS, DROP without IF EXISTS',
  'transaction-control': 'BEGIN/COMMIT/ROLLBACK/SAVEPOINT inside a migration file',
  'comment-on': 'COMMENT ON objects other than table, column, index, constraint, schema, database, type',
  'refresh-matview': 'REFRESH MATERIALIZED VIEW',
  vector: 'the pgvector vector type',
};

/** One rule violation found on a node; `location` is a byte offset when the node has a better one than its own. */
export interface RuleHit {
  rule: string;
  message: string;
  location?: number;
}

type Check = (node: never) => RuleHit | RuleHit[] | undefined;

const UUID_KEYS = 'use UUID PRIMARY KEY DEFAULT gen_random_uuid()';
const SERIAL_TYPES = new Set(['serial', 'bigserial', 'smallserial', 'serial2', 'serial4', 'serial8']);
const SEQUENCE_FUNCS = new Set(['nextval', 'setval', 'currval', 'lastval']);
const RECORDSET_FUNCS = new Set(['json_to_recordset', 'jsonb_to_recordset']);
const TXID_FUNCS = new Set([
  'pg_current_snapshot',
  'pg_current_xact_id',
  'pg_current_xact_id_if_assigned',
  'txid_current',
  'txid_current_if_assigned',
  'txid_current_snapshot',
]);
const VECTOR_TYPES = new Set(['vector', 'halfvec', 'sparsevec']);
const COMMENTABLE = new Set([
  'OBJECT_TABLE',
  'OBJECT_COLUMN',
  'OBJECT_INDEX',
  'OBJECT_TABCONSTRAINT',
  'OBJECT_SCHEMA',
  'OBJECT_DATABASE',
  'OBJECT_TYPE',
]);
const TRANSACTION_WORDS: Record<string, string> = {
  TRANS_STMT_BEGIN: 'BEGIN',
  TRANS_STMT_START: 'START TRANSACTION',
  TRANS_STMT_COMMIT: 'COMMIT',
  TRANS_STMT_ROLLBACK: 'ROLLBACK',
  TRANS_STMT_SAVEPOINT: 'SAVEPOINT',
  TRANS_STMT_RELEASE: 'RELEASE SAVEPOINT',
  TRANS_STMT_ROLLBACK_TO: 'ROLLBACK TO SAVEPOINT',
  TRANS_STMT_PREPARE: 'PREPARE TRANSACTION',
  TRANS_STMT_COMMIT_PREPARED: 'COMMIT PREPARED',
  TRANS_STMT_ROLLBACK_PREPARED: 'ROLLBACK PREPARED',
};

/** The identifiers of a qualified name list (`pg_catalog.setval` gives ['pg_catalog', 'setval']). */
function names(list: Node[] | undefined): string[] {
  return (list ?? []).map((n) => ('String' in n ? (n.String.sval ?? '') : ''));
}

function lastName(list: Node[] | undefined): string {
  return names(list).at(-1) ?? '';
}

/** ObjectType as SQL words: OBJECT_MATVIEW -> MATERIALIZED VIEW. */
function objectWords(objtype: string | undefined): string {
  if (objtype === 'OBJECT_MATVIEW') return 'MATERIALIZED VIEW';
  if (objtype === 'OBJECT_TABCONSTRAINT') return 'CONSTRAINT';
  return (objtype ?? 'OBJECT').replace(/^OBJECT_/, '').replace(/_/g, ' ');
}

function checkFuncCall(n: FuncCall): RuleHit | undefined {
  const fn = lastName(n.funcname).toLowerCase();
  if (SEQUENCE_FUNCS.has(fn)) {
    return { rule: 'sequence', message: `${fn}() uses a sequence: sequences are contended and not sequential on CockroachDB; ${UUID_KEYS}` };
  }
  if (fn === 'pg_notify') {
    return { rule: 'listen-notify', message: 'pg_notify(): CockroachDB has no LISTEN/NOTIFY (cockroach issue 41522); record changes in a table (updated_at) and poll it' };
  }
  if (fn.startsWith('pg_advisory') || fn.startsWith('pg_try_advisory')) {
    return { rule: 'advisory-lock', message: `${fn}(): advisory locks are stubs or undefined on CockroachDB; use a lease row (INSERT ... ON CONFLICT DO NOTHING with owner, expiry and heartbeat)` };
  }
  if (RECORDSET_FUNCS.has(fn)) {
    return { rule: 'recordset', message: `${fn}() is not supported on CockroachDB (cockroach issue 70037); use jsonb_populate_recordset(NULL::t, $1) or a multi-row VALUES list` };
  }
  if (TXID_FUNCS.has(fn)) {
    return { rule: 'txid-snapshot', message: `${fn}(): transaction ids and snapshots are PostgreSQL internals with no CockroachDB equivalent; track changes with updated_at columns and polling with an overlap window` };
  }
  return undefined;
}

function checkTypeName(n: TypeName): RuleHit[] {
  const type = lastName(n.names).toLowerCase();
  const dims = n.arrayBounds?.length ?? 0;
  const hits: RuleHit[] = [];
  if (SERIAL_TYPES.has(type)) {
    hits.push({ rule: 'serial', message: `${type.toUpperCase()} column: on CockroachDB it is unique_rowid() (64-bit, not sequential, above 2^53); ${UUID_KEYS}` });
  }
  if (dims > 1) {
    hits.push({ rule: 'nested-array', message: `${type}${'[]'.repeat(dims)} has ${dims} array dimensions: CockroachDB arrays have one level; use a one-dimensional array, JSONB or a child table` });
  }
  if (dims > 0 && (type === 'json' || type === 'jsonb')) {
    hits.push({ rule: 'jsonb-array', message: `${type}[]: CockroachDB has no arrays of JSON (cockroach issue 23468); store one JSONB array value, or pass rows with jsonb_populate_recordset / multi-row VALUES` });
  }
  if (VECTOR_TYPES.has(type)) {
    hits.push({ rule: 'vector', message: `${type} type (pgvector): needs an extension on PostgreSQL and CockroachDB v24.2+; keep it out of the portable schema (or in an optional migration)` });
  }
  return hits;
}

function checkCreateFunction(n: CreateFunctionStmt): RuleHit | undefined {
  const kind = n.is_procedure ? 'PROCEDURE' : 'FUNCTION';
  for (const opt of n.options ?? []) {
    if (!('DefElem' in opt) || opt.DefElem.defname !== 'language') continue;
    const arg = opt.DefElem.arg;
    const lang = (arg && 'String' in arg ? arg.String.sval : undefined)?.toLowerCase() ?? '';
    const location = opt.DefElem.location;
    if (lang === 'plpgsql') {
      return { rule: 'function-language', location, message: `CREATE ${kind} ... LANGUAGE plpgsql: CockroachDB's PL/pgSQL lacks PERFORM, FOUND, dynamic EXECUTE and GET DIAGNOSTICS; use LANGUAGE sql or application code` };
    }
    if (lang !== 'sql') {
      return { rule: 'function-language', location, message: `CREATE ${kind} ... LANGUAGE ${lang}: not available on CockroachDB; use LANGUAGE sql or application code` };
    }
  }
  return undefined;
}

function notIdempotent(what: string, fix: string): RuleHit {
  return { rule: 'not-idempotent', message: `${what}: a re-run or resumed migration fails; write ${fix}` };
}

function checkAlterTableCmd(n: AlterTableCmd): RuleHit | undefined {
  if (n.missing_ok) return undefined;
  if (n.subtype === 'AT_AddColumn') {
    const col = n.def && 'ColumnDef' in n.def ? (n.def.ColumnDef.colname ?? '') : '';
    return notIdempotent(`ALTER TABLE ... ADD COLUMN ${col} without IF NOT EXISTS`, 'ADD COLUMN IF NOT EXISTS');
  }
  if (n.subtype === 'AT_DropColumn') return notIdempotent(`ALTER TABLE ... DROP COLUMN ${n.name ?? ''} without IF EXISTS`, 'DROP COLUMN IF EXISTS');
  if (n.subtype === 'AT_DropConstraint') {
    return notIdempotent(`ALTER TABLE ... DROP CONSTRAINT ${n.name ?? ''} without IF EXISTS`, 'DROP CONSTRAINT IF EXISTS');
  }
  return undefined;
}

function checkCreateStmt(n: CreateStmt): RuleHit[] {
  const hits: RuleHit[] = [];
  if (n.relation?.relpersistence === 't') {
    hits.push({ rule: 'temp-table', message: 'CREATE TEMP TABLE: temporary tables are experimental on CockroachDB; use a CTE, a VALUES list or a regular staging table' });
  }
  if (!n.if_not_exists) hits.push(notIdempotent('CREATE TABLE without IF NOT EXISTS', 'CREATE TABLE IF NOT EXISTS'));
  return hits;
}

function checkCreateTableAs(n: CreateTableAsStmt): RuleHit[] {
  const what = n.objtype === 'OBJECT_MATVIEW' ? 'MATERIALIZED VIEW' : 'TABLE';
  const hits: RuleHit[] = [];
  if (n.into?.rel?.relpersistence === 't') {
    hits.push({ rule: 'temp-table', message: 'CREATE TEMP TABLE ... AS: temporary tables are experimental on CockroachDB; use a CTE or a regular staging table' });
  }
  if (!n.if_not_exists) hits.push(notIdempotent(`CREATE ${what} ... AS without IF NOT EXISTS`, `CREATE ${what} IF NOT EXISTS ... AS`));
  return hits;
}

function checkTrigger(n: CreateTrigStmt): RuleHit {
  if (n.replace) {
    return { rule: 'trigger', message: 'CREATE OR REPLACE TRIGGER is not supported on CockroachDB at all (and triggers are Preview there); do the work in the statements or application code' };
  }
  return { rule: 'trigger', message: 'CREATE TRIGGER: triggers exist on CockroachDB only from v24.3, as Preview; do not make correctness depend on them, do the work in the statements or application code' };
}

/** Checks keyed by AST node type; each returns the hits for one node. */
export const NODE_CHECKS: Record<string, Check> = {
  FuncCall: checkFuncCall,
  TypeName: checkTypeName,
  CreateSeqStmt: () => ({ rule: 'sequence', message: `CREATE SEQUENCE: sequences are contended and not sequential on CockroachDB; ${UUID_KEYS}` }),
  AlterSeqStmt: () => ({ rule: 'sequence', message: `ALTER SEQUENCE: sequences are contended and not sequential on CockroachDB; ${UUID_KEYS}` }),
  Constraint: (n: Constraint) =>
    n.contype === 'CONSTR_IDENTITY'
      ? { rule: 'identity', message: `GENERATED ... AS IDENTITY is backed by a sequence (contended, not sequential on CockroachDB); ${UUID_KEYS}` }
      : undefined,
  ListenStmt: () => ({ rule: 'listen-notify', message: 'LISTEN: CockroachDB has no LISTEN/NOTIFY (cockroach issue 41522); poll an updated_at column instead' }),
  NotifyStmt: () => ({ rule: 'listen-notify', message: 'NOTIFY: CockroachDB has no LISTEN/NOTIFY (cockroach issue 41522); record changes in a table (updated_at) and poll it' }),
  UnlistenStmt: () => ({ rule: 'listen-notify', message: 'UNLISTEN: CockroachDB has no LISTEN/NOTIFY (cockroach issue 41522); poll instead' }),
  DoStmt: () => ({ rule: 'do-block', message: 'DO block: CockroachDB cannot run DDL in DO blocks and its PL/pgSQL is limited; write plain idempotent statements (IF NOT EXISTS) instead' }),
  CreateExtensionStmt: (n: CreateExtensionStmt) => ({
    rule: 'create-extension',
    message: `CREATE EXTENSION ${n.extname ?? ''}: CockroachDB rejects most extensions (a no-op for a few); use built-ins (gen_random_uuid() needs no extension)`,
  }),
  CreateTrigStmt: checkTrigger,
  CreateEventTrigStmt: () => ({ rule: 'trigger', message: 'CREATE EVENT TRIGGER is not supported on CockroachDB; run the follow-up work from the migration or application code' }),
  CreateFunctionStmt: checkCreateFunction,
  IndexElem: (n: IndexElem) =>
    names(n.opclass).some((c) => c.toLowerCase() === 'jsonb_path_ops')
      ? { rule: 'jsonb-path-ops', message: 'jsonb_path_ops operator class: CockroachDB supports only the default jsonb_ops; write USING GIN (col) without an operator class' }
      : undefined,
  CreateEnumStmt: () => ({ rule: 'enum-type', message: 'CREATE TYPE ... AS ENUM: enums are hard to change and differ between the databases; use TEXT with CHECK (col IN (...))' }),
  CreateDomainStmt: () => ({ rule: 'domain', message: 'CREATE DOMAIN is not supported on CockroachDB; use the base type with a CHECK constraint on each column' }),
  RuleStmt: () => ({ rule: 'rule', message: 'CREATE RULE is not supported on CockroachDB; put the logic in the statements or application code' }),
  CreateStmt: checkCreateStmt,
  CreateTableAsStmt: checkCreateTableAs,
  IndexStmt: (n: IndexStmt) =>
    n.if_not_exists ? undefined : notIdempotent('CREATE INDEX without IF NOT EXISTS', 'CREATE INDEX IF NOT EXISTS <name> ON ...'),
  CreateSchemaStmt: (n: CreateSchemaStmt) =>
    n.if_not_exists ? undefined : notIdempotent('CREATE SCHEMA without IF NOT EXISTS', 'CREATE SCHEMA IF NOT EXISTS'),
  ViewStmt: (n: ViewStmt) => (n.replace ? undefined : notIdempotent('CREATE VIEW without OR REPLACE', 'CREATE OR REPLACE VIEW')),
  AlterTableCmd: checkAlterTableCmd,
  DropStmt: (n: DropStmt) => {
    const what = objectWords(n.removeType);
    return n.missing_ok ? undefined : notIdempotent(`DROP ${what} without IF EXISTS`, `DROP ${what} IF EXISTS`);
  },
  TransactionStmt: (n: TransactionStmt) => ({
    rule: 'transaction-control',
    message: `${TRANSACTION_WORDS[n.kind ?? ''] ?? 'Transaction control'} in a migration file: the runner sends statements one at a time and DDL is not transactional on CockroachDB; remove it and let the runner manage transactions`,
  }),
  CommentStmt: (n: CommentStmt) =>
    COMMENTABLE.has(n.objtype ?? '')
      ? undefined
      : {
          rule: 'comment-on',
          message: `COMMENT ON ${objectWords(n.objtype)}: CockroachDB supports COMMENT ON only for tables, columns, indexes, constraints, schemas, databases and types; use a SQL comment (--) instead`,
        },
  RefreshMatViewStmt: () => ({
    rule: 'refresh-matview',
    message: 'REFRESH MATERIALIZED VIEW: cannot run inside a transaction on CockroachDB and rebuilds the whole view; use a regular view or a table maintained by the application',
  }),
};
