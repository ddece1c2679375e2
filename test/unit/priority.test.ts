import { describe, expect, it } from 'vitest';
import { chooseReadSource } from '../../src/config/priority.js';
import type { Environment, Role } from '../../src/config/types.js';

// The environment priority rule as a table: environment, local up, cloud up -> role, degraded.
const CASES: Array<[Environment, boolean, boolean, Role | null, boolean]> = [
  ['development', true, true, 'local', false],
  ['development', true, false, 'local', false],
  ['development', false, true, null, false],
  ['development', false, false, null, false],
  ['staging', true, true, 'cloud', false],
  ['staging', false, true, 'cloud', false],
  ['staging', true, false, 'local', true],
  ['staging', false, false, null, true],
  ['production', true, true, 'cloud', false],
  ['production', false, true, 'cloud', false],
  ['production', true, false, null, false],
  ['production', false, false, null, false],
];

describe('which database serves reads', () => {
  it.each(CASES)('%s with local up=%s, cloud up=%s reads %s (degraded %s)', (env, local, cloud, role, degraded) => {
    const source = chooseReadSource(env, { local, cloud });
    expect(source.role).toBe(role);
    expect(source.degraded).toBe(degraded);
    expect(source.reason).toContain(env);
  });
});
