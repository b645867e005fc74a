/**
 * Resumable puts on S3 (ResumableArchive): our own multipart driver, because
 * lib-storage's Upload cannot continue an upload it did not start. It keeps the S3
 * store's promises (shared/adapters/archive-s3.ts) with the same helpers — the key
 * checks, the metadata encoding, the HeadObject before the upload and before the
 * commit, If-None-Match: * on the commit, the comparison of a taken key — and adds
 * checkpoints that a later attempt (another process, the next Lambda invocation)
 * continues from.
 *
 * Parts. Every part but the last is exactly `checkpointBytesFor(contentLength)`
 * bytes: the configured part size, or for an object over 10,000 such parts the
 * smallest multiple of it that fits (so a checkpoint still falls on a multiple of
 * `checkpointBytes`, where the caller saved its hash state). It depends on nothing
 * but the declared length and the configuration, so every resume of an object cuts
 * the same parts. The body is copied into part buffers of that size; up to
 * `queueSize` UploadParts are in flight while the next part fills, so memory is
 * bounded by part size × (queue size + 1) (`partBuffers` counts them). A body of 0
 * bytes, or one smaller than a part, is a single part (S3 allows one part of any size).
 * A whole part buffer whose upload completed is kept for the next part (of this put
 * or the next, at most queueSize + 1 of them), not left to the garbage collector:
 * new memory costs a page fault per 4 KiB. Each body chunk, once copied into a part,
 * is given back to the download's pool (shared/adapters/chunk-pool.ts).
 *
 * Checkpoints. When a part completes and every part before it has too, the
 * checkpoint up to it — `{ uploadId, bytesCommitted: <the parts' bytes>, parts: [every
 * part so far, in order] }` — is offered to `onCheckpoint`, one at a time, in order,
 * one per part but the last (after the last comes the commit). Parts go on uploading
 * meanwhile, at most about `queueSize` parts ahead of the checkpoints. A put that fails
 * (a broken body, a refused part) still offers the checkpoints of the parts that were
 * in flight and complete before it settles: they are durable, and a resume need not
 * send them again. A false answer (the lease is lost) aborts the put with origin
 * 'aborted' (cause CheckpointRefusedError) and keeps the upload for the new owner; no
 * checkpoint follows a refused or failed one, nor an aborted signal.
 *
 * Commit. After the last part, and once the last checkpoint was answered, the key is
 * checked again (HeadObject: S3-compatible servers ignore the condition), then
 * CompleteMultipartUpload with If-None-Match: *. A taken key (found by either check,
 * or S3's 412) aborts the upload, which can never be committed now, and is compared:
 * the same bytes are the archived result, other bytes an ArchiveKeyConflictError.
 *
 * Resume (`resumeFrom`, as `prepareResume` accepted it). The same upload: the body
 * starts at `bytesCommitted`, the parts go on at `parts.length + 1`, and the
 * checkpoint's parts go into the CompleteMultipartUpload with their ETags (which S3
 * checks: a part that is not as checkpointed fails the commit). The upload's parts are
 * listed first (ListParts), for their checksums (an upload created with a checksum
 * algorithm, the SDK's default against AWS, must name each part's in the commit) and
 * to find a gone or changed upload early. An upload that is gone (NoSuchUpload:
 * aborted, expired, completed) or no longer holds the checkpoint's parts fails the put
 * with a retryable ArchiveWriteError whose cause is MultipartUploadGoneError: drop the
 * checkpoint and start over. A resumed put knows the committed bytes only by the
 * checkpoint's `hashState` (resumeHash 'saved-state'); with it, a taken key is
 * compared range by range (the prefix by that state's digest, the rest as streamed),
 * without it nothing can prove the bytes equal, and the put fails retryably (cause
 * MultipartUploadGoneError, the upload aborted) so that a fresh put compares the
 * whole body. The metadata and content type are those the upload was created with.
 *
 * Failure. A put that offered a checkpoint, or resumed one, keeps its upload for the
 * next resume (no AbortMultipartUpload) unless it can never be resumed: a key
 * conflict, an invalid key, a failure that is not retryable other than a refused
 * checkpoint. Any other failed put aborts its upload, as put does. Parts in flight
 * settle before the put does, and no checkpoint is offered after it settled.
 *
 * prepareResume checks the checkpoint's shape (an upload id; parts numbered 1, 2, …
 * of the object's part size; bytesCommitted their sum), then lists the upload's parts:
 * each checkpointed part must be there with the same ETag and size. A server that does
 * not implement ListParts (405 or 501: s3rver 3.7.1) is trusted with the checkpoint —
 * S3 itself would check the ETags again at the commit. Its answer has no
 * `committed`: the parts of an unfinished upload cannot be read back. Needs
 * s3:ListMultipartUploadParts besides what put needs.
 *
 * Checksums follow the client's requestChecksumCalculation, as lib-storage does: with
 * 'WHEN_SUPPORTED' (the SDK's default) the upload is created with CRC32 and every
 * part carries its CRC32; with 'WHEN_REQUIRED' (s3rver) none.
 */
