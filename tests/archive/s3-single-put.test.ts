/**
 * The S3 store's streamed single PutObject (a body of known length, one part size to
 * 5 GiB), against s3rver behind a proxy that commits a PutObject only with its whole
 * body, as S3 does (atomic-put-proxy.ts; s3rver alone writes the object as the bytes
 * arrive — shown at the end). The shared contract, then what only this path shows: one
 * request, the last chunk held back until the body ended cleanly and the key was
 * checked again, the refusals, and which requests go UNSIGNED-PAYLOAD (loopback and
 * https, never plain http to another host).
 */
import { PassThrough, Readable } from 'node:stream';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { MAX_SINGLE_PUT_BYTES, S3ArchiveStore } from '../../shared/adapters/archive-s3';
import { ArchiveBodySizeError, ArchiveKeyConflictError, ArchiveWriteError } from '../../shared/ports/archive-store';
import { createS3rverClient, startS3rver, type S3rverHandle } from '../support/s3rver';
import { waitFor } from '../support/wait-for';
import { CONTRACT_PART_SIZE, KiB, MiB, SAMPLE_METADATA, describeArchiveStoreContract } from './archive-contract';
import { startAtomicPutProxy, type AtomicPutProxy } from './atomic-put-proxy';
import { failingAtEnd, generatedBody, generatedSha256, sha256Of } from './generated-bytes';

interface SentRequest {
  command: string;
  input: Record<string, unknown>;
  headers: Record<string, string>;
  status?: number;
}

let s3: S3rverHandle;
let proxy: AtomicPutProxy;
/** Through the proxy. */
let client: S3Client;
let store: S3ArchiveStore;
const sent: SentRequest[] = [];

/** Records every request the client sends (after signing: finalizeRequest) and its answer's status. */
function recordRequests(target: S3Client): void {
  target.middlewareStack.add(
    (next, context) => async (args) => {
      const request = args.request as { headers?: Record<string, string> };
      const entry: SentRequest = { command: String(context.commandName), input: args.input as Record<string, unknown>, headers: { ...(request.headers ?? {}) } };
      sent.push(entry);
      try {
        const result = await next(args);
        entry.status = (result.response as { statusCode?: number }).statusCode;
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
const payloadHash = (request: SentRequest | undefined) =>
  Object.entries(request?.headers ?? {}).find(([name]) => name.toLowerCase() === 'x-amz-content-sha256')?.[1];

async function listKeys(prefix: string): Promise<string[]> {
  const page = await s3.client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `${prefix}/` }));
  return (page.Contents ?? []).map((object) => object.Key ?? '');
}

/** Writes `bytes` in 64 KiB chunks, as a download arrives (the store holds back one chunk, the last). */
function writeChunked(body: PassThrough, bytes: Buffer): void {
  for (let at = 0; at < bytes.length; at += 64 * KiB) body.write(bytes.subarray(at, Math.min(bytes.length, at + 64 * KiB)));
}

/** What s3rver itself holds under the key (not through the store). */
async function held(key: string): Promise<{ sha256: string; size: number } | undefined> {
  try {
    const out = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
    return await sha256Of(out.Body as Readable);
  } catch (error) {
    if ((error as Error).name === 'NoSuchKey') return undefined;
    throw error;
  }
}

const rejection = (put: Promise<unknown>) =>
  put.then(
    () => {
      throw new Error('put resolved, expected a rejection');
    },
    (e: unknown) => e,
  );

const s3Error = (name: string, status: number, message: string) =>
  new S3ServiceException({ name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status }, message });

beforeAll(async () => {
  s3 = await startS3rver();
  proxy = await startAtomicPutProxy(s3.endpoint);
  client = createS3rverClient(proxy.endpoint);
  recordRequests(client);
  store = new S3ArchiveStore({ client, bucket: s3.bucket, partSizeBytes: CONTRACT_PART_SIZE, queueSize: 2, streamSinglePut: true });
});

