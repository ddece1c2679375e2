import type { IncomingMessage } from 'node:http';
import { isLoopbackHost, listenHost } from '../config/load.js';
import { clientAddress } from './limits.js';

/**
 * The Host check against DNS rebinding (issue 17): a web page the operator opens can make its own
 * host name resolve to 127.0.0.1 and then read a loopback API, but its requests still carry its own
 * name in `Host`. Allowed: a loopback name (localhost, 127.x.x.x, [::1]), a name listed in
 * CESAR_API_HOSTNAMES, the address the server was bound to, and the address the connection came in
 * on (an IP literal: what a client that connects by address, e.g. a Kubernetes probe or Prometheus
 * scraping a pod, sends). Anything else, a missing Host included, is answered 421.
 */
export function hostAllowed(req: IncomingMessage, bound: string, names: readonly string[]): boolean {
  const name = hostName(req.headers.host);
  if (name === undefined) return false;
  if (isLoopbackHost(name) || names.includes(name)) return true;
  const b = listenHost(bound).toLowerCase();
  if (name === b) return true;
  return name === clientAddress(req.socket.localAddress).toLowerCase();
}

/** The name part of a Host header (`[::1]:8000` is `::1`, `Example.com.:80` is `example.com`), or undefined when absent or malformed. */
export function hostName(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const h = header.trim().toLowerCase();
  const v6 = /^\[([0-9a-f:.]+)\](?::\d{1,5})?$/.exec(h);
  if (v6) return v6[1];
  const m = /^([a-z0-9.-]+?)\.?(?::\d{1,5})?$/.exec(h);
  return m ? m[1] : undefined;
}
