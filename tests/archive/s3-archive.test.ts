/**
 * The S3 archive store against s3rver: the shared contract, plus what only S3 shows —
 * which requests a failed upload sends (never a Complete, always an abort), metadata
 * and encryption headers, the conditional commit and the key checks around it (S3's
 * own refusals played by a client that fails the commit as S3 would), bounded
 * read-ahead, and the configuration limits.
 */
import { PassThrough } from 'node:stream';
import { HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3ServiceException, type S3Client } from '@aws-sdk/client-s3';
import fc from 'fast-check';
import { S3ArchiveStore, decodeMetadata, encodeMetadata } from '../../shared/adapters/archive-s3';
import { ConfigError } from '../../shared/errors';
import { ArchiveInputError, ArchiveKeyConflictError, ArchiveWriteError } from '../../shared/ports/archive-store';
import { createS3rverClient, startS3rver, type S3rverHandle } from '../support/s3rver';
import { waitFor } from '../support/wait-for';
import { CONTRACT_PART_SIZE, KiB, MiB, SAMPLE_METADATA, describeArchiveStoreContract } from './archive-contract';
import { failingAtEnd, generatedBody, generatedSha256, sha256Of } from './generated-bytes';

interface SentRequest {
  command: string;
  input: Record<string, unknown>;
  headers: Record<string, string>;
  status?: number;
}

let s3: S3rverHandle;
let store: S3ArchiveStore;
const sent: SentRequest[] = [];
/** Bytes of UploadPart requests s3rver has answered. */
let partBytesAnswered = 0;

/** Records every request the client sends (after signing) and its answer's status. */
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

async function listKeys(prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let ContinuationToken: string | undefined;
  do {
    const page = await s3.client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `${prefix}/`, ContinuationToken }));
    keys.push(...(page.Contents ?? []).map((object) => object.Key ?? ''));
    ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (ContinuationToken);
  return keys;
}

const commandsSince = (from: number) => sent.slice(from).map((request) => request.command);

beforeAll(async () => {
  s3 = await startS3rver();
  recordRequests(s3.client);
  store = new S3ArchiveStore({ client: s3.client, bucket: s3.bucket, partSizeBytes: CONTRACT_PART_SIZE, queueSize: 2 });
});

afterAll(async () => {
  await s3?.stop();
});

describe('S3ArchiveStore (s3rver): the archive store contract', () => {
  describeArchiveStoreContract(() => ({ store, listKeys }), { exclusiveCreate: false });
});