afterAll(async () => {
  client?.destroy();
  await proxy?.stop();
  await s3?.stop();
});

describe('S3ArchiveStore, streamed single PutObject (s3rver behind an atomic-commit proxy): the archive store contract', () => {
  describeArchiveStoreContract(() => ({ store, listKeys }), { exclusiveCreate: false });
});

describe('S3ArchiveStore, streamed single PutObject: requests', () => {
  test('a 12 MiB file is stored by exactly one PutObject, unsigned over loopback, with If-None-Match, its metadata and the right bytes', async () => {
    const key = 'single/twelve.mp4';
    const size = 12 * MiB;
    const from = sent.length;

    const result = await store.put({ key, body: generatedBody({ size, seed: 'twelve' }), contentLength: size, contentType: 'video/mp4', metadata: SAMPLE_METADATA });

    expect(result).toEqual({ location: store.describe(key), size });
    const commands = commandsSince(from);
    expect(commands.filter((c) => c === 'PutObjectCommand')).toHaveLength(1);
    expect(commands.filter((c) => c !== 'HeadObjectCommand' && c !== 'PutObjectCommand')).toEqual([]);
    // The check before, and the last one while the PutObject streams (before its last chunk).
    expect(commands.filter((c) => c === 'HeadObjectCommand')).toHaveLength(2);
    const put = since(from).find((r) => r.command === 'PutObjectCommand')!;
    expect(put.input.Body).toBeInstanceOf(Readable);
    expect(put.headers['content-length']).toBe(String(size));
    expect(put.headers['if-none-match']).toBe('*');
    expect(put.headers['content-type']).toBe('video/mp4');
    expect(payloadHash(put)).toBe('UNSIGNED-PAYLOAD');
    expect(put.status).toBe(200);
    expect(await held(key)).toEqual({ sha256: generatedSha256(size, 'twelve'), size });
    expect(proxy.puts.filter((p) => p.key === key)).toEqual([{ key, declared: size, received: size, state: 'forwarded' }]);
    const raw = await s3.client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: key }));
    // Metadata goes before the body: no digest recorded, a taken key is compared by reading it back.
    expect(raw.Metadata).toEqual(SAMPLE_METADATA);
    expect(await store.head(key)).toEqual({ size, metadata: SAMPLE_METADATA });
  });

  test('the same bytes again are compared by reading the object back, never sent again', async () => {
    const key = 'single/again.mp4';
    const size = 6 * MiB + 1;
    await store.put({ key, body: generatedBody({ size, seed: 'again' }), contentLength: size, metadata: {} });
    const from = sent.length;

    await store.put({ key, body: generatedBody({ size, seed: 'again' }), contentLength: size, metadata: {} });

    expect(commandsSince(from)).toEqual(['HeadObjectCommand', 'GetObjectCommand']);
  });

  test('a body shorter than its ContentLength: ArchiveWriteError (the size error), the request cut short, no object', async () => {
    const key = 'single/short.mp4';
    const body = generatedBody({ size: 12 * MiB - 1, seed: 'short' });

    const error = await rejection(store.put({ key, body, contentLength: 12 * MiB, metadata: {} }));

    expect(error).toBeInstanceOf(ArchiveWriteError);
    expect(error).toMatchObject({ origin: 'body', retryable: true });
    expect((error as ArchiveWriteError).cause).toBeInstanceOf(ArchiveBodySizeError);
    expect((error as ArchiveWriteError).cause).toMatchObject({ expected: 12 * MiB, received: 12 * MiB - 1, complete: true });
    await waitFor('the proxy to see the request end', () => (proxy.puts.find((p) => p.key === key)?.state === 'dropped' ? true : undefined), 5_000, { intervalMs: 10 });
    expect(proxy.puts.find((p) => p.key === key)!.received).toBeLessThan(12 * MiB - 1);
    expect(await held(key)).toBeUndefined();
    expect(await store.head(key)).toBeUndefined();
  });

  test('the source failing midway: origin body, its error the cause, the body destroyed, no object', async () => {
    const key = 'single/broken.mp4';
    const broke = new Error('download broke');
    const body = generatedBody({ size: 12 * MiB, seed: 'broken', failAfter: 7 * MiB, error: broke });
    const from = sent.length;

    const error = await rejection(store.put({ key, body, contentLength: 12 * MiB, metadata: {} }));

    expect(error).toBeInstanceOf(ArchiveWriteError);
    expect(error).toMatchObject({ origin: 'body', retryable: true, key });
    expect((error as ArchiveWriteError).cause).toBe(broke);
    expect(body.destroyed).toBe(true);
    expect(commandsSince(from)).toEqual(['HeadObjectCommand', 'PutObjectCommand']);
    expect(await held(key)).toBeUndefined();
  });

  test("the source failing midway with the SDK's default checksums (aws-chunked, as in Lambda): the same rejection, no uncaught error", async () => {
    // With WHEN_SUPPORTED the SDK wraps the body in an aws-chunked stream that re-emits the body's error.
    const lambdaLike = createS3rverClient(proxy.endpoint, { requestChecksumCalculation: 'WHEN_SUPPORTED' });
    const target = new S3ArchiveStore({ client: lambdaLike, bucket: s3.bucket, partSizeBytes: CONTRACT_PART_SIZE, streamSinglePut: true });
    const key = 'single/broken-chunked.mp4';
    const broke = new Error('download broke');
    const body = generatedBody({ size: 12 * MiB, seed: 'broken-chunked', failAfter: 7 * MiB, error: broke });
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    process.prependListener('uncaughtException', onUncaught);
    try {
      const error = await rejection(target.put({ key, body, contentLength: 12 * MiB, metadata: {} }));
      await new Promise((resolve) => setTimeout(resolve, 100)); // an error re-emitted late would surface by now

      expect(error).toMatchObject({ origin: 'body', retryable: true, key });
      expect((error as ArchiveWriteError).cause).toBe(broke);
      expect(uncaught).toEqual([]);
      expect(await held(key)).toBeUndefined();
    } finally {
      process.off('uncaughtException', onUncaught);
      lambdaLike.destroy();
    }
  });

  test('a body failing in its final flush never sends its last chunk', async () => {
    const key = 'single/flush.mp4';
    const size = 12 * MiB;
    const htmlPage = new Error('the body was an HTML page');

    const error = await rejection(store.put({ key, body: failingAtEnd(generatedBody({ size, seed: 'flush' }), htmlPage), contentLength: size, metadata: {} }));

    expect(error).toMatchObject({ origin: 'body', cause: htmlPage });
    await waitFor('the proxy to see the request end', () => (proxy.puts.find((p) => p.key === key)?.state === 'dropped' ? true : undefined), 5_000, { intervalMs: 10 });
    // Every byte was produced, the last chunk held back: S3 never had the declared length.
    expect(proxy.puts.find((p) => p.key === key)!.received).toBeLessThan(size);
    expect(await held(key)).toBeUndefined();
  });

  test('aborting the signal aborts the request at once: origin aborted, no object', async () => {
    const key = 'single/aborted.mp4';
    const stalled = new PassThrough();
    writeChunked(stalled, Buffer.alloc(6 * MiB, 3));
    const controller = new AbortController();

    const put = rejection(store.put({ key, body: stalled, contentLength: 12 * MiB, metadata: {}, signal: controller.signal }));
    await waitFor('the PutObject to stream', () => ((proxy.puts.find((p) => p.key === key)?.received ?? 0) > 1 * MiB ? true : undefined), 5_000, { intervalMs: 10 });
    const started = Date.now();
    controller.abort();
    const error = await put;

    expect(Date.now() - started).toBeLessThan(1_000);
    expect(error).toMatchObject({ origin: 'aborted' });
    expect(stalled.destroyed).toBe(true);
    await waitFor('the proxy to see the request end', () => (proxy.puts.find((p) => p.key === key)?.state === 'dropped' ? true : undefined), 5_000, { intervalMs: 10 });
    expect(await held(key)).toBeUndefined();
  });

  test('read-ahead of the body stays within a few MiB of what the proxy has received (no part buffers)', async () => {
    const key = 'single/bounded.mp4';
    const size = 40 * MiB;
    let largestLead = 0;
    const body = generatedBody({
      size,
      seed: 'bounded',
      onProduce: (produced) => {
        largestLead = Math.max(largestLead, produced - (proxy.puts.find((p) => p.key === key)?.received ?? 0));
      },
    });

    await store.put({ key, body, contentLength: size, metadata: {} });

    expect(largestLead).toBeLessThan(8 * MiB);
    expect(await held(key)).toEqual({ sha256: generatedSha256(size, 'bounded'), size });
  });

  test('a body of unknown length goes through lib-storage: several UploadParts (unsigned over loopback), no PutObject', async () => {
    const key = 'single/unknown-length.mp4';
    const size = 12 * MiB;
    const from = sent.length;

    await store.put({ key, body: generatedBody({ size, seed: 'unknown' }), metadata: {} });

    const commands = commandsSince(from);
    expect(commands).not.toContain('PutObjectCommand');
    expect(commands).toContain('CreateMultipartUploadCommand');
    expect(commands).toContain('CompleteMultipartUploadCommand');
    const parts = since(from).filter((r) => r.command === 'UploadPartCommand');
    expect(parts.length).toBeGreaterThanOrEqual(3);
    expect(parts.map(payloadHash)).toEqual(parts.map(() => 'UNSIGNED-PAYLOAD'));
    expect(await held(key)).toEqual({ sha256: generatedSha256(size, 'unknown'), size });
  });

  test("a body under a part goes as lib-storage's buffered PutObject (unsigned over loopback), which records its digest", async () => {
    const key = 'single/small.mp4';
    const size = 3 * KiB;
    const from = sent.length;

    await store.put({ key, body: generatedBody({ size, seed: 'small' }), contentLength: size, metadata: {} });

    const put = since(from).find((r) => r.command === 'PutObjectCommand')!;
    expect(Buffer.isBuffer(put.input.Body)).toBe(true);
    expect(payloadHash(put)).toBe('UNSIGNED-PAYLOAD');
    const raw = await s3.client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: key }));
    expect(raw.Metadata).toEqual({ sha256: generatedSha256(size, 'small') });
  });

  test('a body declared over 5 GiB goes as a multipart upload', async () => {
    expect(MAX_SINGLE_PUT_BYTES).toBe(5 * 1024 ** 3);
    const key = 'single/over-five-gib.mp4';
    const body = new PassThrough();
    writeChunked(body, Buffer.alloc(6 * MiB, 5));
    const controller = new AbortController();
    const from = sent.length;

    const put = rejection(store.put({ key, body, contentLength: MAX_SINGLE_PUT_BYTES + 1, metadata: {}, signal: controller.signal }));
    await waitFor('the multipart upload to start', () => (commandsSince(from).includes('UploadPartCommand') ? true : undefined), 5_000, { intervalMs: 10 });
    controller.abort();
    // Failed by our abort, not by anything else after the upload started.
    expect(await put).toMatchObject({ origin: 'aborted' });

    expect(commandsSince(from)).toContain('CreateMultipartUploadCommand');
    expect(commandsSince(from)).not.toContain('PutObjectCommand');
  });
});

