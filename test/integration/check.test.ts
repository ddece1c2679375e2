import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { CRDB_PROFILE, createTestDatabases, type TestDatabases } from '../helpers/databases.js';
import { execFileSync } from 'node:child_process';

const real = process.env.CESAR_TEST_BACKEND !== 'embedded';
let dbs: TestDatabases;
beforeAll(async () => {
  dbs = await createTestDatabases();
});
afterAll(async () => {
  await dbs?.drop();
});

describe('cesar check', () => {
  it('reports both databases up with flavor, latency, TLS and clock offset (JSON)', async () => {
    const r = await runCli(['check', '--json'], { LOCAL_DB_URL: dbs.localUrl, COCKROACH_DB_URL: dbs.cloudUrl });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.ok).toBe(true);
    expect(doc.embedded).toBe(false);
    for (const d of doc.databases) {
      expect(d.up).toBe(true);
      expect(d.server.flavor).toBe(real ? 'postgres' : 'embedded');
      expect(d.latencyMs).toBeGreaterThan(0);
      expect(d.latencyMs).toBeLessThan(1000);
      expect(d.tls).toBe(false);
      expect(Math.abs(d.clockOffsetMs)).toBeLessThan(1000);
    }
  });

  it('prints a readable table', async () => {
    const r = await runCli(['check'], { LOCAL_DB_URL: dbs.localUrl, COCKROACH_DB_URL: dbs.cloudUrl });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^local\s+up\s+/m);
    expect(r.stdout).toMatch(/^cloud\s+up\s+/m);
    expect(r.stdout).toContain('Both databases are reachable.');
  });

  it.skipIf(!real)('detects CockroachDB from version() (profile claiming to be CockroachDB)', async () => {
    const claimDbs = await createTestDatabases();
    try {
      const url = execFileSync(CRDB_PROFILE, [claimDbs.cloudAdminUrl, '0', 'on']).toString().trim();
      const r = await runCli(['check', '--json'], { LOCAL_DB_URL: claimDbs.localUrl, COCKROACH_DB_URL: url });
      const cloud = JSON.parse(r.stdout).databases.find((d: { role: string }) => d.role === 'cloud');
      expect(cloud.server.flavor).toBe('cockroach');
      expect(cloud.server.version).toBe('v24.3.0');
    } finally {
      await claimDbs.drop();
    }
  });

  it('an unreachable database: exit 1 with the redacted reason, never the password', async () => {
    const r = await runCli(['check'], { LOCAL_DB_URL: dbs.localUrl, COCKROACH_DB_URL: 'postgres://app:Sup3rSecretPw@127.0.0.1:1/x' });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^cloud\s+DOWN/m);
    expect(r.stdout).toContain('ECONNREFUSED');
    expect(r.stdout + r.stderr).not.toContain('Sup3rSecretPw');
  });

  it('a server that accepts but never answers fails within the connect timeout', async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((s) => sockets.push(s));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const t0 = Date.now();
      const r = await runCli(['check', '--json'], {
        LOCAL_DB_URL: dbs.localUrl,
        COCKROACH_DB_URL: `postgres://app:An0therSecret@127.0.0.1:${port}/x`,
        CESAR_CONNECT_TIMEOUT: '1500ms',
      });
      const elapsed = Date.now() - t0;
      expect(r.code).toBe(1);
      const cloud = JSON.parse(r.stdout).databases.find((d: { role: string }) => d.role === 'cloud');
      expect(cloud.up).toBe(false);
      expect(cloud.error).toMatch(/timeout/i);
      expect(elapsed).toBeLessThan(1500 + 3000);
      expect(r.stdout).not.toContain('An0therSecret');
    } finally {
      sockets.forEach((s) => s.destroy());
      silent.close();
    }
  });

  it('only one database configured: says which is missing, does not invent it', async () => {
    const r = await runCli(['check', '--json'], { LOCAL_DB_URL: dbs.localUrl });
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(doc.embedded).toBe(false);
    const cloud = doc.databases.find((d: { role: string }) => d.role === 'cloud');
    expect(cloud).toMatchObject({ configured: false, up: false });
    expect(cloud.error).toContain('COCKROACH_DB_URL');
  });

  it('staging with a URL missing is a configuration error naming it (exit 2)', async () => {
    const r = await runCli(['check'], { ENVIRONMENT: 'staging', LOCAL_DB_URL: dbs.localUrl });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('COCKROACH_DB_URL is missing');
  });

  it('usage errors exit 2: unknown command, unknown flag, stray argument', async () => {
    expect((await runCli(['frobnicate'])).code).toBe(2);
    const flag = await runCli(['check', '--bogus']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/Unknown flag/);
    expect((await runCli(['check', 'extra'])).code).toBe(2);
  });

  it('runs on the embedded demo databases when nothing is configured', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cesar-embedded-'));
    try {
      const r = await runCli(['check'], { CESAR_DATA_DIR: dataDir }, { timeoutMs: 90_000 });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('embedded demo databases');
      expect(r.stdout).toMatch(/^local\s+up\s+embedded PostgreSQL/m);
      expect(r.stdout).toMatch(/^cloud\s+up\s+embedded PostgreSQL/m);
      expect(fs.existsSync(path.join(dataDir, 'local'))).toBe(true);
      expect(fs.existsSync(path.join(dataDir, 'cloud'))).toBe(true);
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
