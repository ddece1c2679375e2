import net from 'node:net';
import { createHash } from 'node:crypto';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import pg from 'pg';
import { startProxy, type FaultProxy } from '../helpers/proxy.js';

const PG_URL = process.env.PG_TEST_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const target = new URL(PG_URL);
const TARGET_HOST = target.hostname;
const TARGET_PORT = Number(target.port || 5432);
// global-setup falls back to embedded PGlite when no server answers; this suite needs real TCP.
const hasServer = process.env.CESAR_TEST_BACKEND !== 'embedded';

interface TrackedClient {
  client: pg.Client;
  errors: Error[];
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (cond()) return true;
    await sleep(20);
  }
  return cond();
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

describe.skipIf(!hasServer)('fault proxy in front of PostgreSQL', () => {
  let proxy: FaultProxy;
  let proxyUrl: string;
  const clients: pg.Client[] = [];

  // Every client gets an 'error' listener: a cut idle connection emits 'error', which would
  // otherwise crash the worker.
  function makeClient(connectionTimeoutMillis = 3000): TrackedClient {
    // query_timeout turns a stalled proxy (lost bytes) into a prompt failure instead of a hang.
    const client = new pg.Client({ connectionString: proxyUrl, connectionTimeoutMillis, query_timeout: 10_000 });
    const errors: Error[] = [];
    client.on('error', (err: Error) => errors.push(err));
    clients.push(client);
    return { client, errors };
  }

  async function connected(): Promise<TrackedClient> {
    const t = makeClient();
    await t.client.connect();
    return t;
  }

  async function timeQuery(client: pg.Client): Promise<number> {
    const start = performance.now();
    await client.query('SELECT 1');
    return performance.now() - start;
  }

  beforeAll(async () => {
    proxy = await startProxy({ targetHost: TARGET_HOST, targetPort: TARGET_PORT });
    proxyUrl = proxy.urlFor(PG_URL);
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    await proxy?.close();
  });

  it('forwards queries and counts accepted connections', async () => {
    const before = proxy.stats.accepted;
    const { client } = await connected();
    const res = await client.query<{ n: number }>('SELECT 1+1 AS n');
    expect(res.rows).toEqual([{ n: 2 }]);
    expect(proxy.stats.accepted).toBe(before + 1);
    expect(proxy.connectionCount()).toBeGreaterThanOrEqual(1);
    await client.end();
  });

  it('adds latency in both directions and removes it again', async () => {
    const { client } = await connected();
    try {
      await client.query('SELECT 1'); // warm-up: first query pays for plan/catalog caches
      const sample = async (): Promise<number> => {
        const times: number[] = [];
        for (let i = 0; i < 5; i++) times.push(await timeQuery(client));
        return median(times);
      };
      const base = await sample();
      proxy.setLatency(50);
      const slow = await sample();
      proxy.setLatency(0);
      const after = await sample();

      expect(slow - base).toBeGreaterThanOrEqual(90);
      expect(slow - base).toBeLessThan(400);
      expect(after).toBeLessThan(base + 40);
    } finally {
      proxy.setLatency(0);
      await client.end().catch(() => undefined);
    }
  });

  it('keeps bytes in order under latency for a multi-megabyte result', async () => {
    // Any reordering or loss of chunks would corrupt the wire protocol or change the digest.
    const sql = "SELECT string_agg(md5(i::text), '' ORDER BY i) AS s FROM generate_series(1, 60000) i";
    const direct = new pg.Client({ connectionString: PG_URL });
    direct.on('error', () => undefined);
    const { client } = await connected();
    try {
      await direct.connect();
      const expected = (await direct.query<{ s: string }>(sql)).rows[0]?.s ?? '';
      proxy.setLatency(5);
      const got = (await client.query<{ s: string }>(sql)).rows[0]?.s ?? '';
      expect(got.length).toBe(expected.length);
      expect(createHash('sha256').update(got).digest('hex')).toBe(createHash('sha256').update(expected).digest('hex'));
    } finally {
      proxy.setLatency(0);
      await client.end().catch(() => undefined);
      await direct.end().catch(() => undefined);
    }
  });

  it('cutAll() breaks open connections but still accepts new ones', async () => {
    const { client, errors } = await connected();
    await client.query('SELECT 1');
    const cutBefore = proxy.stats.cut;
    proxy.cutAll();
    expect(proxy.stats.cut).toBeGreaterThan(cutBefore);
    expect(proxy.connectionCount()).toBe(0);

    let failed = false;
    try {
      await client.query('SELECT 1');
    } catch {
      failed = true;
    }
    expect(failed || errors.length > 0).toBe(true);

    const fresh = await connected();
    const res = await fresh.client.query<{ ok: boolean }>('SELECT true AS ok');
    expect(res.rows[0]?.ok).toBe(true);
    await fresh.client.end();
  });

  it('refuseNew() rejects new connections while existing ones keep working', async () => {
    const existing = await connected();
    const refusedBefore = proxy.stats.refused;
    proxy.refuseNew(true);
    try {
      const start = Date.now();
      const attempt = makeClient(3000);
      await expect(attempt.client.connect()).rejects.toThrow();
      expect(Date.now() - start).toBeLessThan(5000);
      expect(proxy.stats.refused).toBe(refusedBefore + 1);

      const res = await existing.client.query<{ n: number }>('SELECT 41+1 AS n');
      expect(res.rows[0]?.n).toBe(42);
    } finally {
      proxy.refuseNew(false);
    }

    const again = await connected();
    const res = await again.client.query<{ n: number }>('SELECT 7 AS n');
    expect(res.rows[0]?.n).toBe(7);
    await again.client.end();
    await existing.client.end();
  });

  it('resetRandomly() destroys idle connections until stopped', async () => {
    const idle = await Promise.all([connected(), connected(), connected(), connected()]);
    const cutBefore = proxy.stats.cut;
    proxy.resetRandomly(200);
    try {
      const cutHappened = await waitFor(() => proxy.stats.cut > cutBefore, 2000);
      expect(cutHappened).toBe(true);
      // The client must actually notice, not just the proxy's counter.
      const noticed = await waitFor(() => idle.some((t) => t.errors.length > 0), 2000);
      expect(noticed).toBe(true);
    } finally {
      proxy.resetRandomly(0);
    }
    const cutAfterStop = proxy.stats.cut;
    await sleep(700); // > 1.5 x 200 ms, the longest jittered interval
    expect(proxy.stats.cut).toBe(cutAfterStop);
    await Promise.all(idle.map((t) => t.client.end().catch(() => undefined)));
  });
});

