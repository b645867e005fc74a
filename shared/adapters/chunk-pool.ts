/**
 * Reusable download buffers. A body read into fresh memory costs the kernel a page
 * fault and a zeroed page per 4 KiB, and V8 a garbage collection per ~64 MB of
 * buffers: on the 2-core reference machine, reusing 1 MiB buffers took a transfer to
 * the folder store from 416 to 495 MB/s and from 3.0 to 2.2 CPU s/GiB (an A/B in one
 * run; `npm run bench`, "Transfer settings", measures it again).
 *
 * Ownership is explicit, and the default is safe: the producer (http-get) takes a
 * buffer, fills it, and hands parts of it on as views (`lend`); a view goes back only
 * when its one final consumer calls `releaseChunk` once it no longer needs the bytes
 * (the folder store, once the write of them has completed). A buffer is reused only
 * when the producer has moved on from it and every view lent from it was released.
 * A view that is kept, copied, re-sliced or dropped is simply never released: its
 * buffer is then left to the garbage collector, as without a pool. So a stage between
 * producer and consumer must not keep a view it passes on: it must copy what it keeps
 * (the media verifier concatenates the file's head into a new buffer).
 */

interface Slab {
  pool: ChunkPool;
  /** Views lent from this buffer and not yet released. */
  lent: number;
  /** The producer is still filling it. */
  filling: boolean;
}

const slabs = new WeakMap<ArrayBufferLike, Slab>();
/** Views lent and not yet released: a second release of the same view, or of a view never lent, does nothing. */
const outstanding = new WeakSet<Buffer>();

export class ChunkPool {
  private readonly free: Buffer<ArrayBuffer>[] = [];

  /**
   * @param chunkBytes size of every buffer
   * @param maxFree buffers kept for reuse at most (memory held while idle: chunkBytes × maxFree)
   */
  constructor(
    readonly chunkBytes: number,
    readonly maxFree: number,
  ) {
    if (!Number.isSafeInteger(chunkBytes) || chunkBytes <= 0) throw new RangeError('chunkBytes must be a positive whole number');
    if (!Number.isSafeInteger(maxFree) || maxFree < 0) throw new RangeError('maxFree must be a whole number >= 0');
  }

  /** Buffers waiting to be reused. */
  get available(): number {
    return this.free.length;
  }

  /** A buffer of chunkBytes for the producer to fill (a released one, else new). Its contents are arbitrary. */
  take(): Buffer<ArrayBuffer> {
    const buffer = this.free.pop() ?? Buffer.allocUnsafeSlow(this.chunkBytes);
    slabs.set(buffer.buffer, { pool: this, lent: 0, filling: true });
    return buffer;
  }

  /** Marks `view` (part of a buffer from take()) as handed on; returns it. */
  lend<T extends Buffer>(view: T): T {
    const slab = slabs.get(view.buffer);
    if (slab?.pool !== this || !slab.filling) throw new Error('ChunkPool.lend: not a buffer this pool is filling');
    slab.lent++;
    outstanding.add(view);
    return view;
  }

  /** The producer will write no more into `buffer`: it is reused once every view of it is released. */
  doneFilling(buffer: Buffer): void {
    const slab = slabs.get(buffer.buffer);
    if (slab?.pool !== this || !slab.filling) return;
    slab.filling = false;
    if (slab.lent === 0) recycle(buffer.buffer, slab);
  }

  /** Keeps `memory` for take(), up to maxFree buffers. */
  keep(memory: ArrayBufferLike): void {
    if (this.free.length < this.maxFree && memory.byteLength === this.chunkBytes && memory instanceof ArrayBuffer) this.free.push(Buffer.from(memory));
  }
}

function recycle(memory: ArrayBufferLike, slab: Slab): void {
  slabs.delete(memory);
  slab.pool.keep(memory);
}

/**
 * The final consumer is done with `view`'s bytes. Anything not lent by a pool (or
 * released already) is ignored, so a consumer may call it on every chunk it gets.
 */
export function releaseChunk(view: Buffer): void {
  if (!outstanding.delete(view)) return;
  const slab = slabs.get(view.buffer);
  if (!slab) return;
  slab.lent--;
  if (slab.lent === 0 && !slab.filling) recycle(view.buffer, slab);
}
