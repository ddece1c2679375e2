// Small helpers for timing and printing.
import os from 'node:os';

/** Median of numbers (mean of the middle two for an even count). */
export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Runs fn and returns [seconds, result]. */
export async function timed(fn) {
  const t0 = process.hrtime.bigint();
  const result = await fn();
  return [Number(process.hrtime.bigint() - t0) / 1e9, result];
}

export const int = (n) => Math.round(n).toLocaleString('en-US');

export function secs(s) {
  return s >= 100 ? `${s.toFixed(0)} s` : s >= 10 ? `${s.toFixed(1)} s` : `${s.toFixed(2)} s`;
}

/** Left-aligned first column, right-aligned others. */
export function table(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ').trimEnd()).join('\n');
}

/** The machine, for the report. */
export function machine() {
  const cpus = os.cpus();
  return { cores: cpus.length, cpu: cpus[0]?.model?.trim() ?? 'unknown', memGb: Math.round(os.totalmem() / 2 ** 30), node: process.version, platform: `${os.platform()} ${os.release()}` };
}