describe.skipIf(!hasServer)('fault proxy close()', () => {
  it('stops accepting connections and is idempotent', async () => {
    const proxy = await startProxy({ targetHost: TARGET_HOST, targetPort: TARGET_PORT });
    const client = new pg.Client({ connectionString: proxy.urlFor(PG_URL), connectionTimeoutMillis: 3000 });
    const errors: Error[] = [];
    client.on('error', (err: Error) => errors.push(err));
    try {
      await client.connect();
      await client.query('SELECT 1');
      await proxy.close();
      await proxy.close();
      expect(proxy.connectionCount()).toBe(0);

      const connectErr = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
        const sock = net.connect({ host: proxy.host, port: proxy.port });
        sock.once('connect', () => {
          sock.destroy();
          resolve(undefined);
        });
        sock.once('error', (err: NodeJS.ErrnoException) => resolve(err));
      });
      expect(connectErr?.code).toBe('ECONNREFUSED');
      await expect(client.query('SELECT 1')).rejects.toThrow();
    } finally {
      await client.end().catch(() => undefined);
      await proxy.close();
    }
  });
});

describe('fault proxy urlFor()', () => {
  let proxy: FaultProxy;
  beforeAll(async () => {
    // Nothing listens on the target; urlFor never connects.
    proxy = await startProxy({ targetHost: '127.0.0.1', targetPort: 1 });
  });
  afterAll(async () => {
    await proxy?.close();
  });

  it('replaces host and port and keeps everything else', () => {
    const out = new URL(
      proxy.urlFor('postgres://alice:s%40cret@db.example.com:6543/cesar_test?sslmode=disable&application_name=probe'),
    );
    expect(out.protocol).toBe('postgres:');
    expect(out.hostname).toBe('127.0.0.1');
    expect(out.port).toBe(String(proxy.port));
    expect(out.username).toBe('alice');
    expect(out.password).toBe('s%40cret');
    expect(out.pathname).toBe('/cesar_test');
    expect(out.searchParams.get('sslmode')).toBe('disable');
    expect(out.searchParams.get('application_name')).toBe('probe');
    expect(proxy.urlFor('postgres://postgres@127.0.0.1:5432/postgres')).toBe(
      `postgres://postgres@127.0.0.1:${proxy.port}/postgres`,
    );
  });

  it('adds the port when the target URL has none', () => {
    expect(proxy.urlFor('postgresql://bob@dbhost/app')).toBe(`postgresql://bob@127.0.0.1:${proxy.port}/app`);
  });
});