describe('S3ArchiveStore (s3rver): requests', () => {
  test.each([
    ['half-way', () => generatedBody({ size: 16 * MiB, seed: 'trace', failAfter: 12 * MiB, error: new Error('download broke') })],
    ['in its final flush, after two whole parts', () => failingAtEnd(generatedBody({ size: 10 * MiB, seed: 'trace' }), new Error('HTML page'))],
  ])('a body failing %s never sends CompleteMultipartUpload and aborts the upload', async (_label, makeBody) => {
    const key = 'requests/failed-multipart.mp4';
    const from = sent.length;
    const body = makeBody();

    const error: unknown = await store.put({ key, body, metadata: SAMPLE_METADATA }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ArchiveWriteError);
    const commands = commandsSince(from);
    expect(commands).toContain('CreateMultipartUploadCommand');
    expect(commands).toContain('UploadPartCommand');
    expect(commands).not.toContain('CompleteMultipartUploadCommand');
    expect(commands).not.toContain('PutObjectCommand');
    const uploadIds = new Set(sent.slice(from).filter((r) => r.command === 'UploadPartCommand').map((r) => r.input.UploadId));
    const abort = sent.slice(from).find((r) => r.command === 'AbortMultipartUploadCommand');
    expect(abort?.input.UploadId).toBeDefined();
    expect([...uploadIds]).toEqual([abort?.input.UploadId]);
    // s3rver does not implement the abort: the put reports it as a clean-up failure
    // and keeps the body's error as its cause.
    expect(abort?.status).toBe(405);
    expect((error as ArchiveWriteError).cause).toBeInstanceOf(Error);
    expect(((error as ArchiveWriteError).cause as Error).message).toMatch(/download broke|HTML page/);
    expect((error as ArchiveWriteError).cleanupError).toMatchObject({ $metadata: { httpStatusCode: 405 } });
  });

  test("a part the store refuses is the put's cause (not the abort's 405), origin store, and the body is released", async () => {
    const client = createS3rverClient(s3.endpoint);
    recordRequests(client);
    const refused = Object.assign(new Error('part 2 refused'), { $metadata: { httpStatusCode: 500 } });
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as { PartNumber?: number };
        if (context.commandName === 'UploadPartCommand' && input.PartNumber === 2) throw refused;
        return next(args);
      },
      { step: 'initialize', name: 'refusePartTwo' },
    );
    const flaky = new S3ArchiveStore({ client, bucket: s3.bucket, partSizeBytes: 5 * MiB, queueSize: 1 });
    const body = generatedBody({ size: 30 * MiB, seed: 'flaky' });
    const from = sent.length;

    const error: unknown = await flaky.put({ key: 'requests/flaky.mp4', body, metadata: {} }).catch((e: unknown) => e);
    client.destroy();

    expect(error).toBeInstanceOf(ArchiveWriteError);
    expect(error).toMatchObject({ origin: 'store', retryable: true });
    expect((error as ArchiveWriteError).cause).toBe(refused);
    expect(body.destroyed).toBe(true);
    expect(commandsSince(from)).toContain('AbortMultipartUploadCommand');
    expect(commandsSince(from)).not.toContain('CompleteMultipartUploadCommand');
    expect(await store.head('requests/flaky.mp4')).toBeUndefined();
  });

  test('a small failing body sends nothing but the check of the key', async () => {
    const from = sent.length;

    await expect(
      store.put({ key: 'requests/small.mp4', body: failingAtEnd(generatedBody({ size: 4 * KiB, seed: 's' }), new Error('x')), metadata: {} }),
    ).rejects.toBeInstanceOf(ArchiveWriteError);

    expect(commandsSince(from)).toEqual(['HeadObjectCommand']);
  });

  test('metadata travels as x-amz-meta headers, non-ASCII text as RFC 2047 encoded words; content type is kept', async () => {
    const key = 'requests/metadata.mp4';
    const metadata = { ...SAMPLE_METADATA, topic: '[MAQ101] Maqām Bayātī — lesson 3' };

    await store.put({ key, body: generatedBody({ size: 10, seed: 'm' }), metadata, contentType: 'video/mp4' });

    const raw = await s3.client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: key }));
    expect(raw.ContentType).toBe('video/mp4');
    expect(raw.Metadata).toEqual({
      ...SAMPLE_METADATA,
      topic: `=?UTF-8?B?${Buffer.from(metadata.topic).toString('base64')}?=`,
      sha256: generatedSha256(10, 'm'),
    });
    expect((await store.head(key))?.metadata).toEqual(metadata);
  });

  test.each([
    ['single PutObject', 1 * KiB, 'PutObjectCommand'],
    ['multipart upload', 6 * MiB, 'CreateMultipartUploadCommand'],
  ])('server-side encryption is requested on a %s', async (_label, size, command) => {
    const encrypted = new S3ArchiveStore({ client: s3.client, bucket: s3.bucket, partSizeBytes: 5 * MiB, serverSideEncryption: 'AES256' });
    const from = sent.length;

    await encrypted.put({ key: `requests/encrypted-${size}.mp4`, body: generatedBody({ size, seed: 'sse' }), metadata: {} });

    const request = sent.slice(from).find((r) => r.command === command);
    expect(request?.headers['x-amz-server-side-encryption']).toBe('AES256');
  });

  test('a failure of the store itself (missing bucket) has origin store, is retryable, and destroys the body', async () => {
    const elsewhere = new S3ArchiveStore({ client: s3.client, bucket: 'no-such-bucket', partSizeBytes: 5 * MiB });
    const body = generatedBody({ size: 7 * MiB, seed: 'nb' });

    const error: unknown = await elsewhere.put({ key: 'x/y.mp4', body, metadata: {} }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ArchiveWriteError);
    expect(error).toMatchObject({ origin: 'store', retryable: true });
    expect(((error as ArchiveWriteError).cause as Error).name).toBe('NoSuchBucket');
    expect(body.destroyed).toBe(true);
  });
});

