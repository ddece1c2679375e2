/**
 * Exact timestamp handling. Both databases keep microseconds; a JavaScript Date keeps
 * milliseconds (cockroachdb.md, fact 9). cesar's sessions run in UTC, so a timestamptz's text
 * form is `YYYY-MM-DD HH:MM:SS[.ffffff]+00`; this turns it into BigInt microseconds for exact
 * comparison, and back.
 */
const FORM = /^(\d{4,})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(?:\+00(?::00)?|Z)$/;

/** Microseconds since the epoch of a UTC timestamp text as PostgreSQL/CockroachDB print it. */
export function tsToMicros(text: string): bigint {
  const m = FORM.exec(text.trim());
  if (!m) throw new Error(`unexpected timestamp form "${text}" (the session must run in UTC)`);
  const [, y, mo, d, h, mi, s, frac = ''] = m;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  return BigInt(ms) * 1000n + BigInt(frac.padEnd(6, '0'));
}

/** The canonical text (`YYYY-MM-DD HH:MM:SS.ffffff+00`) of microseconds since the epoch. */
export function microsToTs(micros: bigint): string {
  const ms = micros / 1000n - (micros % 1000n < 0n ? 1n : 0n);
  const frac = micros - ms * 1000n;
  const iso = new Date(Number(ms)).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}.${iso.slice(20, 23)}${String(frac).padStart(3, '0')}+00`;
}

/** Compares two timestamp texts exactly: negative, zero or positive. */
export function compareTs(a: string, b: string): number {
  const x = tsToMicros(a);
  const y = tsToMicros(b);
  return x < y ? -1 : x > y ? 1 : 0;
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
