/**
 * Resumable puts of the S3 archive store (our multipart driver,
 * shared/adapters/archive-s3-multipart.ts) against s3rver on 127.0.0.1: one checkpoint
 * per part with the parts' ETags, a put cut half-way and continued from its
 * checkpoint to a byte-identical object without sending its parts again, a refused
 * checkpoint, resume points refused for the right reasons, an upload that is gone,
 * a taken key (fresh and resumed), tiny bodies, and memory bounded by the parts in
 * flight. Where s3rver does not behave as S3 (it answers ListParts and
 * AbortMultipartUpload with 405, never NoSuchUpload, and ignores If-None-Match), a
 * client middleware plays S3's answer.
 */
import { PassThrough, pipeline, Readable, Transform } from 'node:stream';
import { HeadObjectCommand, PutObjectCommand, S3ServiceException, type S3Client } from '@aws-sdk/client-s3';
import { CheckpointRefusedError } from '../../shared/adapters/archive-folder';
import { S3ArchiveStore } from '../../shared/adapters/archive-s3';
import { MultipartUploadGoneError } from '../../shared/adapters/archive-s3-multipart';
import { ChunkPool } from '../../shared/adapters/chunk-pool';
import { connectionProtects } from '../../shared/adapters/s3-payload';
import { ResumableSha256 } from '../../shared/crypto/resumable-sha256';
import { ArchiveInputError, ArchiveKeyConflictError, ArchiveWriteError, type ResumablePutInput } from '../../shared/ports/archive-store';
import type { CheckpointPart, TransferCheckpoint } from '../../shared/ports/upload-ledger';
import { createS3rverClient, startS3rver, type S3rverHandle } from '../support/s3rver';
import { waitFor } from '../support/wait-for';
import { KiB, MiB, SAMPLE_METADATA } from './archive-contract';
import { generatedBody, generatedSha256, sha256Of } from './generated-bytes';

const PART = 5 * MiB;

interface SentRequest {
  command: string;
  input: Record<string, unknown>;
  headers: Record<string, string>;
  status?: number;
  output?: Record<string, unknown>;
}

let s3: S3rverHandle;
let store: S3ArchiveStore;
const sent: SentRequest[] = [];
/** Bytes of UploadPart requests s3rver has answered. */
let partBytesAnswered = 0;
let counter = 0;

/** Records every request the client sends (after signing), its answer's status and output. */
function recordRequests(client: S3Client): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const request = args.request as { headers?: Record<string, string> };
      const entry: SentRequest = {
        command: String(context.commandName),
        input: args.input as Record<string, unknown>,
        headers: { ...(request.headers ?? {}) },
      };
      sent.push(entry);
      try {
        const result = await next(args);
        entry.status = (result.response as { statusCode?: number }).statusCode;
        entry.output = result.output as unknown as Record<string, unknown>;
        if (entry.command === 'UploadPartCommand') partBytesAnswered += (entry.input.Body as Buffer).length;
        return result;
      } catch (error) {
        entry.status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        throw error;
      }
    },
    { step: 'finalizeRequest', name: 'recordRequestsForTest' },
  );
}

const since = (from: number) => sent.slice(from);
const commandsSince = (from: number) => since(from).map((request) => request.command);
const partNumbersSince = (from: number) =>
  since(from)
    .filter((request) => request.command === 'UploadPartCommand')
    .map((request) => request.input.PartNumber as number)
    .sort((a, b) => a - b);

const s3Error = (name: string, status: number, message: string) =>
  new S3ServiceException({ name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status }, message });

/**
 * A client on s3rver (recorded) with `answer` in front: for each command it may throw
 * (S3's error), return an output (S3's answer), or undefined to let s3rver answer.
 */
function clientPlaying(answer: (command: string, input: Record<string, unknown>) => Record<string, unknown> | undefined): S3Client {
  const client = createS3rverClient(s3.endpoint);
  recordRequests(client);
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const output = answer(String(context.commandName), args.input as Record<string, unknown>);
      if (output !== undefined) return { output: { $metadata: { httpStatusCode: 200 }, ...output }, response: {} } as never;
      return next(args);
    },
    { step: 'initialize', name: 'playS3' },
  );
  return client;
}

/** S3's answers for an upload that was aborted (or expired): NoSuchUpload to everything that names it. */
function clientWithGoneUploads(gone: Set<string>): S3Client {
  return clientPlaying((_command, input) => {
    if (typeof input.UploadId === 'string' && gone.has(input.UploadId)) {
      throw s3Error('NoSuchUpload', 404, 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.');
    }
    return undefined;
  });
}

beforeAll(async () => {
  s3 = await startS3rver({ bucket: 'resumable-test' });
  recordRequests(s3.client);
  store = new S3ArchiveStore({ client: s3.client, bucket: s3.bucket, partSizeBytes: PART, queueSize: 2 });
});

afterAll(async () => {
  await s3?.stop();
});

function freshKey(label: string): string {
  return `resumable/${label}-${++counter}/lesson.mp4`;
}

/** The generated bytes of `seed` from byte `from` on: the rest of the body, as a ranged download serves it. */
function generatedFrom(seed: string, size: number, from: number, options: { failAfter?: number; error?: Error } = {}): Readable {
  let skip = from;
  let passed = 0;
  const cut = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      let rest = chunk;
      if (skip > 0) {
        const skipped = Math.min(skip, chunk.length);
        skip -= skipped;
        rest = chunk.subarray(skipped);
      }
      if (rest.length === 0) return callback();
      passed += rest.length;
      if (options.failAfter !== undefined && passed > options.failAfter) return callback(options.error ?? new Error('broke'));
      callback(null, rest);
    },
  });
  pipeline(generatedBody({ size, seed }), cut, () => undefined);
  return cut;
}

/** The saved SHA-256 state after the first `bytes` generated bytes of `seed`: what the caller stores as hashState. */
async function hashStateAt(seed: string, bytes: number): Promise<string> {
  const hash = await ResumableSha256.create();
  for await (const chunk of generatedBody({ size: bytes, seed })) hash.update(chunk as Buffer);
  return hash.save();
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('resolved, expected a rejection');
    },
    (error: unknown) => error,
  );
}