const s3Error = (name: string, status: number, message: string) =>
  new S3ServiceException({ name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status }, message });
const preconditionFailed = () => s3Error('PreconditionFailed', 412, 'At least one of the pre-conditions you specified did not hold');

/**
 * A client on s3rver whose commit requests (PutObject, CompleteMultipartUpload) fail
 * with `refusal()`, as real S3 answers If-None-Match on a taken key. With
 * `hideKeyUntilRefused`, HeadObject answers 404 until the first refusal: another
 * writer's object that appeared between the store's last check and its commit.
 */
function clientRefusingCommits(refusal: () => Error, options: { hideKeyUntilRefused?: boolean } = {}): S3Client {
  const client = createS3rverClient(s3.endpoint);
  recordRequests(client);
  let hidden = options.hideKeyUntilRefused ?? false;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = context.commandName;
      if (command === 'HeadObjectCommand' && hidden) throw s3Error('NotFound', 404, 'Not Found');
      if (command === 'PutObjectCommand' || command === 'CompleteMultipartUploadCommand') {
        hidden = false;
        throw refusal();
      }
      return next(args);
    },
    { step: 'initialize', name: 'refuseCommits' },
  );
  return client;
}

const rejection = (put: Promise<unknown>) =>
  put.then(
    () => {
      throw new Error('put resolved, expected a rejection');
    },
    (e: unknown) => e,
  );

