import { createHash, randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createMediaVerifier } from '../../services/uploader/media-verifier';
import { NotMediaError, SizeMismatchError } from '../../shared/ports/zoom-client';

/** A sink that records what reached it and whether it was ever finished (a store "commit"). */
function recordingSink() {
  const state = { bytes: 0, committed: false, chunks: [] as Buffer[] };
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      state.bytes += chunk.length;
      state.chunks.push(chunk);
      callback();
    },
    final(callback) {
      state.committed = true;
      callback();
    },
  });
  return { sink, state };
}

/** Splits a buffer into chunks of the given sizes (the rest in one). */
function chunked(data: Buffer, ...sizes: number[]): Buffer[] {
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const size of sizes) {
    chunks.push(data.subarray(offset, offset + size));
    offset += size;
  }
  if (offset < data.length) chunks.push(data.subarray(offset));
  return chunks;
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const mp4Like = (size: number) => Buffer.concat([Buffer.from([0, 0, 0, 0x20, 0x66, 0x74, 0x79, 0x70]), randomBytes(size - 8)]);
const failure = (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => error);

describe('media verifier', () => {
  it('passes the bytes through unchanged and reports their count and SHA-256', async () => {
    const data = mp4Like(300_000);
    const verifier = createMediaVerifier({ expectedSize: data.length });
    const { sink, state } = recordingSink();
    await pipeline(Readable.from(chunked(data, 1, 2, 3, 70_000)), verifier, sink);
    expect(verifier.result()).toEqual({ bytes: data.length, sha256: sha256(data) });
    expect(Buffer.concat(state.chunks).equals(data)).toBe(true);
    expect(state.committed).toBe(true);
  });

  it('has no result before the stream ended', () => {
    expect(() => createMediaVerifier().result()).toThrow(/before the stream ended/);
  });

  it('handles an empty file of expected size 0 and a tiny file', async () => {
    const empty = createMediaVerifier({ expectedSize: 0 });
    await pipeline(Readable.from([]), empty, recordingSink().sink);
    expect(empty.result()).toEqual({ bytes: 0, sha256: sha256(Buffer.alloc(0)) });

    const tiny = Buffer.from([0, 1, 2]);
    const verifier = createMediaVerifier({ expectedSize: 3 });
    const { sink, state } = recordingSink();
    await pipeline(Readable.from([tiny]), verifier, sink);
    expect(Buffer.concat(state.chunks).equals(tiny)).toBe(true);
  });

  it('fails before the end when fewer bytes arrive than expected', async () => {
    const data = mp4Like(10_000);
    const { sink, state } = recordingSink();
    const error = await failure(pipeline(Readable.from([data]), createMediaVerifier({ expectedSize: 10_001 }), sink));
    expect(error).toBeInstanceOf(SizeMismatchError);
    expect(error).toMatchObject({ expectedBytes: 10_001, actualBytes: 10_000, exceeded: false, code: 'size_mismatch' });
    expect(state.committed).toBe(false);
  });

  it('fails as soon as more bytes arrive than expected, without passing the excess on', async () => {
    const data = mp4Like(50_000);
    const { sink, state } = recordingSink();
    const error = await failure(pipeline(Readable.from(chunked(data, 10_000, 10_000, 10_000)), createMediaVerifier({ expectedSize: 25_000 }), sink));
    expect(error).toBeInstanceOf(SizeMismatchError);
    expect(error).toMatchObject({ expectedBytes: 25_000, actualBytes: 30_000, exceeded: true });
    expect(state.bytes).toBeLessThanOrEqual(25_000);
    expect(state.committed).toBe(false);
  });

  it.each([
    ['a doctype', '<!DOCTYPE html><html><body>Only the host can download</body></html>'],
    ['a lowercase html tag after whitespace', '\n\n   <html lang="en"><head></head></html>'],
    ['a BOM and a doctype', '\uFEFF<!doctype html>\n<html></html>'],
  ])('refuses an HTML page starting with %s, even split into 1-byte chunks', async (_case, page) => {
    const data = Buffer.from(page, 'utf8');
    const { sink, state } = recordingSink();
    const error = await failure(pipeline(Readable.from(chunked(data, ...Array(data.length).fill(1))), createMediaVerifier({ expectedSize: data.length }), sink));
    expect(error).toBeInstanceOf(NotMediaError);
    expect(error).toMatchObject({ code: 'not_media' });
    expect(state.bytes).toBe(0);
    expect(state.committed).toBe(false);
  });

  it('refuses an HTML page for a text file too', async () => {
    const data = Buffer.from('<html><body>error</body></html>');
    const error = await failure(pipeline(Readable.from([data]), createMediaVerifier({ expect: 'text' }), recordingSink().sink));
    expect(error).toBeInstanceOf(NotMediaError);
  });

  it('refuses a JSON error body for media, and accepts JSON for a text file', async () => {
    const data = Buffer.from('{"code":124,"message":"Invalid access token."}');
    const error = await failure(pipeline(Readable.from([data]), createMediaVerifier({ expectedSize: data.length }), recordingSink().sink));
    expect(error).toBeInstanceOf(NotMediaError);
    expect((error as Error).message).toMatch(/JSON/);

    const timeline = createMediaVerifier({ expectedSize: data.length, expect: 'text' });
    await pipeline(Readable.from([data]), timeline, recordingSink().sink);
    expect(timeline.result().sha256).toBe(sha256(data));
  });

  it('accepts a VTT transcript as text', async () => {
    const data = Buffer.from('WEBVTT\n\n1\n00:00:00.000 --> 00:00:02.000\n<v Teacher>Bayati starts on D\n');
    const verifier = createMediaVerifier({ expect: 'text' });
    await pipeline(Readable.from([data]), verifier, recordingSink().sink);
    expect(verifier.result().bytes).toBe(data.length);
  });

  it('does not mistake binary media that contains markup later on for a page', async () => {
    const data = Buffer.concat([mp4Like(100), Buffer.from('<html>'), randomBytes(100)]);
    const verifier = createMediaVerifier({ expectedSize: data.length });
    await pipeline(Readable.from([data]), verifier, recordingSink().sink);
    expect(verifier.result().sha256).toBe(sha256(data));
  });
});
