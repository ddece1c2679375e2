import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { authorize, grantOf } from '../../src/api/auth.js';
import { HealthMonitor } from '../../src/api/health.js';
import { hostAllowed, hostName } from '../../src/api/host.js';
import { HttpError } from '../../src/api/http.js';
import { clientAddress, ClientCounter, ReadGate } from '../../src/api/limits.js';
import { isoTimestamp } from '../../src/api/rows.js';
import { listenHost, checkListenHost, isLoopbackHost } from '../../src/config/load.js';
import type { Db } from '../../src/db/pool.js';
import { EventBus } from '../../src/events/bus.js';
import type { Runtime } from '../../src/runtime.js';

// The API's guards without a server: tokens and what they allow, the Host check, the read queue,
// per-client counting, timestamps in ISO form, and a busy database that is not reported down.

const api = { token: 'write-token-0123456789', readToken: 'read-token-0123456789', metricsToken: 'metrics-token-0123456789' };
const req = (headers: Record<string, string>, local = '127.0.0.1'): IncomingMessage => ({ headers, socket: { localAddress: local } }) as unknown as IncomingMessage;
const bearer = (t: string) => req({ authorization: `Bearer ${t}` });
const status = (fn: () => unknown): number | 'ok' => {
  try {
    fn();
    return 'ok';
  } catch (err) {
    return (err as HttpError).status;
  }
};

describe('tokens', () => {
  it('each token has its grant; anything else has none', () => {
    expect(grantOf(api.token, api)).toBe('write');
    expect(grantOf(api.readToken, api)).toBe('read');
    expect(grantOf(api.metricsToken, api)).toBe('metrics');
    expect(grantOf(`${api.token}x`, api)).toBeUndefined();
    expect(grantOf('', { token: undefined, readToken: undefined, metricsToken: undefined })).toBeUndefined();
  });

  it.each([
    // access, bind, credentials, outcome
    ['read', 'public', null, 401],
    ['read', 'public', api.metricsToken, 403],
    ['read', 'public', api.readToken, 'ok'],
    ['read', 'public', api.token, 'ok'],
    ['read', 'public', 'wrong-token-0123456789', 401],
    ['read', 'loopback', null, 'ok'],
    ['metrics', 'public', null, 401],
    ['metrics', 'public', api.metricsToken, 'ok'],
    ['metrics', 'public', api.readToken, 'ok'],
    ['metrics', 'loopback', null, 'ok'],
    ['write', 'loopback', null, 401],
    ['write', 'loopback', api.readToken, 403],
    ['write', 'public', api.metricsToken, 403],
    ['write', 'public', api.token, 'ok'],
    ['health', 'public', null, 'ok'],
    ['health', 'public', 'wrong-token-0123456789', 401],
    ['open', 'public', 'wrong-token-0123456789', 'ok'],
  ] as const)('%s on a %s bind with %s: %s', (access, bind, token, outcome) => {
    const r = token === null ? req({}) : bearer(token);
    expect(status(() => authorize(r, access, api, bind === 'public'))).toBe(outcome);
  });

  it('/health shows everything on loopback or with a read grant, the status word otherwise', () => {
    expect(authorize(req({}), 'health', api, true).full).toBe(false);
    expect(authorize(bearer(api.readToken), 'health', api, true).full).toBe(true);
    expect(authorize(req({}), 'health', api, false).full).toBe(true);
  });

  it('write endpoints are 403 when no CESAR_API_TOKEN is configured, whatever is sent', () => {
    expect(status(() => authorize(bearer(api.readToken), 'write', { ...api, token: undefined }, false))).toBe(403);
  });
});

