/**
 * ArchiveStore on S3 or any S3-compatible endpoint.
 *
 * On S3 itself (or with `streamSinglePut`), a body of known length from one part size up
 * to 5 GiB (S3's limit for one PutObject, MAX_SINGLE_PUT_BYTES) goes as ONE PutObject
 * whose body is the metered stream itself: no part buffers, no copies, no SHA-256 of the
 * payload for SigV4 (it goes UNSIGNED-PAYLOAD, see s3-payload.ts) — where the connection
 * protects the bytes (https, loopback). Every other body — of unknown length, smaller
 * than a part, over 5 GiB, over plain http to another host, or to a custom endpoint not
 * known to commit a PutObject atomically (s3rver does not, see streamSinglePut) — goes
 * through lib-storage's Upload, whose memory is bounded by the part size and queue size
 * (about partSize × (queueSize + 1)), never by the file; its UploadParts and PutObject
 * go UNSIGNED-PAYLOAD under the same rule, else signed.
 *
 * Nothing is committed unless the body ended cleanly. lib-storage sends its commit
 * (CompleteMultipartUpload, or the single PutObject of a small body) only after the
 * body ended. The streamed PutObject holds back the body's last chunk until the body
 * ended and passed its checks (the declared length included), so S3 never has the
 * declared length of a body that fails — even in its final flush — and the request is
 * aborted short. Either way a failed put leaves nothing under the key and an older
 * object untouched.
 *
 * An archived object is never replaced. Every commit request carries If-None-Match: *,
 * so S3 itself refuses a taken key (412), and the key is also checked with HeadObject
 * before the upload starts and again just before the commit (for the streamed
 * PutObject: before its last chunk goes out), because S3-compatible servers may ignore
 * the condition (s3rver 3.7.1 does; with it a commit racing the last check can still
 * replace an object). A taken key holding the same bytes (size and SHA-256) is the
 * archived result; other bytes are an ArchiveKeyConflictError. The body's SHA-256 is
 * computed while streaming and recorded as x-amz-meta-sha256 by the single PutObject of
 * a small body (sent once the whole body was read); a multipart upload or a streamed
 * PutObject cannot record it (their metadata is sent before the first byte), so such an
 * object is compared by reading it back. Reading needs s3:GetObject, and s3:ListBucket
 * for a missing key to read as 404.
 *
 * Checksums on the wire follow the client's configuration: the SDK's default
 * ('WHEN_SUPPORTED') adds a CRC32 per part against AWS, and sends the streamed PutObject
 * aws-chunked with a CRC32 trailer; against s3rver the client must use 'WHEN_REQUIRED'
 * (see tests/support/s3rver.ts). A streamed PutObject cannot be replayed, so the SDK
 * does not retry it: its failure fails the put (retryable), and the caller sends the
 * file again.
 *
 * Resumable puts (`resumable`) go through our own multipart driver,
 * shared/adapters/archive-s3-multipart.ts (lib-storage's Upload cannot continue an
 * upload), with the same key checks and comparisons: the helpers below are exported
 * for it, as functions of the client and bucket (S3Target).
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { ConfigError } from '../errors';
import type { ArchiveLocation } from '../events';
import {
  ArchiveInputError,
  ArchiveKeyConflictError,
  ArchiveNotFoundError,
  ArchiveReadError,
  ArchiveWriteError,
  type ArchiveObjectInfo,
  type ArchivePutInput,
  type ArchivePutResult,
  type ArchiveStore,
} from '../ports/archive-store';
import { MAX_METADATA_BYTES, SHA256_METADATA_NAME, assertArchiveKey, assertArchiveMetadata } from './archive-rules';
import { meterPutBody, writeCause, writeOrigin, type BodyMeter } from './archive-put-body';
import { S3MultipartDriver } from './archive-s3-multipart';
import { clientConnectionProtects, sendUnsignedPayload } from './s3-payload';

const MiB = 1024 * 1024;
/** S3's limits for multipart uploads. */
export const MIN_PART_SIZE_BYTES = 5 * MiB;
export const MAX_PART_SIZE_BYTES = 5 * 1024 * MiB;
export const MAX_PARTS = 10_000;
export const MAX_OBJECT_BYTES = 5 * 1024 * 1024 * MiB;
/** S3's limit for one PutObject: a body of known length up to this goes as one streamed PutObject. */
export const MAX_SINGLE_PUT_BYTES = 5 * 1024 * MiB;

