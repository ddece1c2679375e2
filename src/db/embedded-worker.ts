// The code of the worker thread that runs one embedded database: PGlite and its socket server.
//
// PGlite runs PostgreSQL compiled to WebAssembly, synchronously: a query holds the thread that
// runs it. In a worker thread of its own, a pass or a scan on one database no longer holds the
// dashboard's keys, its renders or the other database. The worker is given as source (an eval
// worker, CommonJS): it needs no file of its own, so it runs the same from dist/ and under the
// test runner (which cannot start a worker from a .ts file).

/** What the worker is started with. */
export interface EmbeddedWorkerData {
  dataDir: string;
  host: string;
  maxConnections: number;
  /** Absolute paths of the CommonJS builds of PGlite and its socket server (resolved by the caller). */
  pglitePath: string;
  socketPath: string;
  /** PostgreSQL settings (`-c name=value` pairs) added to PGlite's defaults. */
  settings: string[];
  /** SQL run on the session before it is served (the settings every cesar session is pinned to). */
  setup: string;
  /** pglite.wasm compiled once by the caller and shared by both workers (the code is not compiled twice). */
  wasmModule?: object;
}

/** Messages from the worker. */
export type EmbeddedWorkerMessage = { type: 'ready'; port: number } | { type: 'error'; message: string } | { type: 'closed' };

export const EMBEDDED_WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { PGlite } = require(workerData.pglitePath);
const { PGLiteSocketServer } = require(workerData.socketPath);
let db;
let server;
const fail = (err) => parentPort.postMessage({ type: 'error', message: err && err.message ? err.message : String(err) });
(async () => {
  db = await PGlite.create({
    dataDir: workerData.dataDir,
    startParams: [...PGlite.defaultStartParams, ...workerData.settings],
    ...(workerData.wasmModule ? { pgliteWasmModule: workerData.wasmModule } : {}),
  });
  await db.exec(workerData.setup);
  server = new PGLiteSocketServer({ db, host: workerData.host, port: 0, maxConnections: workerData.maxConnections });
  await server.start();
  const conn = server.getServerConn();
  parentPort.postMessage({ type: 'ready', port: Number(conn.slice(conn.lastIndexOf(':') + 1)) });
})().catch(async (err) => {
  fail(err);
  try { if (server) await server.stop(); } catch {}
  try { if (db) await db.close(); } catch {}
});
parentPort.on('message', async (m) => {
  if (!m || m.type !== 'close') return;
  try {
    if (server) await server.stop();
    if (db) await db.close();
    parentPort.postMessage({ type: 'closed' });
  } catch (err) {
    fail(err);
  } finally {
    parentPort.close();
  }
});
`;

/**
 * A child process that creates a new data directory (initdb) and exits. PGlite's initdb runs a
 * second, in-memory PostgreSQL next to the new one and copies the result across: about 600 MB
 * per database for a few seconds. In a process of its own all of it goes back to the system when
 * it exits; in cesar's process much of it would stay (memory a thread freed is kept for reuse).
 * Arguments: the path of PGlite's CommonJS build, the data directory, then the settings.
 */
export const EMBEDDED_INIT_SOURCE = `
const [pglitePath, dataDir, ...settings] = process.argv.slice(1);
const { PGlite } = require(pglitePath);
PGlite.create({ dataDir, startParams: [...PGlite.defaultStartParams, ...settings] })
  .then((db) => db.close())
  .then(() => process.exit(0), (err) => { process.stderr.write(String(err && err.message ? err.message : err) + '\\n'); process.exit(1); });
`;