describe('the Host check', () => {
  it.each([
    ['localhost:8000', true],
    ['LOCALHOST', true],
    ['127.0.0.1:8000', true],
    ['127.1.2.3', true],
    ['[::1]:8000', true],
    ['cesar.example.com:8000', true], // listed
    ['cesar.example.com.', true],
    ['10.1.2.3:8000', true], // the bound address
    ['192.168.7.7:8000', true], // the address the connection came in on
    ['attacker.example', false],
    ['attacker.example:8000', false],
    ['localhost.attacker.example', false],
    ['192.168.7.8', false],
    ['', false],
    ['a b', false],
  ])('Host %j: %s', (host, ok) => {
    expect(hostAllowed(req(host ? { host } : {}, '::ffff:192.168.7.7'), '10.1.2.3', ['cesar.example.com'])).toBe(ok);
  });

  it('a missing Host header is refused', () => {
    expect(hostAllowed(req({}), '127.0.0.1', [])).toBe(false);
  });

  it('names: ports, brackets and a final dot are not part of the name', () => {
    expect(hostName('[::1]:80')).toBe('::1');
    expect(hostName('Example.COM.:443')).toBe('example.com');
    expect(hostName('x/y')).toBeUndefined();
  });

  it('[::1] is listened on as ::1 and is loopback (issue 13 §6)', () => {
    expect(listenHost('[::1]')).toBe('::1');
    expect(listenHost('::1')).toBe('::1');
    expect(listenHost('0.0.0.0')).toBe('0.0.0.0');
    expect(isLoopbackHost('[::1]')).toBe(true);
    expect(checkListenHost('[::1]', '--host')).toBeUndefined();
    expect(checkListenHost('[::1', '--host')).toMatch(/not a host name/);
    expect(checkListenHost('a host', '--host')).toMatch(/not a host name/);
    expect(checkListenHost('', '--host')).toMatch(/not a host name/);
  });
});

describe('the read queue and per-client limits', () => {
  const held = () => {
    let open!: () => void;
    const p = new Promise<void>((r) => (open = r));
    return { p, open };
  };

  it('runs `concurrency` at once, queues up to `queue` in order, refuses the rest at once with 429 and Retry-After', async () => {
    const gate = new ReadGate({ readConcurrency: 2, readQueue: 2, readQueueWaitMs: 60_000, retryAfterSeconds: 3 });
    const h = held();
    const order: number[] = [];
    const runs = [1, 2, 3, 4].map((n) => gate.run(async () => (n <= 2 ? h.p : undefined)).then(() => order.push(n)));
    expect(gate.load).toEqual({ running: 2, waiting: 2 });
    const refused = await gate.run(async () => 'ran').catch((e: HttpError) => e);
    expect(refused).toBeInstanceOf(HttpError);
    expect((refused as HttpError).status).toBe(429);
    expect((refused as HttpError).headers['Retry-After']).toBe('3');
    h.open();
    await Promise.all(runs);
    expect(order.slice(2)).toEqual([3, 4]);
    expect(gate.load).toEqual({ running: 0, waiting: 0 });
  });

  it('a read that waits longer than readQueueWaitMs gets 429 and leaves the queue', async () => {
    const gate = new ReadGate({ readConcurrency: 1, readQueue: 5, readQueueWaitMs: 100, retryAfterSeconds: 1 });
    const h = held();
    const first = gate.run(() => h.p);
    const t0 = Date.now();
    const late = await gate.run(async () => 'ran').catch((e: HttpError) => e.status);
    expect(late).toBe(429);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(90);
    expect(gate.load.waiting).toBe(0);
    h.open();
    await first;
    expect(await gate.run(async () => 'ran')).toBe('ran');
  });

  it('a failing read gives its turn back', async () => {
    const gate = new ReadGate({ readConcurrency: 1, readQueue: 0, readQueueWaitMs: 100, retryAfterSeconds: 1 });
    await expect(gate.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await gate.run(async () => 1)).toBe(1);
  });

  it('counts per client address; a slot given back twice counts once', () => {
    const c = new ClientCounter(2, 'requests in flight', 1);
    const a1 = c.take('10.0.0.1');
    c.take('10.0.0.1');
    expect(status(() => c.take('10.0.0.1'))).toBe(429);
    expect(status(() => c.take('10.0.0.2'))).toBe('ok');
    a1();
    a1();
    expect(c.count('10.0.0.1')).toBe(1);
    expect(clientAddress('::ffff:127.0.0.1')).toBe('127.0.0.1');
  });
});

