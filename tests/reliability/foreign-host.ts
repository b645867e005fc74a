/**
 * A stand-in for a host the archiver must never contact (an attacker's server, the
 * cloud metadata endpoint): a plain TCP-level HTTP server on another loopback address
 * that counts every connection, so "no foreign fetch" is measured, not assumed. It
 * counts connections rather than requests, so a TLS attempt (https://) counts too.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** 127.0.0.2 is loopback on Linux but a different host than the allowlisted 127.0.0.1. */
export const FOREIGN_HOST_ADDRESS = '127.0.0.2';

export interface ForeignHost {
  /** e.g. 127.0.0.2:41234 */
  readonly host: string;
  readonly port: number;
  url(path: string): string;
  /** TCP connections accepted so far. */
  connections(): number;
  stop(): Promise<void>;
}

export async function startForeignHost(address = FOREIGN_HOST_ADDRESS): Promise<ForeignHost> {
  let connections = 0;
  const server = http.createServer((request, response) => {
    request.resume();
    response.writeHead(200, { 'content-type': 'video/mp4', 'content-length': 4 });
    response.end('evil');
  });
  server.on('connection', () => connections++);
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', (error) => reject(new Error(`cannot listen on ${address} (is it a loopback alias here?): ${error.message}`)));
    server.listen(0, address, () => resolve((server.address() as AddressInfo).port));
  });
  const host = `${address}:${port}`;
  return {
    host,
    port,
    url: (path) => `http://${host}${path.startsWith('/') ? path : `/${path}`}`,
    connections: () => connections,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
