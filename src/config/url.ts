import fs from 'node:fs';
import path from 'node:path';
import { redact } from './redact.js';

/** sslmode values understood, as in libpq. */
export const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
export type SslMode = (typeof SSL_MODES)[number];

const FORM = 'postgres://user[:password]@host[:port]/database[?sslmode=verify-full&sslrootcert=/path/ca.crt]';

/** Throws an Error naming `variable` and the allowed form when `url` is not a usable database URL. */
export function validateDbUrl(url: string, variable: string, cwd: string): void {
  const fail = (why: string): never => {
    throw new Error(`${variable}: ${why}; expected ${FORM}.`);
  };
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return fail(`"${redact(url)}" is not a URL`);
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
