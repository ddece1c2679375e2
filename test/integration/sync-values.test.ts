import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from '../helpers/databases.js';
import { createSyncEnv, type SyncEnv } from '../helpers/sync-env.js';

// Value-domain property test (issue 12): for every column type the migrations use (uuid, text,
// jsonb, int4, int8, float8, boolean, numeric(12,6), timestamptz, text[]; plus unbounded numeric),
// generated values including the edges (infinity and BC timestamps, -0, NaN and infinities,
// array bounds and NULL elements, JSON null and numeric scale, unicode, control characters, huge
// text) go up and come back down, and both sides hold the same stored bytes (each type's binary
// send function, not a printed form), while the databases carry unusual settings of their own.
// A table of the test's own (`value_probe`, following the sync contract) holds every type with no
// CHECK, so that every value of the domain is allowed.
//
// Runs: CESAR_PROPERTY_RUNS (default 40), seed: CESAR_PROPERTY_SEED.

const real = process.env.CESAR_TEST_BACKEND !== 'embedded';
const COLUMNS: Array<[name: string, type: string, send: string]> = [
  ['t', 'TEXT', 'textsend'],
  ['j', 'JSONB', 'jsonb_send'],
  ['i4', 'INT4', 'int4send'],
  ['i8', 'INT8', 'int8send'],
  ['f8', 'FLOAT8', 'float8send'],
  ['b', 'BOOLEAN', 'boolsend'],
  ['n', 'NUMERIC(12, 6)', 'numeric_send'],
  ['nu', 'NUMERIC', 'numeric_send'],
  ['ts', 'TIMESTAMPTZ', 'timestamptz_send'],
  ['arr', 'TEXT[]', 'array_send'],
];
const DDL = `CREATE TABLE IF NOT EXISTS value_probe (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  ${COLUMNS.map(([c, t]) => `${c} ${t}`).join(',\n  ')},
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  deleted_at TIMESTAMPTZ
)`;

let env: SyncEnv;
beforeAll(async () => {
  env = await createSyncEnv();
  for (const url of [env.dbs.localUrl, env.dbs.cloudUrl]) {
    await sql(url, DDL);
    await sql(url, 'CREATE INDEX IF NOT EXISTS value_probe_updated_at_id_idx ON value_probe (updated_at, id)');
  }
}, 120_000);
afterAll(async () => {
  await env?.close();
});

