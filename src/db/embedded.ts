import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { CesarError, EXIT } from '../errors.js';
import { makePrivate, privateUmask, PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../files.js';
import { EMBEDDED_INIT_SOURCE, EMBEDDED_WORKER_SOURCE, type EmbeddedWorkerData, type EmbeddedWorkerMessage } from './embedded-worker.js';
import { PINNED_SETTINGS } from './pool.js';

/** Which side of the sync an embedded database stands in for. */
export type EmbeddedRole = 'local' | 'cloud';

/** One running embedded database, reachable with the ordinary `pg` driver at `url`. */
export interface EmbeddedDatabase {
  role: EmbeddedRole;
  /** postgres://postgres@<host>:<port>/postgres — PGlite accepts any password, so none is given. */
  url: string;
  dataDir: string;
}

/** The two embedded databases; close() stops both and releases their directories. */
export interface EmbeddedPair {
  local: EmbeddedDatabase;
  cloud: EmbeddedDatabase;
  close(): Promise<void>;
}

const ROLES: readonly EmbeddedRole[] = ['local', 'cloud'];
const LOCK_FILE = 'cesar.lock';
// The socket server's default is 1, and excess sockets are reset by Node rather than queued,
// so a pool (or several pools) larger than this would see ECONNRESET. 100 matches max_connections.
const MAX_CONNECTIONS = 100;
// A lock file is created and then written; an empty one younger than this may be mid-write.
const FRESH_LOCK_MS = 5_000;
/** How long close() waits for a database worker to stop cleanly before terminating it. */
const CLOSE_TIMEOUT_MS = 15_000;

/**
 * PostgreSQL settings of the embedded databases, for a demo's few thousand rows. PGlite runs
 * PostgreSQL's defaults otherwise: 128 MB of shared buffers (touched at start, so resident) and
 * 64 MB of maintenance memory per database, in WebAssembly memory that never shrinks. With these,
 * each database holds about 60 MB instead of about 250 MB.
 */
export const EMBEDDED_SETTINGS = ['-c', 'shared_buffers=16MB', '-c', 'work_mem=2MB', '-c', 'maintenance_work_mem=16MB', '-c', 'temp_buffers=2MB'];

// The WebAssembly API is a Node global that this project's TypeScript libraries do not describe.
declare const WebAssembly: { compile(bytes: Uint8Array): Promise<object> };

const requireHere = createRequire(import.meta.url);
/** The database workers of this process that have not exited. */
const workers = new Set<Worker>();

/** How many embedded database workers are running in this process (close() ends them). */
export function runningWorkers(): number {
  return workers.size;
}
let wasm: Promise<object | undefined> | undefined;

/** PGlite's WebAssembly, compiled once for both databases (each would otherwise compile its own copy of the code). */
function compiledWasm(): Promise<object | undefined> {
  wasm ??= fs.promises
    .readFile(path.join(path.dirname(requireHere.resolve('@electric-sql/pglite')), 'pglite.wasm'))
    .then((bytes) => WebAssembly.compile(bytes))
    // PGlite then compiles it itself
    .catch(() => undefined);
  return wasm;
}

// Lock files this process holds. A lock naming our own pid but absent here is stale: in a
// container the restarted cesar often gets the same pid as the one that crashed.
const heldHere = new Set<string>();

interface Running {
  db: EmbeddedDatabase;
  close(): Promise<void>;
}

/**
 * Starts (creating on first use) the two embedded demo databases under dataDir and serves each on a loopback port.
 * Each runs in a worker thread of its own (embedded-worker.ts): PGlite executes synchronously, and
 * on the main thread its queries would hold up everything else in the process.
 *
 * PGlite is a single Postgres session: the socket server multiplexes every connection onto it and,
 * once a connection opens a transaction, runs nothing but that connection's messages until it
 * commits or rolls back. So code must never hold a transaction open on one connection while
 * waiting on another connection to the same database — that deadlocks (nothing times out).
 * For the same reason session state is shared by all connections (SET, temp tables, named
 * prepared statements — two clients preparing the same name get 42P05), startup `options` and
 * `application_name` are accepted but not applied (the pinned settings are set on the session
 * at start instead), and statement_timeout is never enforced.
 */
export async function startEmbedded(opts: { dataDir: string; host?: string }): Promise<EmbeddedPair> {
  const host = opts.host ?? '127.0.0.1';
  const root = path.resolve(opts.dataDir);
  // the databases' files are for this user only, whatever the umask (issue 17)
  privateUmask();
  // Both locks before any start, so a directory in use fails fast instead of after a second of WASM.
  const locks: Array<() => void> = [];
  try {
    for (const role of ROLES) locks.push(acquireLock(path.join(root, role)));
  } catch (err) {
    for (const release of locks) release();
    throw err;
  }
  // In parallel: initdb/recovery interleave enough to save ~15-25% of start-up time.
  const results = await Promise.allSettled(
    ROLES.map((role, i) => startOne(role, path.join(root, role), host, locks[i] as () => void)),
  );
  const running = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.allSettled(running.map((r) => r.close()));
    throw failed.reason;
  }
  const [local, cloud] = running as [Running, Running];
  let closing: Promise<void> | undefined;
  return {
    local: local.db,
    cloud: cloud.db,
    close: () => (closing ??= closeAll(running)),
  };
}

