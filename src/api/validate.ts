import { badRequest } from './http.js';

/** The allowed shape of one field of a request body or query. */
export type FieldSpec =
  | { type: 'string'; choices?: readonly string[] }
  | { type: 'boolean' }
  | { type: 'string[]'; maxItems: number };

/**
 * Checks a parsed JSON body against a spec: unknown fields and wrong types are 400 with a message
 * naming the field and what is allowed. Returns the body typed loosely; callers read known fields.
 */
export function checkBody(body: Record<string, unknown>, spec: Record<string, FieldSpec>): Record<string, unknown> {
  // own keys only: `k in spec` is true for "__proto__", "constructor" or "toString", inherited from Object.prototype
  const unknown = Object.keys(body).filter((k) => !Object.hasOwn(spec, k));
  if (unknown.length > 0) {
    throw badRequest(`unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => JSON.stringify(k)).join(', ')}; allowed: ${Object.keys(spec).join(', ')}`);
  }
  for (const [name, f] of Object.entries(spec)) {
    const v = body[name];
    if (v === undefined) continue;
    if (f.type === 'boolean' && typeof v !== 'boolean') throw badRequest(`${name} must be true or false`);
    if (f.type === 'string') {
      if (typeof v !== 'string') throw badRequest(`${name} must be a string${f.choices ? ` (one of ${f.choices.join(', ')})` : ''}`);
      if (f.choices && !f.choices.includes(v)) throw badRequest(`${name}: ${JSON.stringify(v)} is not allowed; use one of ${f.choices.join(', ')}`);
    }
    if (f.type === 'string[]') {
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw badRequest(`${name} must be an array of strings`);
      if (v.length > f.maxItems) throw badRequest(`${name}: at most ${f.maxItems} items`);
    }
  }
  return body;
}

/** Query parameters as a map; unknown or repeated parameters are 400. */
export function checkQuery(params: URLSearchParams, allowed: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of params) {
    if (!allowed.includes(k)) throw badRequest(`unknown query parameter ${JSON.stringify(k)}; allowed: ${allowed.length ? allowed.join(', ') : 'none'}`);
    if (out.has(k)) throw badRequest(`query parameter ${k} is given more than once`);
    out.set(k, v);
  }
  return out;
}

/** `limit`: a whole number from 1 to max (default when absent). */
export function parseLimit(text: string | undefined, fallback = 50, max = 500): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > max) throw badRequest(`limit: ${JSON.stringify(text)} is not allowed; use a whole number from 1 to ${max}`);
  return Number(text);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True for a UUID in its canonical text form. */
export function isUuid(text: string): boolean {
  return UUID.test(text);
}