// ---- generators: text forms as PostgreSQL parses them ----
const nulFree = (s: string) => s.replace(/\u0000/g, '');
const text = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }).map(nulFree) },
  { weight: 2, arbitrary: fc.constantFrom('', ' ', '\\', '"', "'", '{}', 'NULL', 'null', '\t\n\r\u0001\u001f', 'é', '𝄞', '\u202e', '\uffff') },
  { weight: 1, arbitrary: fc.integer({ min: 100_000, max: 1_200_000 }).map((n) => 'x'.repeat(n)) },
);
const jsonScalar = fc.oneof(
  fc.constantFrom('null', 'true', 'false', '0', '-0', '1.0', '1.00', '1e3', '1E-7', '123456789012345678901234567890.000', '-0.0', '"\\u0000"'.replace('\\u0000', '\\u0001'), '"é"', '""'),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => JSON.stringify(d)),
  fc.string({ unit: 'binary', maxLength: 12 }).map((s) => JSON.stringify(nulFree(s))),
);
const json = fc.oneof(
  { weight: 2, arbitrary: jsonScalar },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v).replace(/\\u0000/g, '')) },
  { weight: 1, arbitrary: fc.array(fc.tuple(fc.string({ maxLength: 5 }), jsonScalar), { maxLength: 4 }).map((kv) => `{${kv.map(([k, v]) => `${JSON.stringify(k)}: ${v}`).join(', ')}}`) },
);
const float = fc.oneof(
  fc.double().map((d) => (Object.is(d, -0) ? '-0' : Number.isNaN(d) ? 'NaN' : d === Infinity ? 'Infinity' : d === -Infinity ? '-Infinity' : String(d))),
  fc.constantFrom('-0', '0', 'NaN', 'Infinity', '-Infinity', '4.9e-324', '1.7976931348623157e308', '0.1', '0.30000000000000004'),
);
const numeric12 = fc.oneof(
  fc.tuple(fc.integer({ min: -999_999, max: 999_999 }), fc.integer({ min: 0, max: 999_999 }), fc.integer({ min: 0, max: 6 })).map(([i, f, d]) => `${i}${d ? '.' + String(f).padStart(6, '0').slice(0, d) : ''}`),
  fc.constantFrom('NaN', '0', '-0', '0.000000', '123456.123456', '-999999.999999', '1.5'),
);
const numeric = fc.oneof(
  fc.tuple(fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }), fc.nat({ max: 30 }), fc.nat({ max: 10 })).map(([i, scale, zeros]) => {
    const s = i.toString().replace('-', '');
    const neg = i < 0n ? '-' : '';
    const body = s.length > scale ? `${s.slice(0, s.length - scale)}${scale ? '.' + s.slice(s.length - scale) : ''}` : `0.${s.padStart(scale, '0')}`;
    return `${neg}${body}${zeros && !body.includes('.') ? '.' : ''}${'0'.repeat(zeros)}`;
  }),
  fc.constantFrom('NaN', 'Infinity', '-Infinity', '0.0000000000', '1e-20'),
);
const pad = (n: number, w: number) => String(n).padStart(w, '0');
const timestamp = fc.oneof(
  { weight: 1, arbitrary: fc.constantFrom('infinity', '-infinity', '4713-01-01 00:00:00+00 BC', '0001-01-01 00:00:00+00 BC', '0001-01-01 00:00:00+00', '294276-12-31 23:59:59.999999+00') },
  {
    weight: 5,
    arbitrary: fc
      .record({ y: fc.integer({ min: 1, max: 200_000 }), bc: fc.boolean(), mo: fc.integer({ min: 1, max: 12 }), d: fc.integer({ min: 1, max: 28 }), h: fc.integer({ min: 0, max: 23 }), mi: fc.integer({ min: 0, max: 59 }), s: fc.integer({ min: 0, max: 59 }), us: fc.integer({ min: 0, max: 999_999 }) })
      .map((t) => `${pad(t.bc ? Math.min(t.y, 4713) : t.y, 4)}-${pad(t.mo, 2)}-${pad(t.d, 2)} ${pad(t.h, 2)}:${pad(t.mi, 2)}:${pad(t.s, 2)}.${pad(t.us, 6)}+00${t.bc ? ' BC' : ''}`),
  },
);
const arrayElement = fc.option(fc.oneof(fc.string({ unit: 'binary', maxLength: 8 }).map(nulFree), fc.constantFrom('', 'NULL', '"', '\\', ',', '{', '}', ' a ', 'é')), { freq: 5 });
const quoteEl = (e: string | null) => (e === null ? 'NULL' : `"${e.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`);
const array = fc
  .tuple(fc.array(arrayElement, { maxLength: 6 }), fc.option(fc.integer({ min: -3, max: 3 }), { freq: 2 }))
  .map(([els, lower]) => (els.length && lower !== null ? `[${lower}:${lower + els.length - 1}]={${els.map(quoteEl).join(',')}}` : `{${els.map(quoteEl).join(',')}}`));
const nullable = <T,>(a: fc.Arbitrary<T>) => fc.option(a, { freq: 6 });
const row = fc.tuple(
  nullable(text),
  nullable(json),
  nullable(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }).map(String)),
  nullable(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String)),
  nullable(float),
  nullable(fc.boolean().map(String)),
  nullable(numeric12),
  nullable(numeric),
  nullable(timestamp),
  nullable(array),
);
// database-level settings that change how values print (and, for dates, how they parse)
const settings = fc.record({
  DateStyle: fc.constantFrom(null, 'SQL, DMY', 'German', 'Postgres, MDY', 'ISO, YMD'),
  extra_float_digits: fc.constantFrom(null, '-15', '0', '1'),
  IntervalStyle: fc.constantFrom(null, 'sql_standard', 'iso_8601'),
  TimeZone: fc.constantFrom(null, 'America/New_York', 'Asia/Kathmandu', 'Pacific/Chatham'),
  bytea_output: fc.constantFrom(null, 'escape'),
});