// archive-s3.ts imports this module too: use its exports only inside functions (never at load time).
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  ListPartsCommand,
  UploadPartCommand,
  type CompletedPart,
  type Part,
  type S3Client,
} from '@aws-sdk/client-s3';
import { ResumableSha256 } from '../crypto/resumable-sha256';
import { ArchiverError, ConfigError } from '../errors';
import {
  ArchiveInputError,
  ArchiveResumeLostError,
  ArchiveWriteError,
  type ArchivePutResult,
  type ResumableArchive,
  type ResumablePutInput,
  type ResumePoint,
} from '../ports/archive-store';
import type { CheckpointPart, TransferCheckpoint } from '../ports/upload-ledger';
import { CheckpointRefusedError } from './archive-folder';
import { meterPutBody, writeCause, writeOrigin, type BodyMeter } from './archive-put-body';
import { assertArchiveKey } from './archive-rules';
import { releaseChunk } from './chunk-pool';
import { clientConnectionProtects, sendUnsignedPayload } from './s3-payload';
import {
  KeyTaken,
  MAX_OBJECT_BYTES,
  MAX_PARTS,
  MAX_PART_SIZE_BYTES,
  MIN_PART_SIZE_BYTES,
  abortMultipartUpload,
  describeError,
  encodeMetadata,
  errorName,
  holdsSameBytes,
  httpStatus,
  isPreconditionFailed,
  probeObject,
  s3Location,
  settleRefusedCommit,
  type ExpectedBytes,
  type S3Target,
  type StoredObject,
} from './archive-s3';

export interface S3MultipartDriverOptions {
  client: S3Client;
  bucket: string;
  /** Bytes per part (checkpointBytes), 5 MiB to 5 GiB. */
  partSizeBytes: number;
  /** UploadParts in flight at most. */
  queueSize: number;
  serverSideEncryption?: 'AES256' | 'aws:kms';
  kmsKeyId?: string;
}

/**
 * The multipart upload a checkpoint names cannot be continued: it is gone (aborted,
 * expired, or completed), or no longer holds the checkpoint's parts. The cause of a
 * retryable ArchiveWriteError: drop the checkpoint and start the put over.
 */
export class MultipartUploadGoneError extends ArchiveResumeLostError {
  constructor(
    readonly key: string,
    readonly uploadId: string,
    detail: string,
    options: { cause?: unknown } = {},
  ) {
    super(`the multipart upload ${uploadId} of ${key} cannot be resumed: ${detail}`, { cause: options.cause });
  }
}

/** Part buffers held by puts of one driver: now, and the most at any time (for tests and metrics; `peak` may be reset). */
export interface PartBufferCount {
  held: number;
  peak: number;
  /** Part buffers allocated in new memory (the others were reused after their part's upload completed). */
  allocated: number;
}

/** A checkpoint's shape, accepted: what a resume continues. */
interface Resume {
  uploadId: string;
  bytes: number;
  parts: CheckpointPart[];
  hashState?: string;
}

/** One put's shared state, for the failure handling. */
interface PutState {
  uploadId?: string;
  /** onCheckpoint was called in this put: the caller may have recorded this upload. */
  offered: boolean;
  refused?: CheckpointRefusedError;
}

/** Pages of ListParts at most (1,000 parts a page, 10,000 parts an upload). */
const MAX_LIST_PAGES = 20;

