/**
 * How the S3 requests that carry an archive's bytes (PutObject, UploadPart) are signed.
 *
 * SigV4 signs a request's payload by its SHA-256 (`x-amz-content-sha256`) unless the
 * header says `UNSIGNED-PAYLOAD`: for a Buffer body the SDK hashes every byte, on the
 * event loop, before the request goes out — a hash of every byte more, on top of the
 * one the put computes for itself. For a stream body the SDK cannot hash ahead and
 * already sends `UNSIGNED-PAYLOAD` by itself (with the SDK's default checksums,
 * 'WHEN_SUPPORTED', it sends aws-chunked framing with a CRC32 trailer instead,
 * `STREAMING-UNSIGNED-PAYLOAD-TRAILER`: unsigned too).
 *
 * An unsigned payload is sent only where the connection itself protects the bytes: TLS
 * (S3's own endpoints, any https endpoint) or loopback. S3 documents the value for
 * exactly this (https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html).
 * Over plain http to another host the payload stays signed — so a stream body, which
 * the SDK would send unsigned, must not be sent there either (archive-s3.ts then
 * uploads Buffer parts through lib-storage, each signed).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { isLoopbackHost } from './zoom-download';

export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

/** A build step, before the checksum middleware and the signer (finalizeRequest). */
const UNSIGNED_PAYLOAD_STEP = { step: 'build', name: 'zoomArchiverUnsignedPayload', override: true } as const;

/**
 * Sets the payload hash header before signing: the signer then takes it as it is. A
 * value already there stays (the SDK's aws-chunked `STREAMING-UNSIGNED-PAYLOAD-TRAILER`,
 * when its checksum middleware ran first, must not be replaced).
 */
export function markUnsignedPayload(request: unknown): void {
  const headers = (request as { headers?: Record<string, string> } | undefined)?.headers;
  if (typeof headers !== 'object' || headers === null) return;
  if (Object.keys(headers).some((name) => name.toLowerCase() === 'x-amz-content-sha256')) return;
  headers['x-amz-content-sha256'] = UNSIGNED_PAYLOAD;
}

type BuildMiddleware = (next: (args: { request: unknown }) => Promise<unknown>) => (args: { request: unknown }) => Promise<unknown>;

/** Makes `command` go with `x-amz-content-sha256: UNSIGNED-PAYLOAD` (call only where connectionProtects). */
export function sendUnsignedPayload<C extends { middlewareStack: unknown }>(command: C): C {
  const middleware: BuildMiddleware = (next) => (args) => {
    markUnsignedPayload(args.request);
    return next(args);
  };
  (command.middlewareStack as { add(middleware: BuildMiddleware, options: typeof UNSIGNED_PAYLOAD_STEP): void }).add(middleware, UNSIGNED_PAYLOAD_STEP);
  return command;
}

/** The endpoint a client was given (its config's `endpoint()`), as far as it matters here. */
export interface S3Endpoint {
  protocol?: string;
  hostname?: string;
}

/** Whether the connection to `endpoint` protects the bytes on its own: https, or loopback; none set is S3's own, over https. */
export function connectionProtects(endpoint: S3Endpoint | undefined): boolean {
  if (endpoint === undefined) return true;
  const { protocol, hostname } = endpoint;
  return protocol === 'https:' || protocol === 'https' || (hostname !== undefined && isLoopbackHost(hostname));
}

const protectedClients = new WeakMap<S3Client, Promise<boolean>>();

/**
 * connectionProtects for the endpoint `client` was configured with, resolved once per
 * client (the plain put and the resumable driver share theirs).
 */
export function clientConnectionProtects(client: S3Client): Promise<boolean> {
  let answer = protectedClients.get(client);
  if (!answer) {
    const resolve = (client.config as { endpoint?: () => Promise<S3Endpoint> }).endpoint;
    answer = (async () => connectionProtects(await resolve?.()))();
    protectedClients.set(client, answer);
  }
  return answer;
}