async function databaseOf(url: string): Promise<string> {
  return (await sql<{ d: string }>(url, 'SELECT current_database() AS d'))[0]!.d;
}

async function applySettings(url: string, s: Record<string, string | null>): Promise<void> {
  const db = await databaseOf(url);
  for (const [k, v] of Object.entries(s)) await sql(url, v === null ? `ALTER DATABASE ${db} RESET ${k}` : `ALTER DATABASE ${db} SET ${k} = '${v}'`);
}

/** Each row's stored bytes, column by column (hex of the binary send function), by id. */
async function storedBytes(url: string): Promise<Map<string, string[]>> {
  const cols = COLUMNS.map(([c, , send]) => `CASE WHEN ${c} IS NULL THEN 'NULL' ELSE encode(${send}(${c}), 'hex') END`).join(', ');
  const rows = await sql<{ id: string; v: string[] }>(url, `SELECT id::text AS id, ARRAY[${cols}] AS v FROM value_probe`);
  return new Map(rows.map((r) => [r.id, r.v]));
}

describe.skipIf(!real)('sync values: every type the migrations use survives a round trip exactly', () => {
  it('up and down, as stored bytes compare, under unusual database-level settings on either side', async () => {
    const admin = { local: env.dbs.localUrl, cloud: env.dbs.cloudAdminUrl };
    await fc.assert(
      fc.asyncProperty(fc.array(row, { minLength: 1, maxLength: 12 }), settings, settings, async (rows, localSettings, cloudSettings) => {
        await sql(admin.local, 'TRUNCATE value_probe');
        await sql(admin.cloud, 'TRUNCATE value_probe');
        await applySettings(admin.local, localSettings);
        await applySettings(admin.cloud, cloudSettings);
        try {
          // written locally through a session with the database's own settings, values given in
          // forms every setting parses the same way (ISO timestamps)
          const params = COLUMNS.map((_, i) => rows.map((r) => r[i] ?? null));
          await sql(
            env.dbs.localUrl,
            `INSERT INTO value_probe (${COLUMNS.map(([c]) => c).join(', ')})
             SELECT ${COLUMNS.map(([c, t], i) => `x.c${i}::${t}`).join(', ')}
               FROM unnest(${COLUMNS.map((_, i) => `$${i + 1}::text[]`).join(', ')}) AS x(${COLUMNS.map((_, i) => `c${i}`).join(', ')})`,
            params,
          );
          const original = await storedBytes(admin.local);
          const engine = env.engine();
          // up
          const up = await engine.runPass({ direction: 'up', tables: ['value_probe'] });
          expect(up.ok, JSON.stringify(up.tables)).toBe(true);
          expect(await storedBytes(admin.cloud)).toEqual(original);
          // and down again: the cloud's copy, touched there, replaces the local row
          await sql(admin.cloud, "UPDATE value_probe SET updated_at = updated_at + INTERVAL '1 microsecond'");
          const down = await engine.runPass({ direction: 'down', tables: ['value_probe'] });
          expect(down.ok, JSON.stringify(down.tables)).toBe(true);
          expect(down.totals.applied).toBe(rows.length);
          expect(await storedBytes(admin.local)).toEqual(original);
          // and nothing left to do: every value compares equal to itself on both sides
          const again = await engine.runPass({ direction: 'both', tables: ['value_probe'], deleteScan: 'always' });
          expect({ applied: again.totals.applied, conflicts: again.totals.conflicts, errors: again.totals.errors }).toEqual({ applied: 0, conflicts: 0, errors: 0 });
          expect(await sql(admin.local, "SELECT * FROM sync_errors WHERE table_name = 'value_probe'")).toEqual([]);
        } finally {
          const none = { DateStyle: null, extra_float_digits: null, IntervalStyle: null, TimeZone: null, bytea_output: null };
          await applySettings(admin.local, none);
          await applySettings(admin.cloud, none);
        }
      }),
      { numRuns: Number(process.env.CESAR_PROPERTY_RUNS ?? 40), ...(process.env.CESAR_PROPERTY_SEED ? { seed: Number(process.env.CESAR_PROPERTY_SEED) } : {}), endOnFailure: true },
    );
  }, 1_800_000);
});
