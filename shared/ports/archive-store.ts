/**
 * Port: the archive where recording files end up (an S3 bucket, or a folder on disk).
 *
 * The promises every adapter keeps: an object appears under its final key only
 * when its body ended without error (and with the declared length, when one was
 * given), and only if the key was free — an archived object is never replaced. A put
 * whose bytes are already under the key (same size, same SHA-256) succeeds and
 * leaves that object as it was, so a retry after a crash is harmless; one whose
 * bytes differ is refused with ArchiveKeyConflictError. A failed put leaves nothing
 * new under the key and cleans up after itself (multipart upload, temporary file).
 *
 * The rules every adapter must enforce identically (key shape, metadata names,
 * metering the body) live here too, so the adapters cannot drift apart.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { ArchiverError } from '../errors';
import type { ArchiveLocation } from '../events';

export interface ArchivePutInput {
  /** Relative, '/'-separated, already sanitized; checked again here (see assertArchiveKey). */
  key: string;
  /**
   * The bytes, streamed. put takes ownership: it reads the body to its end, or
   * destroys it when the put fails. The body may error at any point, including at
   * its very end (a verifying Transform's flush), and then nothing is committed.
   */
  body: Readable;
  /** Expected size in bytes when known: a body of any other length is refused, nothing is committed. */
  contentLength?: number;
  contentType?: string;
  /**
   * Lower-case names ([a-z0-9-]), e.g. recording-id, file-id, course, recording-start.
   * Values may be any text; adapters that keep metadata encode what a header cannot carry.
   * `sha256` is reserved: a store may record the body's digest under that name.
   */
  metadata: Record<string, string>;
  /** Aborting rejects the put with origin 'aborted'; nothing is committed. */
  signal?: AbortSignal;
}

export interface ArchivePutResult {
  location: ArchiveLocation;
  /** Bytes stored, as counted while streaming. */
  size: number;
}

export interface ArchiveObjectInfo {
  size: number;
  /** The metadata as given to put, decoded; `{}` from a store that does not keep metadata. */
  metadata: Record<string, string>;
}

export interface ArchiveStore {
  readonly kind: ArchiveLocation['kind'];
  /**
   * Whether head() returns the metadata given to put. The folder store does not keep
   * it (the ledger and the audit trail have it); the S3 store does.
   */
  readonly keepsMetadata: boolean;
  /**
   * Streams the body under the key, if the key is free, and resolves once it is
   * committed. The body is always read to its end, so that a failing body is reported
   * as such even when the key turns out to be taken. When the key already holds the
   * same bytes, resolves as if it had written them; when it holds other bytes, rejects
   * with ArchiveKeyConflictError and the object there stays as it was. Rejects with
   * ArchiveInputError (before reading) for an invalid key, metadata or body, and with
   * ArchiveWriteError when anything fails later; in every case nothing new is under
   * the key.
   */
  put(input: ArchivePutInput): Promise<ArchivePutResult>;
  /** Size and metadata of the object under key, or undefined when there is none. */
  head(key: string): Promise<ArchiveObjectInfo | undefined>;
  /** The object's bytes (for verification and tests); ArchiveNotFoundError when there is none. */
  get(key: string): Promise<Readable>;
  /** Where key is (or would be) stored; no I/O. */
  describe(key: string): ArchiveLocation;
}

/** Where a failed put went wrong: the caller's body, the archive itself, or the caller's abort signal. */
export type ArchiveWriteOrigin = 'body' | 'store' | 'aborted';

/**
 * A put failed and committed nothing. `cause` is the first error: the body's own
 * error when origin is 'body' (so the caller recognises its size or content check),
 * the SDK or file-system error when 'store'. Retryable unless the cause says
 * otherwise (an ArchiverError's own flag) or the key can never be written here.
 */
export class ArchiveWriteError extends ArchiverError {
  readonly retryable: boolean;
  /** A failure while cleaning up (e.g. aborting the multipart upload); the put failed regardless. */
  readonly cleanupError: unknown;
  constructor(
    message: string,
    readonly key: string,
    readonly origin: ArchiveWriteOrigin,
    options: { cause: unknown; retryable?: boolean; cleanupError?: unknown },
  ) {
    super(message, { cause: options.cause });
    this.retryable =
      options.retryable ?? (options.cause instanceof ArchiverError ? options.cause.retryable : true);
    this.cleanupError = options.cleanupError;
  }
}

