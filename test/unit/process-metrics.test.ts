import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { collectProcessMetrics, gaugeName } from '../../src/api/process-metrics.js';
import { parsePrometheus, sampleValue } from '../helpers/prometheus.js';

// prom-client's defaults without the three gauges named like counters (promtool check metrics:
// `non-counter metrics should not have "_total" suffix`), every default still served.

describe('collectProcessMetrics', () => {
  it('serves every default metric, no gauge ends in _total, and the renamed gauges carry the values', async () => {
    const plain = new Registry();
    const { collectDefaultMetrics } = await import('prom-client');
    collectDefaultMetrics({ register: plain });
    const defaults = plain.getMetricsAsArray().map((m) => ({ name: m.name, type: (m as unknown as { type: string }).type }));
    expect(defaults).toEqual(expect.arrayContaining([{ name: 'nodejs_active_handles_total', type: 'gauge' }, { name: 'process_cpu_seconds_total', type: 'counter' }]));

    const registry = new Registry();
    collectProcessMetrics(registry);
    const families = parsePrometheus(await registry.metrics());
    expect([...families.keys()].sort()).toEqual(defaults.map((m) => (m.type === 'gauge' ? gaugeName(m.name) : m.name)).sort());
    for (const f of families.values()) {
      if (f.name.endsWith('_total')) expect(f.type, f.name).toBe('counter');
    }
    expect(families.get('nodejs_active_handles_all')).toMatchObject({ type: 'gauge', help: 'Total number of active handles.' });
    // the same count the per-type gauge adds up to
    const byType = families.get('nodejs_active_handles')!.samples.reduce((sum, s) => sum + s.value, 0);
    expect(sampleValue(families, 'nodejs_active_handles_all')).toBe(byType);
  });

  it('renames only names ending in _total', () => {
    expect(gaugeName('nodejs_active_requests_total')).toBe('nodejs_active_requests_all');
    expect(gaugeName('nodejs_heap_size_used_bytes')).toBe('nodejs_heap_size_used_bytes');
  });
});
