import type { IncomingMessage, ServerResponse } from 'node:http';
import { redact, redactError } from '../config/redact.js';
import { CesarError, EXIT } from '../errors.js';

/** The largest request body accepted (issue 6: bodies are limited in size). */
export const MAX_BODY_BYTES = 64 * 1024;
const DRAIN_BYTES = 1024 * 1024;

/** An error with the HTTP status to answer; the message is for people and already redacted. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
    readonly extra: Record<string, unknown> = {},
    /** The request was not read to its end: close the connection after answering. */
    readonly closeConnection = false,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** 400 with a message. */
export function badRequest(message: string, extra: Record<string, unknown> = {}): HttpError {
  return new HttpError(400, message, {}, extra);
}

// int8 columns may arrive as BigInt (src/db/types.ts); JSON has no such type.
const replacer = (_key: string, value: unknown): unknown => (typeof value === 'bigint' ? value.toString() : value);

/** Writes a JSON answer; every body passes through redact() as a last guard against a leaked secret. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = redact(JSON.stringify(body, replacer));
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Writes the JSON error document `{error, status, ...extra}`. */
export function sendError(res: ServerResponse, err: unknown): void {
  const e = toHttpError(err);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, e.status, { error: e.message, status: e.status, ...e.extra }, e.headers);
}

/** Maps any thrown value to an HttpError: usage errors are 400, unreachable databases 503, the rest 500. */
export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof CesarError) {
    if (err.exitCode === EXIT.usage) return badRequest(err.message);
    if (err.code === 'DB_UNREACHABLE') return new HttpError(503, err.message);
    if (err.code === 'LEASE_HELD') return new HttpError(409, err.message);
    return new HttpError(500, err.message, {}, err.sqlState ? { sqlState: err.sqlState } : {});
  }
  return new HttpError(500, `internal error: ${redactError(err)}`);
}

/**
 * Reads a JSON object body of at most `limit` bytes. An empty body is `{}`; a declared or actual
 * size above the limit is 413 (the rest is not read); anything but a JSON object is 400; a content
 * type other than JSON is 415.
 */
export async function readJsonBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Record<string, unknown>> {
  const type = req.headers['content-type'];
  if (type !== undefined && !/^application\/json\s*(;|$)/i.test(type)) {
    throw new HttpError(415, `the body must be JSON: send Content-Type: application/json (got ${JSON.stringify(type.slice(0, 60))})`);
  }
  const declared = Number(req.headers['content-length'] ?? NaN);
  // An oversized body is read and thrown away up to DRAIN_BYTES, so that the client, still sending,
  // receives the 413 rather than a reset connection; beyond that the connection is cut.
  if (Number.isFinite(declared) && declared > DRAIN_BYTES) throw tooLarge(limit, false);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > DRAIN_BYTES) throw tooLarge(limit, false);
    if (size <= limit) chunks.push(chunk);
  }
  if (size > limit) throw tooLarge(limit, true);
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw badRequest(`malformed JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badRequest('the body must be a JSON object');
  return value as Record<string, unknown>;
}

function tooLarge(limit: number, drained: boolean): HttpError {
  return new HttpError(413, `the request body is larger than ${limit / 1024} KiB`, drained ? {} : { Connection: 'close' }, {}, !drained);
}
