import { describe, expect, it } from 'vitest';
import { detectFlavor, flavorLabel } from '../../src/db/flavor.js';
import { backoffDelay } from '../../src/db/tx.js';

describe('detectFlavor', () => {
  it.each([
    ['PostgreSQL 15.20 (Debian 15.20-0+deb12u1) on x86_64-pc-linux-gnu, compiled by gcc (Debian 12.2.0-14+deb12u1) 12.2.0, 64-bit', 'postgres', '15.20', 'PostgreSQL 15.20'],
    ['CockroachDB CCL v24.3.0 (x86_64-pc-linux-gnu, built 2024/11/14 08:55:26, go1.22.8 X:nocoverageredesign)', 'cockroach', 'v24.3.0', 'CockroachDB v24.3.0'],
    ['CockroachDB CCL v23.2.12-rc.1 (aarch64-unknown-linux-gnu)', 'cockroach', 'v23.2.12-rc.1', 'CockroachDB v23.2.12-rc.1'],
    ['CockroachDB CCL v24.3.0 (emulated on PostgreSQL 15.20 (Debian) ...)', 'cockroach', 'v24.3.0', 'CockroachDB v24.3.0'],
  ])('%s', (raw, flavor, version, label) => {
    const info = detectFlavor(raw);
    expect(info.flavor).toBe(flavor);
    expect(info.version).toBe(version);
    expect(flavorLabel(info)).toBe(label);
  });
});

describe('backoffDelay', () => {
  it('grows exponentially, is capped, and has jitter within [exp/2, exp]', () => {
    expect(backoffDelay(1, 100, 5000, () => 0)).toBe(50);
    expect(backoffDelay(1, 100, 5000, () => 1)).toBe(100);
    expect(backoffDelay(4, 100, 5000, () => 1)).toBe(800);
    expect(backoffDelay(20, 100, 5000, () => 1)).toBe(5000);
    expect(backoffDelay(20, 100, 5000, () => 0)).toBe(2500);
  });
});
