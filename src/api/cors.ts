import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * CORS for the origins listed in CESAR_API_CORS_ORIGINS, and only those: an origin not listed gets
 * no Access-Control-* header, so a browser page elsewhere cannot read the API (nor start work,
 * which needs the token anyway). Returns true when the request came from an allowed origin.
 */
export function applyCors(req: IncomingMessage, res: ServerResponse, allowed: readonly string[]): boolean {
  const origin = req.headers.origin;
  res.setHeader('Vary', 'Origin');
  if (!origin || !allowed.includes(origin)) return false;
  res.setHeader('Access-Control-Allow-Origin', origin);
  res.setHeader('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
  res.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type');
  res.setHeader('Access-Control-Max-Age', '600');
  // a page reads paging and the read source from these (a browser hides other headers from it)
  res.setHeader('Access-Control-Expose-Headers', 'Link, X-Cesar-Read-Source, X-Cesar-Degraded, Retry-After');
  return true;
}

/** True when a WebSocket upgrade may proceed: no Origin (not a browser) or a listed one. */
export function originAllowed(req: IncomingMessage, allowed: readonly string[]): boolean {
  const origin = req.headers.origin;
  return origin === undefined || allowed.includes(origin);
}
