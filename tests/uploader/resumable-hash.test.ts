/**
 * The checksum of a resumed transfer covers the whole file: either the committed bytes
 * are read back (folder store, node:crypto) or the SHA-256 state saved with the
 * checkpoint is loaded (S3, hash-wasm, on this thread or on a worker thread). All are
 * checked here against node:crypto's digest of the whole file, with chunk boundaries
 * that never line up with checkpoints.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import fc from 'fast-check';
import { ResumableSha256 } from '../../shared/crypto/resumable-sha256';
import { OffThreadSha256 } from '../../shared/crypto/sha256-worker';
import { MediaVerifier } from '../../services/uploader/media-verifier';
import { SizeMismatchError } from '../../shared/ports/zoom-client';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
/** MP4-like bytes: a box header first, so the verifier's sniffing accepts them. */
const media = (size: number) => Buffer.concat([Buffer.from([0, 0, 0, 0x18, 0x66, 0x74, 0x79, 0x70]), randomBytes(Math.max(0, size - 8))]).subarray(0, size);

function chunks(data: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < data.length; at += size) out.push(data.subarray(at, at + size));
  return out;
}

const drain = () => new Writable({ write: (_chunk, _encoding, callback) => callback() });

async function run(verifier: MediaVerifier, body: Buffer, chunkSize: number): Promise<void> {
  await pipeline(Readable.from(chunks(body, chunkSize)), verifier, drain());
}

describe('ResumableSha256', () => {
  it('a state saved in one instance and loaded in another gives the digest of the whole input', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const first = await ResumableSha256.create();
    first.update(data.subarray(0, 1_234_567));
    const state = first.save();
    const second = await ResumableSha256.create(state);
    second.update(data.subarray(1_234_567));
    expect(second.digest()).toBe(sha256(data));
  });

  it('refuses a state that is not one (not base64, or not a SHA-256 state)', async () => {
    await expect(ResumableSha256.create('not base64!')).rejects.toThrow('not a saved SHA-256 state');
    await expect(ResumableSha256.create(Buffer.from('hello').toString('base64'))).rejects.toThrow('not a saved SHA-256 state');
  });
});

describe('OffThreadSha256 (hash-wasm on a worker thread)', () => {
  it('digests like node:crypto, whatever the chunks, and its states load on either thread', async () => {
    const data = randomBytes(5 * 1024 * 1024 + 333);
    const cut = 2 * 1024 * 1024 + 1_000; // not on a 1 MiB batch
    const first = new OffThreadSha256();
    for (const chunk of chunks(data.subarray(0, cut), 70_001)) first.update(chunk);
    const state = await first.save();
    for (const chunk of chunks(data.subarray(cut), 333_333)) first.update(chunk);
    expect(await first.digest()).toBe(sha256(data));
    // The worker's state continues in ResumableSha256, and the other way round.
    const here = await ResumableSha256.create(state);
    expect(here.update(data.subarray(cut)).digest()).toBe(sha256(data));
    const there = new OffThreadSha256((await ResumableSha256.create()).update(data.subarray(0, cut)).save());
    there.update(data.subarray(cut));
    expect(await there.digest()).toBe(sha256(data));
  });

  it('counts the bytes it is behind, and drained() waits until it has caught up to the limit', async () => {
    const hash = new OffThreadSha256();
    const data = randomBytes(8 * 1024 * 1024);
    hash.update(data);
    expect(hash.lag).toBe(data.length);
    await hash.drained(0);
    expect(hash.lag).toBe(0);
    expect(await hash.digest()).toBe(sha256(data));
  });

  it('a state that is not one is refused at once; a closed hash refuses what was not answered', async () => {
    expect(() => new OffThreadSha256('not base64!')).toThrow('not a saved SHA-256 state');
    const hash = new OffThreadSha256();
    hash.update(randomBytes(1000));
    const pending = hash.save();
    hash.close();
    await expect(pending).rejects.toThrow('closed');
    expect(() => hash.update(Buffer.alloc(1))).toThrow('closed');
  });
});

