import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { adminUrl } from './databases.js';

// The server's statement log, to prove that a refused input never reached PostgreSQL. Statement
// logging is switched on per database (ALTER DATABASE ... SET log_statement = 'all', as the
// superuser: new sessions log every statement they run), and the log is read from where the
// server writes it: the file of the logging collector (pg_current_logfile(), read through SQL), or,
// with the collector off (Debian's pg_ctlcluster), the file the server's stderr goes to, found from
// /proc/<backend pid>/fd/2 (readable when the tests run as root or as the server's user).

/** One log entry: its first line and any continuation lines (a multi-line statement). */
export interface LogEntry {
  user: string;
  database: string;
  text: string;
}

/** A window on the server log for a few databases. */
export interface StatementLog {
  /** Where the log is read from, for messages. */
  source: string;
  /** Starts a new window: later entries() only return what was logged after this call. */
  mark(): Promise<void>;
  /** Entries of the watched databases logged since the last mark(), waiting for the server to flush them. */
  entries(): Promise<LogEntry[]>;
}

interface Reader {
  source: string;
  size(): Promise<number>;
  read(from: number, length: number): Promise<Buffer>;
}

async function withAdmin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: adminUrl() });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

async function findReader(): Promise<Reader | string> {
  return withAdmin(async (c) => {
    const { rows } = await c.query<{ file: string | null; dir: string; pid: number }>("SELECT pg_current_logfile() AS file, current_setting('data_directory') AS dir, pg_backend_pid() AS pid");
    const { file, dir, pid } = rows[0]!;
    if (file) {
      const full = path.isAbsolute(file) ? file : path.join(dir, file);
      return {
        source: `${full} (logging collector, read through pg_read_binary_file)`,
        size: async () => Number((await withAdmin((a) => a.query<{ size: string }>('SELECT size FROM pg_stat_file($1)', [full]))).rows[0]!.size),
        read: async (from, length) => (await withAdmin((a) => a.query<{ b: Buffer }>('SELECT pg_read_binary_file($1, $2, $3) AS b', [full, from, length]))).rows[0]!.b,
      };
    }
    let target: string;
    try {
      target = fs.readlinkSync(`/proc/${pid}/fd/2`);
    } catch (err) {
      return `the logging collector is off and the server's stderr cannot be inspected (${(err as Error).message})`;
    }
    if (!path.isAbsolute(target) || !fs.existsSync(target) || !fs.statSync(target).isFile()) return `the server's stderr is not a file (${target})`;
    try {
      fs.accessSync(target, fs.constants.R_OK);
    } catch {
      return `the server log ${target} is not readable by this user`;
    }
    return {
      source: `${target} (the server's stderr)`,
      size: async () => fs.statSync(target).size,
      read: async (from, length) => {
        const fd = fs.openSync(target, 'r');
        try {
          const buf = Buffer.alloc(length);
          const n = fs.readSync(fd, buf, 0, length, from);
          return buf.subarray(0, n);
        } finally {
          fs.closeSync(fd);
        }
      },
    };
  });
}

// 2026-11-27 00:58:48.024 UTC [2184] user@db LOG:  ...  (log_line_prefix '%m [%p] %q%u@%d ')
const ENTRY_START = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)? \S+ \[\d+\] /;
const USER_DB = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)? \S+ \[\d+\] (\S*)@(\S*) /;

/** Splits log text into entries (a line that does not start with a timestamp continues the previous one). */
export function parseLog(text: string): LogEntry[] {
  const out: LogEntry[] = [];
  for (const line of text.split('\n')) {
    if (ENTRY_START.test(line)) {
      const m = USER_DB.exec(line);
      out.push({ user: m?.[1] ?? '', database: m?.[2] ?? '', text: line });
    } else if (out.length > 0 && line !== '') out[out.length - 1]!.text += `\n${line}`;
  }
  return out;
}

/**
 * Turns statement logging on for these databases and returns a window on the log, or a string
 * saying why the log cannot be read on this machine.
 */
export async function openStatementLog(databases: string[]): Promise<StatementLog | string> {
  const reader = await findReader();
  if (typeof reader === 'string') return reader;
  await withAdmin(async (c) => {
    for (const db of databases) await c.query(`ALTER DATABASE ${pg.escapeIdentifier(db)} SET log_statement = 'all'`);
  });
  // the prefix must carry user@database, or entries cannot be told apart from other test files'
  const prefix = await withAdmin(async (c) => (await c.query<{ p: string }>("SELECT current_setting('log_line_prefix') AS p")).rows[0]!.p);
  if (!/^%m \[%p\] %q%u@%d /.test(prefix)) return `log_line_prefix is ${JSON.stringify(prefix)}; this reader needs '%m [%p] %q%u@%d '`;
  let from = await reader.size();
  const watched = new Set(databases);
  return {
    source: reader.source,
    async mark() {
      from = await reader.size();
    },
    async entries() {
      // The server writes each entry when the statement starts; a probe statement logged after
      // everything else proves the window is complete (its own entry is left out).
      const probe = `statement_log_probe_${Math.random().toString(36).slice(2)}`;
      await withAdmin(async (c) => {
        await c.query(`SET log_statement = 'all'`);
        await c.query(`SELECT '${probe}'`);
      });
      let text = '';
      for (let i = 0; i < 100; i++) {
        const size = await reader.size();
        text = (await reader.read(from, Math.max(0, size - from))).toString('utf8');
        if (text.includes(probe)) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      if (!text.includes(probe)) throw new Error(`the statement log (${reader.source}) did not show a probe statement within 5 s`);
      return parseLog(text).filter((e) => watched.has(e.database));
    },
  };
}