/** True when a version() string comes from an embedded PGlite server. */
export function isEmbeddedVersion(version: string): boolean {
  // PGlite reports e.g. "PostgreSQL 18.6 (PGlite 0.5.14) on wasm32-unknown-emscripten, ..."
  return /\(PGlite [^)]*\)/.test(version) || version.includes('wasm32-unknown-emscripten');
}

/** Creates a new database directory in a short-lived child process (see EMBEDDED_INIT_SOURCE); nothing when it exists. */
async function initialise(dataDir: string): Promise<void> {
  if (fs.existsSync(path.join(dataDir, 'PG_VERSION'))) return;
  const child = spawn(process.execPath, ['-e', EMBEDDED_INIT_SOURCE, requireHere.resolve('@electric-sql/pglite'), dataDir, ...EMBEDDED_SETTINGS], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-2000)));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (c) => resolve(c));
  });
  if (code !== 0) throw new Error(`initdb failed (exit ${code}): ${stderr.trim() || 'no message'}`);
}

async function startOne(role: EmbeddedRole, dataDir: string, host: string, releaseLock: () => void): Promise<Running> {
  try {
    await initialise(dataDir);
  } catch (err) {
    releaseLock();
    throw new CesarError('EMBEDDED_START_FAILED', `Could not create the embedded ${role} database in ${dataDir}: ${err instanceof Error ? err.message : String(err)}.`, { cause: err });
  }
  const module = await compiledWasm();
  const workerData: EmbeddedWorkerData = {
    dataDir,
    host,
    maxConnections: MAX_CONNECTIONS,
    pglitePath: requireHere.resolve('@electric-sql/pglite'),
    socketPath: requireHere.resolve('@electric-sql/pglite-socket'),
    settings: EMBEDDED_SETTINGS,
    // PGlite is one session and ignores the startup `options` that pin every other cesar session
    // (src/db/pool.ts): the worker pins the same settings on that session itself
    setup: Object.entries(PINNED_SETTINGS).map(([k, v]) => `SET ${k} = '${v}';`).join('\n'),
    ...(module ? { wasmModule: module } : {}),
  };
  // a small young generation: the worker's JavaScript only passes protocol messages through
  const worker = new Worker(EMBEDDED_WORKER_SOURCE, { eval: true, workerData, resourceLimits: { maxYoungGenerationSizeMb: 8 } });
  workers.add(worker);
  let exited = false;
  const gone = new Promise<void>((resolve) =>
    worker.once('exit', () => {
      exited = true;
      workers.delete(worker);
      resolve();
    }),
  );
  // a worker that fails later (its database crashed) must not take the process with it: the
  // connections to it then fail, and the screens and passes say so
  worker.on('error', () => undefined);
  let port: number;
  try {
    port = await new Promise<number>((resolve, reject) => {
      worker.on('message', (m: EmbeddedWorkerMessage) => (m.type === 'ready' ? resolve(m.port) : m.type === 'error' ? reject(new Error(m.message)) : undefined));
      worker.once('error', reject);
      void gone.then(() => reject(new Error('the database worker stopped')));
    });
    // files unpacked from PGlite's image come with mode 0666 (and an older cesar left them so)
    makePrivate(dataDir);
  } catch (err) {
    await worker.terminate().catch(() => undefined);
    await gone;
    releaseLock();
    throw new CesarError(
      'EMBEDDED_START_FAILED',
      `Could not start the embedded ${role} database in ${dataDir}: ${err instanceof Error ? err.message : String(err)}. ` +
        'If the directory is damaged or from another PGlite version, move it away and start again.',
      { cause: err },
    );
  }
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    db: { role, url: `postgres://postgres@${urlHost}:${port}/postgres`, dataDir },
    close: async () => {
      try {
        if (exited) return;
        // the worker stops its server and closes PGlite (a checkpoint), then exits; a hung one is terminated
        worker.postMessage({ type: 'close' });
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), CLOSE_TIMEOUT_MS)));
        const outcome = await Promise.race([gone, late]);
        clearTimeout(timer);
        if (outcome === 'late') await worker.terminate();
        await gone;
      } finally {
        releaseLock();
      }
    },
  };
}

