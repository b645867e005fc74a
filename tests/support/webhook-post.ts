/** A webhook POSTed over real HTTP the way Zoom sends it, for tests that load a running server. */
import http from 'node:http';
import { signedHeaders } from './fixtures';

/** POSTs `body` signed like Zoom (x-zm-signature over the raw bytes) over `agent`; resolves with the status. */
export function postSignedWebhook(url: URL, body: Buffer | string, secret: string, agent: http.Agent | false): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent, headers: { ...signedHeaders(body, secret), 'content-length': Buffer.byteLength(body) } },
      (response) => {
        response.resume();
        response.once('end', () => resolve(response.statusCode ?? 0));
      },
    );
    request.setTimeout(10_000, () => request.destroy(new Error('no answer within 10 s')));
    request.once('error', reject);
    request.end(body);
  });
}
