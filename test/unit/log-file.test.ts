import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isCesarError } from '../../src/errors.js';
import { LogFile, REOPEN_SIGNAL, reopenOnSignal } from '../../src/log-file.js';
import { createLogger } from '../../src/log.js';

// The log file of headless, sync, migrate and the dashboard (issue 13 §4, issue 17 "files"):
// appended, private whatever the umask, never through a symbolic link, reopened after a rotation.

let dir: string;
let savedUmask: number;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cesar-logfile-'));
  savedUmask = process.umask(0); // the most permissive umask: cesar must not rely on it
});
afterEach(() => {
  process.umask(savedUmask);
  fs.rmSync(dir, { recursive: true, force: true });
});

const mode = (file: string): number => fs.statSync(file).mode & 0o777;
const refusal = (fn: () => unknown): { code: string; exitCode: number; message: string } => {
  try {
    fn();
  } catch (err) {
    if (isCesarError(err)) return { code: err.code, exitCode: err.exitCode, message: err.message };
    throw err;
  }
  throw new Error('expected a refusal');
};

describe('LogFile', () => {
  it('creates the file 0600 under umask 000 and appends JSON lines from pino', () => {
    const file = path.join(dir, 'cesar.log');
    fs.writeFileSync(path.join(dir, 'other'), '');
    const out = LogFile.open(file);
    const log = createLogger({ destination: out });
    log.info({ event: 'x' }, 'first');
    log.warn('second');
    out.close();
    expect(mode(file)).toBe(0o600);
    expect(mode(path.join(dir, 'other'))).toBe(0o666); // the umask really is 000 here
    const lines = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => [l.level, l.msg])).toEqual([['info', 'first'], ['warn', 'second']]);
    // appended, never truncated
    const again = LogFile.open(file);
    again.write('{"third":true}\n');
    again.close();
    expect(fs.readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(3);
  });

  it('makes an existing world-readable log private', () => {
    const file = path.join(dir, 'old.log');
    fs.writeFileSync(file, 'old line\n', { mode: 0o644 });
    LogFile.open(file).close();
    expect(mode(file)).toBe(0o600);
    expect(fs.readFileSync(file, 'utf8')).toBe('old line\n');
  });

  it('refuses a symbolic link at its path (exit 2), and neither writes to nor creates the target', () => {
    const target = path.join(dir, 'victim');
    fs.writeFileSync(target, 'precious\n', { mode: 0o644 });
    const link = path.join(dir, 'dashboard.log');
    fs.symlinkSync(target, link);
    const r = refusal(() => LogFile.open(link));
    expect(r).toMatchObject({ code: 'LOG_FILE_UNSAFE', exitCode: 2 });
    expect(r.message).toContain(`log file ${link}: is a symbolic link`);
    expect(fs.readFileSync(target, 'utf8')).toBe('precious\n');
    expect(mode(target)).toBe(0o644);

    const dangling = path.join(dir, 'dangling.log');
    const nowhere = path.join(dir, 'created-through-link');
    fs.symlinkSync(nowhere, dangling);
    expect(refusal(() => LogFile.open(dangling)).code).toBe('LOG_FILE_UNSAFE');
    expect(fs.existsSync(nowhere)).toBe(false);
  });

  it('refuses a FIFO at once (no blocking open), a directory, and a missing directory, each with its reason', () => {
    const fifo = path.join(dir, 'fifo.log');
    execFileSync('mkfifo', [fifo]);
    const t0 = Date.now();
    const r = refusal(() => LogFile.open(fifo));
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(r.code).toBe('LOG_FILE_UNSAFE');
    expect(r.message).toContain('not a regular file');

    expect(refusal(() => LogFile.open(dir))).toMatchObject({ code: 'LOG_FILE', exitCode: 2, message: expect.stringContaining('is a directory') });
    expect(refusal(() => LogFile.open(path.join(dir, 'no/such/dir.log')))).toMatchObject({ code: 'LOG_FILE', message: expect.stringContaining('its directory does not exist') });
  });

  it('reopens at the same path after a rename (logrotate), and keeps the old file when the new path is refused', () => {
    const file = path.join(dir, 'h.log');
    const out = LogFile.open(file);
    out.write('before\n');
    fs.renameSync(file, `${file}.1`);
    out.write('still old\n');
    expect(out.reopen()).toEqual({ ok: true });
    out.write('after\n');
    expect(fs.readFileSync(`${file}.1`, 'utf8')).toBe('before\nstill old\n');
    expect(fs.readFileSync(file, 'utf8')).toBe('after\n');
    expect(mode(file)).toBe(0o600);

    fs.renameSync(file, `${file}.2`);
    fs.symlinkSync(path.join(dir, 'elsewhere'), file);
    const r = out.reopen();
    expect(r.ok).toBe(false);
    expect(r.ok === false && r.error).toContain('symbolic link');
    out.write('kept\n');
    out.close();
    expect(fs.readFileSync(`${file}.2`, 'utf8')).toBe('after\nkept\n');
    expect(fs.existsSync(path.join(dir, 'elsewhere'))).toBe(false);
  });

  it(`reopens on ${REOPEN_SIGNAL}, a real signal to this process`, async () => {
    const file = path.join(dir, 's.log');
    const out = LogFile.open(file);
    const reports: unknown[] = [];
    let got!: () => void;
    const seen = new Promise<void>((r) => (got = r));
    const off = reopenOnSignal(out, (r) => {
      reports.push(r);
      got();
    });
    try {
      fs.renameSync(file, `${file}.1`);
      process.kill(process.pid, REOPEN_SIGNAL);
      await seen;
      out.write('new\n');
    } finally {
      off();
      out.close();
    }
    expect(reports).toEqual([{ ok: true, path: file }]);
    expect(fs.readFileSync(file, 'utf8')).toBe('new\n');
  });
});