export class S3MultipartDriver implements ResumableArchive {
  readonly resumeHash = 'saved-state' as const;
  /** The configured part size: every checkpoint falls on a multiple of it. */
  readonly checkpointBytes: number;
  readonly queueSize: number;
  readonly partBuffers: PartBufferCount = { held: 0, peak: 0, allocated: 0 };
  /** Whole part buffers whose upload completed, for the next parts: at most queueSize + 1 (what a put holds at once). */
  private readonly spareParts: Buffer[] = [];
  private readonly target: S3Target;
  private readonly serverSideEncryption: S3MultipartDriverOptions['serverSideEncryption'];
  private readonly kmsKeyId: string | undefined;

  constructor(options: S3MultipartDriverOptions) {
    const { partSizeBytes, queueSize } = options;
    if (!Number.isSafeInteger(partSizeBytes) || partSizeBytes < MIN_PART_SIZE_BYTES || partSizeBytes > MAX_PART_SIZE_BYTES) {
      throw new ConfigError(`S3 multipart: part size must be an integer from ${MIN_PART_SIZE_BYTES} to ${MAX_PART_SIZE_BYTES} bytes, got ${partSizeBytes}`);
    }
    if (!Number.isSafeInteger(queueSize) || queueSize < 1) throw new ConfigError(`S3 multipart: queue size must be a positive integer, got ${queueSize}`);
    this.target = { client: options.client, bucket: options.bucket };
    this.checkpointBytes = partSizeBytes;
    this.queueSize = queueSize;
    this.serverSideEncryption = options.serverSideEncryption;
    this.kmsKeyId = options.kmsKeyId;
    // Callers may take the methods off the object.
    this.prepareResume = this.prepareResume.bind(this);
    this.putResumable = this.putResumable.bind(this);
  }

  /**
   * The part size of an object of `contentLength` bytes (unknown: the configured one):
   * the configured size, or the smallest multiple of it that keeps the object within
   * 10,000 parts. Depends on nothing else, so every resume cuts the same parts.
   */
  checkpointBytesFor(contentLength: number | undefined): number {
    if (contentLength === undefined) return this.checkpointBytes;
    if (!(Number.isSafeInteger(contentLength) && contentLength >= 0)) throw new ArchiveInputError(`invalid contentLength ${contentLength}`);
    if (contentLength > MAX_OBJECT_BYTES) throw new ArchiveInputError(`${contentLength} bytes is over S3's object size limit`);
    return Math.max(1, Math.ceil(contentLength / MAX_PARTS / this.checkpointBytes)) * this.checkpointBytes;
  }

  /**
   * Checks `checkpoint` against the upload S3 holds for `key`; offset 0 with the reason
   * when it cannot be resumed. With `contentLength` (the object's declared size), the
   * parts must be of that object's size (checkpointBytesFor); without, of
   * `checkpointBytes` (an object over 10,000 parts then starts over).
   */
  async prepareResume(key: string, checkpoint: TransferCheckpoint | undefined, contentLength?: number): Promise<ResumePoint> {
    assertArchiveKey(key);
    if (checkpoint === undefined || checkpoint === null) return { offset: 0, reason: 'no checkpoint' };
    let partSize: number;
    try {
      partSize = this.checkpointBytesFor(contentLength);
    } catch (error) {
      return { offset: 0, reason: describeError(error) };
    }
    const problem = checkpointProblem(checkpoint, partSize);
    if (problem) return { offset: 0, reason: problem };
    const { uploadId, bytesCommitted, parts } = checkpoint as Required<TransferCheckpoint>;
    let listed: Map<number, Part> | 'unsupported';
    try {
      listed = await this.listParts(key, uploadId, undefined);
    } catch (error) {
      if (isNoSuchUpload(error)) return { offset: 0, reason: `the upload is gone (aborted, expired or completed): ${uploadId}` };
      return { offset: 0, reason: `the parts of upload ${uploadId} cannot be listed: ${describeError(error)}` };
    }
    // Not implemented here (s3rver): trusted; S3 would check the ETags at the commit anyway.
    if (listed === 'unsupported') return { offset: bytesCommitted };
    const mismatch = partsMismatch(parts, listed);
    if (mismatch) return { offset: 0, reason: mismatch };
    return { offset: bytesCommitted };
  }