/**
 * The key already holds an object with other bytes (another size or SHA-256), or one
 * the store cannot prove equal: the put committed nothing and the object there is
 * untouched. Never retryable: the same request names the same key. A subclass of
 * ArchiveWriteError (origin 'store'), so callers that handle any failed put still do.
 */
export class ArchiveKeyConflictError extends ArchiveWriteError {
  override readonly retryable = false;
  constructor(key: string, options: { cause?: unknown; cleanupError?: unknown } = {}) {
    super(`archive key already holds a different object: ${key}`, key, 'store', {
      cause: options.cause,
      retryable: false,
      cleanupError: options.cleanupError,
    });
  }
}

/** The key, metadata or body given to the store is unusable; the same input will fail again. */
export class ArchiveInputError extends ArchiverError {
  readonly retryable = false;
}

/** The body's length differs from the declared contentLength. */
export class ArchiveBodySizeError extends ArchiverError {
  readonly retryable = true;
  constructor(
    readonly expected: number,
    readonly received: number,
    readonly complete: boolean,
  ) {
    super(
      complete
        ? `body ended after ${received} bytes, ${expected} were declared`
        : `body exceeded the declared ${expected} bytes`,
    );
  }
}

/** get() of a key with no object. */
export class ArchiveNotFoundError extends ArchiverError {
  readonly retryable = false;
  constructor(readonly key: string) {
    super(`no archived object under ${JSON.stringify(key)}`);
  }
}

/** head() or get() failed for another reason than a missing object. */
export class ArchiveReadError extends ArchiverError {
  readonly retryable = true;
}

/** S3's limit, in UTF-8 bytes; the folder store keeps the same bound so both accept the same keys. */
export const MAX_KEY_BYTES = 1024;
/** S3's limit for user metadata, names plus values, in UTF-8 bytes. */
export const MAX_METADATA_BYTES = 2048;

const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const METADATA_NAME = /^[a-z0-9][a-z0-9-]*$/;
/** Where a store records the SHA-256 (lower-case hex) of the bytes it committed. */
export const SHA256_METADATA_NAME = 'sha256';

/**
 * Defense in depth: the key template's sanitizer already prevents all of these. A key
 * that could climb out of a folder, or that S3 and a file system would read
 * differently, is refused rather than repaired.
 */
export function assertArchiveKey(key: string): void {
  const problem = keyProblem(key);
  if (problem) throw new ArchiveInputError(`invalid archive key ${JSON.stringify(key)}: ${problem}`);
}

function keyProblem(key: string): string | undefined {
  if (typeof key !== 'string' || key.length === 0) return 'empty';
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) return `longer than ${MAX_KEY_BYTES} bytes`;
  if (LONE_SURROGATE.test(key)) return 'not well-formed Unicode';
  if (CONTROL_CHARACTERS.test(key)) return 'control character';
  if (key.includes('\\')) return 'backslash (keys are /-separated)';
  if (key.startsWith('/')) return 'absolute';
  for (const segment of key.split('/')) {
    if (segment === '') return 'empty path segment';
    if (segment === '.' || segment === '..') return `'${segment}' segment`;
  }
  return undefined;
}

/** Names must survive as HTTP header names (S3 lower-cases them); the total must fit S3's limit. */
export function assertArchiveMetadata(metadata: Record<string, string>): void {
  let bytes = 0;
  for (const [name, value] of Object.entries(metadata)) {
    if (!METADATA_NAME.test(name)) throw new ArchiveInputError(`invalid metadata name ${JSON.stringify(name)}`);
    if (name === SHA256_METADATA_NAME) throw new ArchiveInputError(`metadata name ${name} is reserved for the store`);
    if (typeof value !== 'string') throw new ArchiveInputError(`metadata ${name} is not a string`);
    bytes += Buffer.byteLength(name, 'utf8') + Buffer.byteLength(value, 'utf8');
  }
  if (bytes > MAX_METADATA_BYTES) throw new ArchiveInputError(`metadata is ${bytes} bytes, over ${MAX_METADATA_BYTES}`);
}