/** An onCheckpoint that records what it saw (and whether the key was committed then), answering `answer(n)` for the n-th call. */
function recorder(
  key: string,
  answer: (n: number, checkpoint: TransferCheckpoint) => boolean | Promise<boolean> = () => true,
): { seen: { checkpoint: TransferCheckpoint; committed: boolean }[]; onCheckpoint: ResumablePutInput['onCheckpoint'] } {
  const seen: { checkpoint: TransferCheckpoint; committed: boolean }[] = [];
  return {
    seen,
    onCheckpoint: async (checkpoint) => {
      seen.push({ checkpoint: structuredClone(checkpoint), committed: (await store.head(key)) !== undefined });
      return answer(seen.length, checkpoint);
    },
  };
}

/** A resumable put of `seed`'s bytes whose body breaks after `failAfter` bytes: the last checkpoint it left. */
async function interruptedPut(key: string, seed: string, size: number, failAfter: number, target: S3ArchiveStore = store) {
  const broke = new Error('the download broke');
  const body = generatedBody({ size, seed, failAfter, error: broke });
  const { seen, onCheckpoint } = recorder(key);
  const from = sent.length;
  const error = await rejection(target.resumable.putResumable({ key, body, contentLength: size, metadata: SAMPLE_METADATA, onCheckpoint }));
  expect(error).toBeInstanceOf(ArchiveWriteError);
  expect(error).toMatchObject({ origin: 'body', cause: broke, retryable: true });
  expect(seen.length).toBeGreaterThan(0);
  return { checkpoint: seen.at(-1)!.checkpoint, seen, commands: commandsSince(from) };
}

describe('S3 resumable puts: an uninterrupted put', () => {
  test('stores exactly the body, with one checkpoint per part but the last: contiguous prefixes with the ETags S3 answered', async () => {
    const key = freshKey('whole');
    const seed = 'uninterrupted';
    const size = 3 * PART + 12_345;
    const from = sent.length;
    const { seen, onCheckpoint } = recorder(key);

    const result = await store.resumable.putResumable({
      key,
      body: generatedBody({ size, seed }),
      contentLength: size,
      contentType: 'video/mp4',
      metadata: { ...SAMPLE_METADATA, topic: 'Maqām Bayātī — lesson 3' },
      onCheckpoint,
    });
    const requests = sent.slice(from);

    expect(result).toEqual({ location: store.describe(key), size });
    expect(await sha256Of(await store.get(key))).toEqual({ sha256: generatedSha256(size, seed), size });
    expect(await store.head(key)).toEqual({ size, metadata: { ...SAMPLE_METADATA, topic: 'Maqām Bayātī — lesson 3' } });
    const raw = await s3.client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: key }));
    expect(raw.ContentType).toBe('video/mp4');

    const etags = new Map(
      requests.filter((r) => r.command === 'UploadPartCommand').map((r) => [r.input.PartNumber as number, r.output?.ETag as string]),
    );
    expect([...etags.keys()].sort()).toEqual([1, 2, 3, 4]);
    const uploadId = seen[0]!.checkpoint.uploadId!;
    expect(uploadId).toEqual(expect.any(String));
    expect(seen.map((call) => call.checkpoint)).toEqual(
      [1, 2, 3].map((n) => ({
        uploadId,
        bytesCommitted: n * PART,
        parts: Array.from({ length: n }, (_, i) => ({ partNumber: i + 1, etag: etags.get(i + 1), size: PART })),
      })),
    );
    expect(seen.every((call) => !call.committed)).toBe(true);

    // The same checks as put around the commit: HeadObject first and last, then the conditional commit.
    const commands = requests.map((r) => r.command);
    expect(commands[0]).toBe('HeadObjectCommand');
    expect(commands.slice(-2)).toEqual(['HeadObjectCommand', 'CompleteMultipartUploadCommand']);
    expect(commands.filter((c) => c === 'CreateMultipartUploadCommand')).toHaveLength(1);
    // Parts go unsigned over loopback (no third SHA-256 of every byte); s3rver checked the signature of the rest.
    const header = (r: SentRequest) => Object.entries(r.headers).find(([name]) => name.toLowerCase() === 'x-amz-content-sha256')?.[1];
    const parts = requests.filter((r) => r.command === 'UploadPartCommand');
    expect(parts.map(header)).toEqual(parts.map(() => 'UNSIGNED-PAYLOAD'));
    expect(requests.filter((r) => r.command !== 'UploadPartCommand').map(header)).not.toContain('UNSIGNED-PAYLOAD');
    const complete = requests.find((r) => r.command === 'CompleteMultipartUploadCommand')!;
    expect(complete.headers['if-none-match']).toBe('*');
    expect(complete.input.MultipartUpload).toEqual({ Parts: [1, 2, 3, 4].map((n) => ({ PartNumber: n, ETag: etags.get(n) })) });
    expect(requests.filter((r) => r.command === 'UploadPartCommand').every((r) => r.input.UploadId === uploadId)).toBe(true);
  });

  test.each([
    ['0 bytes', 0],
    ['1 byte', 1],
    ['under a part', 3 * KiB],
  ])('a body of %s is a single part, no checkpoint', async (_label, size) => {
    const key = freshKey(`tiny-${size}`);
    const from = sent.length;
    const { seen, onCheckpoint } = recorder(key);

    const result = await store.resumable.putResumable({ key, body: generatedBody({ size, seed: 'tiny' }), contentLength: size, metadata: {}, onCheckpoint });

    expect(result.size).toBe(size);
    expect(await sha256Of(await store.get(key))).toEqual({ sha256: generatedSha256(size, 'tiny'), size });
    expect(seen).toEqual([]);
    expect(partNumbersSince(from)).toEqual([1]);
    expect(commandsSince(from)).toContain('CompleteMultipartUploadCommand');
  });

  test('a body of exactly two parts sends two parts (no empty third), one checkpoint; without contentLength too', async () => {
    for (const contentLength of [2 * PART, undefined]) {
      const key = freshKey('two');
      const from = sent.length;
      const { seen, onCheckpoint } = recorder(key);

      await store.resumable.putResumable({ key, body: generatedBody({ size: 2 * PART, seed: 'two' }), contentLength, metadata: {}, onCheckpoint });

      expect(partNumbersSince(from)).toEqual([1, 2]);
      expect(seen.map((call) => call.checkpoint.bytesCommitted)).toEqual([PART]);
      expect(await sha256Of(await store.get(key))).toEqual({ sha256: generatedSha256(2 * PART, 'two'), size: 2 * PART });
    }
  });

  test('server-side encryption is requested on the CreateMultipartUpload', async () => {
    const encrypted = new S3ArchiveStore({ client: s3.client, bucket: s3.bucket, partSizeBytes: PART, serverSideEncryption: 'AES256' });
    const from = sent.length;

    await encrypted.resumable.putResumable({ key: freshKey('sse'), body: generatedBody({ size: 6 * MiB, seed: 'sse' }), metadata: {}, onCheckpoint: async () => true });

    const create = since(from).find((r) => r.command === 'CreateMultipartUploadCommand');
    expect(create?.headers['x-amz-server-side-encryption']).toBe('AES256');
  });

  test("with the SDK's default checksums (WHEN_SUPPORTED) the upload is created with CRC32 and every part carries its CRC32", async () => {
    const client = createS3rverClient(s3.endpoint, { requestChecksumCalculation: 'WHEN_SUPPORTED' });
    recordRequests(client);
    const checked = new S3ArchiveStore({ client, bucket: s3.bucket, partSizeBytes: PART, queueSize: 2 });
    const key = freshKey('crc');
    const size = 2 * PART + 99;
    const from = sent.length;

    await checked.resumable.putResumable({ key, body: generatedBody({ size, seed: 'crc' }), contentLength: size, metadata: {}, onCheckpoint: async () => true });
    client.destroy();

    const requests = since(from);
    expect(requests.find((r) => r.command === 'CreateMultipartUploadCommand')?.headers['x-amz-checksum-algorithm']).toBe('CRC32');
    const parts = requests.filter((r) => r.command === 'UploadPartCommand');
    expect(parts).toHaveLength(3);
    for (const part of parts) expect(part.headers['x-amz-checksum-crc32']).toMatch(/^[A-Za-z0-9+/]{6}==$/);
    // Buffers, not streams: no aws-chunked framing ends up in the object.
    expect(await sha256Of(await store.get(key))).toEqual({ sha256: generatedSha256(size, 'crc'), size });
  });
});

