import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

// No URL configured: `cesar migrate` runs on the two embedded PGlite databases, which serialise
// transactions across connections (the runner must never wait on one connection inside another's transaction).
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cesar-mig-embedded-'));
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

describe('cesar migrate on the embedded default', () => {
  it('applies the 11 migrations on both embedded databases, then status shows 11 applied per target', async () => {
    const r = await runCli(['migrate'], { CESAR_DATA_DIR: dataDir }, { timeoutMs: 150_000 });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('embedded demo databases');
    expect(r.stdout.match(/11 applied by this run; 11 of 11 are applied\./g)).toHaveLength(2);

    const s = await runCli(['migrate', '--status', '--json'], { CESAR_DATA_DIR: dataDir }, { timeoutMs: 120_000 });
    expect(s.code).toBe(0);
    const doc = JSON.parse(s.stdout);
    expect(doc.embedded).toBe(true);
    for (const t of doc.targets) {
      expect(t.counts).toMatchObject({ applied: 11, pending: 0, failed: 0 });
      expect(t.lease).toBeNull();
    }
  }, 300_000);
});
