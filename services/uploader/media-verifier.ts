/**
 * Sits between the Zoom download and the archive store: hashes the bytes (SHA-256),
 * counts them against Zoom's file_size, and refuses a body that is a page or an error
 * document. Every refusal is a stream error raised BEFORE the stream ends, so the
 * store downstream aborts instead of committing a wrong file. A resumed transfer
 * (`resumeAt`) first absorbs the bytes the archive already holds, so that the
 * checksum and the count still cover the whole file while only the rest is downloaded.
 */
import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { NotMediaError, SizeMismatchError, type ContentKind } from '../../shared/ports/zoom-client';

export interface MediaVerifierOptions {
  /** Zoom's file_size; unknown for CC and TIMELINE files. */
  expectedSize?: number;
  /** Default 'media': then a body starting like JSON is refused too; HTML is refused for every kind. */
  expect?: ContentKind;
  highWaterMark?: number;
  /**
   * Resuming at this byte of the file: the body that passes starts there. The start of
   * the file was judged (page, JSON) when it was first written, so no sniffing; the
   * bytes before it must be given to absorbPrefix before the body, so that the SHA-256
   * and the byte count still cover the whole file.
   */
  resumeAt?: number;
  /**
   * Hash with this (a saveable SHA-256, already holding the state at `resumeAt` when
   * resuming) instead of node:crypto, saving its state at every multiple of
   * `stateEvery` bytes of the file (stateAt): for a store whose committed bytes cannot
   * be read back (S3), the checkpoint carries the state instead. Slower: only then.
   */
  resumableHash?: SaveableHash;
  stateEvery?: number;
  /**
   * With a hash that works behind (OffThreadSha256, on a worker thread): the most bytes
   * it may be behind before the stream waits for it (default 16 MiB), which bounds the
   * memory its queue holds.
   */
  hashLagBytes?: number;
}

/** A SHA-256 whose state can be saved: ResumableSha256 (here), or OffThreadSha256 (on a worker thread). */
export interface SaveableHash {
  update(data: Uint8Array): unknown;
  save(): string | Promise<string>;
  digest(): string | Promise<string>;
  /** Resolves once at most `limit` bytes given wait to be hashed (a hash that works behind). */
  drained?(limit: number): Promise<void>;
  readonly lag?: number;
  /** Frees what the hash holds (a worker) when the stream is destroyed before its end. */
  close?(): void;
}

const DEFAULT_HASH_LAG_BYTES = 16 * 1024 * 1024;

/** What the verifier needs of a hash. */
interface RunningHash {
  update(data: Uint8Array): unknown;
  digest(): string | Promise<string>;
}

export interface VerifiedContent {
  bytes: number;
  sha256: string;
}

/** Bytes held back until the start of the body can be judged. */
const SNIFF_BYTES = 64;
/** A body that is still only whitespace after this many bytes is judged on what follows no more. */
const SNIFF_LIMIT = 1024;
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

export class MediaVerifier extends Transform {
  private readonly expectedSize?: number;
  private readonly expect: ContentKind;
  private readonly hash: RunningHash;
  private readonly saveable?: SaveableHash;
  private readonly stateEvery: number;
  private readonly hashLagBytes: number;
  /** Bytes of the file hashed so far (prefix included). */
  private hashed = 0;
  /** Saved states by file offset (multiples of stateEvery), until taken by stateAt. */
  private readonly states = new Map<number, Promise<string>>();
  private bytes = 0;
  private head: Buffer[] | undefined = [];
  private headBytes = 0;
  private digest?: string;
  private readonly resumeAt: number;
  private prefixAbsorbed: boolean;