export interface S3ArchiveStoreOptions {
  client: S3Client;
  bucket: string;
  /** Bytes per part, at least 5 MiB; default 8 MiB. Raised for a body whose contentLength needs more than 10,000 parts. */
  partSizeBytes?: number;
  /** Parts uploaded in parallel; default 4. */
  queueSize?: number;
  serverSideEncryption?: 'AES256' | 'aws:kms';
  /** KMS key for 'aws:kms'; the bucket's default key when omitted. */
  kmsKeyId?: string;
  /**
   * Whether a body of known length, from one part size to 5 GiB, goes as one streamed
   * PutObject (over a connection that protects it: https or loopback). The endpoint must
   * commit a PutObject only once it has the whole declared body, and never show it
   * before: S3 does (and MinIO); s3rver does not — it writes the object's file as the
   * bytes arrive, so a PutObject in flight already reads as an object (the last check
   * of the key would see the put's own bytes) and an aborted one stays, truncated.
   * Default: on for S3 itself (a client without a custom endpoint), off for any custom
   * endpoint.
   */
  streamSinglePut?: boolean;
}

/** The bucket an S3 helper works on, through which client. */
export interface S3Target {
  client: S3Client;
  bucket: string;
}

export class S3ArchiveStore implements ArchiveStore {
  readonly kind = 's3';
  readonly keepsMetadata = true;
  readonly bucket: string;
  readonly partSizeBytes: number;
  readonly queueSize: number;
  /** Resumable puts: our multipart driver (archive-s3-multipart.ts), with this store's client, bucket, part size, queue size and encryption. */
  readonly resumable: S3MultipartDriver;
  private readonly client: S3Client;
  private readonly target: S3Target;
  private readonly serverSideEncryption: S3ArchiveStoreOptions['serverSideEncryption'];
  private readonly kmsKeyId: string | undefined;
  private readonly streamSinglePut: boolean | undefined;

  constructor(options: S3ArchiveStoreOptions) {
    const { partSizeBytes = 8 * MiB, queueSize = 4 } = options;
    if (!options.bucket) throw new ConfigError('S3 archive: bucket is required');
    const partSizeOk = Number.isSafeInteger(partSizeBytes) && partSizeBytes >= MIN_PART_SIZE_BYTES && partSizeBytes <= MAX_PART_SIZE_BYTES;
    if (!partSizeOk) {
      throw new ConfigError(
        `S3 archive: part size must be an integer from ${MIN_PART_SIZE_BYTES} to ${MAX_PART_SIZE_BYTES} bytes, got ${partSizeBytes}`,
      );
    }
    if (!Number.isSafeInteger(queueSize) || queueSize < 1) {
      throw new ConfigError(`S3 archive: queue size must be a positive integer, got ${queueSize}`);
    }
    if (options.kmsKeyId && options.serverSideEncryption !== 'aws:kms') {
      throw new ConfigError("S3 archive: a KMS key needs serverSideEncryption 'aws:kms'");
    }
    this.client = options.client;
    this.bucket = options.bucket;
    this.partSizeBytes = partSizeBytes;
    this.queueSize = queueSize;
    this.serverSideEncryption = options.serverSideEncryption;
    this.kmsKeyId = options.kmsKeyId;
    this.streamSinglePut = options.streamSinglePut;
    this.target = { client: this.client, bucket: this.bucket };
    this.resumable = new S3MultipartDriver({
      client: this.client,
      bucket: this.bucket,
      partSizeBytes,
      queueSize,
      serverSideEncryption: this.serverSideEncryption,
      kmsKeyId: this.kmsKeyId,
    });
  }