  async putResumable(input: ResumablePutInput): Promise<ArchivePutResult> {
    const { key, signal } = input;
    let metadata: Record<string, string>;
    let partSize: number;
    let resume: Resume | undefined;
    let metered: ReturnType<typeof meterPutBody>;
    try {
      assertArchiveKey(key);
      if (typeof input.onCheckpoint !== 'function') throw new ArchiveInputError('a resumable put needs onCheckpoint');
      metadata = encodeMetadata(input.metadata, { reserveSha256: true });
      partSize = this.checkpointBytesFor(input.contentLength);
      if (input.resumeFrom !== undefined) resume = resumeOf(key, input.resumeFrom, partSize, input.contentLength);
      const prefix = resume?.bytes ?? 0;
      // The declared length is the whole object's; after a resume the body supplies the rest.
      const bodyLength = input.contentLength === undefined ? undefined : input.contentLength - prefix;
      // The caller's digest, where it has one, saves hashing every byte a second time here.
      metered = meterPutBody(prefix === 0 ? input : { ...input, contentLength: bodyLength }, { hash: input.sha256 === undefined });
    } catch (error) {
      input.body.destroy();
      throw error;
    }
    const { chunks, meter, release } = metered;
    const prefix = resume?.bytes ?? 0;
    const state: PutState = { uploadId: resume?.uploadId, offered: false };
    const expected = () => expectedBytes(resume, meter, input.sha256);
    try {
      const before = await probeObject(this.target, key, signal);
      if (typeof before === 'object') {
        // Taken already: read the body for its digest, upload nothing more.
        for await (const _chunk of chunks) {
          // drain
        }
        await this.settleTaken(key, state, resume, await expected(), before, signal);
        return { location: s3Location(this.target.bucket, key), size: prefix + meter.bytes };
      }
      const checksums = await this.usesChecksums();
      const earlier = resume ? await this.earlierParts(key, resume, signal) : [];
      const uploaded = await this.uploadParts({ key, input, partSize, resume, state, chunks, checksums, metadata });
      const now = await probeObject(this.target, key, signal);
      if (typeof now === 'object') throw new KeyTaken(now);
      await this.target.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.target.bucket,
          Key: key,
          UploadId: state.uploadId,
          MultipartUpload: { Parts: [...earlier, ...uploaded] },
          // S3 refuses to replace an object (412), even one committed after our own checks.
          IfNoneMatch: '*',
        }),
        { abortSignal: signal },
      );
      return { location: s3Location(this.target.bucket, key), size: prefix + meter.bytes };
    } catch (error) {
      if (error instanceof ArchiveWriteError) {
        // Settled already (a taken key compared), clean-up included.
        input.body.destroy();
        throw error;
      }
      const origin = state.refused ? 'aborted' : writeOrigin(meter, signal);
      let cause = state.refused ?? writeCause(meter, signal, error);
      input.body.destroy();
      if (origin === 'store' && (error instanceof KeyTaken || isPreconditionFailed(error))) {
        // Only a commit is refused this way, so the body was read to its end.
        await this.settleTaken(key, state, resume, await expected(), error, signal);
        return { location: s3Location(this.target.bucket, key), size: prefix + meter.bytes };
      }
      const uploadId = state.uploadId;
      if (origin === 'store' && uploadId !== undefined && !(cause instanceof MultipartUploadGoneError)) {
        if (isNoSuchUpload(cause)) cause = new MultipartUploadGoneError(key, uploadId, 'S3 no longer has it (NoSuchUpload)', { cause });
        else if (resume && errorName(cause) === 'InvalidPart') cause = new MultipartUploadGoneError(key, uploadId, "S3 no longer holds the checkpoint's parts (InvalidPart)", { cause });
      }
      const gone = cause instanceof MultipartUploadGoneError;
      const retryable = cause instanceof ArchiverError ? cause.retryable : true;
      // Kept for the next resume while it can be one; a refused checkpoint only means another owner continues.
      const keep = !gone && (state.offered || resume !== undefined) && (retryable || state.refused !== undefined);
      const cleanupError = keep ? undefined : await abortMultipartUpload(this.target, key, uploadId);
      throw new ArchiveWriteError(`could not store ${key} in s3://${this.target.bucket}: ${describeError(cause)}`, key, origin, {
        cause,
        cleanupError,
      });
    } finally {
      release();
    }
  }

  /**
   * The key is taken (before the upload, before the commit, or S3's 412): the upload can
   * never be committed and is aborted; resolves when the object there holds the same
   * bytes, else rejects with ArchiveKeyConflictError — or, for a resumed put that cannot
   * compare (no saved hash state), with a retryable error so that a fresh put compares
   * the whole body.
   */
  private async settleTaken(
    key: string,
    state: PutState,
    resume: Resume | undefined,
    expected: ExpectedBytes | undefined,
    found: StoredObject | unknown,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const cleanupError = await abortMultipartUpload(this.target, key, state.uploadId);
    if (resume && expected === undefined) {
      const cause = new MultipartUploadGoneError(
        key,
        resume.uploadId,
        "the key holds an object now, and without the checkpoint's hash state the committed bytes cannot be compared with it; start over",
      );
      throw new ArchiveWriteError(`could not store ${key} in s3://${this.target.bucket}: ${cause.message}`, key, 'store', { cause, cleanupError });
    }
    const refusal = isStoredObject(found) ? new KeyTaken(found) : found;
    await settleRefusedCommit(this.target, key, expected, refusal, cleanupError, signal);
  }

  /** The checkpoint's parts as CompleteMultipartUpload names them, checked against S3's list where it has one. */
  private async earlierParts(key: string, resume: Resume, signal: AbortSignal | undefined): Promise<CompletedPart[]> {
    let listed: Map<number, Part> | 'unsupported';
    try {
      listed = await this.listParts(key, resume.uploadId, signal);
    } catch (error) {
      if (isNoSuchUpload(error)) throw new MultipartUploadGoneError(key, resume.uploadId, 'S3 no longer has it (NoSuchUpload)', { cause: error });
      throw error;
    }
    if (listed !== 'unsupported') {
      const mismatch = partsMismatch(resume.parts, listed);
      if (mismatch) throw new MultipartUploadGoneError(key, resume.uploadId, mismatch);
    }
    return resume.parts.map((part) => {
      const known = listed === 'unsupported' ? undefined : listed.get(part.partNumber);
      return { PartNumber: part.partNumber, ETag: part.etag, ...checksumsOf(known) };
    });
  }

  /**
   * Cuts the body into parts and uploads them, up to `queueSize` at a time, offering a
   * checkpoint for each completed prefix; resolves with the parts uploaded here (the
   * last one included), in order, once every part and checkpoint has settled.
   */
  private async uploadParts(run: {
    key: string;
    input: ResumablePutInput;
    partSize: number;
    resume: Resume | undefined;
    state: PutState;
    chunks: AsyncIterable<Buffer>;
    checksums: boolean;
    metadata: Record<string, string>;
  }): Promise<CompletedPart[]> {
    const { key, input, partSize, resume, state, checksums } = run;
    const { signal, onCheckpoint } = input;
    // Parts go UNSIGNED-PAYLOAD instead of SigV4's SHA-256 of every part (a third hash of every
    // byte, on the event loop) only where the connection itself protects them: TLS or
    // loopback (s3-payload.ts; https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html).
    const unsigned = await clientConnectionProtects(this.target.client);
    const firstPart = (resume?.parts.length ?? 0) + 1;
    const checkpointParts: CheckpointPart[] = resume ? resume.parts.map((part) => ({ ...part })) : [];
    let bytesCommitted = resume?.bytes ?? 0;
    const completed = new Map<number, { part: CheckpointPart; completed: CompletedPart }>();
    const inFlight = new Set<Promise<void>>();
    let failure: { error: unknown } | undefined;
    /** A checkpoint was refused or failed: none is offered after it. */
    let checkpointsStopped = false;
    let nextPart = firstPart;
    /** The part dispatched as the last: never checkpointed (the commit follows it). */
    let lastPart: number | undefined;
    /** Every part up to this one has completed. */
    let contiguous = firstPart - 1;
    let checkpoints: Promise<void> = Promise.resolve();
    let checkpointsPending = 0;

    const fail = (error: unknown) => {
      failure ??= { error };
    };
    const throwIfFailed = () => {
      if (failure) throw failure.error;
    };
    const offer = async (checkpoint: TransferCheckpoint): Promise<void> => {
      // Also while a failed put winds down (a broken body): its parts that complete meanwhile are durable, a later resume skips them.
      try {
        if (checkpointsStopped || signal?.aborted) return;
        state.offered = true;
        if (!(await onCheckpoint(checkpoint))) {
          checkpointsStopped = true;
          fail((state.refused = new CheckpointRefusedError(checkpoint)));
        }
      } catch (error) {
        checkpointsStopped = true;
        fail(error);
      } finally {
        checkpointsPending--;
      }
    };
    const advance = () => {
      for (;;) {
        const next = completed.get(contiguous + 1);
        if (next === undefined || contiguous + 1 === lastPart) return;
        contiguous++;
        checkpointParts.push(next.part);
        bytesCommitted += next.part.size;
        const checkpoint: TransferCheckpoint = { uploadId: state.uploadId, bytesCommitted, parts: checkpointParts.slice() };
        checkpointsPending++;
        checkpoints = checkpoints.then(() => offer(checkpoint));
      }
    };
    /** Uploads `data` (a held part buffer, released here) as the next part, once a slot is free. */
    const start = async (data: Buffer, last: boolean): Promise<void> => {
      let uploadId: string;
      try {
        // One slot per part in flight, and the checkpoints not too far behind.
        while (inFlight.size >= this.queueSize) await Promise.race(inFlight);
        if (checkpointsPending > this.queueSize) await checkpoints;
        throwIfFailed();
        uploadId = state.uploadId ??= await this.create(key, input, run.metadata, checksums);
        if (nextPart > MAX_PARTS) {
          throw new ArchiveInputError(`the body needs more than ${MAX_PARTS} parts of ${partSize} bytes; declare its length (contentLength)`);
        }
      } catch (error) {
        this.dropPart();
        throw error;
      }
      const partNumber = nextPart++;
      if (last) lastPart = partNumber;
      let uploaded = false;
      const sent = (async () => {
        try {
          const command = new UploadPartCommand({
            Bucket: this.target.bucket,
            Key: key,
            UploadId: uploadId,
            PartNumber: partNumber,
            Body: data,
            ContentLength: data.length,
            ...(checksums ? { ChecksumAlgorithm: 'CRC32' as const } : {}),
          });
          if (unsigned) sendUnsignedPayload(command);
          const out = await this.target.client.send(command, { abortSignal: signal });
          if (!out.ETag) throw new Error(`part ${partNumber} is missing its ETag in the UploadPart answer`);
          const part: CheckpointPart = { partNumber, etag: out.ETag, size: data.length };
          completed.set(partNumber, { part, completed: { PartNumber: partNumber, ETag: out.ETag, ...checksumsOf(out) } });
          uploaded = true;
          advance();
        } catch (error) {
          fail(error);
        }
      })();
      const upload: Promise<void> = sent.finally(() => {
        inFlight.delete(upload);
        // S3 answered for the part: the request has sent every byte of it, and nothing holds the buffer.
        // A failed or aborted request might still be writing it: left to the garbage collector.
        this.dropPart(uploaded ? data : undefined);
      });
      inFlight.add(upload);
    };

    let buffer: Buffer | undefined;
    let filled = 0;
    try {
      for await (const chunk of run.chunks) {
        throwIfFailed();
        for (let at = 0; at < chunk.length; ) {
          if (buffer !== undefined && filled === buffer.length) {
            // Full, and more bytes follow: not the last part.
            const full = buffer;
            buffer = undefined;
            await start(full, false);
          }
          if (buffer === undefined) {
            buffer = this.holdPart(partSize);
            filled = 0;
          }
          const copied = chunk.copy(buffer, filled, at, Math.min(chunk.length, at + buffer.length - filled));
          filled += copied;
          at += copied;
        }
        // Copied into the part: the download's reused memory may take new bytes (shared/adapters/chunk-pool.ts).
        releaseChunk(chunk);
      }
      throwIfFailed();
      // The body has ended cleanly: the rest is the last part. Nothing left after a
      // resume's earlier parts (or after a full part) is no part; a body of 0 bytes is one.
      if (buffer !== undefined || nextPart === 1) {
        const rest = buffer === undefined ? this.holdPart(0) : buffer.subarray(0, filled);
        buffer = undefined;
        await start(rest, true);
      }
      await Promise.all([...inFlight]);
      await checkpoints;
      throwIfFailed();
    } catch (error) {
      fail(error);
      throw error;
    } finally {
      if (buffer !== undefined) this.dropPart();
      // Never settle under a part or a checkpoint still running: the caller aborts the upload next.
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
      await checkpoints;
    }
    const parts: CompletedPart[] = [];
    for (let number = firstPart; number < nextPart; number++) parts.push(completed.get(number)!.completed);
    return parts;
  }

  private async create(key: string, input: ResumablePutInput, metadata: Record<string, string>, checksums: boolean): Promise<string> {
    const out = await this.target.client.send(
      new CreateMultipartUploadCommand({
        Bucket: this.target.bucket,
        Key: key,
        ContentType: input.contentType,
        Metadata: metadata,
        ServerSideEncryption: this.serverSideEncryption,
        SSEKMSKeyId: this.kmsKeyId,
        ...(checksums ? { ChecksumAlgorithm: 'CRC32' as const } : {}),
      }),
      { abortSignal: input.signal },
    );
    if (!out.UploadId) throw new Error('CreateMultipartUpload answered no UploadId');
    return out.UploadId;
  }

  /** Every part S3 lists for the upload, by number; 'unsupported' from a server without ListParts. Rejects with S3's error otherwise (NoSuchUpload included). */
  private async listParts(key: string, uploadId: string, signal: AbortSignal | undefined): Promise<Map<number, Part> | 'unsupported'> {
    const parts = new Map<number, Part>();
    let marker: string | undefined;
    for (let page = 0; page < MAX_LIST_PAGES; page++) {
      let out;
      try {
        out = await this.target.client.send(
          new ListPartsCommand({ Bucket: this.target.bucket, Key: key, UploadId: uploadId, PartNumberMarker: marker }),
          { abortSignal: signal },
        );
      } catch (error) {
        const status = httpStatus(error);
        if (status === 405 || status === 501 || errorName(error) === 'NotImplemented') return 'unsupported';
        throw error;
      }
      for (const part of out.Parts ?? []) if (part.PartNumber !== undefined) parts.set(part.PartNumber, part);
      if (!out.IsTruncated) return parts;
      if (!out.NextPartNumberMarker || out.NextPartNumberMarker === marker) throw new Error('ListParts is truncated without a next marker');
      marker = out.NextPartNumberMarker;
    }
    throw new Error(`ListParts answered more than ${MAX_LIST_PAGES} pages`);
  }

  /** Whether the client sends checksums it is not required to (the SDK's default): then the upload needs them for every part. */
  private async usesChecksums(): Promise<boolean> {
    const setting = (this.target.client.config as { requestChecksumCalculation?: () => Promise<string> }).requestChecksumCalculation;
    return (await setting?.()) === 'WHEN_SUPPORTED';
  }

  private holdPart(size: number): Buffer {
    this.partBuffers.held++;
    this.partBuffers.peak = Math.max(this.partBuffers.peak, this.partBuffers.held);
    // A part buffer used before, when one of this size is spare (fresh memory costs a page fault per 4 KiB).
    const spare = size > 0 ? this.spareParts.findIndex((buffer) => buffer.length === size) : -1;
    if (spare >= 0) return this.spareParts.splice(spare, 1)[0]!;
    this.partBuffers.allocated++;
    // Not zeroed: every byte of a part is copied from the body before it is sent.
    return Buffer.allocUnsafe(size);
  }

  /** A part buffer is no longer held; `reusable` (a whole one, nothing else referring to it) is kept for the next part. */
  private dropPart(reusable?: Buffer): void {
    this.partBuffers.held--;
    const whole = reusable !== undefined && reusable.byteOffset === 0 && reusable.length === reusable.buffer.byteLength;
    if (whole && this.spareParts.length <= this.queueSize) this.spareParts.push(reusable);
  }
}

