import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Config } from '../config/types.js';
import { HttpError } from './http.js';

/**
 * Who may call what (issue 17). A route declares what it needs:
 * - `open`: anyone (/livez, /readyz: orchestrators probe without credentials);
 * - `health`: anyone, but without a read grant only the status word (up/degraded/down) on a public bind;
 * - `metrics`: open on a loopback bind, otherwise CESAR_METRICS_TOKEN, CESAR_API_READ_TOKEN or CESAR_API_TOKEN;
 * - `read`: open on a loopback bind, otherwise CESAR_API_READ_TOKEN or CESAR_API_TOKEN;
 * - `write`: always CESAR_API_TOKEN (403 when none is configured: an API that can start a
 *   migration must not be open by default).
 * Tokens travel as `Authorization: Bearer <token>`, never in a URL.
 */
export type Access = 'open' | 'health' | 'metrics' | 'read' | 'write';

/** What a presented token allows, strongest last. */
export type Grant = 'metrics' | 'read' | 'write';

const RANK: Record<Grant, number> = { metrics: 1, read: 2, write: 3 };
const CHALLENGE = { 'WWW-Authenticate': 'Bearer realm="cesar"' };

type Tokens = Pick<Config['api'], 'token' | 'readToken' | 'metricsToken'>;

/** The grant of a token (undefined when it matches none), compared in constant time against each configured token. */
export function grantOf(given: string, api: Tokens): Grant | undefined {
  // every comparison runs, so the time taken does not tell which token came close
  const write = api.token !== undefined && sameSecret(given, api.token);
  const read = api.readToken !== undefined && sameSecret(given, api.readToken);
  const metrics = api.metricsToken !== undefined && sameSecret(given, api.metricsToken);
  return write ? 'write' : read ? 'read' : metrics ? 'metrics' : undefined;
}

/** The bearer token of a request: undefined when there is no Authorization header, null when it is not `Bearer <token>`. */
export function bearer(req: IncomingMessage): string | undefined | null {
  const header = req.headers.authorization;
  if (header === undefined) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1]! : null;
}

/**
 * Checks a request against what its route needs. `publicBind` is true when the server listens
 * beyond loopback. Returns whether the caller may see everything (the full /health).
 */
export function authorize(req: IncomingMessage, access: Access, api: Tokens, publicBind: boolean): { full: boolean } {
  if (access === 'open') return { full: false };
  if (access === 'write') {
    if (!api.token) {
      throw new HttpError(403, 'this endpoint is disabled: no CESAR_API_TOKEN is configured. Set CESAR_API_TOKEN (at least 16 characters, e.g. `openssl rand -hex 24`) and restart cesar.');
    }
    need(req, 'write', api);
    return { full: true };
  }
  if (!publicBind) return { full: true };
  if (access === 'health') {
    // without credentials: the status word only; with a wrong one: say so
    if (bearer(req) === undefined) return { full: false };
    need(req, 'read', api);
    return { full: true };
  }
  need(req, access, api);
  return { full: true };
}

/** Throws 401 (no or unknown token) or 403 (a token that does not allow this) unless the request's token grants `level`. */
export function need(req: IncomingMessage, level: Grant, api: Tokens): Grant {
  const given = bearer(req);
  if (!given) throw new HttpError(401, `missing credentials: send Authorization: Bearer <token> (${tokenNames(level)})`, CHALLENGE);
  const grant = grantOf(given, api);
  if (!grant) throw new HttpError(401, 'invalid token', CHALLENGE);
  if (RANK[grant] < RANK[level]) throw new HttpError(403, `this token does not allow this: it needs ${tokenNames(level)}`);
  return grant;
}

function tokenNames(level: Grant): string {
  return level === 'write' ? 'CESAR_API_TOKEN' : level === 'read' ? 'CESAR_API_READ_TOKEN or CESAR_API_TOKEN' : 'CESAR_METRICS_TOKEN, CESAR_API_READ_TOKEN or CESAR_API_TOKEN';
}

/** Constant-time comparison of two strings of any length. */
export function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}
