/**
 * A pass-through HTTP proxy in front of s3rver that can make the S3 endpoint fail:
 * after letting `after` requests through, it answers the next `count` with a 500
 * InternalError (as S3 does on a bad day), then passes everything again. Requests are
 * forwarded byte for byte with their Host header, so SigV4 signatures still verify.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const INTERNAL_ERROR =
  '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message></Error>';

export interface S3FaultProxy {
  readonly endpoint: string;
  /** Requests seen, failed and forwarded so far. */
  readonly stats: { requests: number; failed: number; forwarded: number };
  /** After `after` more requests pass, fail the next `count` (Infinity: until cleared). */
  fail(options: { after?: number; count: number }): void;
  clear(): void;
  stop(): Promise<void>;
}

export async function startS3FaultProxy(target: () => string): Promise<S3FaultProxy> {
  const stats = { requests: 0, failed: 0, forwarded: 0 };
  let plan: { pass: number; fail: number } = { pass: 0, fail: 0 };

  const server = http.createServer((request, response) => {
    stats.requests++;
    if (plan.fail > 0 && plan.pass <= 0) {
      plan.fail--;
      stats.failed++;
      request.resume();
      request.once('end', () => {
        response.writeHead(500, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(INTERNAL_ERROR) });
        response.end(INTERNAL_ERROR);
      });
      return;
    }
    if (plan.fail > 0) plan.pass--;
    stats.forwarded++;
    const upstream = new URL(target());
    const headers = { ...request.headers };
    // Node answers 100-continue itself; forwarding the header would make s3rver wait for it again.
    delete headers.expect;
    const forward = http.request(
      { host: upstream.hostname, port: upstream.port, method: request.method, path: request.url, headers },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    forward.on('error', () => {
      // The endpoint is down: close the client's connection as a dead server would.
      request.resume();
      response.destroy();
    });
    response.on('close', () => forward.destroy());
    request.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    stats,
    fail: ({ after = 0, count }) => {
      plan = { pass: after, fail: count };
    },
    clear: () => {
      plan = { pass: 0, fail: 0 };
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