/**
 * A client through the proxy whose PutObject fails with `refusal()` before anything is
 * sent, as S3 may answer If-None-Match on a taken key (a 412 to Expect: 100-continue).
 * With `hideKeyUntilRefused`, HeadObject answers 404 until then: another writer's object
 * that appeared between the store's check and its commit.
 */
function clientRefusingPuts(refusal: () => Error, options: { hideKeyUntilRefused?: boolean } = {}): S3Client {
  const refusing = createS3rverClient(proxy.endpoint);
  recordRequests(refusing);
  let hidden = options.hideKeyUntilRefused ?? false;
  refusing.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'HeadObjectCommand' && hidden) throw s3Error('NotFound', 404, 'Not Found');
      if (context.commandName === 'PutObjectCommand') {
        hidden = false;
        throw refusal();
      }
      return next(args);
    },
    { step: 'initialize', name: 'refusePuts' },
  );
  return refusing;
}
const preconditionFailed = () => s3Error('PreconditionFailed', 412, 'At least one of the pre-conditions you specified did not hold');

describe('S3ArchiveStore, streamed single PutObject: a taken key', () => {
  test('a key taken while the body streams is found before the last chunk: the request cut short, ArchiveKeyConflictError, the other object intact', async () => {
    const key = 'taken/while-streaming.mp4';
    const body = new PassThrough();
    const from = sent.length;

    const put = rejection(store.put({ key, body, contentLength: 12 * MiB, metadata: {} }));
    writeChunked(body, Buffer.alloc(6 * MiB, 1));
    await waitFor('the PutObject to stream', () => ((proxy.puts.find((p) => p.key === key)?.received ?? 0) > 1 * MiB ? true : undefined), 5_000, { intervalMs: 10 });
    await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: 'another writer' }));
    writeChunked(body, Buffer.alloc(6 * MiB, 2));
    body.end();
    const error = await put;

    expect(error).toBeInstanceOf(ArchiveKeyConflictError);
    expect(commandsSince(from).filter((c) => c === 'HeadObjectCommand')).toHaveLength(2);
    await waitFor('the proxy to see the request end', () => (proxy.puts.find((p) => p.key === key)?.state === 'dropped' ? true : undefined), 5_000, { intervalMs: 10 });
    expect(await held(key)).toEqual(await sha256Of([Buffer.from('another writer')]));
  });

  test('the same bytes committed by another put while this one streams are the archived result (read back and compared)', async () => {
    const key = 'taken/raced-same.mp4';
    const size = 6 * MiB + 9;
    const bytes = Buffer.concat(await generatedBody({ size, seed: 'raced' }).toArray());
    const body = new PassThrough();
    const from = sent.length;

    const put = store.put({ key, body, contentLength: size, metadata: {} });
    writeChunked(body, bytes.subarray(0, 3 * MiB));
    await waitFor('the PutObject to stream', () => ((proxy.puts.find((p) => p.key === key)?.received ?? 0) > 1 * MiB ? true : undefined), 5_000, { intervalMs: 10 });
    await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: bytes }));
    writeChunked(body, bytes.subarray(3 * MiB));
    body.end();
    const result = await put;

    expect(result).toEqual({ location: store.describe(key), size });
    expect(commandsSince(from)).toContain('GetObjectCommand');
    expect(await held(key)).toEqual({ sha256: generatedSha256(size, 'raced'), size });
  });

  test('412 on the PutObject before its body was read: the body is read to its end, and the same bytes there are the archived result', async () => {
    const key = 'taken/412-same.mp4';
    const size = 6 * MiB + 5;
    await store.put({ key, body: generatedBody({ size, seed: '412' }), contentLength: size, metadata: {} });
    const refusing = clientRefusingPuts(preconditionFailed, { hideKeyUntilRefused: true });
    const racing = new S3ArchiveStore({ client: refusing, bucket: s3.bucket, partSizeBytes: 5 * MiB, streamSinglePut: true });
    let produced = 0;

    const result = await racing.put({ key, body: generatedBody({ size, seed: '412', onProduce: (n) => (produced = n) }), contentLength: size, metadata: {} });
    refusing.destroy();

    expect(result).toEqual({ location: store.describe(key), size });
    expect(produced).toBe(size);
  });

  test('412 with other bytes there: ArchiveKeyConflictError (cause PreconditionFailed), those bytes stay', async () => {
    const key = 'taken/412-other.mp4';
    await store.put({ key, body: generatedBody({ size: 6 * MiB, seed: 'winner' }), contentLength: 6 * MiB, metadata: {} });
    const refusing = clientRefusingPuts(preconditionFailed, { hideKeyUntilRefused: true });
    const racing = new S3ArchiveStore({ client: refusing, bucket: s3.bucket, partSizeBytes: 5 * MiB, streamSinglePut: true });

    const error = await rejection(racing.put({ key, body: generatedBody({ size: 6 * MiB, seed: 'loser' }), contentLength: 6 * MiB, metadata: {} }));
    refusing.destroy();

    expect(error).toBeInstanceOf(ArchiveKeyConflictError);
    expect(((error as ArchiveKeyConflictError).cause as Error).name).toBe('PreconditionFailed');
    expect(await held(key)).toEqual({ sha256: generatedSha256(6 * MiB, 'winner'), size: 6 * MiB });
  });

  test('412 before the body was read, then the body fails: the body error is the result (origin body)', async () => {
    const key = 'taken/412-broken.mp4';
    const refusing = clientRefusingPuts(preconditionFailed, { hideKeyUntilRefused: true });
    const racing = new S3ArchiveStore({ client: refusing, bucket: s3.bucket, partSizeBytes: 5 * MiB, streamSinglePut: true });
    const broke = new Error('download broke');

    const error = await rejection(
      racing.put({ key, body: generatedBody({ size: 8 * MiB, seed: 'b', failAfter: 7 * MiB, error: broke }), contentLength: 8 * MiB, metadata: {} }),
    );
    refusing.destroy();

    expect(error).toBeInstanceOf(ArchiveWriteError);
    expect(error).not.toBeInstanceOf(ArchiveKeyConflictError);
    expect(error).toMatchObject({ origin: 'body', cause: broke });
  });
});

