import { usageError } from '../errors.js';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const FORM = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;

/** The allowed form, for error messages. */
export const DURATION_FORM = 'a number followed by ms, s, m or h (e.g. 500ms, 30s, 5m, 1h)';

/** Parses `30s`, `5m`, `1h`, `500ms` into milliseconds; throws a usage error naming `what` otherwise. */
export function parseDuration(value: string, what: string, limits: { minMs?: number; maxMs?: number } = {}): number {
  const match = FORM.exec(value.trim());
  const ms = match ? Math.round(Number(match[1]) * UNITS[match[2]!]!) : NaN;
  if (!Number.isFinite(ms)) {
    throw usageError('BAD_DURATION', `${what}: "${value}" is not a duration; use ${DURATION_FORM}.`);
  }
  const { minMs = 0, maxMs = Infinity } = limits;
  if (ms < minMs || ms > maxMs) {
    throw usageError('BAD_DURATION', `${what}: "${value}" is out of range; allowed ${formatDuration(minMs)} to ${Number.isFinite(maxMs) ? formatDuration(maxMs) : 'any'}.`);
  }
  return ms;
}

/** Formats milliseconds the way operators write them: 500ms, 30s, 5m, 1h30m. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${+(ms / 1000).toFixed(1)}s`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = Math.round((ms % 60_000) / 1000);
  return [h ? `${h}h` : '', m ? `${m}m` : '', s ? `${s}s` : ''].join('') || '0s';
}
