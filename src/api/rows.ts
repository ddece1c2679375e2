import type { ServerResponse } from 'node:http';
import type pg from 'pg';
import { encodeCursor } from './cursor.js';
import { sendJson } from './http.js';

// The API's one style (issue 13 §3): a collection is a JSON array of rows and a single item is the
// row itself, both with the table's column names, as the original FastAPI routes returned them;
// paging, the read source and the degraded flag travel in headers (Link, X-Cesar-*), not in an
// envelope around the data.

/** The header naming the database a response was read from (`local` or `cloud`). */
export const READ_SOURCE_HEADER = 'X-Cesar-Read-Source';
/** The header saying whether that database is a fallback (`true` in staging with the cloud down). */
export const DEGRADED_HEADER = 'X-Cesar-Degraded';

const TIMESTAMP_OIDS = new Set([1114, 1184]); // timestamp, timestamptz
// What a UTC session prints: 2025-01-02 03:04:05.12345+00 (fraction optional, trailing zeros cut)
const DB_TS = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?(?:\+00(?::?00)?|Z)?$/;

/**
 * A timestamp as ISO 8601 in UTC with all six digits of microseconds (`2025-01-02T03:04:05.123450Z`),
 * made from the database's text so that nothing passes through a JavaScript Date (which keeps
 * milliseconds). A form this does not know (a year beyond 9999, BC, infinity) is returned as it came.
 */
export function isoTimestamp(text: string): string {
  const m = DB_TS.exec(text);
  if (!m) return text;
  return `${m[1]}T${m[2]}.${(m[3] ?? '').padEnd(6, '0')}Z`;
}

/** The rows of a result with every timestamp column in isoTimestamp form; other values as the driver gives them. */
export function isoRows<R extends Record<string, unknown>>(result: pg.QueryResult<R>): R[] {
  const columns = result.fields.filter((f) => TIMESTAMP_OIDS.has(f.dataTypeID)).map((f) => f.name);
  if (columns.length === 0) return result.rows;
  return result.rows.map((row) => {
    const out: Record<string, unknown> = { ...row };
    for (const c of columns) if (typeof out[c] === 'string') out[c] = isoTimestamp(out[c] as string);
    return out as R;
  });
}

/** One page of a keyset listing, and how to find the next. */
export interface Page {
  /** The rows to send (already cut to the limit). */
  rows: unknown[];
  /** The position after the last row when more rows follow, else null. */
  next: { ts: string; id: string } | null;
}

/**
 * Sends a page: the array as the body, `Link: <path?...&cursor=...>; rel="next"` when more follow
 * (the request's own path and parameters with the new cursor; relative, RFC 8288), and any headers.
 */
export function sendPage(res: ServerResponse, pathname: string, query: URLSearchParams, page: Page, headers: Record<string, string> = {}): void {
  const out: Record<string, string> = { ...headers };
  if (page.next) {
    const q = new URLSearchParams(query);
    q.set('cursor', encodeCursor(page.next));
    out.Link = `<${pathname}?${q.toString()}>; rel="next"`;
  }
  sendJson(res, 200, page.rows, out);
}
