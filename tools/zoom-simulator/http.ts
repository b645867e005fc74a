/**
 * Small HTTP pieces of the Zoom simulator: listening, reading and answering requests,
 * byte ranges, and cutting a connection after the bytes already written.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Listens on a free port of `host`; resolves with the port. */
export function listenOn(server: Server, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve((server.address() as AddressInfo).port));
  });
}

export function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/**
 * A meeting UUID from its path segment, the way Zoom routes it: a UUID that starts
 * with `/` or contains `//` must be double-encoded (Zoom misroutes it otherwise, which
 * shows as 404 code 3301), so such a UUID encoded only once gives undefined. Every
 * other UUID works single- or double-encoded (Zoom decodes twice when it can).
 */
export function decodeMeetingId(segment: string): string | undefined {
  const once = decodeSegment(segment);
  const doubleEncoded = /%[0-9a-f]{2}/i.test(once);
  const id = doubleEncoded ? decodeSegment(once) : once;
  if (!doubleEncoded && needsDoubleEncoding(id)) return undefined;
  return id;
}

/** Zoom's rule for which meeting UUIDs must be double-encoded in a path. */
export function needsDoubleEncoding(uuid: string): boolean {
  return uuid.startsWith('/') || uuid.includes('//');
}

/** A single `bytes=` range as [start, end); undefined to ignore (serve it all), or unsatisfiable. */
export function parseRange(header: string, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return undefined;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size };
  }
  const start = Number(match[1]);
  const last = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (start >= size || last < start) return 'unsatisfiable';
  return { start, end: last + 1 };
}

/** Ends the connection once the bytes written so far reached the kernel, so the client gets exactly them. */
export function closeWhenFlushed(response: ServerResponse): void {
  const socket = response.socket;
  if (!socket) return;
  const check = () => {
    if (socket.destroyed) return;
    if (socket.writableLength === 0) socket.destroy();
    else setTimeout(check, 2);
  };
  check();
}

export function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json;charset=UTF-8', 'content-length': Buffer.byteLength(text), ...headers });
  response.end(text);
}

export function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) request.destroy(new Error('request body too large'));
      else chunks.push(chunk);
    });
    request.once('end', () => resolve(Buffer.concat(chunks)));
    request.once('error', reject);
  });
}

export function splitOnce(value: string, separator: string): [string, string | undefined] {
  const index = value.indexOf(separator);
  return index < 0 ? [value, undefined] : [value.slice(0, index), value.slice(index + 1)];
}

export function safeEqual(a: string | undefined, b: string): boolean {
  if (a === undefined) return false;
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