/**
 * A client that never reaches a server: after signing (finalizeRequest), HeadObject
 * answers 404, CreateMultipartUpload an upload id, and a request carrying bytes is
 * recorded and refused (400, so not retried).
 */
function shortCircuitClient(config: Partial<S3ClientConfig>): { client: S3Client; carried: SentRequest[] } {
  const carried: SentRequest[] = [];
  const offline = new S3Client({
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'TEST', secretAccessKey: 'TEST' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    ...config,
  });
  offline.middlewareStack.add(
    (_next, context) => async (args) => {
      const request = args.request as { headers: Record<string, string> };
      const command = String(context.commandName);
      if (command === 'HeadObjectCommand') throw s3Error('NotFound', 404, 'Not Found');
      // Past the deserializer (which runs after finalizeRequest): the output as it would parse.
      const answer = (statusCode: number, output: Record<string, unknown>) => ({ response: { statusCode, headers: {} }, output: { $metadata: {}, ...output } }) as never;
      if (command === 'CreateMultipartUploadCommand') return answer(200, { UploadId: 'offline-upload' });
      if (command === 'AbortMultipartUploadCommand') return answer(204, {});
      carried.push({ command, input: args.input as Record<string, unknown>, headers: { ...request.headers } });
      // A client error: not retried.
      throw s3Error('InvalidRequest', 400, 'not sent: offline test client');
    },
    { step: 'finalizeRequest', name: 'shortCircuitForTest' },
  );
  return { client: offline, carried };
}