  constructor(options: MediaVerifierOptions = {}) {
    // The readable side holds one chunk at a time: a consumer reading a byte stream
    // (async iteration, read()) gets everything buffered concatenated into a new
    // Buffer, a copy of the whole file over a transfer (bench/results/latest.md).
    super({ writableHighWaterMark: options.highWaterMark ?? 1024 * 1024, readableHighWaterMark: 1 });
    this.expectedSize = options.expectedSize;
    this.expect = options.expect ?? 'media';
    this.resumeAt = options.resumeAt ?? 0;
    this.saveable = options.resumableHash;
    this.stateEvery = options.stateEvery ?? 0;
    this.hashLagBytes = options.hashLagBytes ?? DEFAULT_HASH_LAG_BYTES;
    if (this.saveable && (!Number.isSafeInteger(this.stateEvery) || this.stateEvery <= 0)) throw new RangeError('stateEvery must be a positive whole number of bytes');
    if (this.saveable && this.resumeAt % this.stateEvery !== 0) throw new RangeError('a resume with a saved hash state starts on a multiple of stateEvery');
    const node = createHash('sha256');
    this.hash = this.saveable ?? { update: (data: Uint8Array) => node.update(data), digest: () => node.digest('hex') };
    // With a saved state, the prefix is already in the hash.
    if (this.saveable) {
      this.hashed = this.resumeAt;
      this.bytes = this.resumeAt;
    }
    if (!Number.isSafeInteger(this.resumeAt) || this.resumeAt < 0) throw new RangeError('resumeAt must be a whole number of bytes >= 0');
    this.prefixAbsorbed = this.resumeAt === 0 || this.saveable !== undefined;
    if (this.resumeAt > 0) this.head = undefined;
  }

  /**
   * Hashes and counts the file's first `resumeAt` bytes (what the archive already holds)
   * without passing them on; resolves once exactly that many were read, rejects if the
   * prefix is shorter or longer. Must finish before the body's first byte arrives.
   */
  async absorbPrefix(prefix: AsyncIterable<Buffer | string>): Promise<void> {
    if (this.prefixAbsorbed) throw new Error('MediaVerifier: no prefix to absorb (not resuming, or absorbed already)');
    let bytes = 0;
    for await (const chunk of prefix) {
      const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      bytes += buffer.length;
      if (bytes > this.resumeAt) break;
      this.hash.update(buffer);
    }
    this.hashed = Math.min(bytes, this.resumeAt);
    if (bytes !== this.resumeAt) throw new Error(`the archive's partial copy holds ${bytes > this.resumeAt ? 'more' : 'fewer'} bytes than the checkpoint's ${this.resumeAt}`);
    this.bytes = bytes;
    this.prefixAbsorbed = true;
  }

  /** Byte count and hex SHA-256 of what passed; only after the stream finished without error. */
  result(): VerifiedContent {
    if (this.digest === undefined) throw new Error('MediaVerifier.result() called before the stream ended');
    return { bytes: this.bytes, sha256: this.digest };
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (!this.prefixAbsorbed) {
      callback(new Error('MediaVerifier: the body arrived before the resumed prefix was absorbed'));
      return;
    }
    this.bytes += chunk.length;
    if (this.expectedSize !== undefined && this.bytes > this.expectedSize) {
      callback(new SizeMismatchError(this.expectedSize, this.bytes, true));
      return;
    }
    this.hashChunk(chunk);
    if (this.head === undefined) {
      const saveable = this.saveable;
      if (saveable?.drained && (saveable.lag ?? 0) > this.hashLagBytes) {
        // The hash works behind and is too far behind: wait for it (bounded memory).
        saveable.drained(this.hashLagBytes).then(
          () => callback(null, chunk),
          (error: Error) => callback(error),
        );
        return;
      }
      callback(null, chunk);
      return;
    }
    this.head.push(chunk);
    this.headBytes += chunk.length;
    const verdict = judgeStart(Buffer.concat(this.head), this.expect, false);
    if (verdict === 'undecided') {
      callback();
      return;
    }
    callback(verdict === 'ok' ? null : verdict, this.releaseHead());
  }

