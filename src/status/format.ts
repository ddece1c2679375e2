// Texts of the read side that every surface prints alike (the dashboard, `cesar status`).

/** Sync lag in seconds, coarse enough to be stable: 0s, 12s, 4m, 2h. */
export function lag(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '-';
  if (seconds < 1) return '0s';
  if (seconds < 60) return `${Math.floor(seconds)}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}
export { notConfiguredReason } from '../db/runtime.js';