  async put(input: ArchivePutInput): Promise<ArchivePutResult> {
    const { key, signal } = input;
    let metadata: Record<string, string>;
    let partSize: number;
    let metered: ReturnType<typeof meterPutBody>;
    try {
      assertArchiveKey(key);
      metadata = encodeMetadata(input.metadata, { reserveSha256: true });
      partSize = this.partSizeFor(input.contentLength);
      metered = meterPutBody(input, { hash: true });
    } catch (error) {
      input.body.destroy();
      throw error;
    }
    const { chunks, meter, release } = metered;
    let upload: Upload | undefined;
    try {
      const before = await this.probe(key, signal);
      if (typeof before === 'object') {
        // Taken already: read the body for its digest, upload nothing.
        await drain(chunks);
        return await this.settleTaken(key, meter, before, signal);
      }
      const unsigned = await clientConnectionProtects(this.client);
      if (this.streamsInOnePut(input.contentLength, unsigned)) {
        await this.putStreamed(key, input, metadata, chunks, signal);
        return { location: this.describe(key), size: meter.bytes };
      }
      upload = new Upload({
        client: this.guardedClient(key, meter, signal, unsigned),
        params: {
          Bucket: this.bucket,
          Key: key,
          Body: Readable.from(chunks, { objectMode: false }),
          ContentType: input.contentType,
          Metadata: metadata,
          ServerSideEncryption: this.serverSideEncryption,
          SSEKMSKeyId: this.kmsKeyId,
          // lib-storage copies its params into the PutObject of a small body and into
          // CompleteMultipartUpload, the two requests that commit: S3 then refuses to
          // replace an object (412), even one committed after our own checks.
          IfNoneMatch: '*',
        },
        partSize,
        queueSize: this.queueSize,
        // We abort the multipart upload ourselves: lib-storage's own abort throws the
        // abort's error in place of the one that failed the upload (and s3rver answers 405).
        leavePartsOnError: true,
      });
      await upload.done();
      return { location: this.describe(key), size: meter.bytes };
    } catch (error) {
      const refused = error instanceof KeyTaken || isPreconditionFailed(error);
      if (refused && meter.bodyError === undefined && !signal?.aborted) {
        // Only a commit is refused this way. lib-storage sends its commits once the body
        // was read to its end; S3 may refuse a streamed PutObject before (a 412 to its
        // Expect: 100-continue): read the rest, for the digest and the body's own checks.
        await drain(chunks).catch(ignore);
      }
      // done() settles only after every part in flight has settled, so the abort
      // below cannot race an UploadPart.
      const origin = writeOrigin(meter, signal);
      const cause = writeCause(meter, signal, error);
      input.body.destroy();
      const cleanupError = await this.abortMultipart(key, upload?.uploadId);
      // Found by the first check, before any upload existed: nothing to add.
      if (error instanceof ArchiveKeyConflictError) throw error;
      if (origin === 'store' && refused) {
        return await this.settleAfterRefusedCommit(key, meter, error, cleanupError, signal);
      }
      throw new ArchiveWriteError(`could not store ${key} in s3://${this.bucket}: ${describeError(cause)}`, key, origin, {
        cause,
        cleanupError,
      });
    } finally {
      release();
    }
  }