/** What a metered body has seen so far. */
export interface BodyMeter {
  bytes: number;
  /** The first error the body itself raised (or the size check), as opposed to errors of the store. */
  bodyError?: unknown;
  /** Lower-case hex SHA-256 of the whole body, when asked for; set only once the body ended and passed its checks. */
  sha256?: string;
}

/**
 * Validates a put's input and wraps its body for an adapter: the returned iterable
 * yields the body's bytes, counts them, enforces contentLength (an overrun fails at
 * once, a shortfall at the end, so a short body is never committed), and records
 * which failures came from the body — errors thrown by the consumer of the iterable
 * are the store's. Aborting the signal destroys the body, so a stalled download
 * cannot hold the put. With `hash`, the body's SHA-256 is computed on the way (a
 * store that must record it or compare it before committing). Call `release()` when
 * the put is settled.
 */
export function meterPutBody(input: ArchivePutInput, options: { hash?: boolean } = {}): {
  chunks: AsyncIterable<Buffer>;
  meter: BodyMeter;
  release(): void;
} {
  const { body, contentLength, signal } = input;
  if (body.destroyed || body.readableEnded || body.readableDidRead) {
    throw new ArchiveInputError('the body was already read or destroyed');
  }
  if (contentLength !== undefined && !(Number.isSafeInteger(contentLength) && contentLength >= 0)) {
    throw new ArchiveInputError(`invalid contentLength ${contentLength}`);
  }
  const meter: BodyMeter = { bytes: 0 };
  const hash = options.hash ? createHash('sha256') : undefined;
  // The body's errors reach us through the iterator below; until it starts (lib-storage
  // pulls later) this listener keeps an early error from crashing the process.
  body.on('error', ignore);
  const onAbort = () => body.destroy(abortReason(signal));
  if (signal?.aborted) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });

  async function* chunks(): AsyncGenerator<Buffer> {
    const source = body[Symbol.asyncIterator]() as AsyncIterator<unknown>;
    let drained = false;
    try {
      for (;;) {
        let step: IteratorResult<unknown>;
        try {
          step = await source.next();
        } catch (error) {
          meter.bodyError ??= error;
          throw error;
        }
        if (step.done) break;
        const chunk = toBuffer(step.value, meter);
        meter.bytes += chunk.length;
        if (contentLength !== undefined && meter.bytes > contentLength) {
          throw (meter.bodyError = new ArchiveBodySizeError(contentLength, meter.bytes, false));
        }
        hash?.update(chunk);
        // The yield stays outside the inner try: an error thrown in here by the consumer is the store's.
        yield chunk;
      }
      drained = true;
    } finally {
      // Ends the body when the consumer stopped early or the size check failed.
      if (!drained) await source.return?.();
    }
    if (contentLength !== undefined && meter.bytes !== contentLength) {
      throw (meter.bodyError = new ArchiveBodySizeError(contentLength, meter.bytes, true));
    }
    if (hash) meter.sha256 = hash.digest('hex');
  }

  return {
    chunks: chunks(),
    meter,
    release: () => signal?.removeEventListener('abort', onAbort),
  };
}

/** The origin of a failed put, decided when it fails (before any clean-up destroys the body). */
export function writeOrigin(meter: BodyMeter, signal: AbortSignal | undefined): ArchiveWriteOrigin {
  if (signal?.aborted) return 'aborted';
  return meter.bodyError === undefined ? 'store' : 'body';
}

/** The error a failed put's `cause` should carry: the body's own error wins over what it caused downstream. */
export function writeCause(meter: BodyMeter, signal: AbortSignal | undefined, storeError: unknown): unknown {
  if (signal?.aborted) return meter.bodyError ?? abortReason(signal);
  return meter.bodyError ?? storeError;
}

function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  if (reason instanceof Error) return reason;
  return Object.assign(new Error('the put was aborted'), { name: 'AbortError', cause: reason });
}

function ignore(): void {}

function toBuffer(chunk: unknown, meter: BodyMeter): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  throw (meter.bodyError = new ArchiveInputError('the body yielded something other than bytes'));
}
