import { collectDefaultMetrics, Gauge, type Registry } from 'prom-client';

/** What a default gauge named `*_total` is renamed to: `_total` is for counters only (promtool check metrics). */
export function gaugeName(name: string): string {
  return name.endsWith('_total') ? `${name.slice(0, -'_total'.length)}_all` : name;
}

interface CollectedMetric {
  name: string;
  help: string;
  type?: string;
  labelNames?: string[];
  get(): Promise<{ values: Array<{ labels: Record<string, string | number>; value: number }> }>;
}

/**
 * prom-client's default process and Node.js metrics, all of them, into `registry`, with one
 * correction: three of its gauges are named like counters (`nodejs_active_handles_total`,
 * `nodejs_active_requests_total`, `nodejs_active_resources_total`), which `promtool check metrics`
 * rejects and which makes `rate()` on them look valid. They are served as `..._all` with the same
 * help, labels and values (read from the original gauge at each scrape); prom-client has no option
 * to rename one default, so the registry is configured here.
 */
export function collectProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry });
  for (const metric of registry.getMetricsAsArray() as unknown as CollectedMetric[]) {
    if (metric.type !== 'gauge' || gaugeName(metric.name) === metric.name) continue;
    registry.removeSingleMetric(metric.name);
    new Gauge({
      name: gaugeName(metric.name),
      help: metric.help,
      labelNames: metric.labelNames ?? [],
      registers: [registry],
      async collect() {
        const { values } = await metric.get();
        this.reset();
        for (const v of values) this.set(v.labels, v.value);
      },
    });
  }
}