describe('S3 resumable puts: which connections carry unsigned parts', () => {
  test.each([
    ['S3 itself (no endpoint set)', undefined, true],
    ['an https endpoint', { protocol: 'https:', hostname: 'minio.school.example' }, true],
    ['http on 127.0.0.1', { protocol: 'http:', hostname: '127.0.0.1' }, true],
    ['http on [::1]', { protocol: 'http:', hostname: '[::1]' }, true],
    ['http on localhost', { protocol: 'http:', hostname: 'localhost' }, true],
    ['http to another host', { protocol: 'http:', hostname: 'minio.school.example' }, false],
    ['http to a private address', { protocol: 'http:', hostname: '10.0.0.5' }, false],
    ['http with a name that only starts like loopback', { protocol: 'http:', hostname: '127.0.0.1.nip.example' }, false],
  ])('%s (%j): unsigned %s', (_label, endpoint, unsigned) => {
    expect(connectionProtects(endpoint)).toBe(unsigned);
  });
});

describe('S3 resumable puts: a put cut half-way, then resumed', () => {
  test('the upload is kept; the resume sends only the parts after the checkpoint and completes the same bytes', async () => {
    const key = freshKey('cut');
    const seed = 'cut half-way';
    const size = 4 * PART + 777;
    const { checkpoint, commands } = await interruptedPut(key, seed, size, 2 * PART + 1234);

    expect(commands).not.toContain('AbortMultipartUploadCommand');
    expect(commands).not.toContain('CompleteMultipartUploadCommand');
    expect(await store.head(key)).toBeUndefined();
    expect(checkpoint.parts.length).toBeGreaterThanOrEqual(1);
    expect(checkpoint.bytesCommitted).toBe(checkpoint.parts.length * PART);

    const point = await store.resumable.prepareResume(key, checkpoint);
    expect(point).toEqual({ offset: checkpoint.bytesCommitted });

    const from = sent.length;
    const { seen, onCheckpoint } = recorder(key);
    const result = await store.resumable.putResumable({
      key,
      body: generatedFrom(seed, size, point.offset),
      contentLength: size,
      metadata: SAMPLE_METADATA,
      resumeFrom: checkpoint,
      onCheckpoint,
    });

    expect(result).toEqual({ location: store.describe(key), size });
    expect(await sha256Of(await store.get(key))).toEqual({ sha256: generatedSha256(size, seed), size });
    const done = checkpoint.parts.length;
    // Not one byte before the checkpoint went out again.
    expect(partNumbersSince(from)).toEqual(Array.from({ length: 5 - done }, (_, i) => done + 1 + i));
    expect(commandsSince(from)).not.toContain('CreateMultipartUploadCommand');
    const complete = since(from).find((r) => r.command === 'CompleteMultipartUploadCommand')!;
    const completed = (complete.input.MultipartUpload as { Parts: { PartNumber: number; ETag: string }[] }).Parts;
    expect(completed.map((part) => part.PartNumber)).toEqual([1, 2, 3, 4, 5]);
    expect(completed.slice(0, done)).toEqual(checkpoint.parts.map((part) => ({ PartNumber: part.partNumber, ETag: part.etag })));
    expect(complete.input.UploadId).toBe(checkpoint.uploadId);
    // The resume's checkpoints go on from the old one, the same upload, the old parts first.
    expect(seen.length).toBe(4 - done);
    seen.forEach((call, index) => {
      expect(call.checkpoint.uploadId).toBe(checkpoint.uploadId);
      expect(call.checkpoint.bytesCommitted).toBe((done + index + 1) * PART);
      expect(call.checkpoint.parts.slice(0, done)).toEqual(checkpoint.parts);
    });
  });

  test('a resume that breaks again keeps the upload, and the next resume continues from its own checkpoint', async () => {
    const key = freshKey('twice');
    const seed = 'twice';
    const size = 5 * PART + 3;
    const first = await interruptedPut(key, seed, size, PART + 10);
    expect(first.checkpoint.parts).toHaveLength(1);

    const broke = new Error('broke again');
    const { seen, onCheckpoint } = recorder(key);
    const fromSecond = sent.length;
    const error = await rejection(
      store.resumable.putResumable({
        key,
        body: generatedFrom(seed, size, first.checkpoint.bytesCommitted, { failAfter: 2 * PART + 5, error: broke }),
        contentLength: size,
        metadata: {},
        resumeFrom: first.checkpoint,
        onCheckpoint,
      }),
    );
    expect(error).toMatchObject({ origin: 'body', cause: broke, retryable: true });
    expect(commandsSince(fromSecond)).not.toContain('AbortMultipartUploadCommand');
    const second = seen.at(-1)!.checkpoint;
    expect(second.uploadId).toBe(first.checkpoint.uploadId);
    expect(second.parts.length).toBeGreaterThan(first.checkpoint.parts.length);

    expect((await store.resumable.prepareResume(key, second)).offset).toBe(second.bytesCommitted);
    const fromThird = sent.length;
    await store.resumable.putResumable({
      key,
      body: generatedFrom(seed, size, second.bytesCommitted),
      contentLength: size,
      metadata: {},
      resumeFrom: second,
      onCheckpoint: async () => true,
    });
    expect(partNumbersSince(fromThird)[0]).toBe(second.parts.length + 1);
    expect(await sha256Of(await store.get(key))).toEqual({ sha256: generatedSha256(size, seed), size });
  });

  test('a resume with nothing left after the checkpoint commits the checkpointed parts alone', async () => {
    const key = freshKey('at-end');
    const seed = 'at the end';
    const size = 2 * PART;
    // Cut just before the end: the first part is checkpointed, the second is the last.
    const { checkpoint } = await interruptedPut(key, seed, size, 2 * PART - 1);
    expect(checkpoint.parts).toHaveLength(1);
    const from = sent.length;
    const { onCheckpoint } = recorder(key);
    await store.resumable.putResumable({
      key,
      body: generatedFrom(seed, size, PART),
      contentLength: size,
      metadata: {},
      resumeFrom: checkpoint,
      onCheckpoint,
    });
    expect(partNumbersSince(from)).toEqual([2]);
    expect(await sha256Of(await store.get(key))).toEqual({ sha256: generatedSha256(size, seed), size });
  });

  test('a resumeFrom that does not fit this object is refused before reading (ArchiveInputError)', async () => {
    const key = freshKey('misfit');
    const { checkpoint } = await interruptedPut(key, 'misfit', 3 * PART, 2 * PART + 5);
    const body = generatedFrom('misfit', 3 * PART, checkpoint.bytesCommitted);

    await expect(
      store.resumable.putResumable({ key, body, contentLength: checkpoint.bytesCommitted - 1, metadata: {}, resumeFrom: checkpoint, onCheckpoint: async () => true }),
    ).rejects.toBeInstanceOf(ArchiveInputError);
    expect(body.destroyed).toBe(true);
    const shifted = { ...checkpoint, parts: checkpoint.parts.map((part) => ({ ...part, partNumber: part.partNumber + 1 })) };
    await expect(
      store.resumable.putResumable({ key, body: generatedBody({ size: 1, seed: 'x' }), metadata: {}, resumeFrom: shifted, onCheckpoint: async () => true }),
    ).rejects.toThrow(/not numbered/);
  });
});

