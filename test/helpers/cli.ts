import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO } from './databases.js';

/** The built binary; `npm test` builds it first (pretest). */
export const CLI = path.join(REPO, 'dist/cli.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the real `cesar` binary in a clean temporary working directory (so no .env of the
 * repository leaks in) with only the given variables plus PATH/HOME.
 */
export function runCli(args: string[], env: Record<string, string | undefined> = {}, options: { cwd?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build`);
  const cwd = options.cwd ?? fs.mkdtempSync(path.join(os.tmpdir(), 'cesar-cli-'));
  const childEnv: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NO_COLOR: '1' };
  for (const [k, v] of Object.entries(env)) if (v !== undefined) childEnv[k] = v;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (!options.cwd) fs.rmSync(cwd, { recursive: true, force: true });
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/**
 * The API URL of a started `cesar headless` child, from its JSON start-up line; rejects (with the
 * output so far) if the child exits first or says nothing within `timeoutMs`.
 */
export function headlessApiUrl(child: ChildProcess, timeoutMs = 30_000): Promise<string> {
  let out = '';
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start-up line within ${timeoutMs / 1000} s: ${out.slice(-2000)}`)), timeoutMs);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.includes('"event":"startup"'));
      if (line) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { api: { url: string } }).api.url);
      }
    });
    child.on('exit', (code) => reject(new Error(`cesar headless exited ${code}: ${out.slice(-2000)}`)));
  });
}
