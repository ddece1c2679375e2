import pg from 'pg';

// Timestamps stay strings end to end: a JavaScript Date holds milliseconds, the databases hold
// microseconds, and a round trip through Date makes equal rows compare unequal (cockroachdb.md, fact 9).
const AS_TEXT = (value: string): string => value;
// int8 (and COUNT(*)) must not silently lose precision: a number when exact, a BigInt otherwise.
const INT8 = (value: string): number | bigint => {
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : BigInt(value);
};
const OID = { int8: 20, timestamp: 1114, timestamptz: 1184, date: 1082 } as const;

/** Type parsers for cesar's pools; passed per pool so that other pg users in the process are untouched. */
export const cesarTypes: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: string) => {
    if (format !== 'binary') {
      if (oid === OID.int8) return INT8;
      if (oid === OID.timestamp || oid === OID.timestamptz || oid === OID.date) return AS_TEXT;
    }
    return pg.types.getTypeParser(oid, format as 'text');
  }) as pg.CustomTypesConfig['getTypeParser'],
};
