import { loadModule, parseSync, scanSync, SqlError, type ParseResult, type RawStmt } from 'libpg-query';
import { CesarError } from '../errors.js';

/** One statement of a migration file. */
export interface SqlStatement {
  /** 0-based position among the file's non-empty statements. */
  index: number;
  /** Statement text, trimmed, without the trailing semicolon or trailing comments. */
  text: string;
  /** 1-based line of the statement's first token (leading comments and blank lines are skipped). */
  line: number;
}

/** A syntax error with its file-relative position (1-based line and column, column in code points). */
export class SqlParseError extends CesarError {
  readonly line: number;
  readonly column: number;
  readonly parserMessage: string;

  constructor(message: string, parserMessage: string, line: number, column: number, cause: unknown) {
    super('SQL_PARSE', message, { cause });
    this.line = line;
    this.column = column;
    this.parserMessage = parserMessage;
  }
}

/** A parsed file: the raw parser output plus byte-offset helpers (the parser speaks UTF-8 bytes). */
export interface ParsedSql {
  /** The SQL that was parsed (a leading BOM replaced by a space, so offsets and lines are unchanged). */
  sql: string;
  bytes: Buffer;
  result: ParseResult;
  /** 1-based line containing this byte offset. */
  lineAt(byteOffset: number): number;
}

/** Parses a whole file with the PostgreSQL parser; throws SqlParseError (code SQL_PARSE) on a syntax error. */
export async function parseSql(sql: string, fileName?: string): Promise<ParsedSql> {
  await loadModule();
  // PostgreSQL rejects a BOM as a token; a space keeps every later line and column where it was.
  const text = sql.startsWith('\uFEFF') ? ` ${sql.slice(1)}` : sql;
  const bytes = Buffer.from(text, 'utf8');
  // The parser reads a C string: it would stop at a NUL byte and silently drop the rest of the file
  // (a binary or UTF-16 file would then "apply" with fewer statements, or none).
  const nul = text.indexOf('\0');
  if (nul >= 0) {
    const before = text.slice(0, nul).split('\n');
    const line = before.length;
    const column = [...before[before.length - 1]!].length + 1;
    const message = 'a NUL byte: not a UTF-8 text file (binary, or UTF-16?)';
    throw new SqlParseError(`${fileName ?? '<sql>'}:${line}:${column}: ${message} (line ${line}, column ${column})`, message, line, column, undefined);
  }
  let result: ParseResult;
  try {
    // parseSync refuses '', although an empty file is simply a file without statements.
    result = text === '' ? { stmts: [] } : parseSync(text);
  } catch (err) {
    throw toParseError(err, text, fileName);
  }
  const lineStarts = [0];
  for (let i = 0; i < bytes.length; i++) if (bytes[i] === 0x0a) lineStarts.push(i + 1);
  return { sql: text, bytes, result, lineAt: (offset) => lineOfOffset(lineStarts, offset) };
}

/** Splits SQL into statements with the real PostgreSQL parser. Throws CesarError code 'SQL_PARSE' with file-relative line/position in the message on a syntax error. */
export async function splitStatements(sql: string, fileName?: string): Promise<SqlStatement[]> {
  const parsed = await parseSql(sql, fileName);
  const raws = parsed.result.stmts ?? [];
  if (raws.length === 0) return [];
  const tokenEnds = codeTokenEnds(parsed.sql);
  return raws.map((raw, index) => {
    const { start, end } = statementRange(raw, parsed.bytes.length);
    // stmt_len runs up to the semicolon and so includes comments after the last token; cut at that token.
    const lastEnd = lastTokenEnd(tokenEnds, start, end) ?? end;
    const body = parsed.bytes.subarray(start, lastEnd).toString('utf8');
    const lead = body.length - body.trimStart().length;
    const leadBytes = Buffer.byteLength(body.slice(0, lead), 'utf8');
    return { index, text: body.trim(), line: parsed.lineAt(start + leadBytes) };
  });
}

/** Byte range [start, end) of a RawStmt; the JSON omits zero values and stmt_len 0 means "to the end". */
export function statementRange(raw: RawStmt, totalBytes: number): { start: number; end: number } {
  const start = raw.stmt_location ?? 0;
  const len = raw.stmt_len ?? 0;
  return { start, end: len === 0 ? totalBytes : start + len };
}

function lineOfOffset(lineStarts: number[], offset: number): number {
  let lo = 0;
  let hi = lineStarts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((lineStarts[mid] ?? 0) <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}

/** Sorted byte end offsets of every non-comment token, from the PostgreSQL scanner. */
function codeTokenEnds(sql: string): number[] {
  return scanSync(sql)
    .tokens.filter((t) => t.tokenName !== 'SQL_COMMENT' && t.tokenName !== 'C_COMMENT')
    .map((t) => t.end);
}

function lastTokenEnd(ends: number[], start: number, end: number): number | undefined {
  let lo = 0;
  let hi = ends.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((ends[mid] ?? 0) <= end) lo = mid + 1;
    else hi = mid;
  }
  const found = ends[lo - 1];
  return found !== undefined && found > start ? found : undefined;
}

function toParseError(err: unknown, sql: string, fileName: string | undefined): CesarError {
  const parserMessage = err instanceof Error ? err.message : String(err);
  // The parser reports the cursor in characters (code points), not bytes and not UTF-16 units.
  const cursor = err instanceof SqlError ? (err.sqlDetails?.cursorPosition ?? 0) : 0;
  let line = 1;
  let column = 1;
  let seen = 0;
  for (const ch of sql) {
    if (seen++ >= cursor) break;
    if (ch === '\n') {
      line++;
      column = 1;
    } else column++;
  }
  const where = `${fileName ?? '<sql>'}:${line}:${column}`;
  return new SqlParseError(`${where}: ${parserMessage} (line ${line}, column ${column})`, parserMessage, line, column, err);
}
