import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { ROUTES } from '../../src/api/routes/index.js';
import { record, TEST_API_TOKEN } from '../helpers/capture.js';
import { CLI, headlessApiUrl } from '../helpers/cli.js';
import { createTestDatabases, type TestDatabases } from '../helpers/databases.js';
import { parsePrometheus } from '../helpers/prometheus.js';
import { applySchema } from '../helpers/schema.js';

// Garbage sent to the API of a running `cesar headless` (the built binary, issue 8): malformed
// and hostile JSON, wrong types, bodies at and over the limit (declared, streamed, chunked),
// wrong and misplaced tokens, wrong methods, broken HTTP, and WebSocket frames that break the
// protocol. Each gets its status code and a JSON error; afterwards the process still serves,
// /metrics labels stay a closed set, and nothing it answered echoes the token.
// Already covered elsewhere (not repeated): truncated JSON, an array body, unknown fields, tables as
// a string or empty or unknown, a 82 KB body (413), a form body (415), no / wrong / short / Basic
// token (401), no token configured (403) in api.test.ts; a non-loopback bind without a token (exit 2)
// in headless.test.ts and api.test.ts; origin checks, slow and dead WebSocket clients in api-ws.test.ts.

// the process under test shares the machine's two cores with other suites
vi.setConfig({ testTimeout: 60_000 });

let dbs: TestDatabases;
let child: ChildProcess;
let exited: Promise<number | null>;
let base: string;
let port: number;

beforeAll(async () => {
  dbs = await createTestDatabases();
  await applySchema(dbs.localUrl);
  await applySchema(dbs.cloudUrl);
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'cesar-garbage-'));
  child = spawn(process.execPath, [CLI, 'headless', '--interval', '24h', '--port', '0'], {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NO_COLOR: '1', LOCAL_DB_URL: dbs.localUrl, COCKROACH_DB_URL: dbs.cloudUrl, CESAR_API_TOKEN: TEST_API_TOKEN },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  exited = new Promise((r) => child.on('exit', (code) => r(code)));
  base = await headlessApiUrl(child);
  port = Number(new URL(base).port);
  for (let i = 0; i < 100 && (await fetch(`${base}/readyz`)).status !== 200; i++) await new Promise((r) => setTimeout(r, 100));
}, 60_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGTERM');
    await exited;
  }
  await dbs?.drop();
});

interface Reply {
  status: number;
  body: { error?: string; status?: number; [k: string]: unknown };
  text: string;
}

async function post(p: string, body: string | Buffer, headers: Record<string, string> = { 'Content-Type': 'application/json' }, token: string | null = TEST_API_TOKEN): Promise<Reply> {
  const h = new Headers(headers);
  if (token !== null) h.set('Authorization', `Bearer ${token}`);
  const res = await fetch(`${base}${p}`, { method: 'POST', headers: h, body });
  const text = await res.text();
  let parsed: Reply['body'] = {};
  try {
    parsed = JSON.parse(text) as Reply['body'];
  } catch {
    // checked by the caller
  }
  return { status: res.status, body: parsed, text };
}

/** True once `text` holds a whole HTTP response (headers and Content-Length bytes of body). */
function wholeResponse(text: string): boolean {
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return false;
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(text.slice(0, end));
  return length !== null && Buffer.byteLength(text.slice(end + 4), 'latin1') >= Number(length[1]);
}

/**
 * Sends raw bytes on a new connection; resolves with what was received once a whole response is in
 * (or, with untilClose, once the server closes the connection), or after `ms`.
 */
function raw(bytes: Buffer | string, ms = 5000, afterConnect?: (s: net.Socket) => void, untilClose = false): Promise<{ text: string; closedByServer: boolean }> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let text = '';
    let done = false;
    const finish = (closedByServer: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      record(`raw HTTP reply`, text);
      resolve({ text, closedByServer });
    };
    const timer = setTimeout(() => finish(false), ms);
    s.on('error', () => finish(true));
    s.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (!untilClose && wholeResponse(text)) finish(false);
    });
    s.on('close', () => finish(true));
    s.once('connect', () => {
      s.write(bytes);
      afterConnect?.(s);
    });
  });
}

const statusOf = (text: string): number => Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);