describe('S3ArchiveStore: which connections carry an unsigned payload', () => {
  const put = (target: S3ArchiveStore, size: number) =>
    rejection(target.put({ key: 'offline/recording.mp4', body: generatedBody({ size, seed: 'offline' }), contentLength: size, metadata: {} }));

  test('plain http to another host: no streamed PutObject (the SDK would send a stream unsigned); signed parts instead', async () => {
    const { client: offline, carried } = shortCircuitClient({ endpoint: 'http://example.invalid' });
    const target = new S3ArchiveStore({ client: offline, bucket: 'b', partSizeBytes: 5 * MiB, streamSinglePut: true });

    await put(target, 12 * MiB);
    await put(target, 3 * KiB);
    offline.destroy();

    // The 12 MiB body in parts (those in flight when the first was refused), then the 3 KiB one.
    expect(new Set(carried.slice(0, -1).map((r) => r.command))).toEqual(new Set(['UploadPartCommand']));
    expect(carried.at(-1)!.command).toBe('PutObjectCommand');
    for (const request of carried) {
      expect(request.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 /);
      expect(payloadHash(request)).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(Buffer.isBuffer(carried.at(-1)!.input.Body)).toBe(true);
  });

  test('https: the streamed PutObject goes UNSIGNED-PAYLOAD', async () => {
    const { client: offline, carried } = shortCircuitClient({ endpoint: 'https://s3.example.invalid' });
    const target = new S3ArchiveStore({ client: offline, bucket: 'b', partSizeBytes: 5 * MiB, streamSinglePut: true });

    await put(target, 12 * MiB);
    offline.destroy();

    expect(carried.map((r) => r.command)).toEqual(['PutObjectCommand']);
    expect(carried[0]!.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 /);
    expect(payloadHash(carried[0])).toBe('UNSIGNED-PAYLOAD');
    expect(carried[0]!.headers['content-length']).toBe(String(12 * MiB));
  });

  test("S3 itself (no endpoint set): streamed by default; with the SDK's default checksums its aws-chunked CRC32 trailer stays", async () => {
    const { client: offline, carried } = shortCircuitClient({ requestChecksumCalculation: 'WHEN_SUPPORTED' });
    const target = new S3ArchiveStore({ client: offline, bucket: 'b', partSizeBytes: 5 * MiB });

    await put(target, 12 * MiB);
    offline.destroy();

    expect(carried.map((r) => r.command)).toEqual(['PutObjectCommand']);
    const headers = carried[0]!.headers;
    expect(headers['x-amz-content-sha256']).toBe('STREAMING-UNSIGNED-PAYLOAD-TRAILER');
    expect(headers['x-amz-trailer']).toBe('x-amz-checksum-crc32');
    expect(headers['x-amz-decoded-content-length']).toBe(String(12 * MiB));
    expect(headers['content-encoding']).toBe('aws-chunked');
  });

  test('a custom endpoint without streamSinglePut keeps the multipart upload (unsigned parts over https)', async () => {
    const { client: offline, carried } = shortCircuitClient({ endpoint: 'https://minio.example.invalid' });
    const target = new S3ArchiveStore({ client: offline, bucket: 'b', partSizeBytes: 5 * MiB });

    await put(target, 12 * MiB);
    offline.destroy();

    expect(carried.map((r) => r.command)).toContain('UploadPartCommand');
    expect(carried.map((r) => r.command)).not.toContain('PutObjectCommand');
    expect(carried.map(payloadHash)).toEqual(carried.map(() => 'UNSIGNED-PAYLOAD'));
  });
});

describe('s3rver alone: why a custom endpoint does not get the streamed PutObject by default', () => {
  test('s3rver shows a PutObject while it streams, and keeps it, truncated, once the request is aborted', async () => {
    // Quiet: the SDK warns (on the console by default) that it does not retry the aborted stream.
    const raw = createS3rverClient(s3.endpoint, { logger: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} } });
    const key = 'raw/aborted.mp4';
    const body = new PassThrough();
    const controller = new AbortController();

    const put = raw.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: body, ContentLength: 12 * MiB }), { abortSignal: controller.signal }).catch((e: unknown) => e);
    body.write(Buffer.alloc(2 * MiB, 4));
    const seen = await waitFor(
      'the object to show while it streams',
      async () => {
        const out = await raw.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: key })).catch(() => undefined);
        return out && (out.ContentLength ?? 0) > 0 ? out : undefined;
      },
      5_000,
      { intervalMs: 10 },
    );
    controller.abort();
    await put;
    raw.destroy();

    expect(seen.ContentLength).toBeLessThan(12 * MiB);
    const after = await s3.client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: key }));
    expect(after.ContentLength).toBeGreaterThan(0);
    expect(after.ContentLength).toBeLessThan(12 * MiB);
  });
});