/** Why `checkpoint` cannot name an upload of parts of `partSize` bytes (undefined: it can). */
function checkpointProblem(checkpoint: TransferCheckpoint, partSize: number): string | undefined {
  if (typeof checkpoint !== 'object' || checkpoint === null) return 'not a checkpoint';
  const { uploadId, bytesCommitted, parts } = checkpoint;
  if (typeof uploadId !== 'string' || uploadId === '') return 'the checkpoint names no multipart upload';
  if (!Number.isSafeInteger(bytesCommitted) || bytesCommitted <= 0) return `nothing to resume (bytesCommitted ${String(bytesCommitted)})`;
  if (!Array.isArray(parts) || parts.length === 0) return 'the checkpoint lists no parts';
  if (parts.length > MAX_PARTS) return `the checkpoint lists ${parts.length} parts, over S3's ${MAX_PARTS}`;
  let sum = 0;
  for (const [index, part] of parts.entries()) {
    if (typeof part !== 'object' || part === null) return `entry ${index + 1} of the parts is not a part`;
    if (part.partNumber !== index + 1) return `the parts are not numbered 1, 2, 3, … without gaps (entry ${index + 1} is part ${String(part.partNumber)})`;
    if (typeof part.etag !== 'string' || part.etag === '') return `part ${index + 1} has no ETag`;
    if (part.size !== partSize) return `part ${index + 1} holds ${String(part.size)} bytes, not the ${partSize} of every part of this object`;
    sum += part.size;
  }
  if (sum !== bytesCommitted) return `bytesCommitted ${bytesCommitted} is not the sum of the parts' sizes (${sum})`;
  return undefined;
}

