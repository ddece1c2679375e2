// Times as operators read them. Database timestamps arrive as UTC text ("2025-01-02 03:04:05.678+00").

export { lag } from '../../status/format.js';

/** Milliseconds since the epoch of a database timestamp text or ISO string; NaN when unparsable. */
export function parseTime(text: string | null | undefined): number {
  if (!text) return NaN;
  const iso = text.includes('T') ? text : text.replace(' ', 'T');
  // "+00" and "+05:30" offsets: Date wants "+00:00"
  return Date.parse(iso.replace(/([+-]\d\d)$/, '$1:00'));
}

const pad = (n: number): string => String(n).padStart(2, '0');

/**
 * Local wall-clock time: HH:MM:SS today, "Mon DD HH:MM" before. Absolute rather than "3 s ago",
 * so that an idle screen does not change every second.
 */
export function clockTime(text: string | null | undefined, now = Date.now(), seconds = true): string {
  const t = parseTime(text);
  if (!Number.isFinite(t)) return '-';
  const d = new Date(t);
  const today = new Date(now);
  if (d.toDateString() === today.toDateString()) return `${pad(d.getHours())}:${pad(d.getMinutes())}${seconds ? `:${pad(d.getSeconds())}` : ''}`;
  const month = d.toLocaleString('en', { month: 'short' });
  return `${month} ${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A span in whole units: 45s, 4m05s, 2h10m, 3d4h. */
export function span(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${pad(s % 60)}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${pad(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86_400)}d${Math.floor((s % 86_400) / 3600)}h`;
}

/** A countdown that changes once a minute until its last minute: 4m, 1m, then 59s ... 0s. */
export function countdown(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 60 ? `${s}s` : span(Math.floor(s / 60) * 60_000).replace(/m00s$/, 'm');
}


/** Latency for the header, in buckets that do not flicker between 0.41 and 0.43 ms. */
export function latency(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '-';
  if (ms < 1) return '<1 ms';
  if (ms < 10) return `${Math.round(ms)} ms`;
  if (ms < 1000) return `${Math.round(ms / 5) * 5} ms`;
  return `${(ms / 1000).toFixed(1)} s`;
}

/**
 * Keeps the shown latency unless the new measurement moved by more than 30 % and by 5 ms at
 * least: probes every refresh jitter (a loaded machine adds milliseconds to a loopback round
 * trip), and a jittering number would redraw an otherwise idle screen.
 */
export function steadyLatency(previous: number | undefined, measured: number | undefined): number | undefined {
  if (measured === undefined || previous === undefined) return measured;
  const moved = Math.abs(measured - previous);
  return moved > 0.3 * Math.max(previous, 1) && moved >= 5 ? measured : previous;
}

/** Median of a non-empty list. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
