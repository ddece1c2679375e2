import fs from 'node:fs';
import path from 'node:path';

// Everything cesar prints or returns to a test (CLI output, headless logs, API bodies, /metrics,
// WebSocket frames, dashboard screens) is appended to files in CESAR_TEST_CAPTURE_DIR (created by
// global-setup.ts); when the whole run ends, global-setup scans them for the test secrets and fails
// the run naming the file. Recording is done by capture-setup.ts (hooks loaded in every test file).

/** Password the helpers put into every local URL they hand out (trust auth ignores it). */
export const TEST_LOCAL_PASSWORD = 'LocalPw-5ecret-7Q2xW';
/** Password the helpers put into every cloud (crdb_app) URL they hand out. */
export const TEST_CLOUD_PASSWORD = 'CloudPw-5ecret-K9m4Z';
/** An API token for tests that need one (16+ characters, as cesar requires). */
export const TEST_API_TOKEN = 'cesar-test-token-3f9a7c1e5b2d8f60';

/** The secrets every run knows in advance; more are learned from what tests hand to cesar. */
export const STATIC_SECRETS: Readonly<Record<string, string>> = {
  TEST_LOCAL_PASSWORD,
  TEST_CLOUD_PASSWORD,
  TEST_API_TOKEN,
};

/** The capture directory of this run, or undefined when capturing is off (e.g. a custom config). */
export function captureDir(): string | undefined {
  return process.env.CESAR_TEST_CAPTURE_DIR || undefined;
}

let current = 'unknown';
/** Names the test file the following records belong to (set by capture-setup.ts). */
export function setCaptureFile(testPath: string): void {
  current = path.relative(path.resolve(new URL('../..', import.meta.url).pathname), testPath) || testPath;
}

/** Appends one piece of cesar output, labelled with its source, to this worker's capture file. */
export function record(source: string, text: string): void {
  const dir = captureDir();
  if (!dir || text === '') return;
  const file = path.join(dir, `${current.replace(/[^A-Za-z0-9._-]+/g, '_')}.${process.pid}.log`);
  try {
    fs.appendFileSync(file, `\n=== ${source}\n${text}\n`);
  } catch {
    // the run is over (directory removed): nothing left to protect
  }
}

// Short or common values would match innocent text ("short", "postgres"): a learned secret must be
// 8+ characters with a letter and a digit. Every secret the existing tests use qualifies.
const SECRET_SHAPE = /^(?=.*[A-Za-z])(?=.*\d).{8,}$/;

/** Remembers a value a test handed to cesar as a secret (a URL password, a token) for the final scan. */
export function learnSecret(value: string | undefined | null, origin: string): void {
  const dir = captureDir();
  if (!dir || !value || !SECRET_SHAPE.test(value) || value.includes('\n')) return;
  try {
    fs.mkdirSync(path.join(dir, 'secrets'), { recursive: true });
    fs.appendFileSync(path.join(dir, 'secrets', `${process.pid}.txt`), `${JSON.stringify({ value, origin })}\n`);
  } catch {
    // as in record()
  }
}

/**
 * Learns the password of a database URL (raw and percent-decoded), also of a value that does not
 * parse as a URL (issue 12): read plainly, the password runs from the ':' after the user name to
 * the last '@', whether or not the scheme has its '//'; a `password=` in a query or a libpq
 * key=value string counts too.
 */
export function learnUrlSecret(url: string | undefined, origin: string): void {
  if (!url) return;
  const learn = (value: string | undefined | null): void => {
    if (!value) return;
    learnSecret(value, origin);
    try {
      learnSecret(decodeURIComponent(value), origin);
    } catch {
      // not percent-encoded
    }
  };
  try {
    learn(new URL(url).password);
  } catch {
    // not a URL: read plainly below
  }
  const scheme = /^(?:[a-z][a-z0-9+.-]*:?\/\/|postgres(?:ql)?:)/i.exec(url)?.[0] ?? '';
  learn(/^[^:@]*:(.*)@/s.exec(url.slice(scheme.length))?.[1]);
  for (const m of url.matchAll(/password\s*=\s*('[^']*'|[^\s&']+)/gi)) learn(m[1]!.replace(/^'|'$/g, ''));
}

/** One leak found by scanCaptures. */
export interface Leak {
  file: string;
  line: number;
  what: string;
}

// scheme://user:password@ with a password that is not cesar's mask (***); brackets are left out
// so that the documented form `postgres://user[:password]@host` in messages is not taken for one
const CREDENTIAL_URL = /\b[a-z][a-z0-9+.-]{0,31}:\/\/[^\s:/@'"[\]]{0,256}:([^\s@/'"[\]]{1,1024})@/gi;

/** Reads the secrets learned during the run (file secrets/*.txt). */
export function learnedSecrets(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const sdir = path.join(dir, 'secrets');
  if (!fs.existsSync(sdir)) return out;
  for (const f of fs.readdirSync(sdir)) {
    for (const line of fs.readFileSync(path.join(sdir, f), 'utf8').split('\n')) {
      if (!line) continue;
      const { value, origin } = JSON.parse(line) as { value: string; origin: string };
      if (!out.has(value)) out.set(value, origin);
    }
  }
  return out;
}

/** What in one text is a leak: a known secret (named by `secrets`: value to origin) or a URL with a password. */
export function findLeaks(text: string, secrets: ReadonlyMap<string, string>): string[] {
  const out: string[] = [];
  for (const [value, origin] of secrets) if (text.includes(value)) out.push(`the secret ${origin}`);
  for (const m of text.matchAll(CREDENTIAL_URL)) {
    if (!/^\*+$/.test(m[1]!)) out.push(`a URL with a password (${m[0].replace(m[1]!, '<password>')})`);
  }
  return out;
}

/** The static secrets, as findLeaks takes them. */
export const STATIC_SECRET_MAP: ReadonlyMap<string, string> = new Map(Object.entries(STATIC_SECRETS).map(([k, v]) => [v, k]));

/**
 * Scans every capture file for the static and learned secrets and for URLs that carry a password;
 * the secret itself is never repeated in the result, only what it is and where it came from.
 */
export function scanCaptures(dir: string, secrets: ReadonlyMap<string, string> = STATIC_SECRET_MAP): Leak[] {
  const all = new Map<string, string>(secrets);
  for (const [value, origin] of learnedSecrets(dir)) if (!all.has(value)) all.set(value, origin);
  const leaks: Leak[] = [];
  for (const name of fs.readdirSync(dir).filter((f) => f.endsWith('.log')).sort()) {
    const lines = fs.readFileSync(path.join(dir, name), 'utf8').split('\n');
    lines.forEach((text, i) => {
      for (const what of findLeaks(text, all)) leaks.push({ file: name, line: i + 1, what });
    });
  }
  return leaks;
}
