/**
 * ArchiveStore on S3 or any S3-compatible endpoint, through lib-storage's Upload.
 *
 * Memory is bounded by the part size and queue size (about partSize × (queueSize + 1)),
 * never by the file: the body is streamed into parts, no temp files. The object is
 * committed only by CompleteMultipartUpload (or the single PutObject of a small
 * body), which lib-storage sends only after the body ended cleanly — a body that
 * errors, even in its final flush, leaves nothing under the key and an older object
 * untouched.
 *
 * Checksums on the wire follow the client's configuration: the SDK's default adds a
 * CRC32 per part against AWS; against s3rver the client must use 'WHEN_REQUIRED'
 * (see tests/support/s3rver.ts).
 */
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { ConfigError } from '../errors';
import type { ArchiveLocation } from '../events';
import {
  ArchiveInputError,
  ArchiveNotFoundError,
  ArchiveReadError,
  ArchiveWriteError,
  MAX_METADATA_BYTES,
  assertArchiveKey,
  assertArchiveMetadata,
  meterPutBody,
  writeCause,
  writeOrigin,
  type ArchiveObjectInfo,
  type ArchivePutInput,
  type ArchivePutResult,
  type ArchiveStore,
} from '../ports/archive-store';

const MiB = 1024 * 1024;
/** S3's limits for multipart uploads. */
export const MIN_PART_SIZE_BYTES = 5 * MiB;
export const MAX_PART_SIZE_BYTES = 5 * 1024 * MiB;
export const MAX_PARTS = 10_000;
export const MAX_OBJECT_BYTES = 5 * 1024 * 1024 * MiB;

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
}

export class S3ArchiveStore implements ArchiveStore {
  readonly kind = 's3';
  readonly keepsMetadata = true;
  readonly bucket: string;
  readonly partSizeBytes: number;
  readonly queueSize: number;
  private readonly client: S3Client;
  private readonly serverSideEncryption: S3ArchiveStoreOptions['serverSideEncryption'];
  private readonly kmsKeyId: string | undefined;

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
  }

  async put(input: ArchivePutInput): Promise<ArchivePutResult> {
    const { key, signal } = input;
    let metadata: Record<string, string>;
    let partSize: number;
    let metered: ReturnType<typeof meterPutBody>;
    try {
      assertArchiveKey(key);
      metadata = encodeMetadata(input.metadata);
      partSize = this.partSizeFor(input.contentLength);
      metered = meterPutBody(input);
    } catch (error) {
      input.body.destroy();
      throw error;
    }
    const { chunks, meter, release } = metered;
    const upload = new Upload({
      client: this.client,
      params: {
        Bucket: this.bucket,
        Key: key,
        Body: Readable.from(chunks, { objectMode: false }),
        ContentType: input.contentType,
        Metadata: metadata,
        ServerSideEncryption: this.serverSideEncryption,
        SSEKMSKeyId: this.kmsKeyId,
      },
      partSize,
      queueSize: this.queueSize,
      // We abort the multipart upload ourselves: lib-storage's own abort throws the
      // abort's error in place of the one that failed the upload (and s3rver answers 405).
      leavePartsOnError: true,
    });
    try {
      await upload.done();
      return { location: this.describe(key), size: meter.bytes };
    } catch (error) {
      // done() settles only after every part in flight has settled, so the abort
      // below cannot race an UploadPart.
      const origin = writeOrigin(meter, signal);
      const cause = writeCause(meter, signal, error);
      input.body.destroy();
      const cleanupError = await this.abortMultipart(key, upload.uploadId);
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
      return { size: out.ContentLength ?? 0, metadata: decodeMetadata(out.Metadata ?? {}) };
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
    return { kind: 's3', container: this.bucket, key, uri: `s3://${this.bucket}/${key}` };
  }

  private partSizeFor(contentLength: number | undefined): number {
    if (contentLength === undefined) return this.partSizeBytes;
    if (contentLength > MAX_OBJECT_BYTES) throw new ArchiveInputError(`${contentLength} bytes is over S3's object size limit`);
    return Math.max(this.partSizeBytes, Math.ceil(contentLength / MAX_PARTS / MiB) * MiB);
  }

  /** Returns the clean-up failure, if any: it is reported, never thrown in place of the put's own error. */
  private async abortMultipart(key: string, uploadId: string | undefined): Promise<unknown> {
    if (!uploadId) return undefined;
    try {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }));
      return undefined;
    } catch (error) {
      // NoSuchUpload: nothing left to remove. Anything else (s3rver always answers 405)
      // leaves parts behind: never visible as an object, but stored (and billed) until
      // the bucket's rule for incomplete multipart uploads removes them.
      return errorName(error) === 'NoSuchUpload' ? undefined : error;
    }
  }
}

/** Printable ASCII without edge spaces (HTTP trims them) passes as is. */
const HEADER_SAFE = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;
const ENCODED_WORD = /^=\?UTF-8\?B\?([A-Za-z0-9+/]*={0,2})\?=$/i;

/**
 * Header values cannot carry non-ASCII text: such values (course names, topics)
 * become RFC 2047 encoded words, the form S3 itself uses for non-ASCII metadata.
 */
export function encodeMetadata(metadata: Record<string, string>): Record<string, string> {
  assertArchiveMetadata(metadata);
  const encoded: Record<string, string> = {};
  let bytes = 0;
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

function httpStatus(error: unknown): number | undefined {
  const metadata = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata;
  return metadata?.httpStatusCode;
}

function errorName(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
