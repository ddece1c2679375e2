// Process accounting for the benchmarks, from /proc (Linux): CPU time, resident memory, load.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';

let ticks = 0;
/** Clock ticks per second of /proc/<pid>/stat (getconf CLK_TCK, almost always 100). */
function clockTicks() {
  if (!ticks) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

/** CPU seconds (user + system) a process has used so far, or null when it is gone. */
export function cpuSeconds(pid) {
  let text;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // the command name (field 2) may hold spaces and parentheses: fields are counted after the last ')'
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clockTicks(); // utime, stime (fields 14 and 15)
}

/** Resident memory of a process in bytes (VmRSS), or null when it is gone. */
export function rssBytes(pid) {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** The 1-minute load average, rounded, for the report (the machine is shared). */
export function load1() {
  return Math.round(os.loadavg()[0] * 100) / 100;
}

/**
 * Adds up the CPU time of a changing set of processes (database backends come and go): call
 * sample(pids) regularly; a process that disappears keeps its last reading. total() is the CPU
 * used since each process was first sampled (a process seen only at its end counts from then).
 */
export class CpuTally {
  constructor() {
    this.first = new Map();
    this.last = new Map();
  }

  sample(pids) {
    for (const pid of pids) {
      const s = cpuSeconds(pid);
      if (s === null) continue;
      if (!this.first.has(pid)) this.first.set(pid, s);
      this.last.set(pid, s);
    }
  }

  total() {
    let sum = 0;
    for (const [pid, s] of this.last) sum += s - this.first.get(pid);
    return sum;
  }

  get processes() {
    return this.first.size;
  }
}

/** Percentile (0..100) of numbers, nearest rank. */
export function percentile(values, p) {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const rank = Math.min(s.length, Math.max(1, Math.ceil((p / 100) * s.length)));
  return s[rank - 1];
}

/** Wall-clock milliseconds since the epoch with sub-millisecond resolution, comparable across processes of this machine. */
export function epochMs() {
  return performance.timeOrigin + performance.now();
}