  async head(key: string): Promise<ArchiveObjectInfo | undefined> {
    assertArchiveKey(key);
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      const { [SHA256_METADATA_NAME]: _digest, ...given } = out.Metadata ?? {};
      return { size: out.ContentLength ?? 0, metadata: decodeMetadata(given) };
    } catch (error) {
      // A HEAD answer has no body: a missing key and a missing bucket both read as 404.
      if (httpStatus(error) === 404) return undefined;
      throw new ArchiveReadError(`could not read ${key} in s3://${this.bucket}: ${describeError(error)}`, { cause: error });
    }
  }

  async get(key: string): Promise<Readable> {
    assertArchiveKey(key);
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      if (!(out.Body instanceof Readable)) throw new Error('the response body is not a Node stream');
      return out.Body;
    } catch (error) {
      if (errorName(error) === 'NoSuchKey') throw new ArchiveNotFoundError(key);
      throw new ArchiveReadError(`could not read ${key} in s3://${this.bucket}: ${describeError(error)}`, { cause: error });
    }
  }

  describe(key: string): ArchiveLocation {
    assertArchiveKey(key);
    return s3Location(this.bucket, key);
  }

  private partSizeFor(contentLength: number | undefined): number {
    if (contentLength === undefined) return this.partSizeBytes;
    if (contentLength > MAX_OBJECT_BYTES) throw new ArchiveInputError(`${contentLength} bytes is over S3's object size limit`);
    return Math.max(this.partSizeBytes, Math.ceil(contentLength / MAX_PARTS / MiB) * MiB);
  }

  private probe(key: string, signal: AbortSignal | undefined): Promise<StoredObject | 'absent' | 'unknown'> {
    return probeObject(this.target, key, signal);
  }

  /** Whether the body goes as one streamed PutObject (see the top of this file); else through lib-storage's Upload. */
  private streamsInOnePut(contentLength: number | undefined, unsigned: boolean): boolean {
    // A stream body goes unsigned whatever we do (the SDK cannot hash it ahead): only over a connection that protects it.
    if (!(this.streamSinglePut ?? !hasCustomEndpoint(this.client)) || !unsigned || contentLength === undefined) return false;
    // Under a part, lib-storage's single PutObject (sent once the body was read) records the digest, which saves reading the object back.
    return contentLength >= this.partSizeBytes && contentLength <= MAX_SINGLE_PUT_BYTES;
  }

  /**
   * One PutObject streaming the metered body (its length declared). Its last chunk goes
   * out only once the body ended and passed its checks and the key was checked once
   * more; a body that fails, or a key found taken (KeyTaken), aborts the request short of
   * the declared length, so nothing is committed. Rejects with the body's own error, or
   * KeyTaken, or S3's; on a refusal the rest of the body may still be unread.
   */
  private async putStreamed(
    key: string,
    input: ArchivePutInput,
    metadata: Record<string, string>,
    chunks: AsyncIterable<Buffer>,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const stopped = new AbortController();
    let failure: { error: unknown } | undefined;
    const body = heldBackBody(chunks, async () => {
      const now = await this.probe(key, signal);
      if (typeof now === 'object') throw new KeyTaken(now);
    });
    // The SDK pipes the body into the request, and a pipe does not end its destination on an error: abort the request.
    body.on('error', (error) => {
      failure ??= { error };
      stopped.abort(error);
    });
    const command = new PutObjectCommand({
      Bucket: this.bucket,
      Key: key,
      Body: body,
      ContentLength: input.contentLength,
      ContentType: input.contentType,
      Metadata: metadata,
      ServerSideEncryption: this.serverSideEncryption,
      SSEKMSKeyId: this.kmsKeyId,
      // S3 refuses to replace an object (412), even one committed after our own checks.
      IfNoneMatch: '*',
    });
    // Only ever called where the connection protects the bytes (streamsInOnePut).
    sendUnsignedPayload(command);
    quietStreamingRetryWarning(command);
    handleWrappedBodyErrors(command);
    try {
      await this.client.send(command, { abortSignal: signal ? AbortSignal.any([signal, stopped.signal]) : stopped.signal });
    } catch (error) {
      throw failure?.error ?? error;
    } finally {
      // Stops pulling the body, never ends it: a refused put reads it to its end.
      body.destroy();
    }
  }


  /**
   * The client lib-storage talks through: before a request that would commit, the key
   * is checked again (S3-compatible servers such as s3rver ignore If-None-Match), and
   * a single PutObject, sent only once the whole body was read, records its digest.
   * With `unsigned`, the requests that carry bytes go UNSIGNED-PAYLOAD.
   */
  private guardedClient(key: string, meter: BodyMeter, signal: AbortSignal | undefined, unsigned: boolean): S3Client {
    const client = this.client;
    const send = async (command: unknown, ...rest: unknown[]): Promise<unknown> => {
      if (unsigned && (command instanceof PutObjectCommand || command instanceof UploadPartCommand)) sendUnsignedPayload(command);
      const commits = command instanceof PutObjectCommand || command instanceof CompleteMultipartUploadCommand;
      if (commits) {
        if (command instanceof PutObjectCommand && meter.sha256 !== undefined) {
          command.input.Metadata = { ...command.input.Metadata, [SHA256_METADATA_NAME]: meter.sha256 };
        }
        const now = await this.probe(key, signal);
        if (typeof now === 'object') throw new KeyTaken(now);
      }
      return (client.send as (...args: unknown[]) => Promise<unknown>)(command, ...rest);
    };
    return new Proxy(client, {
      get: (target, property) => (property === 'send' ? send : Reflect.get(target, property, target)),
    });
  }

  /** The key was taken before anything was sent: same bytes are the archived result, others a conflict. */
  private async settleTaken(key: string, meter: BodyMeter, existing: StoredObject, signal: AbortSignal | undefined): Promise<ArchivePutResult> {
    if (await holdsSameBytes(this.target, key, expectedOf(meter), existing, signal)) return { location: this.describe(key), size: meter.bytes };
    throw new ArchiveKeyConflictError(key);
  }

  /** S3 (412) or our own check refused the commit: another object got under the key first. */
  private async settleAfterRefusedCommit(
    key: string,
    meter: BodyMeter,
    refusal: unknown,
    cleanupError: unknown,
    signal: AbortSignal | undefined,
  ): Promise<ArchivePutResult> {
    await settleRefusedCommit(this.target, key, expectedOf(meter), refusal, cleanupError, signal);
    return { location: this.describe(key), size: meter.bytes };
  }

  private abortMultipart(key: string, uploadId: string | undefined): Promise<unknown> {
    return abortMultipartUpload(this.target, key, uploadId);
  }
}

