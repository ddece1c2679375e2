const BARS = '▁▂▃▄▅▆▇█';

/** A sparkline of non-negative values: the lowest bar is zero, any activity shows at least the second. */
export function sparkline(values: readonly number[]): string {
  const max = Math.max(0, ...values);
  const top = BARS.length - 1;
  return values.map((v) => BARS[max <= 0 || v <= 0 ? 0 : Math.max(1, Math.round((v / max) * top))]!).join('');
}

/**
 * Throughput history in fixed time buckets: `add` counts rows into the bucket of their time,
 * `series` returns the last `n` buckets ending at `now` (missing buckets are zero). Buckets are
 * aligned to the epoch, so the line only moves when a bucket boundary passes.
 */
export class Buckets {
  private readonly counts = new Map<number, number>();

  constructor(
    readonly bucketMs: number,
    private readonly keep: number,
  ) {}

  add(at: number, n: number): void {
    if (n <= 0) return;
    const b = Math.floor(at / this.bucketMs);
    this.counts.set(b, (this.counts.get(b) ?? 0) + n);
    const oldest = b - this.keep;
    for (const k of this.counts.keys()) if (k <= oldest) this.counts.delete(k);
  }

  series(now: number, n = this.keep): number[] {
    const last = Math.floor(now / this.bucketMs);
    const out: number[] = [];
    for (let b = last - n + 1; b <= last; b++) out.push(this.counts.get(b) ?? 0);
    return out;
  }

  /** True when no bucket in the window holds anything. */
  empty(now: number): boolean {
    return this.series(now).every((v) => v === 0);
  }
}
