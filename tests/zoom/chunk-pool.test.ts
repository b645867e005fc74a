import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { FolderArchiveStore } from '../../shared/adapters/archive-folder';
import { ChunkPool, releaseChunk } from '../../shared/adapters/chunk-pool';
import { httpGet } from '../../shared/adapters/http-get';
import { ZoomHttpDownloader } from '../../shared/adapters/zoom-download';

const KiB = 1024;
const MiB = 1024 * KiB;
// A lost, repeated or overwritten byte changes the hash.
const random = randomBytes(24 * MiB + 333);
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** Remembers every buffer it gave out, and which ones the producer has not said it is done filling. */
class CountingPool extends ChunkPool {
  readonly memories = new Set<ArrayBufferLike>();
  readonly filling = new Set<ArrayBufferLike>();
  override take(): Buffer<ArrayBuffer> {
    const buffer = super.take();
    this.memories.add(buffer.buffer);
    this.filling.add(buffer.buffer);
    return buffer;
  }
  override doneFilling(buffer: Buffer): void {
    this.filling.delete(buffer.buffer);
    super.doneFilling(buffer);
  }
}

describe('ChunkPool', () => {
  it('reuses a buffer only once the producer moved on and every view of it came back', () => {
    const pool = new ChunkPool(64 * KiB, 4);
    const first = pool.take();
    const a = pool.lend(first.subarray(0, 100));
    const b = pool.lend(first.subarray(100, 200));
    releaseChunk(a);
    releaseChunk(b);
    // Still being filled: not reusable, however many views came back.
    expect(pool.available).toBe(0);
    const c = pool.lend(first.subarray(200, 300));
    pool.doneFilling(first);
    expect(pool.available).toBe(0);
    releaseChunk(c);
    expect(pool.available).toBe(1);
    expect(pool.take().buffer).toBe(first.buffer);
  });

  it('ignores a second release of a view, a view never lent and plain buffers', () => {
    const pool = new ChunkPool(64 * KiB, 4);
    const buffer = pool.take();
    const a = pool.lend(buffer.subarray(0, 10));
    const b = pool.lend(buffer.subarray(10, 20));
    pool.doneFilling(buffer);
    releaseChunk(a);
    // Were this counted, b's bytes could be overwritten while b is still held.
    releaseChunk(a);
    releaseChunk(buffer.subarray(10, 20));
    releaseChunk(Buffer.from('not pooled'));
    expect(pool.available).toBe(0);
    releaseChunk(b);
    expect(pool.available).toBe(1);
  });

  it('keeps at most maxFree buffers, and gives out new memory when none is free', () => {
    const pool = new ChunkPool(4 * KiB, 2);
    const taken = [pool.take(), pool.take(), pool.take()];
    expect(new Set(taken.map((t) => t.buffer)).size).toBe(3);
    for (const buffer of taken) pool.doneFilling(buffer);
    expect(pool.available).toBe(2);
    expect(taken.every((t) => t.length === 4 * KiB)).toBe(true);
  });

  it('refuses to lend what it is not filling, and bad sizes', () => {
    const pool = new ChunkPool(4 * KiB, 1);
    expect(() => pool.lend(Buffer.alloc(10))).toThrow(/not a buffer this pool is filling/);
    const buffer = pool.take();
    pool.doneFilling(buffer);
    expect(() => pool.lend(buffer.subarray(0, 1))).toThrow(/not a buffer this pool is filling/);
    expect(() => new ChunkPool(0, 1)).toThrow(RangeError);
    expect(() => new ChunkPool(4096, -1)).toThrow(RangeError);
  });
});

