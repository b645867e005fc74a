/**
 * The ArchiveStore contract, run against every adapter (s3-archive.test.ts,
 * folder-archive.test.ts). What was served is compared with what was streamed in by
 * SHA-256; what the backend holds is listed through the backend itself, not the port.
 */
import { PassThrough, Readable } from 'node:stream';
import { ArchiveLocationSchema } from '../../shared/events';
import {
  ArchiveBodySizeError,
  ArchiveInputError,
  ArchiveKeyConflictError,
  ArchiveNotFoundError,
  ArchiveWriteError,
  type ArchivePutInput,
  type ArchiveStore,
  type ArchiveWriteOrigin,
} from '../../shared/ports/archive-store';
import { failingAtEnd, generatedBody, generatedSha256, sha256Of } from './generated-bytes';

export const KiB = 1024;
export const MiB = 1024 * KiB;
/** The part size the S3 suite configures, so that the sizes below cross part boundaries. */
export const CONTRACT_PART_SIZE = 5 * MiB;

export interface ArchiveContractHarness {
  store: ArchiveStore;
  /** Every key under `prefix/`, as the backend itself lists them. */
  listKeys(prefix: string): Promise<string[]>;
  /** Remains of failed writes that the backend can show (temporary files); the contract wants none. */
  leftovers?(): Promise<string[]>;
}

export interface ArchiveContractOptions {
  /**
   * The backend commits atomically and itself refuses a taken name (link(2); S3 with
   * If-None-Match), so concurrent puts of one key are decided by the backend. s3rver
   * does neither: a CompleteMultipartUpload racing another is visible half-written
   * and can interleave with it. Without this, the concurrent-put tests are not
   * registered; the S3 suite plays the races with a client that answers as S3 does.
   */
  exclusiveCreate: boolean;
}

export const SAMPLE_METADATA = {
  'recording-id': '4444AAAiAAAAAiAiAiiAii==',
  'file-id': 'ed6c2f27-2ae7-42f4-b3d0-835b493e4fa8',
  course: 'MAQ101',
  'recording-start': '2024-05-01T17:00:00Z',
};

/** Keys a sanitizer might let through; the contract wants each stored and listed as is. */
export const UNUSUAL_KEYS = [
  'courses/MAQ 101/2024-05-01/170000 shared screen with speaker view.mp4',
  'courses/Maqām Bayātī/ünïcødé — lesson 3.mp4',
  'courses/日本語コース/録画 1.m4a',
  'courses/emoji 🎵/a+b=c (1) & [x] #2 %41 ~$.mp4',
  'courses/.hidden folder/file with no extension',
  'courses/nfd e\u0301 vs nfc \u00e9/x.mp4',
];

export const INVALID_KEYS = [
  '',
  '/etc/passwd',
  '..',
  '.',
  '../outside.mp4',
  'courses/../../outside.mp4',
  'courses/..',
  'courses/./x.mp4',
  'courses//x.mp4',
  'courses/',
  'courses\\..\\..\\x.mp4',
  'nul\u0000byte.mp4',
  'line\nbreak.mp4',
  'lone \ud800 surrogate.mp4',
  `courses/${'a'.repeat(1020)}`,
];

