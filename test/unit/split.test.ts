import { describe, it, expect } from 'vitest';
import { splitStatements } from '../../src/migrations/split.js';
import { CesarError, isCesarError } from '../../src/errors.js';

type Case = [name: string, sql: string, expected: Array<[text: string, line: number]>];

const cases: Case[] = [
  [
    'dollar-quoted body containing semicolons',
    'CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; SELECT 2; $$;\nSELECT 3;',
    [
      ['CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; SELECT 2; $$', 1],
      ['SELECT 3', 2],
    ],
  ],
  [
    '$tag$ quoting with a nested $$ and a semicolon',
    "SELECT 1;\nDO $body$ BEGIN PERFORM '$$;'; END $body$;\nSELECT 2;",
    [
      ['SELECT 1', 1],
      ["DO $body$ BEGIN PERFORM '$$;'; END $body$", 2],
      ['SELECT 2', 3],
    ],
  ],
  [
    "doubled quote in a string: 'it''s; fine'",
    "INSERT INTO t (s) VALUES ('it''s; fine');\nSELECT 1;",
    [
      ["INSERT INTO t (s) VALUES ('it''s; fine')", 1],
      ['SELECT 1', 2],
    ],
  ],
  [
    "backslash-escaped quote in an E'' string",
    "SELECT E'\\'; still inside';\nSELECT 2;",
    [
      ["SELECT E'\\'; still inside'", 1],
      ['SELECT 2', 2],
    ],
  ],
  [
    'line and block comments with semicolons',
    '-- header; not a statement\nSELECT 1; -- trailing ;\n/* block ; comment\n   spanning ; lines */\nSELECT /* inline; */ 2;',
    [
      ['SELECT 1', 2],
      ['SELECT /* inline; */ 2', 5],
    ],
  ],
  [
    'comment before the semicolon is not part of the text',
    'SELECT 1 -- why\n;\nSELECT 2 /* end */',
    [
      ['SELECT 1', 1],
      ['SELECT 2', 3],
    ],
  ],
  [
    'CRLF line endings',
    'SELECT 1;\r\n\r\nCREATE TABLE IF NOT EXISTS t (\r\n  a int\r\n);\r\nSELECT 3;\r\n',
    [
      ['SELECT 1', 1],
      ['CREATE TABLE IF NOT EXISTS t (\r\n  a int\r\n)', 3],
      ['SELECT 3', 6],
    ],
  ],
  [
    'multibyte UTF-8 (é, emoji) before a statement',
    "-- café ☕ 😀\nINSERT INTO t VALUES ('é😀;');\nSELECT 'ü'; SELECT 2;\n-- fin 🎉\nSELECT 3;",
    [
      ["INSERT INTO t VALUES ('é😀;')", 2],
      ["SELECT 'ü'", 3],
      ['SELECT 2', 3],
      ['SELECT 3', 5],
    ],
  ],
  [
    'empty statements (;;) are dropped',
    ';;SELECT 1;;\n;\nSELECT 2;;;',
    [
      ['SELECT 1', 1],
      ['SELECT 2', 3],
    ],
  ],
  [
    'last statement without a semicolon',
    'SELECT 1;\nSELECT 2\n',
    [
      ['SELECT 1', 1],
      ['SELECT 2', 2],
    ],
  ],
  [
    'last statement without a semicolon, followed by a comment',
    'SELECT 1;\n\n  SELECT 2\n-- the end',
    [
      ['SELECT 1', 1],
      ['SELECT 2', 3],
    ],
  ],
  ['comments-only file', '-- nothing here;\n/* nor; here */\n', []],
  ['empty file', '', []],
  ['whitespace-only file', ' \n\t\r\n', []],
  ['leading byte-order mark', '\uFEFFSELECT 1;\nSELECT 2;', [['SELECT 1', 1], ['SELECT 2', 2]]],
];

describe('splitStatements', () => {
  it.each(cases)('%s', async (_name, sql, expected) => {
    const statements = await splitStatements(sql, 'case.sql');
    expect(statements).toHaveLength(expected.length);
    expect(statements).toEqual(expected.map(([text, line], index) => ({ index, text, line })));
  });

  it('raises CesarError SQL_PARSE naming the file, line and column', async () => {
    const sql = "-- é 😀\nSELECT 'é😀';\n  SELEC 2;\n";
    const err = await splitStatements(sql, '0003_bad.sql').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CesarError);
    expect(isCesarError(err, 'SQL_PARSE')).toBe(true);
    expect((err as CesarError).message).toContain('0003_bad.sql:3:3');
    expect((err as CesarError).message).toContain('line 3');
    expect((err as CesarError).message).toContain('SELEC');
  });

  it('reports an unterminated dollar quote at the line where it starts', async () => {
    const err = await splitStatements('SELECT 1;\n\nDO $$ BEGIN\nEND;\n', 'x.sql').catch((e: unknown) => e);
    expect(isCesarError(err, 'SQL_PARSE')).toBe(true);
    expect((err as CesarError).message).toContain('line 3');
  });
});