/** Waits until the job a 202 started has ended, so that the next POST is not a 409. */
async function jobEnds(r: Reply): Promise<void> {
  expect(r.status).toBe(202);
  for (let i = 0; i < 200; i++) {
    const job = (await (await fetch(`${base}/api/jobs/${String(r.body.id)}`)).json()) as { status: string };
    if (job.status !== 'running') return;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error('the job did not end within 10 s');
}

describe('POST bodies that are not what the endpoint takes: 400 with a JSON error naming the problem', () => {
  it.each([
    // bytes that are not UTF-8 are decoded as U+FFFD: the key is then simply unknown
    ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]), /unknown field "\ufffd\ufffd"/],
    ['trailing garbage', '{"direction":"up"} x', /malformed JSON/],
    ['NaN', '{"dryRun": NaN}', /malformed JSON/],
    ['null', 'null', /the body must be a JSON object/],
    ['a string', '"sync please"', /the body must be a JSON object/],
    ['a number', '42', /the body must be a JSON object/],
    ['__proto__ (prototype pollution)', '{"__proto__": {"dryRun": true}}', /unknown field "__proto__"; allowed: direction, tables, dryRun/],
    ['constructor', '{"constructor": {"prototype": {}}}', /unknown field "constructor"/],
    ['toString and hasOwnProperty', '{"toString": 1, "hasOwnProperty": 2}', /unknown fields "toString", "hasOwnProperty"/],
    ['tables with a number', '{"tables": ["agents", 1]}', /tables must be an array of strings/],
    ['tables with null', '{"tables": ["agents", null]}', /tables must be an array of strings/],
    ['tables as an object', '{"tables": {"0": "agents"}}', /tables must be an array of strings/],
    ['101 tables', JSON.stringify({ tables: Array.from({ length: 101 }, () => 'agents') }), /tables: at most 100 items/],
    ['direction null', '{"direction": null}', /direction must be a string \(one of both, up, down\)/],
    ['direction as an array', '{"direction": ["up"]}', /direction must be a string/],
    ['direction with another case', '{"direction": "UP"}', /direction: "UP" is not allowed; use one of both, up, down/],
    ['dryRun as 1', '{"dryRun": 1}', /dryRun must be true or false/],
    ['dryRun as "true"', '{"dryRun": "true"}', /dryRun must be true or false/],
    ['a duplicate key whose last value is wrong', '{"dryRun": true, "dryRun": "yes"}', /dryRun must be true or false/],
    ['JSON nested 30,000 deep', `{"tables": ${'['.repeat(30_000)}${']'.repeat(30_000)}}`, /tables must be an array of strings|malformed JSON/],
  ])('POST /api/sync with %s', async (_what, body, message) => {
    const r = await post('/api/sync', body);
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ status: 400 });
    expect(r.body.error).toMatch(message);
  });

  it.each([
    ['target null', '{"target": null}', /target must be a string/],
    ['target as a number', '{"target": 2}', /target must be a string/],
    ['dryRun as a string', '{"dryRun": "no"}', /dryRun must be true or false/],
    ['tables (a sync field)', '{"tables": ["agents"]}', /unknown field "tables"; allowed: target, dryRun/],
  ])('POST /api/migrate with %s', async (_what, body, message) => {
    const r = await post('/api/migrate', body);
    expect(r.status).toBe(400);
    expect(r.body.error).toMatch(message);
  });

  it('content types: other than JSON is 415; JSON in any case with a charset is accepted (202)', async () => {
    for (const type of ['text/plain', 'application/json-patch+json', 'multipart/form-data; boundary=x', 'application/jsonx']) {
      const r = await post('/api/sync', '{"dryRun":true}', { 'Content-Type': type });
      expect(r.status, type).toBe(415);
      expect(r.body.error).toContain('Content-Type: application/json');
    }
    await jobEnds(await post('/api/sync', '{"dryRun":true,"tables":["agents"]}', { 'Content-Type': 'APPLICATION/JSON; charset=utf-8' }));
  });
});

