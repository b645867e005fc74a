/**
 * A pass-through HTTP proxy in front of s3rver that makes a PutObject commit as S3's
 * does: only once its whole declared body has arrived, and invisible until then. s3rver
 * 3.7.1 writes a PutObject's bytes into the object's file as they arrive, so an object
 * being streamed already reads as an object (HeadObject, GetObject, listings), and one
 * whose request was aborted stays there, truncated (s3-single-put.test.ts shows it).
 * Here a PutObject's body is held in memory until its request ends with the declared
 * Content-Length, then forwarded; a request that is aborted or short never reaches
 * s3rver. Every other request is forwarded as it comes. Requests keep their Host header,
 * so SigV4 signatures still verify.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface PutSeen {
  key: string;
  declared: number;
  /** Body bytes received so far. */
  received: number;
  state: 'receiving' | 'forwarded' | 'dropped';
}

export interface AtomicPutProxy {
  readonly endpoint: string;
  /** Every PutObject seen, in order. */
  readonly puts: PutSeen[];
  stop(): Promise<void>;
}

export async function startAtomicPutProxy(target: string): Promise<AtomicPutProxy> {
  const upstream = new URL(target);
  const puts: PutSeen[] = [];

  const forward = (request: http.IncomingMessage, response: http.ServerResponse, body?: Buffer) => {
    const headers = { ...request.headers };
    // Node answers 100-continue itself; forwarding the header would make s3rver wait for it again.
    delete headers.expect;
    const onward = http.request(
      { host: upstream.hostname, port: upstream.port, method: request.method, path: request.url, headers },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    onward.on('error', () => response.destroy());
    response.on('close', () => onward.destroy());
    if (body === undefined) request.pipe(onward);
    else onward.end(body);
  };

  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://proxy.invalid');
    const [, bucket, ...key] = url.pathname.split('/');
    const putObject =
      request.method === 'PUT' && bucket !== undefined && key.length > 0 && !url.searchParams.has('uploadId') && request.headers['x-amz-copy-source'] === undefined;
    if (!putObject) {
      forward(request, response);
      return;
    }
    const seen: PutSeen = { key: decodeURIComponent(key.join('/')), declared: Number(request.headers['content-length']), received: 0, state: 'receiving' };
    puts.push(seen);
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      seen.received += chunk.length;
    });
    request.on('error', () => {
      // An aborted request: 'close' below drops it.
    });
    request.on('end', () => {
      if (seen.received !== seen.declared) {
        seen.state = 'dropped';
        response.destroy();
        return;
      }
      seen.state = 'forwarded';
      forward(request, response, Buffer.concat(chunks));
    });
    request.on('close', () => {
      if (seen.state === 'receiving') seen.state = 'dropped';
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    puts,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
