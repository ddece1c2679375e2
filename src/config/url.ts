import fs from 'node:fs';
import path from 'node:path';

/** sslmode values understood, as in libpq. */
export const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
export type SslMode = (typeof SSL_MODES)[number];

const FORM = 'postgres://user[:password]@host[:port]/database[?sslmode=verify-full&sslrootcert=/path/ca.crt]';

// Characters that cut a URL short when they are written as they are in a user name or password.
const ENCODE_HINT = "percent-encode these characters in the user name and password: / as %2F, ? as %3F, # as %23, @ as %40, : as %3A, % as %25, a space as %20";

/**
 * Throws an Error naming `variable` and the allowed form when `url` is not a usable database URL.
 * The value itself is never quoted: a value that does not parse, or parses into something other
 * than what was meant, may hold a password anywhere (issue 12), so the message says what is wrong
 * and how to write it instead. Only parts read from a well-formed URL are shown (scheme, port,
 * sslmode, certificate paths).
 */
export function validateDbUrl(url: string, variable: string, cwd: string): void {
  const fail = (why: string): never => {
    throw new Error(`${variable}: ${why}; expected ${FORM}.`);
  };
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url);
  if (!scheme) {
    const conninfo = /^\s*[a-z_]+\s*=/i.test(url) ? ' (a libpq key=value connection string is not accepted: write it as a URL)' : '';
    fail(`not a URL (the value is not shown, it may hold a password): it must start with postgres:// or postgresql://${conninfo}`);
  }
  if (!/^postgres(?:ql)?$/i.test(scheme![1]!)) fail(`scheme "${scheme![1]!.toLowerCase()}" is not postgres or postgresql`);
  // '#' starts a fragment and '?' a query, '/' ends the host: written raw in a password, they make
  // the rest of the password a database name, a parameter or a fragment, and its start a host or a
  // port (`postgres://u:123/x@h/d` parses as host u, port 123). An '@' after the host is the sign.
  const afterScheme = url.slice(scheme![0].length);
  const hostEnd = afterScheme.search(/[/?#]/);
  if (url.includes('#')) fail(`the URL contains '#' (the value is not shown, it may hold a password): a '#' in a password must be written %23; ${ENCODE_HINT}`);
  if (hostEnd >= 0 && afterScheme.slice(hostEnd).includes('@')) {
    const cut = afterScheme[hostEnd] === '?' ? "'?' (%3F)" : "'/' (%2F)";
    fail(`an '@' after the host (the value is not shown, it may hold a password): a ${cut} in a password ends the host; ${ENCODE_HINT}`);
  }
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    // Past the checks above, the authority ends where it seems to, so its port can be judged.
    const authority = hostEnd >= 0 ? afterScheme.slice(0, hostEnd) : afterScheme;
    const port = /:([^:\]]*)$/.exec(authority.slice(authority.lastIndexOf('@') + 1))?.[1];
    if (port !== undefined && port !== '' && !(/^\d+$/.test(port) && Number(port) >= 1 && Number(port) <= 65535)) fail('the port is not a number from 1 to 65535');
    return fail(`not a valid URL (the value is not shown, it may hold a password): check the host and port, and ${ENCODE_HINT}`);
  }
  for (const part of [u.username, u.password, u.pathname]) {
    try {
      decodeURIComponent(part);
    } catch {
      fail(`malformed percent-encoding (the value is not shown, it may hold a password): a '%' must be followed by two hex digits; write a literal % as %25`);
    }
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') fail(`scheme "${u.protocol.replace(/:$/, '')}" is not postgres or postgresql`);
  if (!u.hostname) fail('the host is missing');
  if (u.port !== '' && (!/^\d+$/.test(u.port) || Number(u.port) < 1 || Number(u.port) > 65535)) fail(`port "${u.port}" is not 1 to 65535`);
  const mode = u.searchParams.get('sslmode');
  if (mode !== null && !SSL_MODES.includes(mode as SslMode)) fail(`sslmode "${mode}" is not one of ${SSL_MODES.join(', ')}`);
  for (const key of ['sslrootcert', 'sslcert', 'sslkey']) {
    const file = u.searchParams.get(key);
    if (file && file !== 'system' && !fs.existsSync(path.resolve(cwd, file))) fail(`${key} file "${file}" does not exist`);
  }
}
