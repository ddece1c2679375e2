import fs from 'node:fs';
import path from 'node:path';

// Everything cesar creates under CESAR_DATA_DIR is private to its user (issue 17): directories
// 0700, files 0600, whatever the umask it was started with.

/** Directory and file modes of what cesar creates. */
export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/**
 * Adds 077 to the process's umask, so that every file and directory created from now on (by cesar,
 * PGlite or a log writer) is closed to group and others. Outside the main thread (a worker) Node
 * cannot change the umask: makePrivate then does the work after the fact.
 */
export function privateUmask(): void {
  try {
    const old = process.umask(0o077);
    process.umask(old | 0o077);
  } catch {
    // ERR_WORKER_UNSUPPORTED_OPERATION
  }
}

/**
 * Sets `root` and everything below it to 0700 (directories) and 0600 (files). Symbolic links are
 * neither followed nor changed. Used on the embedded databases' directories, whose first files come
 * out of PGlite's image with fixed modes (0666) that no umask touches.
 */
export function makePrivate(root: string): void {
  const stack = [root];
  for (let dir = stack.pop(); dir !== undefined; dir = stack.pop()) {
    fs.chmodSync(dir, PRIVATE_DIR_MODE);
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, entry.name);
      if (entry.isDirectory()) stack.push(p);
      else if (entry.isFile()) fs.chmodSync(p, PRIVATE_FILE_MODE);
    }
  }
}