describe('httpGet and the folder store with a pool (real HTTP server)', () => {
  let server: http.Server;
  let base: string;
  let dir: string;

  beforeAll(async () => {
    server = http.createServer((request, response) => {
      const sized = /^\/sized\/(\d+)$/.exec(request.url ?? '');
      if (sized) {
        // The head alone first, so the body's reads start at the beginning of a buffer and its end lands where the size says.
        response.writeHead(200, { 'content-type': 'video/mp4', 'content-length': sized[1]! });
        response.flushHeaders();
        setTimeout(() => response.end(random.subarray(0, Number(sized[1]))), 10);
        return;
      }
      const chunked = request.url === '/chunked';
      response.writeHead(200, chunked ? { 'content-type': 'video/mp4' } : { 'content-type': 'video/mp4', 'content-length': String(random.length) });
      // Many small writes: many reads, many chunks, each buffer filled across several.
      let at = 0;
      const more = () => {
        while (at < random.length) {
          const piece = random.subarray(at, at + 48 * KiB + 7);
          at += piece.length;
          if (!response.write(piece)) return void response.once('drain', more);
        }
        response.end();
      };
      more();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    dir = mkdtempSync(path.join(tmpdir(), 'chunk-pool-'));
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it.each(['/length', '/chunked'])('a consumer that releases each chunk gets the exact bytes in reused memory (%s)', async (route) => {
    const pool = new ChunkPool(256 * KiB, 4);
    const response = await httpGet(new URL(route, base), { pool });
    const hash = createHash('sha256');
    const memories = new Set<ArrayBufferLike>();
    let chunks = 0;
    response.body.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      memories.add(chunk.buffer);
      chunks += 1;
      releaseChunk(chunk);
    });
    await finished(response.body);
    expect(hash.digest('hex')).toBe(sha256(random));
    // 24 MiB through 256 KiB buffers is 97 or more of them without reuse.
    expect(chunks).toBeGreaterThanOrEqual(97);
    expect(memories.size).toBeLessThan(20);
    expect(pool.available).toBeGreaterThan(0);
  });

  it.each([
    ['ends a chunk exactly', 256 * KiB, true],
    ['ends in the last 64 KiB of a chunk', 256 * KiB - 100, true],
    ['spans several chunks', 3 * 256 * KiB - 5, true],
    ['fits in part of a chunk', 12_345, false],
  ])('every buffer goes back once the body %s, download after download', async (_case, size, nearTheEnd) => {
    const pool = new CountingPool(256 * KiB, 8);
    // Downloads whose last read left less than 64 KiB free in its buffer: then Node asks
    // for one more read's buffer after the end, and a buffer taken for it never came back.
    let endedNearTheEnd = 0;
    for (let download = 0; download < 6; download++) {
      const response = await httpGet(new URL(`/sized/${size}`, base), { pool });
      const hash = createHash('sha256');
      let last: Buffer = Buffer.alloc(0);
      response.body.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        last = chunk;
        releaseChunk(chunk);
      });
      await finished(response.body);
      expect(hash.digest('hex')).toBe(sha256(random.subarray(0, size)));
      if (last.byteOffset + last.length > 256 * KiB - 64 * KiB) endedNearTheEnd++;
    }
    // The case was met (else this test would pass whatever http-get does after the end).
    if (nearTheEnd) expect(endedNearTheEnd).toBeGreaterThan(0);
    else expect(endedNearTheEnd).toBe(0);
    expect(pool.filling.size).toBe(0);
    expect(pool.memories.size).toBeLessThanOrEqual(Math.ceil(size / (256 * KiB)) + 1);
    expect(pool.available).toBe(pool.memories.size);
  });

  it('never reuses a chunk that was not released: its bytes stay as they arrived', async () => {
    const pool = new ChunkPool(256 * KiB, 4);
    const response = await httpGet(new URL('/length', base), { pool });
    const kept: { chunk: Buffer; copy: Buffer }[] = [];
    const hash = createHash('sha256');
    let index = 0;
    response.body.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      // Every fifth chunk is kept (as a stage that holds on would), the others released.
      if (index++ % 5 === 0) kept.push({ chunk, copy: Buffer.from(chunk) });
      else releaseChunk(chunk);
    });
    await finished(response.body);
    expect(hash.digest('hex')).toBe(sha256(random));
    expect(kept.length).toBeGreaterThan(10);
    for (const { chunk, copy } of kept) expect(chunk.equals(copy)).toBe(true);
  });

  it('the folder store gives every chunk back once it is written, and stores the exact bytes', async () => {
    // The chunks one at a time, as the uploader's verifier hands them on (a Readable's
    // async iteration would join buffered chunks into a copy, which is never released).
    const pool = new CountingPool(256 * KiB, 64);
    async function* lent() {
      for (let at = 0; at < random.length; ) {
        const buffer = pool.take();
        const length = random.copy(buffer, 0, at);
        at += length;
        yield pool.lend(buffer.subarray(0, length));
        pool.doneFilling(buffer);
      }
    }
    const store = new FolderArchiveStore({ root: path.join(dir, 'archive') });
    const result = await store.put({ key: 'course/file.mp4', body: Readable.from(lent()), contentLength: random.length, metadata: {} });
    expect(result.size).toBe(random.length);
    expect(sha256(readFileSync(path.join(dir, 'archive', 'course', 'file.mp4')))).toBe(sha256(random));
    // Every buffer came back once written (reused meanwhile: fewer buffers than chunks), none held after the put.
    expect(pool.memories.size).toBeGreaterThan(1);
    expect(pool.memories.size).toBeLessThan(random.length / (256 * KiB));
    expect(pool.available).toBe(pool.memories.size);
  });

  it('the downloader reads into its pool by default, and the folder store hands the memory back', async () => {
    const pool = new ChunkPool(MiB, 16);
    const downloader = new ZoomHttpDownloader({ allowlist: '127.0.0.1', chunkPool: pool });
    const download = await downloader.open(`${base}/length`, { token: 'test-token' });
    const store = new FolderArchiveStore({ root: path.join(dir, 'archive-2') });
    await store.put({ key: 'course/file.mp4', body: download.body, contentLength: random.length, metadata: {} });
    expect(sha256(readFileSync(path.join(dir, 'archive-2', 'course', 'file.mp4')))).toBe(sha256(random));
    expect(pool.available).toBeGreaterThan(0);
  });

  it('a pool and a different chunkBytes are refused before connecting', async () => {
    const pool = new ChunkPool(256 * KiB, 1);
    await expect(httpGet(new URL('/length', base), { pool, chunkBytes: MiB })).rejects.toThrow(TypeError);
  });
});
