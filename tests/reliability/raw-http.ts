/**
 * A small HTTP client over node:http for the bad-input suite: fetch normalizes
 * what these cases must control (duplicate headers, an exact byte body, a chunked
 * upload without Content-Length, bodies the server stops reading), so requests are
 * written by hand. A server that answers before it read the whole body and then
 * closes the socket is normal here (413): the answer is kept, the write error is not
 * a failure.
 */
import http from 'node:http';

export interface RawRequest {
  /** Default POST. */
  method?: string;
  /** Path and query. Default: the webhook's path. */
  path?: string;
  /** Header values as sent; an array sends the header once per value. */
  headers?: Record<string, string | string[]>;
  body?: Buffer;
  /** Send the body as chunks of this size with Transfer-Encoding: chunked (no Content-Length). */
  chunkBytes?: number;
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: unknown;
}

export function sendRaw(baseUrl: string, request: RawRequest, defaultPath: string, timeoutMs = 10_000): Promise<RawResponse> {
  const url = new URL(request.path ?? defaultPath, baseUrl);
  const body = request.body;
  const headers: Record<string, string | string[]> = { ...request.headers };
  if (body && request.chunkBytes === undefined && !hasHeader(headers, 'content-length')) headers['content-length'] = String(body.length);
  if (request.chunkBytes !== undefined) headers['transfer-encoding'] = 'chunked';

  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (outcome: { response?: RawResponse; error?: Error }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (outcome.response) resolve(outcome.response);
      else reject(outcome.error ?? new Error('no answer'));
    };
    const req = http.request(url, { method: request.method ?? 'POST', headers, agent: false });
    const timer = setTimeout(() => {
      req.destroy();
      finish({ error: new Error(`no answer within ${timeoutMs} ms`) });
    }, timeoutMs);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      const done = () => {
        const text = Buffer.concat(chunks).toString('utf8');
        finish({ response: { status: res.statusCode ?? 0, headers: res.headers, text, json: parseJson(text) } });
      };
      res.on('end', done);
      // The server may cut the socket after answering (unread oversize body): what arrived is the answer.
      res.on('error', done);
      res.on('aborted', done);
    });
    req.on('error', (error) => {
      // A write refused after the answer started is expected (413); before any answer it is a failure.
      setTimeout(() => finish({ error }), 50);
    });
    if (body && request.chunkBytes !== undefined) {
      for (let offset = 0; offset < body.length; offset += request.chunkBytes) {
        req.write(body.subarray(offset, offset + request.chunkBytes));
      }
      req.end();
    } else {
      req.end(body);
    }
  });
}

function hasHeader(headers: Record<string, unknown>, name: string): boolean {
  return Object.keys(headers).some((key) => key.toLowerCase() === name);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