describe('bodies at and over the 64 KiB limit', () => {
  const padded = (size: number): string => {
    const head = '{"dryRun":true,"tables":["agents"]}';
    return head + ' '.repeat(size - head.length);
  };
  it('exactly 64 KiB is read (202); one byte more is 413 and the connection stays usable', async () => {
    await jobEnds(await post('/api/sync', padded(64 * 1024)));
    const over = await post('/api/sync', padded(64 * 1024 + 1));
    expect(over.status).toBe(413);
    expect(over.body.error).toBe('the request body is larger than 64 KiB');
    expect((await fetch(`${base}/livez`)).status).toBe(200);
  });

  it('a declared 10 MiB body is refused at once (413, connection closed) without reading it', async () => {
    const head = ['POST /api/sync HTTP/1.1', 'Host: localhost', `Authorization: Bearer ${TEST_API_TOKEN}`, 'Content-Type: application/json', `Content-Length: ${10 * 1024 * 1024}`, '', ''].join('\r\n');
    const r = await raw(head, 5000, undefined, true);
    expect(statusOf(r.text)).toBe(413);
    expect(r.text.toLowerCase()).toContain('connection: close');
    expect(r.closedByServer).toBe(true);
  });

  it('a chunked upload that never ends is cut after 1 MiB (413, or a reset when the client is still sending), and the process carries on', async () => {
    const head = ['POST /api/sync HTTP/1.1', 'Host: localhost', `Authorization: Bearer ${TEST_API_TOKEN}`, 'Content-Type: application/json', 'Transfer-Encoding: chunked', '', ''].join('\r\n');
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let sent = 0;
    const r = await raw(head, 10_000, (s) => {
      const pump = () => {
        // bounded: 4 MiB at most, far beyond the 1 MiB the server drains
        while (!s.destroyed && sent < 4 * 1024 * 1024) {
          sent += chunk.length;
          if (!s.write(Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]))) return void s.once('drain', pump);
        }
      };
      pump();
    }, true);
    // The server answers 413 and then closes a connection it has not read to the end: the kernel
    // sends a reset, which can overtake the answer on the client's side. Either way it was cut.
    expect([413, 0]).toContain(statusOf(r.text));
    expect(r.closedByServer).toBe(true);
    // this upload used to crash the whole process (fixed in src/api/server.ts)
    expect(child.exitCode).toBeNull();
    expect((await fetch(`${base}/livez`)).status).toBe(200);
  });
});