describe('S3ArchiveStore: a taken key', () => {
  test.each([
    ['the PutObject of a small body', 3 * KiB, 'PutObjectCommand'],
    ['the CompleteMultipartUpload', 6 * MiB, 'CompleteMultipartUploadCommand'],
  ])('%s carries If-None-Match: *, so that S3 itself refuses a taken key', async (_label, size, command) => {
    const from = sent.length;

    await store.put({ key: `taken/if-none-match-${size}.mp4`, body: generatedBody({ size, seed: 'inm' }), contentLength: size, metadata: {} });

    const commits = sent.slice(from).filter((request) => request.command === command);
    expect(commits).toHaveLength(1);
    expect(commits[0]!.headers['if-none-match']).toBe('*');
    expect(commits[0]!.status).toBe(200);
  });

  test.each([
    ['the PutObject of a small body', 3 * KiB, false],
    ['the CompleteMultipartUpload', 6 * MiB, true],
  ])('412 PreconditionFailed on %s is an ArchiveKeyConflictError; nothing is stored', async (_label, size, multipart) => {
    const client = clientRefusingCommits(preconditionFailed);
    const refusing = new S3ArchiveStore({ client, bucket: s3.bucket, partSizeBytes: 5 * MiB, queueSize: 2 });
    const key = `taken/refused-${size}.mp4`;
    const from = sent.length;

    const error = await rejection(refusing.put({ key, body: generatedBody({ size, seed: 'refused' }), contentLength: size, metadata: {} }));
    client.destroy();

    expect(error).toBeInstanceOf(ArchiveKeyConflictError);
    expect(error).toMatchObject({ key, origin: 'store', retryable: false, message: `archive key already holds a different object: ${key}` });
    expect(((error as ArchiveKeyConflictError).cause as Error).name).toBe('PreconditionFailed');
    // The multipart upload is aborted; s3rver's 405 to that stays a clean-up note, not the result.
    expect(commandsSince(from).includes('AbortMultipartUploadCommand')).toBe(multipart);
    expect((error as ArchiveKeyConflictError).cleanupError).toEqual(multipart ? expect.objectContaining({ $metadata: expect.objectContaining({ httpStatusCode: 405 }) }) : undefined);
    expect(await store.head(key)).toBeUndefined();
  });

  test.each([
    ['in one part (its recorded SHA-256 compared)', 3 * KiB],
    ['over a part (read back and hashed)', 6 * MiB + 5],
  ])('412 because another put committed the same bytes first, %s, is the archived result', async (_label, size) => {
    const key = `taken/raced-same-${size}.mp4`;
    await store.put({ key, body: generatedBody({ size, seed: 'raced' }), contentLength: size, metadata: {} });
    const client = clientRefusingCommits(preconditionFailed, { hideKeyUntilRefused: true });
    const racing = new S3ArchiveStore({ client, bucket: s3.bucket, partSizeBytes: 5 * MiB, queueSize: 2 });

    const result = await racing.put({ key, body: generatedBody({ size, seed: 'raced' }), contentLength: size, metadata: {} });
    client.destroy();

    expect(result).toEqual({ location: store.describe(key), size });
    expect(await sha256Of(await store.get(key))).toEqual({ sha256: generatedSha256(size, 'raced'), size });
  });

  test('412 because another put committed other bytes first is a conflict, and those bytes stay', async () => {
    const key = 'taken/raced-other.mp4';
    await store.put({ key, body: generatedBody({ size: 3 * KiB, seed: 'winner' }), metadata: {} });
    const client = clientRefusingCommits(preconditionFailed, { hideKeyUntilRefused: true });
    const racing = new S3ArchiveStore({ client, bucket: s3.bucket, partSizeBytes: 5 * MiB, queueSize: 2 });

    const error = await rejection(racing.put({ key, body: generatedBody({ size: 3 * KiB, seed: 'loser' }), metadata: {} }));
    client.destroy();

    expect(error).toBeInstanceOf(ArchiveKeyConflictError);
    expect(await sha256Of(await store.get(key))).toEqual({ sha256: generatedSha256(3 * KiB, 'winner'), size: 3 * KiB });
  });

  test('409 ConditionalRequestConflict (a commit racing another) is a retryable write error, not a conflict', async () => {
    const client = clientRefusingCommits(() => s3Error('ConditionalRequestConflict', 409, 'A conflicting conditional operation is in progress'));
    const racing = new S3ArchiveStore({ client, bucket: s3.bucket, partSizeBytes: 5 * MiB, queueSize: 2 });
    const key = 'taken/409.mp4';
    const from = sent.length;

    const error = await rejection(racing.put({ key, body: generatedBody({ size: 6 * MiB, seed: '409' }), metadata: {} }));
    client.destroy();

    expect(error).toBeInstanceOf(ArchiveWriteError);
    expect(error).not.toBeInstanceOf(ArchiveKeyConflictError);
    expect(error).toMatchObject({ origin: 'store', retryable: true });
    expect(((error as ArchiveWriteError).cause as Error).name).toBe('ConditionalRequestConflict');
    expect(commandsSince(from)).toContain('AbortMultipartUploadCommand');
    expect(await store.head(key)).toBeUndefined();
  });

  test('a key taken before the put is found by HeadObject (s3rver ignores If-None-Match): nothing is uploaded', async () => {
    const key = 'taken/before.mp4';
    await store.put({ key, body: generatedBody({ size: 6 * MiB + 3, seed: 'first' }), metadata: {} });
    const from = sent.length;

    const error = await rejection(store.put({ key, body: generatedBody({ size: 6 * MiB + 3, seed: 'second' }), metadata: {} }));

    expect(error).toBeInstanceOf(ArchiveKeyConflictError);
    // Same size, no recorded digest (a multipart object): the stored bytes were read back to compare.
    expect(commandsSince(from)).toEqual(['HeadObjectCommand', 'GetObjectCommand']);
    expect(await sha256Of(await store.get(key))).toEqual({ sha256: generatedSha256(6 * MiB + 3, 'first'), size: 6 * MiB + 3 });
  });

  test.each([
    ['in one part: by its recorded SHA-256', 3 * KiB, ['HeadObjectCommand']],
    ['over a part: read back', 6 * MiB + 3, ['HeadObjectCommand', 'GetObjectCommand']],
  ])('the same bytes under a taken key are compared, never uploaded again (%s)', async (_label, size, expected) => {
    const key = `taken/same-${size}.mp4`;
    await store.put({ key, body: generatedBody({ size, seed: 'same' }), contentLength: size, metadata: {} });
    const from = sent.length;

    await store.put({ key, body: generatedBody({ size, seed: 'same' }), contentLength: size, metadata: {} });

    expect(commandsSince(from)).toEqual(expected);
  });

  test('a key taken while the body streams is found before the commit: no CompleteMultipartUpload, the upload aborted, the other object intact', async () => {
    const key = 'taken/while-streaming.mp4';
    const intruder = createS3rverClient(s3.endpoint);
    const from = sent.length;
    const body = new PassThrough();

    const put = rejection(store.put({ key, body, contentLength: 12 * MiB, metadata: {} }));
    body.write(Buffer.alloc(6 * MiB, 1));
    await waitFor('the first part to be uploaded', () => sent.slice(from).some((r) => r.command === 'UploadPartCommand' && r.status === 200) || undefined, 5_000, { intervalMs: 10 });
    await intruder.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: 'another writer' }));
    intruder.destroy();
    body.end(Buffer.alloc(6 * MiB, 2));
    const error = await put;

    expect(error).toBeInstanceOf(ArchiveKeyConflictError);
    const commands = commandsSince(from);
    expect(commands).not.toContain('CompleteMultipartUploadCommand');
    expect(commands).toContain('AbortMultipartUploadCommand');
    expect((error as ArchiveKeyConflictError).cleanupError).toMatchObject({ $metadata: { httpStatusCode: 405 } });
    expect(await sha256Of(await store.get(key))).toEqual(await sha256Of([Buffer.from('another writer')]));
  });
});