describe('S3 resumable puts: the lease, the signal, failures before a checkpoint', () => {
  test('onCheckpoint answering false aborts the put (origin aborted) and keeps the upload, which the new owner resumes', async () => {
    const key = freshKey('lease');
    const seed = 'lease';
    const size = 4 * PART;
    const body = generatedBody({ size, seed });
    const { seen, onCheckpoint } = recorder(key, () => false);
    const from = sent.length;

    const error = await rejection(store.resumable.putResumable({ key, body, contentLength: size, metadata: {}, onCheckpoint }));

    expect(error).toBeInstanceOf(ArchiveWriteError);
    expect(error).toMatchObject({ origin: 'aborted', cause: expect.any(CheckpointRefusedError), retryable: false });
    expect(seen).toHaveLength(1);
    expect(body.destroyed).toBe(true);
    expect(commandsSince(from)).not.toContain('AbortMultipartUploadCommand');
    expect(commandsSince(from)).not.toContain('CompleteMultipartUploadCommand');
    expect(await store.head(key)).toBeUndefined();

    const refused = seen[0]!.checkpoint;
    expect((await store.resumable.prepareResume(key, refused)).offset).toBe(refused.bytesCommitted);
    await store.resumable.putResumable({ key, body: generatedFrom(seed, size, refused.bytesCommitted), contentLength: size, metadata: {}, resumeFrom: refused, onCheckpoint: async () => true });
    expect(await sha256Of(await store.get(key))).toEqual({ sha256: generatedSha256(size, seed), size });
  });

  test('an onCheckpoint that throws fails the put (origin store, its error the cause); the upload is kept', async () => {
    const key = freshKey('ledger-down');
    const down = new Error('the ledger is unreachable');
    const from = sent.length;

    const error = await rejection(
      store.resumable.putResumable({ key, body: generatedBody({ size: 3 * PART, seed: 'down' }), metadata: {}, onCheckpoint: () => Promise.reject(down) }),
    );

    expect(error).toMatchObject({ origin: 'store', cause: down, retryable: true });
    expect(commandsSince(from)).not.toContain('AbortMultipartUploadCommand');
  });

  test('aborting the signal after a checkpoint rejects with origin aborted, keeps the upload, and sends nothing more', async () => {
    const key = freshKey('signal');
    const controller = new AbortController();
    const body = generatedBody({ size: 6 * PART, seed: 'signal' });
    const from = sent.length;
    let settled = false;

    const put = rejection(
      store.resumable.putResumable({
        key,
        body,
        metadata: {},
        signal: controller.signal,
        onCheckpoint: async () => {
          controller.abort();
          return true;
        },
      }),
    ).finally(() => (settled = true));
    const error = await put;

    expect(error).toMatchObject({ origin: 'aborted' });
    expect(body.destroyed).toBe(true);
    expect(commandsSince(from)).not.toContain('AbortMultipartUploadCommand');
    expect(commandsSince(from)).not.toContain('CompleteMultipartUploadCommand');
    const count = sent.length;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(settled).toBe(true);
    expect(sent.length).toBe(count);
  });

  test('a body that breaks with parts in flight still checkpoints them once they complete, and keeps the upload', async () => {
    const key = freshKey('in-flight');
    const broke = new Error('broke with two parts in flight');
    const from = sent.length;
    const { seen, onCheckpoint } = recorder(key);

    // Both parts are dispatched long before s3rver answers the first.
    const error = await rejection(
      store.resumable.putResumable({ key, body: generatedBody({ size: 4 * PART, seed: 'in flight', failAfter: 2 * PART + 512 * KiB, error: broke }), metadata: {}, onCheckpoint }),
    );

    expect(error).toMatchObject({ origin: 'body', cause: broke });
    expect(seen.map((call) => call.checkpoint.bytesCommitted)).toEqual([PART, 2 * PART]);
    expect(commandsSince(from)).not.toContain('AbortMultipartUploadCommand');
    const count = sent.length;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(sent.length).toBe(count);
  });

  test('a put that fails before any checkpoint was offered aborts its upload, as put does (s3rver: 405, a clean-up note)', async () => {
    const refused = s3Error('InternalError', 500, 'part 1 refused');
    const client = clientPlaying((command, input) => {
      if (command === 'UploadPartCommand' && input.PartNumber === 1) throw refused;
      return undefined;
    });
    const flaky = new S3ArchiveStore({ client, bucket: s3.bucket, partSizeBytes: PART, queueSize: 2 });
    const from = sent.length;
    const { seen, onCheckpoint } = recorder(freshKey('early'));

    const error = await rejection(flaky.resumable.putResumable({ key: freshKey('early'), body: generatedBody({ size: 3 * PART, seed: 'early' }), metadata: {}, onCheckpoint }));
    client.destroy();

    expect(error).toMatchObject({ origin: 'store', cause: refused, retryable: true });
    expect(seen).toEqual([]);
    const abort = since(from).find((r) => r.command === 'AbortMultipartUploadCommand');
    expect(abort?.input.UploadId).toBe(since(from).find((r) => r.command === 'CreateMultipartUploadCommand')?.output?.UploadId);
    expect((error as ArchiveWriteError).cleanupError).toMatchObject({ $metadata: { httpStatusCode: 405 } });
    expect(flaky.resumable.partBuffers.held).toBe(0);
  });

  test('a CreateMultipartUpload that fails is the cause (origin store); no part buffer stays counted', async () => {
    const refused = s3Error('InternalError', 500, 'no upload today');
    const client = clientPlaying((command) => {
      if (command === 'CreateMultipartUploadCommand') throw refused;
      return undefined;
    });
    const failing = new S3ArchiveStore({ client, bucket: s3.bucket, partSizeBytes: PART, queueSize: 2 });

    const error = await rejection(
      failing.resumable.putResumable({ key: freshKey('no-create'), body: generatedBody({ size: 3 * PART, seed: 'nc' }), metadata: {}, onCheckpoint: async () => true }),
    );
    client.destroy();

    expect(error).toMatchObject({ origin: 'store', cause: refused, retryable: true, cleanupError: undefined });
    expect(failing.resumable.partBuffers.held).toBe(0);
  });

  test('a small failing body sends nothing but the check of the key', async () => {
    const from = sent.length;
    await expect(
      store.resumable.putResumable({
        key: freshKey('small-fail'),
        body: generatedBody({ size: 4 * KiB, seed: 's', failAfter: 2 * KiB }),
        metadata: {},
        onCheckpoint: async () => true,
      }),
    ).rejects.toBeInstanceOf(ArchiveWriteError);
    expect(commandsSince(from)).toEqual(['HeadObjectCommand']);
  });

  test('an invalid key or metadata is refused before reading, the body destroyed', async () => {
    const inputs: { key: string; metadata: Record<string, string> }[] = [
      { key: '../outside.mp4', metadata: {} },
      { key: freshKey('meta'), metadata: { sha256: 'reserved' } },
    ];
    for (const input of inputs) {
      const body = generatedBody({ size: 10, seed: 'x' });
      await expect(store.resumable.putResumable({ ...input, body, onCheckpoint: async () => true })).rejects.toBeInstanceOf(ArchiveInputError);
      expect(body.destroyed).toBe(true);
    }
  });
});

