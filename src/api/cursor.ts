import { badRequest } from './http.js';
import { isUuid } from './validate.js';

/** A keyset position: a timestamp as the database prints it (microseconds kept) and a row id. */
export interface Position {
  ts: string;
  id: string;
}

// What PostgreSQL and CockroachDB print for timestamptz in a UTC session, e.g. 2025-01-02 03:04:05.123456+00
const TS = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}(?::?\d{2})?)$/;

/**
 * Encodes a position as an opaque base64url cursor. The timestamp travels as text, never through
 * a JavaScript Date, so that microseconds survive (cockroachdb.md, fact 9).
 */
export function encodeCursor(p: Position): string {
  return Buffer.from(JSON.stringify([p.ts, p.id]), 'utf8').toString('base64url');
}

/** Decodes a cursor from encodeCursor; anything else is 400 before any SQL is sent. */
export function decodeCursor(text: string): Position {
  const bad = () => badRequest('cursor: not a cursor from this API; follow the Link header (rel="next") of the previous page');
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(text)) throw bad();
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  if (!Array.isArray(value) || value.length !== 2) throw bad();
  const [ts, id] = value as unknown[];
  if (typeof ts !== 'string' || typeof id !== 'string' || !TS.test(ts) || !isUuid(id)) throw bad();
  return { ts, id };
}
