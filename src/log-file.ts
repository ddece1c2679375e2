import fs from 'node:fs';
import { CesarError, EXIT } from './errors.js';

/**
 * The signal that makes cesar reopen its log file (logrotate's `postrotate` sends it). Not SIGHUP:
 * the dashboard takes SIGHUP as "the terminal is gone" (a dropped SSH link) and ends. Not SIGUSR1:
 * Node reserves it for its inspector (`kill -USR1` attaches a debugger).
 */
export const REOPEN_SIGNAL = 'SIGUSR2' as const;

const C = fs.constants;
// O_NOFOLLOW: a symbolic link planted at the log's path must not make cesar append to (or create)
// the file it points to (issue 17). O_NONBLOCK: a FIFO planted there fails at once (ENXIO, no
// reader) or is refused by the check below, instead of blocking the process in open().
const OPEN_EXISTING = C.O_WRONLY | C.O_APPEND | C.O_NOFOLLOW | C.O_NONBLOCK;
const CREATE_NEW = OPEN_EXISTING | C.O_CREAT | C.O_EXCL;
/** Log files are private to cesar's user, whatever the umask. */
export const LOG_FILE_MODE = 0o600;

/**
 * A log file that refuses to open, with the reason an operator can act on (exit 2: it is
 * configuration). Code LOG_FILE_UNSAFE when the path is a symbolic link or not a regular file
 * (never worked around), LOG_FILE otherwise (a missing directory, permissions).
 */
export function logFileError(file: string, why: string, code: 'LOG_FILE' | 'LOG_FILE_UNSAFE' = 'LOG_FILE'): CesarError {
  return new CesarError(code, `log file ${file}: ${why}`, { exitCode: EXIT.usage });
}

/**
 * Opens `file` for appending without following a symbolic link at its path, as a regular file
 * only, and makes it mode 0600 (a new file and an existing one alike: the umask cannot widen it,
 * and a file left readable by an older version is made private). Returns the descriptor.
 */
export function openLogFd(file: string): number {
  let fd: number;
  try {
    fd = openOnce(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw logFileError(file, reason(err as NodeJS.ErrnoException), code === 'ELOOP' || code === 'ENXIO' ? 'LOG_FILE_UNSAFE' : 'LOG_FILE');
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw logFileError(file, 'is not a regular file (a FIFO, device or socket); cesar writes its log only to a regular file.', 'LOG_FILE_UNSAFE');
    if ((st.mode & 0o777) !== LOG_FILE_MODE) {
      try {
        fs.fchmodSync(fd, LOG_FILE_MODE);
      } catch {
        // owned by another user (e.g. root-owned, writable by us): its mode is that owner's choice
      }
    }
    return fd;
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
}

// Create it exclusively (the mode applies only to a new file), else open the existing one. A file
// removed between the two attempts (a rotation at that moment) is simply created on the retry.
function openOnce(file: string): number {
  for (let attempt = 0; ; attempt++) {
    try {
      return fs.openSync(file, CREATE_NEW, LOG_FILE_MODE);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    try {
      return fs.openSync(file, OPEN_EXISTING);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 2) throw err;
    }
  }
}

function reason(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ELOOP':
      return 'is a symbolic link; cesar does not follow links for its log file (one planted there could make it write into another file). Remove the link, or give the path of the real file.';
    case 'ENXIO':
      return 'is not a regular file (a FIFO with no reader); cesar writes its log only to a regular file.';
    case 'ENOENT':
      return 'its directory does not exist; create it first (e.g. install -d -m 0700 -o cesar /var/log/cesar).';
    case 'ENOTDIR':
      return 'a part of the path is not a directory.';
    case 'EISDIR':
      return 'is a directory; give the path of a file inside it (e.g. /var/log/cesar/headless.log).';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied; the file and its directory must be writable by the user cesar runs as.';
    case 'EROFS':
      return 'is on a read-only file system.';
    default:
      return `cannot be opened (${err.code ?? err.message}).`;
  }
}

/**
 * An append-only JSON-lines destination (pino writes to it) that can be reopened at the same path
 * after logrotate moved the file away. Writes are synchronous so that nothing is lost on exit; a
 * failed write (a full disk) is reported once on stderr and never takes the process down.
 */
export class LogFile {
  private fd: number | null;
  private failed = false;

  private constructor(
    readonly path: string,
    fd: number,
    private readonly stderr: NodeJS.WritableStream,
  ) {
    this.fd = fd;
  }

  /** Opens (or creates, mode 0600) `file`; a CesarError with exit code 2 when it cannot or must not. */
  static open(file: string, stderr: NodeJS.WritableStream = process.stderr): LogFile {
    return new LogFile(file, openLogFd(file), stderr);
  }

  /** Appends one chunk (pino gives whole lines). */
  write(chunk: string): void {
    if (this.fd === null) return;
    try {
      const buf = Buffer.from(chunk);
      for (let off = 0; off < buf.length; ) off += fs.writeSync(this.fd, buf, off);
      this.failed = false;
    } catch (err) {
      if (!this.failed) this.stderr.write(`cesar: cannot write the log file ${this.path}: ${(err as Error).message}\n`);
      this.failed = true;
    }
  }

  /**
   * Opens the path again and switches to it (the old file was renamed by logrotate). When the new
   * open fails (the path is now a link, the directory is gone) the old descriptor is kept, so lines
   * still land somewhere, and the error is returned for the caller to log.
   */
  reopen(): { ok: true } | { ok: false; error: string } {
    if (this.fd === null) return { ok: false, error: 'the log file is closed' };
    let fd: number;
    try {
      fd = openLogFd(this.path);
    } catch (err) {
      return { ok: false, error: (err as Error).message };
    }
    const old = this.fd;
    this.fd = fd;
    fs.closeSync(old);
    return { ok: true };
  }

  /** Closes the descriptor; later writes are dropped. */
  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }
}

/**
 * Reopens `file` on SIGUSR2 and reports the outcome through `report`; with no file, SIGUSR2 is
 * still caught (and reported), so that a signal meant for a log rotation never kills a cesar that
 * logs to stdout. Returns the function that removes the handler.
 */
export function reopenOnSignal(file: LogFile | null, report: (outcome: { ok: true; path: string } | { ok: false; error: string } | { ok: null }) => void): () => void {
  const listener = (): void => {
    if (!file) return report({ ok: null });
    const r = file.reopen();
    report(r.ok ? { ok: true, path: file.path } : r);
  };
  process.on(REOPEN_SIGNAL, listener);
  return () => {
    process.off(REOPEN_SIGNAL, listener);
  };
}
