/**
 * What tests/support/s3rver.ts promises the suites that reuse it (archive, uploader,
 * benchmarks): truncated listings work, a streamed PutObject is stored byte for
 * byte by its client, and stop() really stops the server and removes its data; and
 * the one gap the archive store works around: conditional writes are not honoured.
 */
import { access } from 'node:fs/promises';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { createS3rverClient, startS3rver, type S3rverHandle } from '../support/s3rver';
import { generatedBody, generatedSha256, sha256Of } from './generated-bytes';

let s3: S3rverHandle;

beforeAll(async () => {
  s3 = await startS3rver({ bucket: 'support-test' });
});

afterAll(async () => {
  await s3?.stop();
});

test('listens on 127.0.0.1 with the bucket created', () => {
  expect(s3.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  expect(s3.bucket).toBe('support-test');
});

test('a truncated ListObjectsV2 pages through every key (needs the legacy OpenSSL provider)', async () => {
  const keys = ['list/a', 'list/b', 'list/c'];
  for (const key of keys) await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: key }));

  const seen: string[] = [];
  let ContinuationToken: string | undefined;
  let pages = 0;
  do {
    const page = await s3.client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: 'list/', MaxKeys: 1, ContinuationToken }));
    seen.push(...(page.Contents ?? []).map((object) => object.Key ?? ''));
    ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    pages++;
  } while (ContinuationToken && pages < 10);

  expect(seen).toEqual(keys);
  expect(pages).toBe(3);
});

test('its client stores a streamed PutObject byte for byte (no aws-chunked framing inside the object)', async () => {
  const size = 1024 * 1024 + 17;

  await s3.client.send(
    new PutObjectCommand({ Bucket: s3.bucket, Key: 'streamed.bin', Body: generatedBody({ size, seed: 'streamed' }), ContentLength: size }),
  );

  const { Body } = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: 'streamed.bin' }));
  expect(await sha256Of(Body as AsyncIterable<Buffer>)).toEqual({ sha256: generatedSha256(size, 'streamed'), size });
});

test('ignores If-None-Match: a conditional PutObject replaces an object (why the store checks the key itself)', async () => {
  await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: 'conditional.bin', Body: 'first' }));

  await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: 'conditional.bin', Body: 'second', IfNoneMatch: '*' }));

  const { Body } = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: 'conditional.bin' }));
  expect(await Body!.transformToString()).toBe('second');
});

test('stop() stops the server and removes its data directory', async () => {
  const other = await startS3rver({ bucket: 'short-lived' });
  const probe = createS3rverClient(other.endpoint, { maxAttempts: 1 });

  await other.stop();

  await expect(probe.send(new ListObjectsV2Command({ Bucket: 'short-lived' }))).rejects.toThrow(/ECONNREFUSED/);
  await expect(access(other.dataDir)).rejects.toMatchObject({ code: 'ENOENT' });
  probe.destroy();
});