  override _flush(callback: TransformCallback): void {
    if (!this.prefixAbsorbed) {
      callback(new Error('MediaVerifier: the body ended before the resumed prefix was absorbed'));
      return;
    }
    if (this.head !== undefined) {
      const verdict = judgeStart(Buffer.concat(this.head), this.expect, true);
      if (verdict instanceof Error) {
        callback(verdict);
        return;
      }
      const held = this.releaseHead();
      if (held.length > 0) this.push(held);
    }
    if (this.expectedSize !== undefined && this.bytes !== this.expectedSize) {
      callback(new SizeMismatchError(this.expectedSize, this.bytes, false));
      return;
    }
    const digest = this.hash.digest();
    if (typeof digest === 'string') {
      this.digest = digest;
      callback();
      return;
    }
    digest.then(
      (hex) => {
        this.digest = hex;
        callback();
      },
      (error: Error) => callback(error),
    );
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // Cut off before its end: nothing more is hashed. The states already asked for are
    // still answered (the checkpoints of parts that complete meanwhile), then the hash is freed.
    const saveable = this.saveable;
    if (this.digest === undefined && saveable?.close) {
      void Promise.allSettled([...this.states.values()]).then(() => saveable.close!());
    }
    callback(error);
  }

  /**
   * The hash state after exactly `offset` bytes of the file (a multiple of stateEvery
   * already passed), as base64; states before it are dropped. Undefined without a
   * saveable hash, or for an offset not saved. Waits for a hash that works behind.
   */
  async stateAt(offset: number): Promise<string | undefined> {
    const state = this.states.get(offset);
    for (const saved of this.states.keys()) if (saved <= offset) this.states.delete(saved);
    return state;
  }

  private hashChunk(chunk: Buffer): void {
    if (!this.saveable) {
      this.hash.update(chunk);
      this.hashed += chunk.length;
      return;
    }
    // Cut at each multiple of stateEvery, so that the state there can be saved.
    let at = 0;
    while (at < chunk.length) {
      const take = Math.min(this.stateEvery - (this.hashed % this.stateEvery), chunk.length - at);
      this.saveable.update(chunk.subarray(at, at + take));
      this.hashed += take;
      at += take;
      if (this.hashed % this.stateEvery === 0) {
        const state = Promise.resolve(this.saveable.save());
        // Taken by stateAt, or never: a refusal must not go unhandled.
        state.catch(() => undefined);
        this.states.set(this.hashed, state);
      }
    }
  }

  private releaseHead(): Buffer {
    const held = Buffer.concat(this.head ?? []);
    this.head = undefined;
    return held;
  }
}

export function createMediaVerifier(options: MediaVerifierOptions = {}): MediaVerifier {
  return new MediaVerifier(options);
}

/**
 * Judges the first bytes: a UTF-8 BOM and leading whitespace are skipped (pages often
 * start with them), then `<!doctype` / `<html` is a page, and for media `{` is a JSON
 * error body. Real MP4/M4A files start with a binary box header, never with these.
 */
function judgeStart(head: Buffer, expect: ContentKind, atEnd: boolean): 'ok' | 'undecided' | NotMediaError {
  if (!atEnd && head.length < BOM.length && BOM.subarray(0, head.length).equals(head)) return 'undecided';
  let start = head.subarray(0, BOM.length).equals(BOM) ? BOM.length : 0;
  while (start < head.length && isWhitespace(head[start]!)) start++;
  const rest = head.length - start;
  if (rest === 0) return atEnd || head.length >= SNIFF_LIMIT ? 'ok' : 'undecided';
  if (rest < SNIFF_BYTES && !atEnd && head.length < SNIFF_LIMIT) {
    // Only worth waiting for when the body may still turn into a page or a document.
    const first = head[start]!;
    if (first !== 0x3c /* < */ && !(expect === 'media' && (first === 0x7b /* { */ || first === 0x5b) /* [ */)) return 'ok';
    return 'undecided';
  }
  const text = head.subarray(start, start + SNIFF_BYTES).toString('latin1').toLowerCase();
  if (text.startsWith('<!doctype') || text.startsWith('<html') || text.startsWith('<head') || text.startsWith('<body')) {
    return new NotMediaError('the download is an HTML page, not the recording file');
  }
  if (expect === 'media' && (text.startsWith('{') || (text.startsWith('[') && /^\[\s*[{"\d\]]/.test(text)))) {
    return new NotMediaError('the download is a JSON document, not the recording file');
  }
  if (expect === 'media' && text.startsWith('<?xml')) {
    return new NotMediaError('the download is an XML document, not the recording file');
  }
  return 'ok';
}

function isWhitespace(byte: number): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d || byte === 0x0c;
}
