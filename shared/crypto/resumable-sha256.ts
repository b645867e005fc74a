/**
 * A SHA-256 whose state can be saved and loaded again in another process: what a
 * transfer that continues in the next Lambda invocation needs, when the bytes already
 * sent to S3 cannot be read back (the parts of an unfinished multipart upload are not
 * readable). Node's crypto cannot export a hash state; hash-wasm
 * (https://github.com/Daninet/hash-wasm) can (`save()` / `load()`), at a CPU cost:
 * measured here 217-255 MB/s against node:crypto's 1,037-1,700 MB/s on this machine
 * (SHA-NI), so it is used only where a resume needs it (S3); the folder store reads its
 * committed bytes back and keeps node:crypto.
 *
 * The state is base64 text (116 bytes of hash-wasm's state: the running digest, the
 * unprocessed block and the length); `load` refuses anything else.
 */
import { createSHA256, type IHasher } from 'hash-wasm';

export class ResumableSha256 {
  private constructor(private readonly hasher: IHasher) {}

  /** A fresh hash, or one continuing from `state` (as `save()` gave it). */
  static async create(state?: string): Promise<ResumableSha256> {
    const hasher = await createSHA256();
    hasher.init();
    if (state !== undefined) {
      const bytes = savedStateBytes(state);
      try {
        hasher.load(new Uint8Array(bytes));
      } catch (error) {
        throw new Error(`not a saved SHA-256 state: ${(error as Error).message}`, { cause: error });
      }
    }
    return new ResumableSha256(hasher);
  }

  update(data: Uint8Array): this {
    this.hasher.update(data);
    return this;
  }

  /** The state after every byte given so far, as base64 text. */
  save(): string {
    return Buffer.from(this.hasher.save()).toString('base64');
  }

  /** Hex digest; the hash cannot be used afterwards. */
  digest(): string {
    return this.hasher.digest('hex');
  }
}

/** The bytes of a saved state (base64 text); throws for text that is not base64 or is empty. */
export function savedStateBytes(state: string): Buffer {
  const bytes = Buffer.from(state, 'base64');
  if (bytes.length === 0 || bytes.toString('base64') !== state) throw new Error('not a saved SHA-256 state (base64)');
  return bytes;
}
