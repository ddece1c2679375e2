// Cleanup registry and tracked child processes for the benchmarks.
// Everything a benchmark creates (databases, pools, temp dirs, child processes) is registered
// here, so that a normal end, a failure and Ctrl-C (SIGINT/SIGTERM) all release it.
import { spawn } from 'node:child_process';

const cleanups = [];
const children = new Set();
let interrupted = false;

/** Marks the run as interrupted (SIGINT/SIGTERM): failures that follow are the cleanup's doing. */
export function markInterrupted() {
  interrupted = true;
}

export function isInterrupted() {
  return interrupted;
}

/** Registers `fn` to run at the end (last registered runs first). Returns a function that runs it now and unregisters it. */
export function onCleanup(label, fn) {
  const entry = { label, fn };
  cleanups.push(entry);
  return async () => {
    const i = cleanups.indexOf(entry);
    if (i >= 0) cleanups.splice(i, 1);
    await fn();
  };
}

/** Stops the children still running, then runs every cleanup (errors are reported, never thrown). */
export async function runCleanups(log = (m) => process.stderr.write(`${m}\n`)) {
  await stopChildren();
  while (cleanups.length) {
    const { label, fn } = cleanups.pop();
    try {
      await fn();
    } catch (err) {
      log(`bench: cleanup "${label}" failed: ${err?.message ?? err}`);
    }
  }
}

/**
 * Runs a process and waits for it. It gets its own process group (detached), so an interrupt
 * can stop it and everything it started (a shell pipe) by its id, and wait for it.
 * Resolves { code, signal, stdout, stderr }; never rejects for a non-zero exit.
 */
export function runProcess(command, args, { env, cwd, maxBuffer = 16 << 20 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = [];
    const err = [];
    let size = 0;
    const keep = (list) => (chunk) => {
      size += chunk.length;
      if (size <= maxBuffer) list.push(chunk);
    };
    child.stdout.on('data', keep(out));
    child.stderr.on('data', keep(err));
    const exited = new Promise((res) => child.on('close', (code, signal) => res({ code, signal })));
    const entry = { child, exited };
    children.add(entry);
    child.on('error', (e) => {
      children.delete(entry);
      reject(e);
    });
    exited.then(({ code, signal }) => {
      children.delete(entry);
      resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}

async function stopChildren() {
  const running = [...children];
  for (const { child } of running) {
    try {
      process.kill(-child.pid, 'SIGTERM'); // its own group: the shell and the processes of its pipe
    } catch {
      // already gone
    }
  }
  await Promise.all(running.map(({ child, exited }) => killAfter(child, exited, 3000)));
}

/**
 * Waits for a child that was asked to stop; if it has not exited after `graceMs`, kills its
 * process group (it was spawned detached). Resolves with what `exited` resolves to.
 */
export async function killAfter(child, exited, graceMs) {
  const timer = setTimeout(() => {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }, graceMs);
  try {
    return await exited;
  } finally {
    clearTimeout(timer);
  }
}