async function closeAll(running: Running[]): Promise<void> {
  const results = await Promise.allSettled(running.map((r) => r.close()));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** Takes `<dataDir>/cesar.lock` for this process (creating dataDir); returns its release function. */
function acquireLock(dataDir: string): () => void {
  fs.mkdirSync(dataDir, { recursive: true, mode: PRIVATE_DIR_MODE });
  // realpath: the same directory reached through a symlink must find the same lock.
  const file = path.join(fs.realpathSync(dataDir), LOCK_FILE);
  // Each round takes the lock, fails on a live holder or clears a stale one; EEXIST every
  // round means other processes keep winning the race.
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      fs.writeFileSync(file, `${process.pid}\n`, { flag: 'wx', mode: PRIVATE_FILE_MODE });
      heldHere.add(file);
      return () => releaseLock(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = readLockHolder(file);
    if (holder === 'gone') continue;
    if (holder === 'fresh' || (holder === process.pid ? heldHere.has(file) : isAlive(holder))) {
      throw inUse(dataDir, file, holder);
    }
    // The holder died without close(): the directory is free, take the lock over.
    fs.rmSync(file, { force: true });
  }
  throw inUse(dataDir, file, 'fresh');
}

function readLockHolder(file: string): number | 'fresh' | 'gone' {
  let text: string;
  let mtimeMs: number;
  try {
    text = fs.readFileSync(file, 'utf8');
    mtimeMs = fs.statSync(file).mtimeMs;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw err;
  }
  const pid = Number.parseInt(text.trim(), 10);
  if (Number.isInteger(pid) && pid > 0) return pid;
  // Unreadable content: either still being written (treat as held) or junk from a crash (stale).
  return Date.now() - mtimeMs < FRESH_LOCK_MS ? 'fresh' : -1;
}

function isAlive(pid: number): boolean {
  if (pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function releaseLock(file: string): void {
  if (!heldHere.delete(file)) return;
  try {
    // Only remove our own lock: if it was (wrongly) taken over, the new holder keeps it.
    if (Number.parseInt(fs.readFileSync(file, 'utf8'), 10) === process.pid) fs.rmSync(file, { force: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

function inUse(dataDir: string, file: string, holder: number | 'fresh'): CesarError {
  const who = holder === 'fresh' ? 'another cesar process' : `another cesar process (pid ${holder})`;
  return new CesarError(
    'EMBEDDED_IN_USE',
    `The embedded database directory ${dataDir} is in use by ${who}. ` +
      `Stop the other cesar, or set CESAR_DATA_DIR to another directory. ` +
      `If no cesar is running, delete ${file}.`,
    { exitCode: EXIT.usage },
  );
}