describe('MediaVerifier resuming', () => {
  it('read back: the absorbed prefix and the rest hash to the whole file, and the size check counts both', async () => {
    const file = media(2 * 1024 * 1024 + 5);
    const at = 777_777;
    const verifier = new MediaVerifier({ expectedSize: file.length, resumeAt: at });
    await verifier.absorbPrefix(Readable.from(chunks(file.subarray(0, at), 65_536)));
    await run(verifier, file.subarray(at), 100_003);
    expect(verifier.result()).toEqual({ bytes: file.length, sha256: sha256(file) });
  });

  it('read back: a prefix shorter or longer than the checkpoint is refused; a body before the prefix is an error', async () => {
    const file = media(100_000);
    const short = new MediaVerifier({ expectedSize: file.length, resumeAt: 50_000 });
    await expect(short.absorbPrefix(Readable.from([file.subarray(0, 49_999)]))).rejects.toThrow('fewer bytes');
    const long = new MediaVerifier({ expectedSize: file.length, resumeAt: 50_000 });
    await expect(long.absorbPrefix(Readable.from([file.subarray(0, 50_001)]))).rejects.toThrow('more bytes');
    const early = new MediaVerifier({ expectedSize: file.length, resumeAt: 50_000 });
    await expect(run(early, file.subarray(50_000), 10_000)).rejects.toThrow('before the resumed prefix was absorbed');
  });

  it('read back: a rest longer than the file is still a size mismatch', async () => {
    const file = media(100_000);
    const verifier = new MediaVerifier({ expectedSize: file.length, resumeAt: 40_000 });
    await verifier.absorbPrefix(Readable.from([file.subarray(0, 40_000)]));
    await expect(run(verifier, Buffer.concat([file.subarray(40_000), Buffer.alloc(1)]), 7_000)).rejects.toBeInstanceOf(SizeMismatchError);
  });

  it('saved state: the state at each multiple of stateEvery, loaded by a new verifier, gives the whole digest', async () => {
    const every = 64 * 1024;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: every - 1 }), fc.integer({ min: 1_000, max: 200_000 }), async (cut, tail, chunk) => {
        const file = media(cut * every + tail + every);
        // On this thread first, then continued on a worker thread (as a transfer does): the same states.
        const first = new MediaVerifier({ expectedSize: file.length, resumableHash: await ResumableSha256.create(), stateEvery: every });
        // The first run sees the whole file (as an interrupted run saw its part and more); its state at the cut is kept.
        await run(first, file, chunk);
        expect(first.result().sha256).toBe(sha256(file));
        const state = await first.stateAt(cut * every);
        expect(state).toBeDefined();
        const second = new MediaVerifier({ expectedSize: file.length, resumeAt: cut * every, resumableHash: new OffThreadSha256(state), stateEvery: every, hashLagBytes: 100_000 });
        await run(second, file.subarray(cut * every), chunk);
        expect(second.result()).toEqual({ bytes: file.length, sha256: sha256(file) });
      }),
      { numRuns: 15 },
    );
  });

  it('saved state: offsets that are not checkpoints have no state, and states are dropped once taken', async () => {
    const every = 10_000;
    const verifier = new MediaVerifier({ resumableHash: await ResumableSha256.create(), stateEvery: every });
    await run(verifier, media(35_000), 3_333);
    expect(await verifier.stateAt(15_000)).toBeUndefined();
    expect(await verifier.stateAt(20_000)).toBeDefined();
    expect(await verifier.stateAt(10_000)).toBeUndefined(); // dropped with 20,000's
    expect(await verifier.stateAt(30_000)).toBeDefined();
    // Without a saveable hash there are no states at all (the folder store reads its bytes back instead).
    const plain = new MediaVerifier({});
    await run(plain, media(35_000), 3_333);
    expect(await plain.stateAt(10_000)).toBeUndefined();
  });

  it('saved state on a worker thread: the stream waits when the hash is too far behind, and the states match', async () => {
    const every = 256 * 1024;
    const file = media(6 * 1024 * 1024 + 99);
    const hash = new OffThreadSha256();
    let mostBehind = 0;
    const watched = new Proxy(hash, {
      get(target, property) {
        if (property === 'update') {
          return (data: Uint8Array) => {
            target.update(data);
            mostBehind = Math.max(mostBehind, target.lag);
            return target;
          };
        }
        const value = Reflect.get(target, property, target) as unknown;
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    const verifier = new MediaVerifier({ expectedSize: file.length, resumableHash: watched, stateEvery: every, hashLagBytes: 1024 * 1024 });
    await run(verifier, file, 200_000);
    expect(verifier.result()).toEqual({ bytes: file.length, sha256: sha256(file) });
    // Never more than the limit, one chunk and one batch behind.
    expect(mostBehind).toBeLessThanOrEqual(1024 * 1024 + 200_000 + 1024 * 1024);
    const reference = await ResumableSha256.create();
    reference.update(file.subarray(0, 3 * every));
    expect(await verifier.stateAt(3 * every)).toBe(reference.save());
  });

  it('saved state: a resume that does not start on a checkpoint is refused', async () => {
    const hash = await ResumableSha256.create();
    expect(() => new MediaVerifier({ resumeAt: 15_000, resumableHash: hash, stateEvery: 10_000 })).toThrow('multiple of stateEvery');
  });
});
