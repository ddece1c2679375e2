import childProcess from 'node:child_process';
import { EventEmitter } from 'node:events';
import { syncBuiltinESMExports } from 'node:module';
import path from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import WebSocket from 'ws';
import { captureDir, learnSecret, learnUrlSecret, record, setCaptureFile } from './capture.js';

// Loaded before every test file (vitest setupFiles). It records what cesar says to the tests
// without any test having to opt in: the output of every `dist/cli.js` child process, every HTTP
// answer from a loopback server (fetch), every WebSocket frame a client receives (ws), and every
// tmux screen captured (the dashboard). It also learns the secrets tests hand to cesar (URL
// passwords and tokens in a child's environment, bearer tokens sent with fetch). global-setup.ts
// scans the records at the end of the run. Nothing here changes what a test sees.

const CLI_MARK = `${path.sep}dist${path.sep}cli.js`;
const pending = new Set<Promise<unknown>>();
const track = (p: Promise<unknown>): void => {
  pending.add(p);
  void p.finally(() => pending.delete(p));
};

beforeAll(() => {
  const testPath = expect.getState().testPath;
  if (testPath) setCaptureFile(testPath);
});
afterAll(async () => {
  // bodies still being read when the file ends; bounded so that a body that never ends cannot hang the file
  await Promise.race([Promise.allSettled([...pending]), new Promise((r) => setTimeout(r, 5000).unref())]);
});

if (captureDir()) {
  hookChildProcesses();
  hookFetch();
  hookWebSocket();
}

function hookChildProcesses(): void {
  const spawn = childProcess.spawn;
  const wrapped = function (this: unknown, ...args: unknown[]) {
    const child = (spawn as (...a: unknown[]) => childProcess.ChildProcess).apply(this, args);
    try {
      const argv = Array.isArray(args[1]) ? (args[1] as string[]) : [];
      if (argv.some((a) => typeof a === 'string' && a.endsWith(CLI_MARK))) {
        const options = (Array.isArray(args[1]) ? args[2] : args[1]) as childProcess.SpawnOptions | undefined;
        const env = options?.env ?? {};
        for (const key of ['LOCAL_DB_URL', 'DATABASE_URL', 'COCKROACH_DB_URL']) learnUrlSecret(env[key], `${key} given to cesar`);
        for (const key of ['CESAR_API_TOKEN', 'CESAR_API_READ_TOKEN', 'CESAR_METRICS_TOKEN']) learnSecret(env[key], `${key} given to cesar`);
        // the label shows the test's arguments, which are its input, not cesar's output: a password
        // a test types there (to check that cesar does not echo it) is masked in the label itself
        const shown = argv.slice(argv.findIndex((a) => a.endsWith(CLI_MARK)) + 1).join(' ');
        const label = `cesar ${shown.replace(/(:\/\/[^\s:/@]*:)[^\s@]*@/g, '$1***@')}`.slice(0, 200);
        child.stdout?.on('data', (d: Buffer) => record(`${label} [stdout]`, d.toString()));
        child.stderr?.on('data', (d: Buffer) => record(`${label} [stderr]`, d.toString()));
      }
    } catch {
      // recording must never break a test
    }
    return child;
  };
  (childProcess as { spawn: unknown }).spawn = wrapped;

  // The dashboard test reads the screen with `tmux capture-pane`; keep each distinct screen.
  const execFileSync = childProcess.execFileSync;
  const lastScreen = new Map<string, string>();
  (childProcess as { execFileSync: unknown }).execFileSync = function (this: unknown, ...args: unknown[]) {
    const out = (execFileSync as (...a: unknown[]) => unknown).apply(this, args);
    try {
      const argv = Array.isArray(args[1]) ? (args[1] as string[]) : [];
      if (args[0] === 'tmux' && argv.includes('capture-pane')) {
        const text = Buffer.isBuffer(out) ? out.toString() : String(out);
        const key = argv.join(' ');
        if (lastScreen.get(key) !== text) {
          lastScreen.set(key, text);
          record(`tmux ${key}`, text);
        }
      }
    } catch {
      // as above
    }
    return out;
  };
  syncBuiltinESMExports();
}

function isLoopbackUrl(u: URL): boolean {
  return /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i.test(u.hostname);
}

function hookFetch(): void {
  const original = globalThis.fetch;
  globalThis.fetch = async function (input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]): Promise<Response> {
    const res = await original(input, init);
    try {
      const url = new URL(input instanceof Request ? input.url : String(input));
      if (isLoopbackUrl(url)) {
        const auth = new Headers(input instanceof Request ? input.headers : undefined);
        new Headers(init?.headers).forEach((v, k) => auth.set(k, v));
        const given = auth.get('authorization')?.replace(/^\S+\s+/, '');
        learnSecret(given, 'a token sent to the API');
        const method = init?.method ?? (input instanceof Request ? input.method : 'GET');
        // the label names the path only: a query string is the test's input, not cesar's output
        const label = `HTTP ${method} ${url.pathname} -> ${res.status}`;
        const headers = [...res.headers].map(([k, v]) => `${k}: ${v}`).join('\n');
        track(
          res
            .clone()
            .text()
            .then((body) => record(label, `${headers}\n\n${body}`))
            .catch(() => undefined),
        );
      }
    } catch {
      // as above
    }
    return res;
  } as typeof fetch;
}

function hookWebSocket(): void {
  const proto = WebSocket.prototype as unknown as { emit: (event: string | symbol, ...args: unknown[]) => boolean; url?: string };
  proto.emit = function (this: WebSocket, event: string | symbol, ...args: unknown[]): boolean {
    try {
      // only clients (a server-side socket has no url): what cesar sent, not what a test sent it
      if (this.url && (event === 'message' || event === 'close')) {
        const data = args[0];
        const text = event === 'close' ? `close ${String(data)} ${String(args[1] ?? '')}` : Buffer.isBuffer(data) ? data.toString() : Array.isArray(data) ? Buffer.concat(data as Buffer[]).toString() : String(data);
        record(`WebSocket ${new URL(this.url).pathname} ${event}`, text);
      }
    } catch {
      // as above
    }
    return EventEmitter.prototype.emit.call(this, event, ...args);
  };
}