/** Validates a put's `resumeFrom` (as prepareResume accepted it). */
function resumeOf(key: string, checkpoint: TransferCheckpoint, partSize: number, contentLength: number | undefined): Resume {
  const problem = checkpointProblem(checkpoint, partSize);
  if (problem) throw new ArchiveInputError(`cannot resume ${key}: ${problem}`);
  const { uploadId, bytesCommitted, parts, hashState } = checkpoint as Required<TransferCheckpoint>;
  if (contentLength !== undefined && bytesCommitted > contentLength) {
    throw new ArchiveInputError(`cannot resume ${key}: ${bytesCommitted} bytes committed, ${contentLength} declared`);
  }
  return { uploadId, bytes: bytesCommitted, parts: parts.map((part) => ({ ...part })), hashState: typeof hashState === 'string' ? hashState : undefined };
}

/** Why S3's list of the upload's parts does not back `parts` (undefined: it does). */
function partsMismatch(parts: readonly CheckpointPart[], listed: Map<number, Part>): string | undefined {
  for (const part of parts) {
    const held = listed.get(part.partNumber);
    if (held === undefined) return `part ${part.partNumber} is not in the upload`;
    if (unquoted(held.ETag) !== unquoted(part.etag)) return `part ${part.partNumber} has ETag ${String(held.ETag)} in the upload, ${part.etag} in the checkpoint`;
    if (held.Size !== part.size) return `part ${part.partNumber} holds ${String(held.Size)} bytes in the upload, ${part.size} in the checkpoint`;
  }
  return undefined;
}

