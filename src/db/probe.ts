import { redactError } from '../config/redact.js';
import type { Role } from '../config/types.js';
import { detectFlavor, flavorLabel, type ServerInfo } from './flavor.js';
import { checkout, type Checkout, type Db } from './pool.js';

/** What `cesar check` and the dashboard header know about one database. */
export interface Probe {
  role: Role;
  label: string;
  up: boolean;
  /** Redacted reason when down. */
  error?: string;
  server?: ServerInfo & { label: string };
  /** Median round trip of several `SELECT 1`, in milliseconds. */
  latencyMs?: number;
  /** Whether the connection is encrypted. */
  tls?: boolean;
  /** Server clock minus this machine's clock, in milliseconds (positive: the server is ahead). */
  clockOffsetMs?: number;
}

/** Connects once and measures: flavor, median latency over `pings`, TLS in use, clock offset. */
export async function probeDb(db: Db, pings = 5): Promise<Probe> {
  let out: Checkout | undefined;
  try {
    out = await checkout(db);
    const client = out.client;
    const raw = (await client.query<{ v: string }>('SELECT version() AS v')).rows[0]!.v;
    const server = detectFlavor(raw);
    const times: number[] = [];
    for (let i = 0; i < pings; i++) {
      const t0 = performance.now();
      await client.query('SELECT 1');
      times.push(performance.now() - t0);
    }
    const t0 = Date.now();
    const clock = await client.query<{ ms: number }>('SELECT (extract(epoch FROM clock_timestamp()) * 1000)::float8 AS ms');
    const t1 = Date.now();
    const stream = (client as unknown as { connection?: { stream?: { encrypted?: boolean } } }).connection?.stream;
    return {
      role: db.role,
      label: db.label,
      up: true,
      server: { ...server, label: flavorLabel(server) },
      latencyMs: median(times),
      tls: stream?.encrypted === true,
      clockOffsetMs: Number(clock.rows[0]!.ms) - (t0 + t1) / 2,
    };
  } catch (err) {
    return { role: db.role, label: db.label, up: false, error: redactError(err) };
  } finally {
    out?.release();
  }
}

/** Median of a non-empty list. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export type { ServerInfo };
