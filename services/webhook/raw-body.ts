/**
 * Reads a request's body as the exact bytes received (the signature covers them),
 * refusing more than `maxBytes` before buffering it. On Node (`serve`) it reads the
 * IncomingMessage directly: building a WHATWG Request and its stream for every
 * webhook cost more CPU than the whole use case (measured in bench/results). In
 * Lambda the body is already in memory; the Request's own stream is read.
 */
import type { IncomingMessage } from 'node:http';
import type { Context } from 'hono';

export class PayloadTooLargeError extends Error {
  override readonly name = 'PayloadTooLargeError';
}

export async function readRawBody(c: Context, maxBytes: number): Promise<Buffer> {
  const declared = Number(c.req.header('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) throw new PayloadTooLargeError(`body is over ${maxBytes} bytes`);
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  const chunks: Uint8Array[] = [];
  let size = 0;
  const add = (chunk: Uint8Array) => {
    size += chunk.length;
    if (size > maxBytes) throw new PayloadTooLargeError(`body is over ${maxBytes} bytes`);
    chunks.push(chunk);
  };
  if (incoming && typeof incoming.on === 'function') {
    for await (const chunk of incoming) add(chunk as Buffer);
  } else if (c.req.raw.body) {
    const reader = c.req.raw.body.getReader();
    try {
      for (let step = await reader.read(); !step.done; step = await reader.read()) add(step.value);
    } finally {
      reader.releaseLock();
    }
  }
  return Buffer.concat(chunks, size);
}
