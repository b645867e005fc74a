/**
 * Deterministic bytes for simulated recording files, of any size, without holding a
 * file in memory: one 1 MiB block of AES-CTR keystream per file (seeded by the file
 * id), with the block's index stamped over its first 8 bytes so that no two blocks of
 * a file are equal (a stuck or repeated block changes the hash). Serving is slicing
 * that block, so the simulator runs at memory speed and the expected SHA-256 is
 * computed by streaming the same generator.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { Readable } from 'node:stream';

export const BLOCK_SIZE = 1024 * 1024;
const STAMP_SIZE = 8;

export interface FileContent {
  readonly size: number;
  /** The bytes from `offset`, at most `max` of them, without copying where possible. Defined past `size` too (wrong-size faults). */
  piece(offset: number, max: number): Buffer;
}

/** Generated content: fast, deterministic per `seed`. */
export class GeneratedContent implements FileContent {
  private base?: Buffer;

  constructor(
    readonly seed: string,
    readonly size: number,
  ) {}

  piece(offset: number, max: number): Buffer {
    const index = Math.floor(offset / BLOCK_SIZE);
    const within = offset - index * BLOCK_SIZE;
    if (within < STAMP_SIZE) {
      const stamp = Buffer.alloc(STAMP_SIZE);
      stamp.writeBigUInt64BE(BigInt(index));
      return stamp.subarray(within, within + Math.min(max, STAMP_SIZE - within));
    }
    return this.block().subarray(within, within + Math.min(max, BLOCK_SIZE - within));
  }

  private block(): Buffer {
    if (!this.base) {
      const key = createHash('sha256').update(`zoom-simulator:${this.seed}`).digest();
      const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
      this.base = Buffer.concat([cipher.update(Buffer.alloc(BLOCK_SIZE)), cipher.final()]);
    }
    return this.base;
  }
}

/** Fixed content (e.g. a real VTT transcript); zero bytes past its end. */
export class FixedContent implements FileContent {
  readonly size: number;

  constructor(private readonly bytes: Buffer) {
    this.size = bytes.length;
  }

  piece(offset: number, max: number): Buffer {
    if (offset >= this.bytes.length) return Buffer.alloc(Math.min(max, 64 * 1024));
    return this.bytes.subarray(offset, offset + max);
  }
}

/** SHA-256 (hex) of bytes [0, size) of `content`, streamed block by block. */
export async function contentSha256(content: FileContent, size = content.size): Promise<string> {
  const hash = createHash('sha256');
  let offset = 0;
  while (offset < size) {
    const piece = content.piece(offset, size - offset);
    hash.update(piece);
    offset += piece.length;
    // Yield now and then: hashing a 2 GiB file must not freeze the simulator's server.
    if (offset % (64 * BLOCK_SIZE) < piece.length) await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return hash.digest('hex');
}

export interface ContentStreamOptions {
  /** Throttle to about this rate (a slow drip). */
  bytesPerSecond?: number;
}

/** Bytes [start, end) of `content` as a stream; pulled, so it honours the consumer's backpressure. */
export class ContentStream extends Readable {
  private offset: number;
  private sent = 0;
  private readonly startedAt = Date.now();
  private timer?: NodeJS.Timeout;
  private readonly chunk: number;

  constructor(
    private readonly content: FileContent,
    start: number,
    private readonly end: number,
    private readonly options: ContentStreamOptions = {},
  ) {
    super({ highWaterMark: BLOCK_SIZE });
    this.offset = start;
    const rate = options.bytesPerSecond;
    this.chunk = rate ? Math.max(1, Math.min(64 * 1024, Math.floor(rate / 20))) : BLOCK_SIZE;
  }

  override _read(): void {
    if (this.timer) return;
    const rate = this.options.bytesPerSecond;
    while (this.offset < this.end) {
      let max = Math.min(this.chunk, this.end - this.offset);
      if (rate) {
        const allowed = Math.floor(((Date.now() - this.startedAt) / 1000) * rate) - this.sent;
        if (allowed <= 0) {
          const waitMs = Math.max(1, Math.ceil(((this.sent + max) / rate) * 1000 - (Date.now() - this.startedAt)));
          this.timer = setTimeout(() => {
            this.timer = undefined;
            this._read();
          }, waitMs);
          return;
        }
        max = Math.min(max, allowed);
      }
      const piece = this.content.piece(this.offset, max);
      this.offset += piece.length;
      this.sent += piece.length;
      if (!this.push(piece)) return;
    }
    if (this.offset >= this.end) this.push(null);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    callback(error);
  }
}