describe('S3 resumable puts: prepareResume', () => {
  const part = (partNumber: number, size = PART, etag = `"etag-${partNumber}"`): CheckpointPart => ({ partNumber, etag, size });

  test('refuses malformed checkpoints with the reason, and accepts a good one (s3rver: ListParts 405, the checkpoint trusted)', async () => {
    const key = freshKey('prepare');
    const { checkpoint } = await interruptedPut(key, 'prepare', 3 * PART, 2 * PART + 7);
    const uploadId = checkpoint.uploadId!;
    const at = (fields: Partial<Record<keyof TransferCheckpoint, unknown>>) => ({ uploadId, bytesCommitted: PART, parts: [part(1)], ...fields }) as TransferCheckpoint;

    const refused: [string, TransferCheckpoint | undefined, RegExp][] = [
      ['no checkpoint', undefined, /no checkpoint/],
      ['null', null as unknown as TransferCheckpoint, /no checkpoint/],
      ['no uploadId', at({ uploadId: undefined }), /names no multipart upload/],
      ['an empty uploadId', at({ uploadId: '' }), /names no multipart upload/],
      ['nothing committed', at({ bytesCommitted: 0, parts: [] }), /nothing to resume/],
      ['a fraction', at({ bytesCommitted: 1.5 }), /nothing to resume/],
      ['no parts', at({ parts: [] }), /lists no parts/],
      ['parts not an array', at({ parts: 'x' }), /lists no parts/],
      ['a gap', at({ bytesCommitted: 2 * PART, parts: [part(1), part(3)] }), /not numbered 1, 2, 3/],
      ['not from 1', at({ parts: [part(2)] }), /not numbered 1, 2, 3/],
      ['out of order', at({ bytesCommitted: 2 * PART, parts: [part(2), part(1)] }), /not numbered/],
      ['a smaller part', at({ bytesCommitted: 2 * PART - 1, parts: [part(1), part(2, PART - 1)] }), /part 2 holds 5242879 bytes, not the 5242880/],
      ['a larger part', at({ bytesCommitted: PART + 1, parts: [part(1, PART + 1)] }), /not the 5242880/],
      ['bytesCommitted not their sum', at({ bytesCommitted: PART + 1 }), /not the sum of the parts' sizes \(5242880\)/],
      ['no ETag', at({ parts: [part(1, PART, '')] }), /part 1 has no ETag/],
    ];
    for (const [label, bad, reason] of refused) {
      const point = await store.resumable.prepareResume(key, bad);
      expect({ label, offset: point.offset, committed: point.committed }).toEqual({ label, offset: 0, committed: undefined });
      expect({ label, reason: point.reason }).toEqual({ label, reason: expect.stringMatching(reason) });
    }

    const from = sent.length;
    const point = await store.resumable.prepareResume(key, checkpoint);
    expect(point).toEqual({ offset: checkpoint.bytesCommitted });
    expect(since(from).map((r) => [r.command, r.status])).toEqual([['ListPartsCommand', 405]]);
  });

  test('an invalid key throws as everywhere', async () => {
    await expect(store.resumable.prepareResume('../outside.mp4', { uploadId: 'x', bytesCommitted: PART, parts: [part(1)] })).rejects.toBeInstanceOf(ArchiveInputError);
  });

  test('where ListParts works (S3), each checkpointed part must be there with its ETag and size; a gone upload is offset 0', async () => {
    const listed = [
      { PartNumber: 1, ETag: '"etag-1"', Size: PART },
      { PartNumber: 2, ETag: '"etag-2"', Size: PART },
      { PartNumber: 3, ETag: '"etag-3"', Size: 100 },
    ];
    const client = clientPlaying((command, input) => {
      if (command !== 'ListPartsCommand') return undefined;
      if (input.UploadId === 'gone') throw s3Error('NoSuchUpload', 404, 'The specified upload does not exist.');
      if (input.UploadId === 'denied') throw s3Error('AccessDenied', 403, 'Access Denied');
      return { Parts: listed, IsTruncated: false };
    });
    const real = new S3ArchiveStore({ client, bucket: s3.bucket, partSizeBytes: PART, queueSize: 2 });
    const key = freshKey('listed');
    const at = (parts: CheckpointPart[], uploadId = 'upload') => ({ uploadId, bytesCommitted: parts.length * PART, parts });

    expect(await real.resumable.prepareResume(key, at([part(1), part(2)]))).toEqual({ offset: 2 * PART });
    // Quotes are S3's, not part of the ETag.
    expect(await real.resumable.prepareResume(key, at([part(1, PART, 'etag-1')]))).toEqual({ offset: PART });
    const refused: [string, TransferCheckpoint, RegExp][] = [
      ['another ETag', at([part(1), part(2, PART, '"other"')]), /part 2 has ETag "etag-2" in the upload, "other" in the checkpoint/],
      ['a part S3 does not hold', at([part(1), part(2), part(3), part(4)]), /part 3 holds 100 bytes in the upload/],
      ['gone', at([part(1)], 'gone'), /the upload is gone/],
      ['not listable', at([part(1)], 'denied'), /cannot be listed: Access Denied/],
    ];
    for (const [label, bad, reason] of refused) {
      const point = await real.resumable.prepareResume(key, bad);
      expect({ label, offset: point.offset, reason: point.reason }).toEqual({ label, offset: 0, reason: expect.stringMatching(reason) });
    }
    client.destroy();
  });

  test('the part size depends only on the declared length: the configured one, or a multiple of it past 10,000 parts', async () => {
    const driver = store.resumable;
    expect(driver.checkpointBytes).toBe(PART);
    expect(driver.resumeHash).toBe('saved-state');
    expect(driver.checkpointBytesFor(undefined)).toBe(PART);
    expect(driver.checkpointBytesFor(0)).toBe(PART);
    expect(driver.checkpointBytesFor(10_000 * PART)).toBe(PART);
    expect(driver.checkpointBytesFor(10_000 * PART + 1)).toBe(2 * PART);
    expect(driver.checkpointBytesFor(5 * 1024 ** 4)).toBe(105 * PART);
    expect(() => driver.checkpointBytesFor(5 * 1024 ** 4 + 1)).toThrow(ArchiveInputError);
    // A checkpoint of an object's own part size, checked with its length; without it, the configured size is expected.
    const huge = 10_000 * PART + 1;
    const checkpoint = { uploadId: 'u', bytesCommitted: 2 * PART, parts: [part(1, 2 * PART)] };
    expect((await driver.prepareResume(freshKey('huge'), checkpoint)).reason).toMatch(/not the 5242880/);
    expect((await driver.prepareResume(freshKey('huge'), checkpoint, huge)).offset).toBe(2 * PART);
  });
});

describe('S3 resumable puts: an upload that is gone', () => {
  test('a resume against an aborted upload fails retryably, its cause MultipartUploadGoneError; prepareResume says gone', async () => {
    const gone = new Set<string>();
    const client = clientWithGoneUploads(gone);
    const playing = new S3ArchiveStore({ client, bucket: s3.bucket, partSizeBytes: PART, queueSize: 2 });
    const key = freshKey('gone');
    const seed = 'gone';
    const size = 3 * PART + 5;
    const { checkpoint } = await interruptedPut(key, seed, size, 2 * PART + 5, playing);
    // Aborted (by a lifecycle rule, an operator), as S3 would answer from now on.
    gone.add(checkpoint.uploadId!);

    const point = await playing.resumable.prepareResume(key, checkpoint);
    expect(point).toEqual({ offset: 0, reason: expect.stringMatching(/gone/) });

    const body = generatedFrom(seed, size, checkpoint.bytesCommitted);
    const error = await rejection(
      playing.resumable.putResumable({ key, body, contentLength: size, metadata: {}, resumeFrom: checkpoint, onCheckpoint: async () => true }),
    );
    client.destroy();

    expect(error).toBeInstanceOf(ArchiveWriteError);
    expect(error).toMatchObject({ origin: 'store', retryable: true });
    const cause = (error as ArchiveWriteError).cause;
    expect(cause).toBeInstanceOf(MultipartUploadGoneError);
    expect(cause).toMatchObject({ uploadId: checkpoint.uploadId, key, retryable: true });
    expect(body.destroyed).toBe(true);
    expect(await store.head(key)).toBeUndefined();
  });

  test.each([
    ['UploadPart answers NoSuchUpload', 'UploadPartCommand', 'NoSuchUpload', 404],
    ['CompleteMultipartUpload answers NoSuchUpload', 'CompleteMultipartUploadCommand', 'NoSuchUpload', 404],
    ['CompleteMultipartUpload answers InvalidPart (a checkpointed part is not as recorded)', 'CompleteMultipartUploadCommand', 'InvalidPart', 400],
  ])('a resume where %s: the cause is MultipartUploadGoneError', async (_label, failing, name, status) => {
    let armed = false;
    const client = clientPlaying((command) => {
      if (armed && command === failing) throw s3Error(name, status, `${name} played`);
      return undefined;
    });
    const playing = new S3ArchiveStore({ client, bucket: s3.bucket, partSizeBytes: PART, queueSize: 2 });
    const key = freshKey('gone-late');
    const size = 3 * PART;
    const { checkpoint } = await interruptedPut(key, 'late', size, PART + 5, playing);
    armed = true;

    const error = await rejection(
      playing.resumable.putResumable({
        key,
        body: generatedFrom('late', size, checkpoint.bytesCommitted),
        contentLength: size,
        metadata: {},
        resumeFrom: checkpoint,
        onCheckpoint: async () => true,
      }),
    );
    client.destroy();

    expect(error).toMatchObject({ origin: 'store', retryable: true, cause: expect.any(MultipartUploadGoneError) });
    expect(((error as ArchiveWriteError).cause as Error).cause).toMatchObject({ name });
  });
});

describe('S3 resumable puts: a taken key', () => {
  test('a key already holding the same bytes is the archived result: compared by reading it back, nothing uploaded', async () => {
    const key = freshKey('same');
    const size = PART + 3;
    await store.put({ key, body: generatedBody({ size, seed: 'same' }), contentLength: size, metadata: {} });
    const from = sent.length;
    const { seen, onCheckpoint } = recorder(key);

    const result = await store.resumable.putResumable({ key, body: generatedBody({ size, seed: 'same' }), contentLength: size, metadata: {}, onCheckpoint });

    expect(result).toEqual({ location: store.describe(key), size });
    expect(commandsSince(from)).toEqual(['HeadObjectCommand', 'GetObjectCommand']);
    expect(seen).toEqual([]);
  });

  test("with the caller's digest (sha256), the key is compared by it and the body is not hashed again", async () => {
    const key = freshKey('caller-digest');
    const size = PART + 3;
    await store.put({ key, body: generatedBody({ size, seed: 'caller' }), contentLength: size, metadata: {} });
    const asked: string[] = [];
    const put = (sha256: string) =>
      store.resumable.putResumable({
        key,
        body: generatedBody({ size, seed: 'caller' }),
        contentLength: size,
        metadata: {},
        onCheckpoint: async () => true,
        sha256: async () => {
          asked.push(sha256);
          return sha256;
        },
      });

    // The same bytes, but the caller says otherwise: the caller's digest decides, so the store did not hash them itself.
    expect(await rejection(put('0'.repeat(64)))).toBeInstanceOf(ArchiveKeyConflictError);
    expect(await put(generatedSha256(size, 'caller'))).toEqual({ location: store.describe(key), size });
    expect(asked).toHaveLength(2);
    expect(await sha256Of(await store.get(key))).toEqual({ sha256: generatedSha256(size, 'caller'), size });
  });

  test('a key already holding other bytes is an ArchiveKeyConflictError; nothing uploaded, the object intact', async () => {
    const key = freshKey('other');
    await store.put({ key, body: generatedBody({ size: 3 * KiB, seed: 'first' }), metadata: {} });
    const from = sent.length;

    const error = await rejection(store.resumable.putResumable({ key, body: generatedBody({ size: 3 * KiB, seed: 'second' }), metadata: {}, onCheckpoint: async () => true }));

    expect(error).toBeInstanceOf(ArchiveKeyConflictError);
    // The single PutObject recorded its digest: compared without reading.
    expect(commandsSince(from)).toEqual(['HeadObjectCommand']);
    expect(await sha256Of(await store.get(key))).toEqual({ sha256: generatedSha256(3 * KiB, 'first'), size: 3 * KiB });
  });

  test('a key taken while the body streams is found before the commit: a conflict, even after a checkpoint, and the upload aborted', async () => {
    const key = freshKey('while-streaming');
    const intruder = createS3rverClient(s3.endpoint);
    const body = new PassThrough();
    const { seen, onCheckpoint } = recorder(key);
    const from = sent.length;

    const put = rejection(store.resumable.putResumable({ key, body, contentLength: 12 * MiB, metadata: {}, onCheckpoint }));
    body.write(Buffer.alloc(6 * MiB, 1));
    await waitFor('the first checkpoint', () => (seen.length > 0 ? true : undefined), 5_000, { intervalMs: 10 });
    await intruder.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: 'another writer' }));
    intruder.destroy();
    body.end(Buffer.alloc(6 * MiB, 2));
    const error = await put;

    expect(error).toBeInstanceOf(ArchiveKeyConflictError);
    expect(commandsSince(from)).not.toContain('CompleteMultipartUploadCommand');
    expect(since(from).find((r) => r.command === 'AbortMultipartUploadCommand')?.input.UploadId).toBe(seen[0]!.checkpoint.uploadId);
    expect((error as ArchiveKeyConflictError).cleanupError).toMatchObject({ $metadata: { httpStatusCode: 405 } });
    expect(await sha256Of(await store.get(key))).toEqual(await sha256Of([Buffer.from('another writer')]));
  });

  test.each([
    ['the same bytes: the archived result', 'raced', undefined],
    ['other bytes: a conflict', 'winner', ArchiveKeyConflictError],
  ])('412 on the commit because another put committed first, %s; the upload is aborted', async (_label, winnerSeed, expected) => {
    const key = freshKey('raced');
    const size = PART + 11;
    await store.put({ key, body: generatedBody({ size, seed: winnerSeed }), contentLength: size, metadata: {} });
    let hidden = true;
    const client = clientPlaying((command) => {
      if (command === 'HeadObjectCommand' && hidden) throw s3Error('NotFound', 404, 'Not Found');
      if (command === 'CompleteMultipartUploadCommand') {
        hidden = false;
        throw s3Error('PreconditionFailed', 412, 'At least one of the pre-conditions you specified did not hold');
      }
      return undefined;
    });
    const racing = new S3ArchiveStore({ client, bucket: s3.bucket, partSizeBytes: PART, queueSize: 2 });
    const from = sent.length;

    const outcome = await racing.resumable
      .putResumable({ key, body: generatedBody({ size, seed: 'raced' }), contentLength: size, metadata: {}, onCheckpoint: async () => true })
      .catch((e: unknown) => e);
    client.destroy();

    if (expected) expect(outcome).toBeInstanceOf(expected);
    else expect(outcome).toEqual({ location: store.describe(key), size });
    expect(commandsSince(from)).toContain('AbortMultipartUploadCommand');
    expect(await sha256Of(await store.get(key))).toEqual({ sha256: generatedSha256(size, winnerSeed), size });
  });

  test('a resume whose key now holds the same bytes (an earlier commit) succeeds, compared by the saved hash state and the rest', async () => {
    const key = freshKey('resume-same');
    const seed = 'resume same';
    const size = 3 * PART + 1;
    const { checkpoint } = await interruptedPut(key, seed, size, 2 * PART + 1);
    const hashState = await hashStateAt(seed, checkpoint.bytesCommitted);
    // The earlier attempt's commit went through, unrecorded.
    await store.put({ key, body: generatedBody({ size, seed }), contentLength: size, metadata: {} });
    const from = sent.length;

    const result = await store.resumable.putResumable({
      key,
      body: generatedFrom(seed, size, checkpoint.bytesCommitted),
      contentLength: size,
      metadata: {},
      resumeFrom: { ...checkpoint, hashState },
      onCheckpoint: async () => true,
    });

    expect(result).toEqual({ location: store.describe(key), size });
    expect(commandsSince(from)).toEqual(['HeadObjectCommand', 'AbortMultipartUploadCommand', 'GetObjectCommand']);
  });

  test('a resume whose key holds other bytes of the same size is a conflict (by the hash state); without the state, a retryable start-over', async () => {
    const key = freshKey('resume-other');
    const seed = 'resume other';
    const size = 3 * PART + 1;
    const { checkpoint } = await interruptedPut(key, seed, size, 2 * PART + 1);
    const hashState = await hashStateAt(seed, checkpoint.bytesCommitted);
    await store.put({ key, body: generatedBody({ size, seed: 'somebody else' }), contentLength: size, metadata: {} });
    const resume = (resumeFrom: TransferCheckpoint) =>
      rejection(
        store.resumable.putResumable({
          key,
          body: generatedFrom(seed, size, checkpoint.bytesCommitted),
          contentLength: size,
          metadata: {},
          resumeFrom,
          onCheckpoint: async () => true,
        }),
      );

    expect(await resume({ ...checkpoint, hashState })).toBeInstanceOf(ArchiveKeyConflictError);
    const unknown = await resume(checkpoint);
    expect(unknown).not.toBeInstanceOf(ArchiveKeyConflictError);
    expect(unknown).toMatchObject({ origin: 'store', retryable: true, cause: expect.any(MultipartUploadGoneError) });
    expect(await sha256Of(await store.get(key))).toEqual({ sha256: generatedSha256(size, 'somebody else'), size });
  });
});

