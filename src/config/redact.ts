/**
 * Secret redaction. Every URL, driver error or log line that can reach a person passes through
 * `redact`. Two layers: URL-shaped passwords are masked by shape (so a URL we never saw is still
 * safe), and every secret registered at start-up (passwords from the configured URLs, the API
 * token) is masked wherever it appears, e.g. inside a driver message that echoes a conninfo string.
 */

const MASK = '***';
const secrets = new Set<string>();

/**
 * Registers a literal secret to be masked in every later `redact` call (ignored if shorter than 3
 * chars), also in the form it takes inside JSON text (API bodies and WebSocket frames are redacted
 * after JSON.stringify, where a quote or a backslash of the secret is escaped).
 */
export function registerSecret(secret: string | undefined | null): void {
  if (!secret || secret.length < 3) return;
  secrets.add(secret);
  const inJson = JSON.stringify(secret).slice(1, -1);
  if (inJson !== secret) secrets.add(inJson);
}

/** Percent-decodes, or gives the text back unchanged when it is not valid percent-encoding. */
function decodeOrSame(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Registers `text` and its percent-decoded form. */
function registerEncoded(text: string | undefined | null): void {
  if (!text) return;
  registerSecret(text);
  registerSecret(decodeOrSame(text));
}

/**
 * Registers every password a configured database value may hold, whatever its shape: it is often
 * the value that does not parse (a '/' or '#' in the password, `postgresql//...`, a libpq
 * `key=value` string) whose text ends up in a message. Parsed as a URL when it parses; read
 * leniently as well (the userinfo runs to the last '@'), since a value can parse into something
 * other than what was meant (`postgres://u:123/x@h/d` parses as host u, port 123).
 */
export function registerUrlSecrets(url: string | undefined): void {
  if (!url) return;
  try {
    const parsed = new URL(url);
    registerEncoded(parsed.password);
    for (const key of ['password', 'sslpassword']) registerSecret(parsed.searchParams.get(key));
  } catch {
    // not a URL: the lenient reading below still finds the password
  }
  registerEncoded(lenientPassword(url));
  for (const m of url.matchAll(/[?&](?:ssl)?password=([^&\s]*)/gi)) registerEncoded(m[1]);
  for (const m of url.matchAll(KV_PASSWORD)) registerSecret(unquoteConninfo(m[2]!));
}

/**
 * The password of `scheme://user:password@host...` read without a URL parser: everything between
 * the first ':' after the user name and the last '@'. The scheme may lack its '//' or be missing
 * (`user:password@host`).
 */
function lenientPassword(text: string): string | undefined {
  const at = text.lastIndexOf('@');
  if (at < 0) return undefined;
  let userinfo = text.slice(0, at).trim();
  const scheme = /^[a-z][a-z0-9+.-]*(?::\/{1,3}|\/\/)/i.exec(userinfo) ?? /^postgres(?:ql)?:/i.exec(userinfo);
  if (scheme) userinfo = userinfo.slice(scheme[0].length);
  const colon = userinfo.indexOf(':');
  return colon < 0 ? undefined : userinfo.slice(colon + 1);
}

/** A libpq conninfo value as libpq reads it: single quotes removed, backslash escapes resolved. */
function unquoteConninfo(value: string): string {
  const quoted = /^(['"])([\s\S]*)\1$/.exec(value);
  return (quoted ? quoted[2]! : value).replace(/\\(.)/g, '$1');
}

/** Forgets every registered secret (tests only). */
export function clearSecrets(): void {
  secrets.clear();
}

// scheme://user:password@ and the malformed forms people write: `scheme//`, `scheme:/`, `postgres:`
// without slashes. The password runs to the last '@' of the word (it may hold '/', '?', '#', '@',
// ':'); a word ends at whitespace, a quote, '<', '>' or a backslash (so that a URL inside JSON text
// ends with its string). The user name has no ':', '/', '@' or '[' (so the documented form
// `postgres://user[:password]@host` is left alone). Bounded quantifiers keep this linear: unbounded
// ones backtrack quadratically on long runs of letters.
const URL_USERINFO = /\b((?:[a-z][a-z0-9+.-]{0,31}(?::\/{1,3}|\/\/)|postgres(?:ql)?:)[^\s:/@"'<>[\]\\]{0,256}):([^\s"'<>\\]{0,1024})@/gi;
// password=... in conninfo strings, query strings and environment dumps (PGPASSWORD=...): a value in
// single or double quotes (with backslash escapes), or a run of anything but whitespace, '&' and
// quotes, where a backslash escapes the next character (libpq's unquoted form)
const KV_PASSWORD = /\b((?:pg)?(?:ssl)?password)\s*=\s*('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|(?:[^\s&'"\\]|\\.)+)/gi;
// "password": "..." in JSON text
const JSON_PASSWORD = /("(?:ssl)?password"\s*:\s*)"(?:[^"\\]|\\.)*"/gi;
const BEARER = /\b(Bearer)\s+[A-Za-z0-9._~+/=-]+/g;

// Each pattern above needs one of these literals: a text without any skips the patterns, which cost
// about 0.3 ms per KB (an API page of 500 agents rows took 120 ms, blocking the event loop; issue 17).
const MAY_MATCH = /:\/|\/\/|postgres:|postgresql:|password|bearer/i; // plain alternatives: V8 scans for them fast

/** Returns `text` with every password, token and registered secret replaced by `***`. */
export function redact(text: string): string {
  let out = MAY_MATCH.test(text)
    ? text
        .replace(URL_USERINFO, `$1:${MASK}@`)
        .replace(KV_PASSWORD, `$1=${MASK}`)
        .replace(JSON_PASSWORD, `$1"${MASK}"`)
        .replace(BEARER, `$1 ${MASK}`)
    : text;
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
