/**
 * Secret redaction. Every URL, driver error or log line that can reach a person passes through
 * `redact`. Two layers: URL-shaped passwords are masked by shape (so a URL we never saw is still
 * safe), and every secret registered at start-up (passwords from the configured URLs, the API
 * token) is masked wherever it appears, e.g. inside a driver message that echoes a conninfo string.
 */

const MASK = '***';
const secrets = new Set<string>();

/** Registers a literal secret to be masked in every later `redact` call (ignored if shorter than 3 chars). */
export function registerSecret(secret: string | undefined | null): void {
  if (secret && secret.length >= 3) secrets.add(secret);
}

/** Registers the password of a database URL, in raw and percent-decoded form. */
export function registerUrlSecrets(url: string | undefined): void {
  if (!url) return;
  try {
    const parsed = new URL(url);
    registerSecret(parsed.password);
    registerSecret(decodeURIComponent(parsed.password));
    for (const key of ['password', 'sslpassword']) registerSecret(parsed.searchParams.get(key));
  } catch {
    // not a URL: nothing to register; config validation reports it
  }
}

/** Forgets every registered secret (tests only). */
export function clearSecrets(): void {
  secrets.clear();
}

// scheme://user:password@host  (the password may contain anything but '@' and whitespace).
// Bounded quantifiers keep this linear: unbounded ones backtrack quadratically on long runs of letters.
const URL_USERINFO = /([a-z][a-z0-9+.-]{0,31}:\/\/[^\s:/@]{0,256}):([^\s@/]{0,1024})@/gi;
// password=... in conninfo strings and query strings
const KV_PASSWORD = /\b((?:ssl)?password)\s*=\s*('(?:[^'\\]|\\.)*'|[^\s&'"]+)/gi;
const BEARER = /\b(Bearer)\s+[A-Za-z0-9._~+/=-]+/g;

// Each pattern above needs one of these literals: a text without any skips the patterns, which cost
// about 0.3 ms per KB (an API page of 500 agents rows took 120 ms, blocking the event loop; issue 17).
const MAY_MATCH = /:\/\/|password|bearer/i;

/** Returns `text` with every password, token and registered secret replaced by `***`. */
export function redact(text: string): string {
  let out = MAY_MATCH.test(text) ? text.replace(URL_USERINFO, `$1:${MASK}@`).replace(KV_PASSWORD, `$1=${MASK}`).replace(BEARER, `$1 ${MASK}`) : text;
  // longest first, so a secret that contains another is masked whole
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    out = out.split(secret).join(MASK);
  }
  return out;
}

/** Redacts any thrown value into a one-line message. */
export function redactError(err: unknown): string {
  if (err instanceof Error) return redact(err.message || err.name);
  return redact(String(err));
}

/** A short password-free label for a database URL: `user@host:port/db`. */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    const user = u.username ? `${decodeURIComponent(u.username)}@` : '';
    const db = u.pathname.replace(/^\//, '') || 'postgres';
    return redact(`${user}${u.hostname}:${u.port || '5432'}/${decodeURIComponent(db)}`);
  } catch {
    return '(invalid URL)';
  }
}