describe('S3 resumable puts: bounded memory', () => {
  test('every body chunk lent by a download pool goes back once copied into its part; the object is exact', async () => {
    const size = 12 * MiB + 5;
    const parts: Buffer[] = [];
    for await (const chunk of generatedBody({ size, seed: 'pooled' })) parts.push(chunk as Buffer);
    const source = Buffer.concat(parts);
    const pool = new ChunkPool(256 * KiB, 64);
    const given = new Set<ArrayBufferLike>();
    async function* lent() {
      for (let at = 0; at < source.length; ) {
        const buffer = pool.take();
        given.add(buffer.buffer);
        const length = source.copy(buffer, 0, at);
        at += length;
        yield pool.lend(buffer.subarray(0, length));
        pool.doneFilling(buffer);
      }
    }
    const key = freshKey('pooled');
    const pooled = new S3ArchiveStore({ client: s3.client, bucket: s3.bucket, partSizeBytes: PART, queueSize: 2 });
    await pooled.resumable.putResumable({ key, body: Readable.from(lent()), contentLength: size, metadata: {}, onCheckpoint: async () => true });
    expect(await sha256Of(await store.get(key))).toEqual({ sha256: generatedSha256(size, 'pooled'), size });
    // Reused while the put ran (fewer buffers than chunks), and all back at its end.
    expect(given.size).toBeLessThan(size / (256 * KiB));
    expect(pool.available).toBe(given.size);
  });

  test.each([
    ['a prompt ledger', 0],
    ['a slow ledger', 40],
  ])('with %s, a 64 MiB body in 5 MiB parts, queue 2: at most (queue + 1) parts held, read-ahead within them', async (_label, ledgerMs) => {
    const queueSize = 2;
    const size = 64 * MiB;
    const bounded = new S3ArchiveStore({ client: s3.client, bucket: s3.bucket, partSizeBytes: PART, queueSize });
    const answeredBefore = partBytesAnswered;
    let largestLead = 0;
    const body = generatedBody({
      size,
      seed: 'bounded',
      onProduce: (produced) => {
        largestLead = Math.max(largestLead, produced - (partBytesAnswered - answeredBefore));
      },
    });
    let checkpoints = 0;
    const key = freshKey('memory');

    await bounded.resumable.putResumable({
      key,
      body,
      contentLength: size,
      metadata: {},
      onCheckpoint: async () => {
        checkpoints++;
        if (ledgerMs > 0) await new Promise((resolve) => setTimeout(resolve, ledgerMs));
        return true;
      },
    });

    expect(bounded.resumable.partBuffers.peak).toBeGreaterThanOrEqual(2);
    expect(bounded.resumable.partBuffers.peak).toBeLessThanOrEqual(queueSize + 1);
    expect(bounded.resumable.partBuffers.held).toBe(0);
    expect(largestLead).toBeLessThanOrEqual((queueSize + 1) * PART + 1 * MiB);
    expect(checkpoints).toBe(Math.ceil(size / PART) - 1);
    expect(await sha256Of(await store.get(key))).toEqual({ sha256: generatedSha256(size, 'bounded'), size });
    // 13 parts, but the buffers of completed parts were filled again: about as many as are held at once.
    const allocated = bounded.resumable.partBuffers.allocated;
    expect(allocated).toBeLessThanOrEqual(queueSize + 2);

    // The next put on the same store starts from those buffers; reuse changes no byte of either object.
    const second = freshKey('memory-again');
    await bounded.resumable.putResumable({ key: second, body: generatedBody({ size, seed: 'bounded again' }), contentLength: size, metadata: {}, onCheckpoint: async () => true });
    expect(bounded.resumable.partBuffers.allocated - allocated).toBeLessThanOrEqual(1);
    expect(await sha256Of(await store.get(second))).toEqual({ sha256: generatedSha256(size, 'bounded again'), size });
    expect(await sha256Of(await store.get(key))).toEqual({ sha256: generatedSha256(size, 'bounded'), size });
  });
});