describe('timestamps in ISO form', () => {
  it.each([
    ['2025-01-02 03:04:05.123456+00', '2025-01-02T03:04:05.123456Z'],
    ['2025-01-02 03:04:05.1+00', '2025-01-02T03:04:05.100000Z'],
    ['2025-01-02 03:04:05+00', '2025-01-02T03:04:05.000000Z'],
    ['2025-01-02 03:04:05.000001+00:00', '2025-01-02T03:04:05.000001Z'],
    ['infinity', 'infinity'],
    ['0044-03-15 12:00:00+00 BC', '0044-03-15 12:00:00+00 BC'],
  ])('%s is %s', (db, iso) => {
    expect(isoTimestamp(db)).toBe(iso);
  });
});

describe('a busy database is not reported as down (issue 17)', () => {
  // A database whose probe connection first answers, then stops answering in time.
  function fakeRuntime(): { rt: Runtime; hang: () => void; fail: () => void } {
    let mode: 'ok' | 'hang' | 'fail' = 'ok';
    const client = {
      query: async (text: string) => {
        if (text.includes('version')) return { rows: [{ v: 'PostgreSQL 16.4 on x86_64-pc-linux-gnu' }] };
        if (text.includes('clock_timestamp')) return { rows: [{ ms: Date.now() }] };
        return { rows: [{ '?column?': 1 }] };
      },
      on: () => undefined,
      off: () => undefined,
      release: () => undefined,
    };
    const db = {
      role: 'local',
      label: 'u@h:5432/d',
      pool: {
        connect: () => (mode === 'ok' ? Promise.resolve(client) : mode === 'hang' ? new Promise(() => undefined) : Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:5432'))),
      },
    } as unknown as Db;
    const rt = {
      config: { environment: 'development', embedded: false },
      bus: new EventBus(),
      maybeDb: (role: string) => (role === 'local' ? db : undefined),
      sidePool: (role: string) => (role === 'local' ? db : undefined),
    } as unknown as Runtime;
    return { rt, hang: () => (mode = 'hang'), fail: () => (mode = 'fail') };
  }

  it('no answer within the probe timeout after a recent answer: up and busy, reads still served; a refused connection: down', async () => {
    const { rt, hang, fail } = fakeRuntime();
    const h = new HealthMonitor(rt, 0, 50);
    const first = await h.check();
    expect(first.databases.local).toMatchObject({ up: true, busy: false });
    hang();
    const busy = await h.check();
    expect(busy.databases.local).toMatchObject({ up: true, busy: true, error: null, flavor: 'postgres' });
    expect(busy.readSource.role).toBe('local');
    expect(rt.bus.history().some((e) => e.type === 'db.status')).toBe(false);
    const fresh = fakeRuntime();
    const h2 = new HealthMonitor(fresh.rt, 0, 50);
    await h2.check();
    fresh.fail();
    const down = await h2.check();
    expect(down.databases.local).toMatchObject({ up: false, busy: false, error: expect.stringContaining('ECONNREFUSED') });
    expect(fresh.rt.bus.history().filter((e) => e.type === 'db.status')).toHaveLength(1);
    void fail;
  });

  it('a database never seen answering is down when the probe times out', async () => {
    const { rt, hang } = fakeRuntime();
    hang();
    const h = new HealthMonitor(rt, 0, 50);
    expect((await h.check()).databases.local).toMatchObject({ up: false, busy: false, error: expect.stringContaining('no answer within 50 ms') });
  });
});
