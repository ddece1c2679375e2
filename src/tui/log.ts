import fs from 'node:fs';
import path from 'node:path';
import { redact } from '../config/redact.js';
import type { EventBus } from '../events/bus.js';

const METHODS = ['log', 'info', 'warn', 'error', 'debug'] as const;
// Events worth keeping in the file: not the twice-a-second pass progress.
const KEEP = new Set(['log', 'sync.pass.failed', 'sync.conflict', 'sync.table.error', 'migration.applied', 'migration.failed', 'lease.acquired', 'lease.lost', 'db.status']);

/**
 * While the dashboard owns the screen, stdout belongs to Ink: console output and the notable bus
 * events go to `<dataDir>/dashboard.log` instead (one JSON object per line, redacted). Returns
 * the path (null when it could not be opened: then they are dropped, never written to the screen)
 * and a close() that puts the console back.
 */
export function redirectLogs(dataDir: string, bus: EventBus): { path: string | null; close(): void } {
  let fd: number | null = null;
  const file = path.join(dataDir, 'dashboard.log');
  try {
    fs.mkdirSync(dataDir, { recursive: true });
    fd = fs.openSync(file, 'a');
  } catch {
    fd = null;
  }
  const write = (record: Record<string, unknown>): void => {
    if (fd === null) return;
    try {
      fs.writeSync(fd, `${redact(JSON.stringify({ time: new Date().toISOString(), ...record }))}\n`);
    } catch {
      // a full disk must not take the dashboard down
    }
  };
  const saved = METHODS.map((m) => [m, console[m]] as const);
  for (const m of METHODS) {
    console[m] = (...args: unknown[]) => write({ level: m === 'log' ? 'info' : m, msg: args.map((a) => (typeof a === 'string' ? a : a instanceof Error ? a.message : JSON.stringify(a))).join(' ') });
  }
  const off = bus.on((e) => {
    if (KEEP.has(e.type)) write({ level: e.type === 'log' ? e.level : 'info', event: e });
  });
  return {
    path: fd === null ? null : file,
    close() {
      off();
      for (const [m, fn] of saved) console[m] = fn;
      if (fd !== null) fs.closeSync(fd);
      fd = null;
    },
  };
}
