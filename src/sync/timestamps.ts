/**
 * Exact timestamp handling. Both databases keep microseconds; a JavaScript Date keeps
 * milliseconds and only ±275,760 years (cockroachdb.md, fact 9). cesar's sessions run in UTC with
 * DateStyle ISO, so a timestamptz's text form is `YYYY-MM-DD HH:MM:SS[.ffffff]+00[:00][ BC]`, or
 * `infinity` / `-infinity`. This turns any of them into BigInt microseconds for exact comparison,
 * and back, without a Date: one odd row (`infinity`, a BC date, year 200000) must not stop a table.
 */
const FORM = /^(\d{4,})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(?:\+00(?::?00)?|Z)( BC)?$/;

/** Later than every real timestamp (`infinity`). */
export const TS_INFINITY = 2n ** 64n;
/** Earlier than every real timestamp (`-infinity`). */
export const TS_MINUS_INFINITY = -(2n ** 64n);

const MICROS_PER_DAY = 86_400_000_000n;

// Days since 1970-01-01 of a proleptic Gregorian date (astronomical year: 1 BC is year 0).
// Howard Hinnant's days_from_civil, exact for every year PostgreSQL accepts.
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

function civilFromDays(z: number): { y: number; m: number; d: number } {
  const zz = z + 719_468;
  const era = Math.floor(zz / 146_097);
  const doe = zz - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp + (mp < 10 ? 3 : -9);
  return { y: yoe + era * 400 + (m <= 2 ? 1 : 0), m, d };
}

/** True when `text` is a timestamptz as cesar's sessions print it. */
export function isTimestamp(text: string): boolean {
  const t = text.trim();
  return t === 'infinity' || t === '-infinity' || FORM.test(t);
}

/** Microseconds since the epoch of a UTC timestamp text as PostgreSQL/CockroachDB print it. */
export function tsToMicros(text: string): bigint {
  const t = text.trim();
  if (t === 'infinity') return TS_INFINITY;
  if (t === '-infinity') return TS_MINUS_INFINITY;
  const m = FORM.exec(t);
  if (!m) throw new Error(`unexpected timestamp form "${text}" (the session must run in UTC with DateStyle ISO)`);
  const [, y, mo, d, h, mi, s, frac = '', bc] = m;
  const year = bc ? 1 - Number(y) : Number(y);
  const days = BigInt(daysFromCivil(year, Number(mo), Number(d)));
  const secs = BigInt(Number(h) * 3600 + Number(mi) * 60 + Number(s));
  return days * MICROS_PER_DAY + secs * 1_000_000n + BigInt(frac.padEnd(6, '0'));
}

const pad = (n: number | bigint, w: number): string => String(n).padStart(w, '0');

/** The canonical text (`YYYY-MM-DD HH:MM:SS.ffffff+00`, ` BC` when before year 1) of microseconds since the epoch. */
export function microsToTs(micros: bigint): string {
  if (micros >= TS_INFINITY) return 'infinity';
  if (micros <= TS_MINUS_INFINITY) return '-infinity';
  let days = micros / MICROS_PER_DAY;
  let rest = micros % MICROS_PER_DAY;
  if (rest < 0n) {
    rest += MICROS_PER_DAY;
    days -= 1n;
  }
  const { y, m, d } = civilFromDays(Number(days));
  const secs = rest / 1_000_000n;
  const frac = rest % 1_000_000n;
  const hh = secs / 3600n;
  const mm = (secs % 3600n) / 60n;
  const ss = secs % 60n;
  const bc = y <= 0;
  const year = bc ? 1 - y : y;
  return `${pad(year, 4)}-${pad(m, 2)}-${pad(d, 2)} ${pad(hh, 2)}:${pad(mm, 2)}:${pad(ss, 2)}.${pad(frac, 6)}+00${bc ? ' BC' : ''}`;
}

/** Compares two timestamp texts exactly: negative, zero or positive. */
export function compareTs(a: string, b: string): number {
  const x = tsToMicros(a);
  const y = tsToMicros(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** True when two timestamp texts (either may be null) denote the same instant. */
export function sameTs(a: string | null | undefined, b: string | null | undefined): boolean {
  if (a == null || b == null) return a == null && b == null;
  return compareTs(a, b) === 0;
}

/** The later of two timestamp texts (either may be null). */
export function maxTs(a: string | null, b: string | null): string | null {
  if (a === null) return b;
  if (b === null) return a;
  return compareTs(a, b) >= 0 ? a : b;
}

/** A keyset position: rows are ordered by (updated_at, id). */
export interface Key {
  ts: string;
  id: string;
}

/** Compares keyset positions: by timestamp exactly, then by id (UUID text, lower case). */
export function compareKeys(a: Key, b: Key): number {
  return compareTs(a.ts, b.ts) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** The smallest UUID: `(H, NIL_UUID)` means "everything after timestamp H is still to read". */
export const NIL_UUID = '00000000-0000-0000-0000-000000000000';