describe('tokens: missing, wrong, misplaced', () => {
  it.each([
    ['an empty bearer', { Authorization: 'Bearer ' }, 401],
    ['the token without its last character', { Authorization: `Bearer ${TEST_API_TOKEN.slice(0, -1)}` }, 401],
    ['the token and another word', { Authorization: `Bearer ${TEST_API_TOKEN} extra` }, 401],
    ['the token in another scheme', { Authorization: `Token ${TEST_API_TOKEN}` }, 401],
    ['the token as a custom header', { 'X-Api-Token': TEST_API_TOKEN }, 401],
    ['the token upper-cased', { Authorization: `Bearer ${TEST_API_TOKEN.toUpperCase()}` }, 401],
  ])('%s: %i, and the answer names no token', async (_what, headers, status) => {
    const r = await post('/api/sync', '{"dryRun":true}', { 'Content-Type': 'application/json', ...headers }, null);
    expect(r.status).toBe(status);
    expect(r.body.error).toMatch(/missing credentials|invalid token/);
    expect(r.text).not.toContain(TEST_API_TOKEN.slice(0, 12));
  });

  it('the token in the query string is not a credential (401: credentials are checked before anything else), nor in the body (401 before the body is read)', async () => {
    const q = await fetch(`${base}/api/sync?token=${TEST_API_TOKEN}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
    expect(q.status).toBe(401);
    expect(await q.text()).not.toContain(TEST_API_TOKEN);
    const b = await post('/api/sync', JSON.stringify({ token: TEST_API_TOKEN, dryRun: true }), { 'Content-Type': 'application/json' }, null);
    expect(b.status).toBe(401);
    expect(b.text).not.toContain(TEST_API_TOKEN);
  });

  it('bytes outside ASCII in the Authorization header (raw request): refused, not crashed', async () => {
    const req = Buffer.concat([
      Buffer.from('POST /api/sync HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 2\r\nAuthorization: Bearer '),
      Buffer.from([0xc3, 0xa9, 0xff, 0x00, 0x41]),
      Buffer.from('\r\n\r\n{}'),
    ]);
    const r = await raw(req);
    expect([400, 401]).toContain(statusOf(r.text));
  });
});

describe('broken HTTP: answered, never fatal', () => {
  it.each([
    ['a request line of binary garbage', Buffer.concat([Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 37) % 256).map((b) => (b === 0x0a || b === 0x0d ? 0x41 : b))), Buffer.from('\r\n\r\n')]), [400]],
    ['an unknown method', 'BREW /livez HTTP/1.1\r\nHost: localhost\r\n\r\n', [400, 405]],
    ['a header of 64 KiB', `GET /livez HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`, [400, 431]],
    ['a bad percent-escape in the query', 'GET /api/agents?limit=%zz HTTP/1.1\r\nHost: localhost\r\n\r\n', [400]],
    ['a repeated query parameter', 'GET /api/agents?limit=1&limit=2 HTTP/1.1\r\nHost: localhost\r\n\r\n', [400]],
    ['a bad percent-escape in an id', 'GET /api/agents/%E0%A4%A HTTP/1.1\r\nHost: localhost\r\n\r\n', [404]],
    ['an absolute-form URL to another host', 'GET http://evil.example.com/api/agents HTTP/1.1\r\nHost: evil.example.com\r\n\r\n', [421]],
    ['a wrong method on a POST endpoint', 'PUT /api/sync HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n', [405]],
  ] as Array<[string, Buffer | string, number[]]>)('%s', async (_what, bytes, statuses) => {
    const r = await raw(bytes);
    expect(statuses).toContain(statusOf(r.text));
    expect(r.text).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('a wrong method is 405 with Allow', async () => {
    const r = await fetch(`${base}/api/sync`, { method: 'DELETE' });
    expect(r.status).toBe(405);
    expect(r.headers.get('allow')).toBe('POST');
  });
});

// --- WebSocket frames that break RFC 6455 -------------------------------------------------------

interface RawWs {
  socket: net.Socket;
  /** Frames received so far: opcode and payload. */
  frames: Array<{ opcode: number; payload: Buffer }>;
  closed: Promise<void>;
  /** The close code the server sent, once it did. */
  closeCode(): number | undefined;
  send(frame: Buffer): void;
}

/** A WebSocket client written by hand, so that it can send what a real client never would. */
function rawWs(): Promise<RawWs> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const frames: RawWs['frames'] = [];
    let buf = Buffer.alloc(0);
    let upgraded = false;
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.on('error', () => undefined);
    socket.once('connect', () =>
      socket.write(['GET /ws/events HTTP/1.1', 'Host: localhost', 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`, 'Sec-WebSocket-Version: 13', '', ''].join('\r\n')),
    );
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (!upgraded) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.subarray(0, end).toString('latin1');
        if (!head.startsWith('HTTP/1.1 101')) return reject(new Error(head.split('\r\n')[0]));
        upgraded = true;
        buf = buf.subarray(end + 4);
        resolve(ws);
      }
      // server frames are unmasked
      for (;;) {
        if (buf.length < 2) return;
        let len = buf[1]! & 0x7f;
        let off = 2;
        if (len === 126) {
          if (buf.length < 4) return;
          len = buf.readUInt16BE(2);
          off = 4;
        } else if (len === 127) {
          if (buf.length < 10) return;
          len = Number(buf.readBigUInt64BE(2));
          off = 10;
        }
        if (buf.length < off + len) return;
        const frame = { opcode: buf[0]! & 0x0f, payload: buf.subarray(off, off + len) };
        frames.push(frame);
        if (frame.opcode === 1) record('WebSocket (raw) message', frame.payload.toString());
        buf = buf.subarray(off + len);
      }
    });
    const ws: RawWs = {
      socket,
      frames,
      closed,
      closeCode: () => {
        const c = frames.find((f) => f.opcode === 8);
        return c && c.payload.length >= 2 ? c.payload.readUInt16BE(0) : undefined;
      },
      send: (frame) => socket.write(frame),
    };
  });
}

