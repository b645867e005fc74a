/**
 * An HTTP front between the functions (their recording proxy) and s3rver that makes
 * s3rver keep the two promises of S3 the archive store relies on, so that the store's
 * production paths can be rehearsed on it unchanged:
 *
 * - A PutObject is atomic: S3 shows nothing under the key until the whole declared body
 *   arrived, and nothing at all for a request cut short. s3rver writes the object's
 *   file as the bytes arrive (a PUT in flight already reads as an object). The front
 *   buffers each PutObject's body and forwards it only once it arrived whole: a request
 *   cut short never reaches s3rver.
 * - Conditional writes: `If-None-Match: *` on PutObject and CompleteMultipartUpload is
 *   refused with 412 PreconditionFailed when the key holds an object (s3rver ignores
 *   the header). Checked with a HEAD to s3rver just before forwarding.
 *
 * And one the SDK relies on: a streamed body with the SDK's default checksums
 * ('WHEN_SUPPORTED') arrives `aws-chunked` with a CRC32 trailer; S3 decodes it, s3rver
 * would store the framing inside the object. The front decodes it, checks the CRC32
 * against the decoded bytes (a mismatch is S3's 400 BadDigest) and forwards plain bytes.
 * Everything else passes through unchanged.
 */
import { createServer, request, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { crc32 } from 'node:zlib';

export interface S3Front {
  endpoint: string;
  /** PutObject / CompleteMultipartUpload requests refused with 412 (the key was taken). */
  refusedConditionalWrites: number;
  /** aws-chunked bodies decoded (and their CRC32 checked). */
  decodedChunkedBodies: number;
  stop(): Promise<void>;
}

const MAX_BUFFERED_BYTES = 256 * 1024 * 1024;

export async function startS3Front(upstream: string): Promise<S3Front> {
  const target = new URL(upstream);
  const front: S3Front = { endpoint: '', refusedConditionalWrites: 0, decodedChunkedBodies: 0, stop: async () => undefined };

  const forward = (method: string, path: string, headers: IncomingHttpHeaders, body: Buffer | IncomingMessage | undefined, res?: ServerResponse): Promise<IncomingMessage> =>
    new Promise((resolve, reject) => {
      const out = request({ host: target.hostname, port: target.port, method, path, headers }, (upstreamResponse) => {
        if (res) {
          res.writeHead(upstreamResponse.statusCode ?? 502, upstreamResponse.headers);
          upstreamResponse.pipe(res);
        }
        resolve(upstreamResponse);
      });
      out.on('error', reject);
      if (body === undefined) out.end();
      else if (Buffer.isBuffer(body)) out.end(body);
      else body.pipe(out);
    });

  const keyTaken = async (path: string, headers: IncomingHttpHeaders): Promise<boolean> => {
    const objectPath = path.split('?')[0]!;
    const { authorization, 'x-amz-date': date, 'x-amz-security-token': token, 'x-amz-content-sha256': _sha } = headers;
    const head = await forward('HEAD', objectPath, { host: headers.host, authorization, 'x-amz-date': date, 'x-amz-security-token': token, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' }, undefined);
    head.resume();
    return head.statusCode === 200;
  };

  const error = (res: ServerResponse, status: number, code: string, message: string) => {
    const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`;
    res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };

  const server = createServer((req, res) => {
    const path = req.url ?? '/';
    const query = new URL(path, 'http://front').searchParams;
    const isPutObject = req.method === 'PUT' && !query.has('uploadId') && !query.has('partNumber') && path.split('?')[0]!.split('/').filter(Boolean).length >= 2 && req.headers['x-amz-copy-source'] === undefined;
    const isPartUpload = req.method === 'PUT' && query.has('uploadId') && query.has('partNumber');
    const isComplete = req.method === 'POST' && query.has('uploadId');
    if (!isPutObject && !isPartUpload && !isComplete) {
      forward(req.method ?? 'GET', path, req.headers, req, res).catch(() => res.destroy());
      return;
    }
    // Buffer the whole body: a request cut short is never forwarded (S3 commits only a complete body).
    const chunks: Buffer[] = [];
    let size = 0;
    let aborted = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BUFFERED_BYTES) {
        aborted = true;
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('aborted', () => (aborted = true));
    req.on('close', () => {
      if (!req.complete) aborted = true;
    });
    req.on('end', () => {
      void (async () => {
        if (aborted || !req.complete) return;
        let body: Buffer = Buffer.concat(chunks);
        const headers: IncomingHttpHeaders = { ...req.headers };
        const declared = Number(headers['content-length']);
        const chunked = String(headers['content-encoding'] ?? '').split(',').map((s) => s.trim()).includes('aws-chunked');
        if (chunked) {
          const decoded = decodeAwsChunked(body);
          if ('error' in decoded) return error(res, 400, 'IncompleteBody', decoded.error);
          const expectedLength = Number(headers['x-amz-decoded-content-length']);
          if (decoded.body.length !== expectedLength) return error(res, 400, 'IncompleteBody', `decoded ${decoded.body.length} bytes, x-amz-decoded-content-length says ${expectedLength}`);
          const crc = decoded.trailers['x-amz-checksum-crc32'];
          if (crc !== undefined) {
            const actual = Buffer.alloc(4);
            actual.writeUInt32BE(crc32(decoded.body) >>> 0);
            if (actual.toString('base64') !== crc) return error(res, 400, 'BadDigest', 'The CRC32 you specified did not match the calculated checksum.');
          }
          front.decodedChunkedBodies++;
          body = decoded.body;
          const encodings = String(headers['content-encoding']).split(',').map((s) => s.trim()).filter((s) => s && s !== 'aws-chunked');
          if (encodings.length > 0) headers['content-encoding'] = encodings.join(',');
          else delete headers['content-encoding'];
          delete headers['x-amz-decoded-content-length'];
          delete headers['x-amz-trailer'];
          delete headers['transfer-encoding'];
          headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
        } else if (Number.isFinite(declared) && body.length !== declared) {
          return error(res, 400, 'IncompleteBody', 'You did not provide the number of bytes specified by the Content-Length HTTP header.');
        }
        headers['content-length'] = String(body.length);
        delete headers['transfer-encoding'];
        if ((isPutObject || isComplete) && headers['if-none-match'] === '*' && (await keyTaken(path, req.headers))) {
          front.refusedConditionalWrites++;
          return error(res, 412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
        }
        await forward(req.method ?? 'PUT', path, headers, body, res);
      })().catch(() => res.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  front.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  front.stop = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return front;
}

/** `<hex size>[;chunk-signature=…]\r\n<bytes>\r\n` … `0\r\n<trailer: value\r\n>*\r\n` → the bytes and the trailers. */
export function decodeAwsChunked(framed: Buffer): { body: Buffer; trailers: Record<string, string> } | { error: string } {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = framed.indexOf('\r\n', at);
    if (lineEnd < 0) return { error: 'aws-chunked body ends inside a chunk header' };
    const header = framed.subarray(at, lineEnd).toString('latin1');
    const size = Number.parseInt(header.split(';')[0]!, 16);
    if (!Number.isFinite(size) || size < 0) return { error: `bad aws-chunked chunk header ${JSON.stringify(header.slice(0, 40))}` };
    at = lineEnd + 2;
    if (size === 0) break;
    if (at + size + 2 > framed.length) return { error: 'aws-chunked body ends inside a chunk' };
    parts.push(framed.subarray(at, at + size));
    at += size;
    if (framed.subarray(at, at + 2).toString('latin1') !== '\r\n') return { error: 'aws-chunked chunk not followed by CRLF' };
    at += 2;
  }
  const trailers: Record<string, string> = {};
  for (;;) {
    const lineEnd = framed.indexOf('\r\n', at);
    if (lineEnd < 0) break;
    const line = framed.subarray(at, lineEnd).toString('latin1');
    at = lineEnd + 2;
    if (line === '') break;
    const colon = line.indexOf(':');
    if (colon > 0) trailers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { body: Buffer.concat(parts), trailers };
}