describe('S3ArchiveStore: bounded memory, in spirit', () => {
  test('read-ahead of the body stays within (queue size + 1) parts of what s3rver has answered', async () => {
    const partSize = 5 * MiB;
    const queueSize = 2;
    const size = 40 * MiB;
    const bounded = new S3ArchiveStore({ client: s3.client, bucket: s3.bucket, partSizeBytes: partSize, queueSize });
    const answeredBefore = partBytesAnswered;
    let largestLead = 0;
    const body = generatedBody({
      size,
      seed: 'bounded',
      onProduce: (produced) => {
        largestLead = Math.max(largestLead, produced - (partBytesAnswered - answeredBefore));
      },
    });

    await bounded.put({ key: 'memory/forty.mp4', body, contentLength: size, metadata: {} });

    expect(largestLead).toBeLessThanOrEqual((queueSize + 1) * partSize + 1 * MiB);
    expect(largestLead).toBeLessThan(size / 2);
    expect(await sha256Of(await bounded.get('memory/forty.mp4'))).toEqual({ sha256: generatedSha256(size, 'bounded'), size });
  });
});

describe('S3ArchiveStore: configuration and limits', () => {
  test.each([
    ['a part size under 5 MiB', { partSizeBytes: 5 * MiB - 1 }],
    ['a fractional part size', { partSizeBytes: 5.5 * MiB + 0.5 }],
    ['a queue size of 0', { queueSize: 0 }],
    ['a KMS key without aws:kms', { kmsKeyId: 'alias/archive', serverSideEncryption: 'AES256' as const }],
    ['no bucket', { bucket: '' }],
  ])('refuses %s at construction', (_label, options) => {
    expect(() => new S3ArchiveStore({ client: s3.client, bucket: s3.bucket, ...options })).toThrow(ConfigError);
  });

  test('refuses a body declared over S3 object size limit before reading it', async () => {
    let produced = 0;
    const body = generatedBody({ size: 10, seed: 'huge', onProduce: (n) => (produced = n) });

    await expect(store.put({ key: 'limits/huge.mp4', body, contentLength: 6 * 1024 ** 4, metadata: {} })).rejects.toBeInstanceOf(
      ArchiveInputError,
    );
    expect(produced).toBe(0);
  });

  test('metadata encoding round-trips any text and yields header-safe ASCII', () => {
    const name = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,15}$/);
    fc.assert(
      fc.property(fc.dictionary(name, fc.string({ unit: 'binary', maxLength: 30 }), { maxKeys: 4 }), (metadata) => {
        const encoded = encodeMetadata(metadata);
        for (const value of Object.values(encoded)) expect(value).toMatch(/^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/);
        expect(decodeMetadata(encoded)).toEqual(metadata);
      }),
    );
  });
});