/**
 * The body of a streamed PutObject: the metered chunks, each sent once the next one is
 * there, the last only after the body ended cleanly (the meter's checks passed) and
 * `beforeLast` resolved. The server has the declared length only with that last chunk,
 * so a body that fails — even in its final flush — or a `beforeLast` that throws leaves
 * it short. Destroying the stream stops the pulling but never ends the chunks, which
 * can then still be read to their end (drain).
 */
function heldBackBody(chunks: AsyncIterable<Buffer>, beforeLast: () => Promise<void>): Readable {
  const source = chunks[Symbol.asyncIterator]();
  async function* held(): AsyncGenerator<Buffer> {
    let last: Buffer | undefined;
    for (;;) {
      // Not for await: leaving the loop must not end the source.
      const step = await source.next();
      if (stream.destroyed) return;
      if (step.done) break;
      // An empty chunk held back would let the chunk before it complete the body.
      if (step.value.length === 0) continue;
      if (last !== undefined) yield last;
      last = step.value;
    }
    await beforeLast();
    if (stream.destroyed) return;
    if (last !== undefined) yield last;
  }
  const stream = Readable.from(held(), { objectMode: false });
  return stream;
}

const STREAMING_RETRY_WARNING = 'An error was encountered in a non-retryable streaming request.';

/**
 * The SDK's retry step does not retry a request with a stream body (it cannot be sent
 * again) and says so on the console (with the default no-op logger) or the client's
 * logger, for every such failure; the put reports its failures itself. Drops that one
 * line, for this command only; everything else goes to the client's logger as before.
 */
/**
 * With the SDK's default checksums ('WHEN_SUPPORTED', what Lambda runs), the SDK sends
 * the body through an aws-chunked stream of its own, which re-emits the body's error and
 * has no error listener: a body that fails mid-put (a Zoom download reset) was an
 * uncaught exception that killed the process. The error itself is handled on the body
 * (putStreamed records it and aborts the request); this only gives the SDK's wrapper a
 * listener. Found by the cloud rehearsal (tests/rehearsal).
 */
function handleWrappedBodyErrors(command: PutObjectCommand): void {
  command.middlewareStack.add(
    (next) => (args) => {
      const body = (args.request as { body?: unknown }).body as { on?: unknown; listenerCount?: (event: string) => number } | undefined;
      if (body && typeof body.on === 'function' && body.listenerCount?.('error') === 0) (body as NodeJS.EventEmitter).on('error', () => undefined);
      return next(args);
    },
    // After the build step, where the checksum middleware wraps the body.
    { step: 'finalizeRequest', name: 'zoomArchiverWrappedBodyErrors', override: true },
  );
}

function quietStreamingRetryWarning(command: PutObjectCommand): void {
  command.middlewareStack.add(
    (next, context) => (args) => {
      const logger = context.logger;
      context.logger = {
        trace: (...content: unknown[]) => logger?.trace?.(...content),
        debug: (...content: unknown[]) => logger?.debug(...content),
        info: (...content: unknown[]) => logger?.info(...content),
        warn: (...content: unknown[]) => {
          if (content[0] !== STREAMING_RETRY_WARNING) logger?.warn(...content);
        },
        error: (...content: unknown[]) => logger?.error(...content),
      };
      return next(args);
    },
    { step: 'initialize', name: 'zoomArchiverQuietStreamingRetry', override: true },
  );
}

/**
 * Whether the client talks to another endpoint than S3's own: one it was given, or one
 * from the environment or the shared config (AWS_ENDPOINT_URL_S3), which the SDK sets
 * on its config at the first request (the put's first check of the key comes before).
 */
function hasCustomEndpoint(client: S3Client): boolean {
  const config = client.config as { endpoint?: unknown; isCustomEndpoint?: boolean };
  return config.isCustomEndpoint === true || config.endpoint !== undefined;
}

/** Reads the metered chunks to their end (a body's errors are recorded by its meter). */
async function drain(chunks: AsyncIterable<Buffer>): Promise<void> {
  for await (const _chunk of chunks) {
    // drain
  }
}

function ignore(): void {}

