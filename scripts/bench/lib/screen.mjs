// The dashboard in a real pseudo-terminal for the benchmarks: a tmux server of its own, the
// program's output as it arrives (pipe-pane into a FIFO), screens with their attributes
// (capture-pane -e), and key presses timed from the key to the first output that shows them.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { onCleanup } from './cleanup.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const quote = (v) => `'${String(v).replace(/'/g, `'\\''`)}'`;
// eslint-disable-next-line no-control-regex
const ANSI = /\u001B\[[0-9;?]*[A-Za-z]/g;
export const plain = (text) => text.replace(ANSI, '');

/** A tmux server for one benchmark run; `stop()` (also registered as a cleanup) kills it. */
export function tmuxServer(name, work) {
  const tmux = (...args) => execFileSync('tmux', ['-L', name, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  let socketPath = null;
  let sessions = 0;
  const stop = () => {
    try {
      tmux('kill-server');
    } catch {
      // none left
    }
    if (socketPath) fs.rmSync(socketPath, { force: true }); // tmux leaves its socket file behind
  };
  onCleanup('stop the tmux server', stop);

  /** Starts `command` (a shell line) in a new session of `size`; the shell reports the exit code and stays a while. */
  function start(command, size) {
    const s = `d${++sessions}`;
    tmux('new-session', '-d', '-s', s, '-x', String(size.x), '-y', String(size.y), `${command}; echo "EXIT=$?"; sleep 60`);
    socketPath ??= tmux('display', '-p', '-t', s, '#{socket_path}').trim();
    return s;
  }
  const screen = (s) => tmux('capture-pane', '-p', '-t', s);
  const styled = (s) => tmux('capture-pane', '-p', '-e', '-t', s);
  const keys = (s, ...k) => tmux('send-keys', '-t', s, ...k);
  async function waitFor(s, test, timeoutMs = 60_000) {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      try {
        last = screen(s);
      } catch {
        last = '(no pane)';
      }
      if (test(last)) return last;
      await sleep(150);
    }
    throw new Error(`dashboard: timed out; the screen was:\n${last}`);
  }
  /** The pid of the program in a session (the child of the pane's shell that is not `sleep`). */
  function programPid(s) {
    const shell = tmux('display', '-p', '-t', s, '#{pane_pid}').trim();
    const children = execFileSync('ps', ['-o', 'pid=,comm=', '--ppid', shell], { encoding: 'utf8' }).trim().split('\n');
    const node = children.map((l) => l.trim().split(/\s+/)).find(([pid, comm]) => pid && comm !== 'sleep');
    if (!node) throw new Error(`no program running in ${s}`);
    return Number(node[0]);
  }
  /** Bytes the program writes to the terminal while `during()` runs. */
  async function bytesDuring(s, during) {
    const file = path.join(work, `bytes-${s}-${Date.now()}`);
    tmux('pipe-pane', '-t', s, '-o', `cat > ${quote(file)}`);
    try {
      await during();
    } finally {
      tmux('pipe-pane', '-t', s);
    }
    await sleep(200);
    return fs.existsSync(file) ? fs.statSync(file).size : 0;
  }

  /**
   * Times key presses: from just before `tmux send-keys` runs to the arrival of the first output
   * after which the screen shows the key's effect (`shown(before, after)`, on screens captured
   * with their attributes). The output is read as tmux forwards it (pipe-pane into a FIFO), so the
   * time does not include the checks' own captures. Returns milliseconds per press (Infinity: not
   * shown within `timeoutMs`).
   */
  async function keyLatencies(s, presses, { gapMs = 150, timeoutMs = 5000 } = {}) {
    const fifo = path.join(work, `keys-${s}-${Date.now()}`);
    execFileSync('mkfifo', [fifo]);
    const arrivals = [];
    let wake = null;
    const stream = fs.createReadStream(fifo);
    stream.on('data', () => {
      arrivals.push(performance.now());
      wake?.();
    });
    const opened = new Promise((resolve) => stream.once('open', resolve));
    tmux('pipe-pane', '-t', s, '-o', `cat > ${quote(fifo)}`);
    await opened;
    const out = [];
    try {
      for (const press of presses) {
        await sleep(gapMs);
        const before = styled(s);
        const seen = arrivals.length;
        const t0 = performance.now();
        keys(s, press.key);
        let checked = seen;
        let latency = Infinity;
        while (performance.now() - t0 < timeoutMs) {
          if (arrivals.length === checked) {
            await new Promise((resolve) => {
              wake = resolve;
              setTimeout(resolve, 50);
            });
            wake = null;
            continue;
          }
          // the screen as it is now reflects at least every chunk that arrived before the capture
          const upTo = arrivals.length;
          const after = styled(s);
          if (press.shown(before, after)) {
            latency = arrivals[upTo - 1] - t0;
            break;
          }
          checked = upTo;
        }
        out.push({ key: press.label ?? press.key, ms: latency });
      }
    } finally {
      tmux('pipe-pane', '-t', s);
      stream.destroy();
      fs.rmSync(fifo, { force: true });
    }
    return out;
  }

  return { tmux, start, screen, styled, keys, waitFor, programPid, bytesDuring, keyLatencies, stop };
}

/** The lines of a captured screen that contain `text` (in their plain form), by index. */
function linesWith(screen, text) {
  const lines = screen.split('\n');
  return lines.map((l, i) => (plain(l).includes(text) ? i : -1)).filter((i) => i >= 0);
}

/**
 * Key presses whose effect shows on lines that data never changes during a pass, in the wide
 * layout (all panels): focus between Conflicts and Migrations (their shared title line), the
 * selection in Migrations (its rows), and the help overlay (open, close). Starts and ends with
 * Migrations focused and its first row selected.
 */
export function keyCycle() {
  const titleChanged = (before, after) => {
    const i = linesWith(before, '4 Migrations')[0];
    return i !== undefined && after.split('\n')[i] !== before.split('\n')[i];
  };
  const rowsChanged = (before, after) => {
    const i = linesWith(before, '4 Migrations')[0];
    if (i === undefined) return false;
    const b = before.split('\n');
    const a = after.split('\n');
    for (let j = i + 2; j < i + 6; j++) if (a[j] !== b[j]) return true;
    return false;
  };
  return [
    { key: '3', label: 'panel 3', shown: titleChanged },
    { key: '4', label: 'panel 4', shown: titleChanged },
    { key: 'j', label: 'scroll down', shown: rowsChanged },
    { key: 'k', label: 'scroll up', shown: rowsChanged },
    { key: '?', label: 'help', shown: (_b, a) => plain(a).includes('Keys (? or Esc closes)') },
    { key: 'Escape', label: 'close help', shown: (_b, a) => plain(a).includes('4 Migrations') },
  ];
}
