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
 * The rules every adapter must enforce identically (key shape, metadata names) are in
 * shared/adapters/archive-rules.ts, so the adapters cannot drift apart; the body
 * metering they share is in shared/adapters/archive-put-body.ts.
 */
import type { Readable } from 'node:stream';
import { ArchiverError } from '../errors';
import type { ArchiveLocation } from '../events';
import type { TransferCheckpoint } from './upload-ledger';

export interface ArchivePutInput {
  /** Relative, '/'-separated, already sanitized; checked again by the store (assertArchiveKey). */
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

/**
 * A put that can continue where an earlier one stopped: after a crash, a time limit,
 * or the end of a Lambda invocation (ArchiveStore.resumable). The checkpoint is the
 * ledger's TransferCheckpoint: what the store has made durable so far.
 */
export interface ResumablePutInput extends ArchivePutInput {
  /**
   * The checkpoint to continue from, as `prepareResume` accepted it (its `offset` > 0);
   * `body` then starts at `resumeFrom.bytesCommitted`. Absent: from byte 0 (any earlier
   * partial state of the key is discarded).
   */
  resumeFrom?: TransferCheckpoint;
  /**
   * Called, in order, after each checkpoint is durable in the store (at most every
   * `checkpointBytes` of body, and never after the commit). Resolving false (the
   * caller lost its lease) aborts the put with origin 'aborted'. One is in flight at a
   * time and the commit waits for it; the put may go on writing meanwhile (those bytes
   * lie after the checkpoint and are not part of it), so recording it costs no speed.
   */
  onCheckpoint(checkpoint: TransferCheckpoint): Promise<boolean>;
  /**
   * The whole object's hex SHA-256 (the resumed prefix included), asked only once the
   * body has ended cleanly: from a caller that hashes the bytes anyway (the uploader's
   * verifier), so that the store need not hash them a second time to compare a key it
   * finds taken. Absent: the store hashes the body itself.
   */
  sha256?: () => Promise<string>;
}

/** What a store still holds of an earlier put, for a resume. */
export interface ResumePoint {
  /** Where the body must start: the checkpoint's `bytesCommitted` when the store still holds those bytes, else 0 (start over). */
  offset: number;
  /** With offset > 0 and resumeHash 'read-back': the committed bytes [0, offset) as the store holds them, for the caller's checksum to cover the whole object. */
  committed?: () => Readable;
  /** With offset 0 after a checkpoint was given: why it cannot be resumed (for the log). */
  reason?: string;
}

/**
 * The store no longer has what a checkpoint names (an S3 multipart upload aborted or
 * expired): the transfer must start over from byte 0, without that checkpoint.
 */
export class ArchiveResumeLostError extends ArchiverError {
  readonly retryable = true;
}

export interface ResumableArchive {
  /** Bytes of body between two checkpoints (about; a checkpoint falls on a write boundary). */
  readonly checkpointBytes: number;
  /**
   * How the caller's checksum continues a resumed put:
   * - 'read-back': `prepareResume` gives `committed()`, the bytes the store holds, to hash
   *   again (the folder store: a local read, node:crypto speed);
   * - 'saved-state': the committed bytes cannot be read (S3: the parts of an unfinished
   *   multipart upload), so the caller saves its hash state at every checkpoint
   *   (`hashState`, at exactly `bytesCommitted`, which then falls on a multiple of
   *   `checkpointBytes`) and loads it to resume (shared/crypto/resumable-sha256.ts).
   */
  readonly resumeHash: 'read-back' | 'saved-state';
  /** Checks `checkpoint` against what the store holds for `key` (the object's whole size when known): never throws for a stale or foreign checkpoint, answers offset 0. */
  prepareResume(key: string, checkpoint: TransferCheckpoint | undefined, contentLength?: number): Promise<ResumePoint>;
  /** As ArchiveStore.put, with checkpoints; a failed put keeps its last checkpoint's bytes for the next resume (and discards them when it can never be resumed: a key conflict, an invalid key). */
  putResumable(input: ResumablePutInput): Promise<ArchivePutResult>;
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
  /** Present when the store can continue an interrupted put (the folder store); absent: every put starts from byte 0. */
  readonly resumable?: ResumableArchive;
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