/** What probe() learns of an object under the key. */
export interface StoredObject {
  size: number;
  /** The digest a single PutObject recorded; absent on multipart objects and objects written by others. */
  sha256?: string;
}

/** Thrown by the guarded client instead of sending a commit: the key was taken meanwhile. */
export class KeyTaken extends Error {
  constructor(readonly existing: StoredObject) {
    super('the archive key was taken before the commit');
    this.name = 'KeyTaken';
  }
}

/** Where `key` is in `bucket`; no checks, no I/O. */
export function s3Location(bucket: string, key: string): ArchiveLocation {
  return { kind: 's3', container: bucket, key, uri: `s3://${bucket}/${key}` };
}

/**
 * What a put knows of its bytes, to compare them with an object under a taken key:
 * their size and the SHA-256 of consecutive ranges that cover them — one range, the
 * whole body; for a resumed body, the committed prefix (from the saved hash state)
 * and the rest (hashed while streaming).
 */
export interface ExpectedBytes {
  size: number;
  /** In order; each range runs from the previous one's end (0 for the first) to its own `end`; the last ends at `size`. */
  ranges: readonly { end: number; sha256: string }[];
}

/** The whole metered body, once it ended and passed its checks; undefined before (nothing to compare). */
export function expectedOf(meter: BodyMeter): ExpectedBytes | undefined {
  return meter.sha256 === undefined ? undefined : { size: meter.bytes, ranges: [{ end: meter.bytes, sha256: meter.sha256 }] };
}

/**
 * What is under the key now: the object's size and recorded digest, 'absent', or
 * 'unknown' when S3 will not say (403: without s3:ListBucket a missing key reads as
 * forbidden) — then the conditional write decides alone.
 */
export async function probeObject(target: S3Target, key: string, signal: AbortSignal | undefined): Promise<StoredObject | 'absent' | 'unknown'> {
  try {
    const out = await target.client.send(new HeadObjectCommand({ Bucket: target.bucket, Key: key }), { abortSignal: signal });
    const sha256 = out.Metadata?.[SHA256_METADATA_NAME];
    return { size: out.ContentLength ?? 0, sha256: sha256 && SHA256_HEX.test(sha256) ? sha256 : undefined };
  } catch (error) {
    const status = httpStatus(error);
    if (status === 404) return 'absent';
    if (status === 403) return 'unknown';
    throw error;
  }
}

/**
 * Same size and same SHA-256. The digest is recorded only by a single PutObject (a
 * multipart upload's metadata is fixed before its first byte); without it — or when
 * the put knows its bytes only as ranges (a resumed put) — the stored bytes are read
 * back and hashed range by range: only ever for a key that is taken by an object of
 * the very same size, which is how a retry after a crash looks. `expected` undefined:
 * nothing to compare with, never the same.
 */
export async function holdsSameBytes(
  target: S3Target,
  key: string,
  expected: ExpectedBytes | undefined,
  existing: StoredObject,
  signal: AbortSignal | undefined,
): Promise<boolean> {
  if (expected === undefined || existing.size !== expected.size) return false;
  const { ranges } = expected;
  if (ranges.length === 0 || ranges.at(-1)!.end !== expected.size) return false;
  if (existing.sha256 !== undefined && ranges.length === 1) return existing.sha256 === ranges[0]!.sha256;
  const out = await target.client.send(new GetObjectCommand({ Bucket: target.bucket, Key: key }), { abortSignal: signal });
  if (!(out.Body instanceof Readable)) throw new Error('the response body is not a Node stream');
  let index = 0;
  let position = 0;
  let hash = createHash('sha256');
  // Ends every range that ends at `position` (an empty one included); false at the first that differs.
  const closeRanges = (): boolean => {
    while (index < ranges.length && position === ranges[index]!.end) {
      if (hash.digest('hex') !== ranges[index]!.sha256) return false;
      index++;
      hash = createHash('sha256');
    }
    return true;
  };
  if (!closeRanges()) {
    out.Body.destroy();
    return false;
  }
  for await (const chunk of out.Body) {
    const bytes = chunk as Buffer;
    for (let at = 0; at < bytes.length; ) {
      // More bytes than the ranges cover: not the same object.
      if (index >= ranges.length) return false;
      const take = Math.min(bytes.length - at, ranges[index]!.end - position);
      hash.update(bytes.subarray(at, at + take));
      at += take;
      position += take;
      if (!closeRanges()) return false;
    }
  }
  return position === expected.size && index === ranges.length;
}