/** What the put knows of its bytes, once the body ended: the caller's digest of the whole object, else the whole body's, or for a resume the prefix's (by the saved hash state) and the rest's. */
async function expectedBytes(resume: Resume | undefined, meter: BodyMeter, whole?: () => Promise<string>): Promise<ExpectedBytes | undefined> {
  if (whole !== undefined) {
    const size = (resume?.bytes ?? 0) + meter.bytes;
    try {
      return { size, ranges: [{ end: size, sha256: await whole() }] };
    } catch {
      return undefined;
    }
  }
  if (meter.sha256 === undefined) return undefined;
  if (resume === undefined) return { size: meter.bytes, ranges: [{ end: meter.bytes, sha256: meter.sha256 }] };
  if (resume.hashState === undefined) return undefined;
  let prefix: string;
  try {
    prefix = (await ResumableSha256.create(resume.hashState)).digest();
  } catch {
    return undefined;
  }
  const size = resume.bytes + meter.bytes;
  return { size, ranges: [{ end: resume.bytes, sha256: prefix }, { end: size, sha256: meter.sha256 }] };
}

/** The part checksums S3 answered (UploadPart) or lists (ListParts), as CompleteMultipartUpload names them. */
function checksumsOf(source: Partial<CompletedPart> | undefined): Partial<CompletedPart> {
  if (source === undefined) return {};
  const { ChecksumCRC32, ChecksumCRC32C, ChecksumCRC64NVME, ChecksumSHA1, ChecksumSHA256 } = source;
  return {
    ...(ChecksumCRC32 && { ChecksumCRC32 }),
    ...(ChecksumCRC32C && { ChecksumCRC32C }),
    ...(ChecksumCRC64NVME && { ChecksumCRC64NVME }),
    ...(ChecksumSHA1 && { ChecksumSHA1 }),
    ...(ChecksumSHA256 && { ChecksumSHA256 }),
  };
}

// The rule for unsigned payloads is s3-payload.ts's (put follows it too); re-exported for this module's callers.

function isNoSuchUpload(error: unknown): boolean {
  return errorName(error) === 'NoSuchUpload';
}

function isStoredObject(value: unknown): value is StoredObject {
  return typeof value === 'object' && value !== null && !(value instanceof Error) && typeof (value as StoredObject).size === 'number';
}

function unquoted(etag: string | undefined): string | undefined {
  return etag?.replace(/"/g, '');
}