/** One client frame: FIN and opcode, optional RSV bits, masked unless told otherwise. */
function frame(opcode: number, payload: Buffer, options: { fin?: boolean; masked?: boolean; rsv?: number } = {}): Buffer {
  const { fin = true, masked = true, rsv = 0 } = options;
  const b0 = (fin ? 0x80 : 0) | rsv | opcode;
  const lenBytes = payload.length < 126 ? Buffer.from([(masked ? 0x80 : 0) | payload.length]) : Buffer.from([(masked ? 0x80 : 0) | 126, payload.length >> 8, payload.length & 0xff]);
  if (!masked) return Buffer.concat([Buffer.from([b0]), lenBytes, payload]);
  const key = randomBytes(4);
  const body = Buffer.from(payload.map((x, i) => x ^ key[i % 4]!));
  return Buffer.concat([Buffer.from([b0]), lenBytes, key, body]);
}

describe('/ws/events: frames that break the protocol close that client with the right code; the server carries on', () => {
  it.each([
    ['a text frame of invalid UTF-8', frame(1, Buffer.from([0xff, 0xfe, 0xfd])), 1007],
    ['a frame over the 4 KiB limit', frame(1, Buffer.alloc(5000, 0x61)), 1009],
    ['an unmasked frame', frame(1, Buffer.from('hello'), { masked: false }), 1002],
    ['a reserved opcode', frame(3, Buffer.from('x')), 1002],
    ['RSV bits without an extension', frame(1, Buffer.from('x'), { rsv: 0x40 }), 1002],
    ['a fragmented ping', frame(9, Buffer.from('x'), { fin: false }), 1002],
    ['plain text instead of frames', Buffer.from('DROP TABLE agents;\r\n'), 1002],
  ])('%s: closed with %i', async (_what, bytes, code) => {
    const c = await rawWs();
    await expect.poll(() => c.frames.some((f) => f.opcode === 1 && f.payload.toString().startsWith('{"type":"snapshot"')), { timeout: 10_000 }).toBe(true);
    c.send(bytes);
    await Promise.race([c.closed, new Promise((r) => setTimeout(r, 5000))]);
    expect(c.closeCode()).toBe(code);
    c.socket.destroy();
  });

  it('well-formed frames with junk (text, binary, a close with a bogus code) are ignored or closed cleanly, and events keep flowing', async () => {
    const c = await rawWs();
    await expect.poll(() => c.frames.length, { timeout: 10_000 }).toBeGreaterThan(0);
    c.send(frame(1, Buffer.from('{"type":"subscribe","sql":"DROP TABLE agents"}')));
    c.send(frame(2, randomBytes(512)));
    c.send(frame(10, Buffer.from('unsolicited pong')));
    const before = c.frames.length;
    const started = await post('/api/sync', '{"dryRun":true,"tables":["agents"]}');
    expect(started.status).toBe(202);
    await expect.poll(() => c.frames.slice(before).some((f) => f.opcode === 1 && f.payload.toString().includes('"type":"sync.pass.')), { timeout: 10_000 }).toBe(true);
    // a close frame with a code no one may send (1005 is reserved): the server answers with 1002
    c.send(frame(8, Buffer.from([0x03, 0xed])));
    await Promise.race([c.closed, new Promise((r) => setTimeout(r, 5000))]);
    expect(c.closeCode()).toBe(1002);
  });

  it('afterwards: alive and ready, a new client gets its snapshot, /metrics counts no stray client and labels only known routes', async () => {
    expect(child.exitCode).toBeNull();
    expect((await fetch(`${base}/livez`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/ws/events`);
    const first = await new Promise<string>((resolve, reject) => {
      ws.once('message', (d) => resolve(d.toString()));
      ws.once('error', reject);
    });
    expect(JSON.parse(first)).toMatchObject({ type: 'snapshot' });
    const m = parsePrometheus(await (await fetch(`${base}/metrics`)).text());
    expect(m.get('sync_ws_clients')!.samples[0]!.value).toBe(1);
    ws.close();
    const templates = new Set([...ROUTES.map((r) => r.path), 'unmatched']);
    const routes = new Set(m.get('sync_http_requests_total')!.samples.map((s) => s.labels.route!));
    for (const r of routes) expect(templates.has(r), r).toBe(true);
    expect(routes.has('unmatched')).toBe(true); // the garbage above was counted, under one label
  });
});