/**
 * S3 (412) or our own check (KeyTaken) refused the commit: another object got under the
 * key first. Resolves when it holds the same bytes (the archived result); rejects
 * with ArchiveKeyConflictError when it holds others or nothing proves them equal, and
 * with ArchiveWriteError when they could not be compared.
 */
export async function settleRefusedCommit(
  target: S3Target,
  key: string,
  expected: ExpectedBytes | undefined,
  refusal: unknown,
  cleanupError: unknown,
  signal: AbortSignal | undefined,
): Promise<void> {
  let same = false;
  try {
    const existing = refusal instanceof KeyTaken ? refusal.existing : await probeObject(target, key, signal);
    if (typeof existing === 'object') same = await holdsSameBytes(target, key, expected, existing, signal);
  } catch (error) {
    // A failed read proves nothing either way; a later attempt can compare.
    const origin = signal?.aborted ? 'aborted' : 'store';
    throw new ArchiveWriteError(`could not compare ${key} in s3://${target.bucket} with the object there: ${describeError(error)}`, key, origin, {
      cause: error,
      cleanupError,
    });
  }
  if (same) return;
  // After a 412 the key may read as gone again, or as forbidden: nothing proves the bytes equal.
  throw new ArchiveKeyConflictError(key, { cause: refusal instanceof KeyTaken ? undefined : refusal, cleanupError });
}

/** Returns the clean-up failure, if any: it is reported, never thrown in place of the put's own error. */
export async function abortMultipartUpload(target: S3Target, key: string, uploadId: string | undefined): Promise<unknown> {
  if (!uploadId) return undefined;
  try {
    await target.client.send(new AbortMultipartUploadCommand({ Bucket: target.bucket, Key: key, UploadId: uploadId }));
    return undefined;
  } catch (error) {
    // NoSuchUpload: nothing left to remove. Anything else (s3rver always answers 405)
    // leaves parts behind: never visible as an object, but stored (and billed) until
    // the bucket's rule for incomplete multipart uploads removes them.
    return errorName(error) === 'NoSuchUpload' ? undefined : error;
  }
}

/** S3's answer to If-None-Match on a taken key. (409 ConditionalRequestConflict, a race with another commit, is retryable.) */
export function isPreconditionFailed(error: unknown): boolean {
  return errorName(error) === 'PreconditionFailed' || httpStatus(error) === 412;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;
/** A stand-in of the recorded digest's length, so that the metadata limit is checked before any byte is read. */
const SHA256_PLACEHOLDER = '0'.repeat(64);

/** Printable ASCII without edge spaces (HTTP trims them) passes as is. */
const HEADER_SAFE = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;
const ENCODED_WORD = /^=\?UTF-8\?B\?([A-Za-z0-9+/]*={0,2})\?=$/i;

/**
 * Header values cannot carry non-ASCII text: such values (course names, topics)
 * become RFC 2047 encoded words, the form S3 itself uses for non-ASCII metadata.
 */
export function encodeMetadata(metadata: Record<string, string>, options: { reserveSha256?: boolean } = {}): Record<string, string> {
  assertArchiveMetadata(metadata);
  const encoded: Record<string, string> = {};
  let bytes = options.reserveSha256 ? SHA256_METADATA_NAME.length + SHA256_PLACEHOLDER.length : 0;
  for (const [name, value] of Object.entries(metadata)) {
    const safe = HEADER_SAFE.test(value) && !value.startsWith('=?');
    const headerValue = safe ? value : `=?UTF-8?B?${Buffer.from(value, 'utf8').toString('base64')}?=`;
    encoded[name] = headerValue;
    bytes += name.length + headerValue.length;
  }
  if (bytes > MAX_METADATA_BYTES) throw new ArchiveInputError(`metadata is ${bytes} bytes once encoded, over ${MAX_METADATA_BYTES}`);
  return encoded;
}

export function decodeMetadata(metadata: Record<string, string>): Record<string, string> {
  const decoded: Record<string, string> = {};
  for (const [name, value] of Object.entries(metadata)) {
    const word = ENCODED_WORD.exec(value);
    decoded[name] = word ? Buffer.from(word[1] ?? '', 'base64').toString('utf8') : value;
  }
  return decoded;
}

export function httpStatus(error: unknown): number | undefined {
  const metadata = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata;
  return metadata?.httpStatusCode;
}

export function errorName(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}

export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