export function describeArchiveStoreContract(getHarness: () => ArchiveContractHarness, options: ArchiveContractOptions): void {
  let counter = 0;
  const freshPrefix = (label: string) => `contract/${++counter}-${label}`;
  const store = () => getHarness().store;

  const putGenerated = (key: string, size: number, seed: string, extra: Partial<ArchivePutInput> = {}) =>
    store().put({ key, body: generatedBody({ size, seed }), contentLength: size, metadata: SAMPLE_METADATA, ...extra });

  const served = async (key: string) => sha256Of(await store().get(key));

  async function expectFailedPut(put: Promise<unknown>, origin: ArchiveWriteOrigin): Promise<ArchiveWriteError> {
    const error = await put.then(
      () => {
        throw new Error('put resolved, expected a rejection');
      },
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ArchiveWriteError);
    const writeError = error as ArchiveWriteError;
    expect(writeError.origin).toBe(origin);
    return writeError;
  }

  async function expectNoObject(prefix: string, key: string): Promise<void> {
    expect(await store().head(key)).toBeUndefined();
    await expect(store().get(key)).rejects.toBeInstanceOf(ArchiveNotFoundError);
    expect(await getHarness().listKeys(prefix)).toEqual([]);
  }

  async function expectNoLeftovers(): Promise<void> {
    const { leftovers } = getHarness();
    if (leftovers) expect(await leftovers()).toEqual([]);
  }

  /** Stores an older object, so a test can check that a failed put leaves it as it was. */
  async function storeOlder(key: string): Promise<string> {
    await putGenerated(key, 6 * MiB + 3, `older ${key}`);
    return generatedSha256(6 * MiB + 3, `older ${key}`);
  }

  async function expectOlderIntact(prefix: string, key: string, sha256: string): Promise<void> {
    expect(await served(key)).toEqual({ sha256, size: 6 * MiB + 3 });
    expect(await store().head(key)).toMatchObject({ size: 6 * MiB + 3 });
    expect(await getHarness().listKeys(prefix)).toEqual([key]);
  }

  describe('round trip', () => {
    test.each([
      ['0 bytes', 0],
      ['1 byte', 1],
      ['5 MiB + 1 (crosses a part)', 5 * MiB + 1],
      ['40 MiB + 123 (eight parts and a bit)', 40 * MiB + 123],
    ])('%s: what is served hashes like what was streamed in', async (_label, size) => {
      const prefix = freshPrefix('size');
      const key = `${prefix}/recording.mp4`;
      const seed = `round trip ${size}`;

      const result = await putGenerated(key, size, seed, { contentType: 'video/mp4' });

      expect(result).toEqual({ location: store().describe(key), size });
      expect(ArchiveLocationSchema.parse(result.location)).toEqual(result.location);
      expect(result.location).toMatchObject({ kind: store().kind, key });
      expect(await store().head(key)).toMatchObject({ size });
      expect(await served(key)).toEqual({ sha256: generatedSha256(size, seed), size });
      expect(await getHarness().listKeys(prefix)).toEqual([key]);
    });

    test('a body of unknown length is stored and measured', async () => {
      const prefix = freshPrefix('unknown-length');
      const key = `${prefix}/audio.m4a`;
      const size = 6 * MiB + 7;

      const result = await store().put({ key, body: generatedBody({ size, seed: 'unknown' }), metadata: SAMPLE_METADATA });

      expect(result.size).toBe(size);
      expect(await served(key)).toEqual({ sha256: generatedSha256(size, 'unknown'), size });
    });

  });

  describe('a taken key: an archived object is never replaced', () => {
    test.each([
      ['of another size', 6 * MiB + 3, 3 * KiB],
      ['of the same size, in one part', 3 * KiB, 3 * KiB],
      ['of the same size, over a part', 6 * MiB + 3, 6 * MiB + 3],
    ])('other bytes %s: ArchiveKeyConflictError naming the key, the first object intact', async (_label, firstSize, secondSize) => {
      const prefix = freshPrefix('conflict');
      const key = `${prefix}/recording.mp4`;
      await putGenerated(key, firstSize, 'first');

      const error = await putGenerated(key, secondSize, 'second').then(
        () => {
          throw new Error('put resolved, expected a key conflict');
        },
        (e: unknown) => e,
      );

      expect(error).toBeInstanceOf(ArchiveKeyConflictError);
      expect(error).toMatchObject({ key, origin: 'store', retryable: false });
      expect((error as Error).message).toBe(`archive key already holds a different object: ${key}`);
      expect(await served(key)).toEqual({ sha256: generatedSha256(firstSize, 'first'), size: firstSize });
      expect(await store().head(key)).toMatchObject({ size: firstSize });
      expect(await getHarness().listKeys(prefix)).toEqual([key]);
      await expectNoLeftovers();
    });

    test('other bytes of unknown length are refused the same way', async () => {
      const prefix = freshPrefix('conflict-unknown-length');
      const key = `${prefix}/audio.m4a`;
      await putGenerated(key, 2 * KiB, 'first');

      const error: unknown = await store()
        .put({ key, body: generatedBody({ size: 2 * KiB, seed: 'second' }), metadata: SAMPLE_METADATA })
        .catch((e: unknown) => e);

      expect(error).toBeInstanceOf(ArchiveKeyConflictError);
      expect(await served(key)).toEqual({ sha256: generatedSha256(2 * KiB, 'first'), size: 2 * KiB });
      await expectNoLeftovers();
    });

    test.each([
      ['0 bytes', 0],
      ['in one part', 3 * KiB],
      ['over a part', 6 * MiB + 3],
    ])('the same bytes again (%s) resolve as archived and leave the object as it was', async (_label, size) => {
      const prefix = freshPrefix('same-bytes');
      const key = `${prefix}/recording.mp4`;
      const first = await putGenerated(key, size, 'same');

      const again = await putGenerated(key, size, 'same');

      expect(again).toEqual({ location: store().describe(key), size });
      expect(again).toEqual(first);
      expect(await served(key)).toEqual({ sha256: generatedSha256(size, 'same'), size });
      expect(await getHarness().listKeys(prefix)).toEqual([key]);
      await expectNoLeftovers();
    });

    if (options.exclusiveCreate) {
      test('concurrent puts of other bytes under one key: one resolves and its object is there whole, the other conflicts', async () => {
        const prefix = freshPrefix('concurrent');
        const key = `${prefix}/recording.mp4`;
        const size = 6 * MiB + 11;
        const seeds = ['left', 'right'];

        const settled = await Promise.allSettled(seeds.map((seed) => putGenerated(key, size, seed)));

        const resolved = seeds.filter((_seed, i) => settled[i]!.status === 'fulfilled');
        expect(resolved).toHaveLength(1);
        expect(settled.find((outcome) => outcome.status === 'rejected')).toMatchObject({ reason: expect.any(ArchiveKeyConflictError) });
        const { sha256 } = await served(key);
        expect(resolved.map((seed) => generatedSha256(size, seed))).toContain(sha256);
        expect(await getHarness().listKeys(prefix)).toEqual([key]);
        await expectNoLeftovers();
      });

      test('concurrent puts of the same bytes under one key all resolve', async () => {
        const prefix = freshPrefix('concurrent-same');
        const key = `${prefix}/recording.mp4`;
        const size = 6 * MiB + 11;

        const results = await Promise.all([putGenerated(key, size, 'twin'), putGenerated(key, size, 'twin')]);

        expect(results).toEqual([{ location: store().describe(key), size }, { location: store().describe(key), size }]);
        expect(await served(key)).toEqual({ sha256: generatedSha256(size, 'twin'), size });
        expect(await getHarness().listKeys(prefix)).toEqual([key]);
        await expectNoLeftovers();
      });
    }
  });

  describe('a body that fails commits nothing', () => {
    test.each([
      ['in its first part', 2 * KiB, 1 * KiB + 5],
      ['after whole parts were sent', 17 * MiB, 12 * MiB + 5],
    ])('failing half-way %s: rejected with the body error, no object', async (_label, size, failAfter) => {
      const prefix = freshPrefix('fails-half-way');
      const key = `${prefix}/recording.mp4`;
      const broke = new Error('download broke');
      const body = generatedBody({ size, seed: 'half', failAfter, error: broke });

      const error = await expectFailedPut(store().put({ key, body, contentLength: size, metadata: SAMPLE_METADATA }), 'body');

      expect(error.cause).toBe(broke);
      expect(error.retryable).toBe(true);
      expect(error.key).toBe(key);
      await expectNoObject(prefix, key);
      await expectNoLeftovers();
    });

    test.each([
      ['a small body', 3 * KiB],
      ['a body just over one part', 5 * MiB + 1],
      ['a body of exactly two parts', 10 * MiB],
    ])('failing in its final flush (%s): nothing committed', async (_label, size) => {
      const prefix = freshPrefix('fails-at-end');
      const key = `${prefix}/recording.mp4`;
      const htmlPage = new Error('the body was an HTML page');
      const body = failingAtEnd(generatedBody({ size, seed: 'end' }), htmlPage);

      const error = await expectFailedPut(store().put({ key, body, contentLength: size, metadata: SAMPLE_METADATA }), 'body');

      expect(error.cause).toBe(htmlPage);
      await expectNoObject(prefix, key);
      await expectNoLeftovers();
    });

    test.each([
      ['half-way, after whole parts', (seed: string) => generatedBody({ size: 12 * MiB, seed, failAfter: 11 * MiB })],
      ['half-way, in a small body', (seed: string) => generatedBody({ size: 4 * KiB, seed, failAfter: 2 * KiB })],
      ['in its final flush', (seed: string) => failingAtEnd(generatedBody({ size: 10 * MiB, seed }), new Error('wrong size'))],
    ])('failing %s leaves the older object under the key intact', async (_label, makeBody) => {
      const prefix = freshPrefix('keeps-older');
      const key = `${prefix}/recording.mp4`;
      const older = await storeOlder(key);

      await expectFailedPut(store().put({ key, body: makeBody('newer'), metadata: SAMPLE_METADATA }), 'body');

      await expectOlderIntact(prefix, key, older);
      await expectNoLeftovers();
    });

    test('a body shorter than its declared length is refused at its end', async () => {
      const prefix = freshPrefix('short');
      const key = `${prefix}/recording.mp4`;
      const older = await storeOlder(key);

      const error = await expectFailedPut(
        store().put({ key, body: generatedBody({ size: 5 * MiB, seed: 'short' }), contentLength: 5 * MiB + 1, metadata: SAMPLE_METADATA }),
        'body',
      );

      expect(error.cause).toBeInstanceOf(ArchiveBodySizeError);
      expect(error.cause).toMatchObject({ expected: 5 * MiB + 1, received: 5 * MiB, complete: true });
      await expectOlderIntact(prefix, key, older);
      await expectNoLeftovers();
    });

    test('a body longer than its declared length is refused as soon as it overruns', async () => {
      const prefix = freshPrefix('long');
      const key = `${prefix}/recording.mp4`;
      let produced = 0;
      const body = generatedBody({ size: 30 * MiB, seed: 'long', onProduce: (n) => (produced = n) });

      const error = await expectFailedPut(store().put({ key, body, contentLength: 4 * KiB, metadata: SAMPLE_METADATA }), 'body');

      expect(error.cause).toBeInstanceOf(ArchiveBodySizeError);
      expect(error.cause).toMatchObject({ expected: 4 * KiB, complete: false });
      expect(produced).toBeLessThan(1 * MiB);
      expect(body.destroyed).toBe(true);
      await expectNoObject(prefix, key);
      await expectNoLeftovers();
    });

    test('a body destroyed without an error (premature close) is not committed', async () => {
      const prefix = freshPrefix('premature');
      const key = `${prefix}/recording.mp4`;
      let scheduled = false;
      const body: Readable = generatedBody({
        size: 2 * MiB,
        seed: 'premature',
        onProduce: (produced) => {
          if (produced < 1 * MiB || scheduled) return;
          scheduled = true;
          // Synchronously: a consumer that reads without I/O would otherwise reach the end first.
          body.destroy();
        },
      });

      await expectFailedPut(store().put({ key, body, metadata: SAMPLE_METADATA }), 'body');

      await expectNoObject(prefix, key);
      await expectNoLeftovers();
    });

    test('aborting a put whose download stalled rejects at once (origin aborted) and commits nothing', async () => {
      const prefix = freshPrefix('aborted');
      const key = `${prefix}/recording.mp4`;
      const stalled = new PassThrough();
      stalled.write(Buffer.alloc(1 * MiB, 7));
      const controller = new AbortController();

      const put = store().put({ key, body: stalled, contentLength: 20 * MiB, metadata: SAMPLE_METADATA, signal: controller.signal });
      setTimeout(() => controller.abort(), 20);
      const error = await expectFailedPut(put, 'aborted');

      expect((error.cause as Error).name).toBe('AbortError');
      expect(stalled.destroyed).toBe(true);
      await expectNoObject(prefix, key);
      await expectNoLeftovers();
    });

    test('an already aborted signal stores nothing', async () => {
      const prefix = freshPrefix('pre-aborted');
      const key = `${prefix}/recording.mp4`;

      await expectFailedPut(putGenerated(key, 1 * KiB, 'pre', { signal: AbortSignal.abort() }), 'aborted');

      await expectNoObject(prefix, key);
    });
  });

  describe('keys and metadata', () => {
    test.each(UNUSUAL_KEYS)('stores, lists and serves key %j as it is', async (suffix) => {
      const prefix = freshPrefix('unusual');
      const key = `${prefix}/${suffix}`;

      const result = await putGenerated(key, 10 * KiB, key);

      expect(result.location.key).toBe(key);
      expect(store().describe(key).key).toBe(key);
      expect(await getHarness().listKeys(prefix)).toEqual([key]);
      expect(await served(key)).toEqual({ sha256: generatedSha256(10 * KiB, key), size: 10 * KiB });
    });

    test.each(INVALID_KEYS)('refuses key %j before reading the body', async (key) => {
      let produced = 0;
      const body = generatedBody({ size: 10, seed: 'x', onProduce: (n) => (produced = n) });

      await expect(store().put({ key, body, metadata: SAMPLE_METADATA })).rejects.toBeInstanceOf(ArchiveInputError);

      expect(produced).toBe(0);
      expect(body.destroyed).toBe(true);
      expect(() => store().describe(key)).toThrow(ArchiveInputError);
      await expect(store().head(key)).rejects.toBeInstanceOf(ArchiveInputError);
      await expect(store().get(key)).rejects.toBeInstanceOf(ArchiveInputError);
    });

    test.each([
      ['an upper-case name', { 'Recording-Id': 'x' }],
      ['a name with an underscore', { recording_id: 'x' }],
      ['more than 2 KiB', { topic: 'x'.repeat(2100) }],
      ['the name sha256, which the stores reserve for the digest they record', { sha256: 'f'.repeat(64) }],
    ])('refuses metadata with %s, not retryable', async (_label, metadata) => {
      const prefix = freshPrefix('bad-metadata');
      const key = `${prefix}/recording.mp4`;

      const error: unknown = await putGenerated(key, 10, 'x', { metadata }).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(ArchiveInputError);
      expect((error as ArchiveInputError).retryable).toBe(false);
      await expectNoObject(prefix, key);
    });

    test('a body that was already read is refused', async () => {
      const body = Readable.from([Buffer.from('consumed')]);
      for await (const _chunk of body) {
        // drain it
      }

      await expect(store().put({ key: `${freshPrefix('read')}/x`, body, metadata: {} })).rejects.toBeInstanceOf(ArchiveInputError);
    });

    test('metadata comes back from head when the store keeps it, else head says {}', async () => {
      const prefix = freshPrefix('metadata');
      const key = `${prefix}/recording.mp4`;
      const metadata = {
        ...SAMPLE_METADATA,
        'recording-id': 'a/B+c==',
        topic: ' [MAQ101] Maqām Bayātī — lesson 3 ',
        host: 'Zoë Ørsted <zoe@example.edu>',
        'looks-encoded': '=?UTF-8?B?eA==?=',
        empty: '',
      };

      await putGenerated(key, 100, 'metadata', { metadata });

      const head = await store().head(key);
      expect(head).toEqual({ size: 100, metadata: store().keepsMetadata ? metadata : {} });
    });

    test('a missing key: head says undefined, get rejects with ArchiveNotFoundError', async () => {
      const key = `${freshPrefix('missing')}/nothing.mp4`;

      expect(await store().head(key)).toBeUndefined();
      await expect(store().get(key)).rejects.toBeInstanceOf(ArchiveNotFoundError);
    });
  });
}
