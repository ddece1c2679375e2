import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { HttpError } from './http.js';

/**
 * Checks `Authorization: Bearer <token>` for the endpoints that change something. With no token
 * configured they are refused (403): an API that can start a migration must not be open by default.
 * The comparison is constant-time over SHA-256 digests, so neither content nor length leaks.
 */
export function requireToken(req: IncomingMessage, token: string | undefined): void {
  if (!token) {
    throw new HttpError(403, 'this endpoint is disabled: no CESAR_API_TOKEN is configured. Set CESAR_API_TOKEN (at least 16 characters, e.g. `openssl rand -hex 24`) and restart cesar.');
  }
  const header = req.headers.authorization ?? '';
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  const challenge = { 'WWW-Authenticate': 'Bearer realm="cesar"' };
  if (!match) throw new HttpError(401, 'missing credentials: send Authorization: Bearer $CESAR_API_TOKEN', challenge);
  if (!sameSecret(match[1]!, token)) throw new HttpError(401, 'invalid token', challenge);
}

/** Constant-time comparison of two strings of any length. */
export function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}
