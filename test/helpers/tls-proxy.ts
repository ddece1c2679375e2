import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { REPO } from './databases.js';

// A PostgreSQL server with TLS, for tests of sslmode and sslrootcert: it answers the client's
// SSLRequest with 'S', terminates TLS with the test certificate for `localhost` (test/fixtures/tls)
// and passes the decrypted protocol to a plain PostgreSQL server. A client without TLS is passed
// through as it is. Loopback only.

/** The test CA that signed the proxy's certificate (point sslrootcert here). */
export const TEST_CA = path.join(REPO, 'test/fixtures/tls/ca.crt');
const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;

export interface TlsProxy {
  port: number;
  close(): Promise<void>;
}

/** Starts the proxy on a free port of 127.0.0.1 (and ::1 when the machine has it), forwarding to `target`. */
export async function startTlsProxy(target: { host: string; port: number }): Promise<TlsProxy> {
  const key = fs.readFileSync(path.join(REPO, 'test/fixtures/tls/server.key'));
  const cert = fs.readFileSync(path.join(REPO, 'test/fixtures/tls/server.crt'));
  const sockets = new Set<net.Socket>();
  const handle = (client: net.Socket): void => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    const onFirst = (first: Buffer): void => {
      // libpq may ask for GSSAPI encryption first: no, then it asks again for TLS or starts plain
      if (first.length === 8 && first.readInt32BE(4) === GSSENC_REQUEST) {
        client.write('N');
        client.once('data', onFirst);
        return;
      }
      const upstream = net.connect(target);
      sockets.add(upstream);
      upstream.on('close', () => sockets.delete(upstream));
      if (first.length >= 8 && first.readInt32BE(0) === 8 && first.readInt32BE(4) === SSL_REQUEST) {
        client.write('S');
        const secure = new tls.TLSSocket(client, { isServer: true, key, cert });
        secure.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
        upstream.on('error', () => secure.destroy());
        secure.pipe(upstream).pipe(secure);
      } else {
        upstream.on('error', () => client.destroy());
        upstream.write(first);
        client.pipe(upstream).pipe(client);
      }
    };
    client.once('data', onFirst);
  };
  const v4 = net.createServer(handle);
  await new Promise<void>((resolve, reject) => v4.once('error', reject).listen(0, '127.0.0.1', resolve));
  const port = (v4.address() as net.AddressInfo).port;
  // `localhost` may resolve to ::1 first: listen there too on the same port when possible
  const v6 = net.createServer(handle);
  const hasV6 = await new Promise<boolean>((resolve) => v6.once('error', () => resolve(false)).listen(port, '::1', () => resolve(true)));
  return {
    port,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => v4.close(() => r()));
      if (hasV6) await new Promise<void>((r) => v6.close(() => r()));
    },
  };
}
