/**
 * ArchiveStore on a folder of the local disk (ARCHIVE_DIR), for the single-machine runtime.
 *
 * The key maps to a relative path under the root. The bytes go to a hidden
 * `.<name>.<random>.partial` file in the target's own directory (so the link
 * cannot cross file systems), which is fsynced, then hard-linked to the final name
 * and unlinked — link(2) is atomic and refuses an existing name (EEXIST), so a reader
 * sees no file or the whole one, never a part, and an archived file is never
 * replaced, not even by a concurrent put — and the directories whose entries changed
 * are fsynced. When the name is taken, the existing file is compared with the new
 * bytes (size, then SHA-256 of both): the same bytes are the archived result, other
 * bytes an ArchiveKeyConflictError. A failed put removes its temporary file. The
 * archive folder must be on a file system with hard links.
 *
 * Metadata is not kept: the ledger and the audit trail hold it, and a sidecar file
 * could not be replaced atomically together with the object. Where S3 allows both
 * `a` and `a/b` as keys, a folder cannot: such a put fails, not retryable.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { link, mkdir, open, readdir, rm, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { ConfigError } from '../errors';
import type { ArchiveLocation } from '../events';
import {
  ArchiveInputError,
  ArchiveKeyConflictError,
  ArchiveNotFoundError,
  ArchiveReadError,
  ArchiveWriteError,
  type ArchiveObjectInfo,
  type ArchivePutInput,
  type ArchivePutResult,
  type ArchiveStore,
} from '../ports/archive-store';
import { assertArchiveKey, assertArchiveMetadata } from './archive-rules';
import { meterPutBody, writeCause, writeOrigin } from './archive-put-body';

export interface FolderArchiveStoreOptions {
  /** The archive folder; created on first put. Relative paths resolve against the working directory. */
  root: string;
}

/** Suffix of in-progress files; nothing else in the archive ends with it. */
export const PARTIAL_SUFFIX = '.partial';
/** Room left for the temporary name's dot, random part and suffix within a 255-byte file name. */
const MAX_TEMP_STEM_BYTES = 200;
/** The key can never be written here as it stands: a file where a folder is needed, or the reverse, or a name too long. */
const PERMANENT_CODES = new Set(['EISDIR', 'ENOTDIR', 'EEXIST', 'ENAMETOOLONG']);
const MISSING_CODES = new Set(['ENOENT', 'ENOTDIR']);

export class FolderArchiveStore implements ArchiveStore {
  readonly kind = 'folder';
  readonly keepsMetadata = false;
  readonly root: string;

  constructor(options: FolderArchiveStoreOptions) {
    if (!options.root) throw new ConfigError('folder archive: a root folder (ARCHIVE_DIR) is required');
    this.root = path.resolve(options.root);
  }

  async put(input: ArchivePutInput): Promise<ArchivePutResult> {
    const { key, signal } = input;
    let target: string;
    let metered: ReturnType<typeof meterPutBody>;
    try {
      target = this.pathOf(key);
      assertArchiveMetadata(input.metadata);
      metered = meterPutBody(input);
    } catch (error) {
      input.body.destroy();
      throw error;
    }
    const { chunks, meter, release } = metered;
    const directory = path.dirname(target);
    let temporary: string | undefined;
    const startedAt = Date.now();
    try {
      const firstCreated = await mkdir(directory, { recursive: true });
      temporary = path.join(directory, temporaryName(path.basename(target)));
      await writeDurably(temporary, chunks);
      try {
        await link(temporary, target);
      } catch (error) {
        if (errorCode(error) !== 'EEXIST' || !(await holdsFile(target))) throw error;
        const same = await sameBytes(target, temporary, meter.bytes);
        const written = temporary;
        temporary = undefined;
        const cleanupError = await rm(written, { force: true }).then(() => undefined, (e: unknown) => e);
        if (!same) throw new ArchiveKeyConflictError(key, { cleanupError });
        // The put that linked it may have died before its directory fsync.
        await syncDirectories(firstCreated === undefined ? directory : path.dirname(firstCreated), directory);
        return { location: this.describe(key), size: meter.bytes };
      }
      const linked = temporary;
      temporary = undefined;
      // Committed: a temporary name that cannot be removed now is only a stray hard
      // link, which the next put of this key removes (removeStalePartials).
      await rm(linked, { force: true }).catch(ignore);
      await syncDirectories(firstCreated === undefined ? directory : path.dirname(firstCreated), directory);
      await removeStalePartials(directory, path.basename(target), startedAt);
      return { location: this.describe(key), size: meter.bytes };
    } catch (error) {
      if (error instanceof ArchiveKeyConflictError) throw error;
      const origin = writeOrigin(meter, signal);
      const cause = writeCause(meter, signal, error);
      input.body.destroy();
      const cleanupError =
        temporary === undefined ? undefined : await rm(temporary, { force: true }).then(() => undefined, (e: unknown) => e);
      const permanent = origin === 'store' && PERMANENT_CODES.has(errorCode(error) ?? '');
      throw new ArchiveWriteError(`could not store ${key} in ${this.root}: ${describeError(cause)}`, key, origin, {
        cause,
        cleanupError,
        ...(permanent ? { retryable: false } : {}),
      });
    } finally {
      release();
    }
  }

  async head(key: string): Promise<ArchiveObjectInfo | undefined> {
    const target = this.pathOf(key);
    try {
      const stats = await stat(target);
      return stats.isFile() ? { size: stats.size, metadata: {} } : undefined;
    } catch (error) {
      if (MISSING_CODES.has(errorCode(error) ?? '')) return undefined;
      throw new ArchiveReadError(`could not read ${key} in ${this.root}: ${describeError(error)}`, { cause: error });
    }
  }

  async get(key: string): Promise<Readable> {
    const target = this.pathOf(key);
    let handle: FileHandle;
    try {
      handle = await open(target, 'r');
    } catch (error) {
      if (MISSING_CODES.has(errorCode(error) ?? '')) throw new ArchiveNotFoundError(key);
      throw new ArchiveReadError(`could not read ${key} in ${this.root}: ${describeError(error)}`, { cause: error });
    }
    const stats = await handle.stat().catch(async (error: unknown) => {
      await handle.close();
      throw new ArchiveReadError(`could not read ${key} in ${this.root}: ${describeError(error)}`, { cause: error });
    });
    if (!stats.isFile()) {
      await handle.close();
      throw new ArchiveNotFoundError(key);
    }
    return handle.createReadStream();
  }

  describe(key: string): ArchiveLocation {
    return { kind: 'folder', container: this.root, key, uri: pathToFileURL(this.pathOf(key)).href };
  }

  /** The key's path under the root; refuses anything that would land elsewhere. */
  private pathOf(key: string): string {
    assertArchiveKey(key);
    const target = path.resolve(this.root, ...key.split('/'));
    const relative = path.relative(this.root, target);
    if (relative === '' || relative === '..' || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative)) {
      throw new ArchiveInputError(`archive key ${JSON.stringify(key)} resolves outside the archive folder`);
    }
    return target;
  }
}

/**
 * Bytes gathered while a write is in flight before reading waits for it. With the
 * write in flight, read-ahead stays under about 2 × this (+ a chunk each): within
 * 1 MiB of what is on disk.
 */
const MAX_BATCH_BYTES = 256 * 1024;

/**
 * Writes every chunk, then fsyncs, before the caller may link: a crash leaves at
 * worst a stray .partial. One write is in flight while the next chunks are read and
 * gathered; they go out together in one writev (no copy), so the download does not
 * wait for the disk chunk by chunk (bench/results/latest.md, transfer breakdown).
 */
async function writeDurably(file: string, chunks: AsyncIterable<Buffer>): Promise<void> {
  const handle = await open(file, 'wx');
  const writer: { inFlight?: Promise<void>; failed?: { error: unknown } } = {};
  const startWrite = (batch: Buffer[]) => {
    const write: Promise<void> = writeAll(handle, batch).then(
      () => {
        if (writer.inFlight === write) writer.inFlight = undefined;
      },
      (error: unknown) => {
        writer.failed ??= { error };
      },
    );
    writer.inFlight = write;
  };
  const throwIfFailed = () => {
    if (writer.failed) throw writer.failed.error;
  };
  try {
    let batch: Buffer[] = [];
    let batchBytes = 0;
    for await (const chunk of chunks) {
      throwIfFailed();
      if (chunk.length === 0) continue;
      batch.push(chunk);
      batchBytes += chunk.length;
      if (writer.inFlight && batchBytes < MAX_BATCH_BYTES) continue;
      await writer.inFlight;
      throwIfFailed();
      startWrite(batch);
      batch = [];
      batchBytes = 0;
    }
    await writer.inFlight;
    throwIfFailed();
    if (batch.length > 0) await writeAll(handle, batch);
    await handle.sync();
  } finally {
    // Never close under a write still running (a failed body ends the loop early).
    await writer.inFlight;
    await handle.close();
  }
}

/** writev at the current position until every byte is out (a write may be partial). */
async function writeAll(handle: FileHandle, buffers: Buffer[]): Promise<void> {
  let pending = buffers;
  while (pending.length > 0) {
    const { bytesWritten } = await handle.writev(pending);
    let skip = bytesWritten;
    while (pending.length > 0 && skip >= pending[0]!.length) {
      skip -= pending[0]!.length;
      pending = pending.slice(1);
    }
    if (skip > 0) pending = [pending[0]!.subarray(skip), ...pending.slice(1)];
  }
}

/** Whether `file` is a regular file (a taken key), as opposed to a folder under the same name. */
async function holdsFile(file: string): Promise<boolean> {
  const stats = await stat(file).catch(() => undefined);
  return stats?.isFile() ?? false;
}

/** Whether the archived file and the just-written one hold the same bytes; sizes first, so a mismatch reads nothing. */
async function sameBytes(archived: string, written: string, size: number): Promise<boolean> {
  if ((await stat(archived)).size !== size) return false;
  const [a, b] = await Promise.all([sha256OfFile(archived), sha256OfFile(written)]);
  return a.size === size && b.size === size && a.sha256 === b.sha256;
}

async function sha256OfFile(file: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}

/** fsyncs `deepest` and each parent up to `highest`: every directory that gained an entry. */
async function syncDirectories(highest: string, deepest: string): Promise<void> {
  for (let directory = deepest; ; directory = path.dirname(directory)) {
    const handle = await open(directory, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (directory === highest || directory === path.dirname(directory)) return;
  }
}

/**
 * A process killed mid-write (kill -9, power loss) leaves its `.partial` behind. Once
 * a put of the same key has committed, any sibling partial of that key untouched
 * since this put began belongs to a dead writer (a live one writes continuously), so
 * it is removed. Best effort: a failure here never fails the committed put.
 */
async function removeStalePartials(directory: string, name: string, startedAt: number): Promise<void> {
  const prefix = `.${truncateUtf8(name, MAX_TEMP_STEM_BYTES)}.`;
  try {
    for (const entry of await readdir(directory)) {
      if (!entry.startsWith(prefix) || !entry.endsWith(PARTIAL_SUFFIX)) continue;
      const candidate = path.join(directory, entry);
      const stats = await stat(candidate).catch(() => undefined);
      if (stats && stats.mtimeMs < startedAt) await rm(candidate, { force: true });
    }
  } catch {
    // The object is committed; a stray partial is only disk space.
  }
}

function temporaryName(name: string): string {
  return `.${truncateUtf8(name, MAX_TEMP_STEM_BYTES)}.${randomBytes(6).toString('hex')}${PARTIAL_SUFFIX}`;
}

function ignore(): void {}

function truncateUtf8(text: string, maxBytes: number): string {
  let bytes = 0;
  let result = '';
  for (const character of text) {
    bytes += Buffer.byteLength(character, 'utf8');
    if (bytes > maxBytes) break;
    result += character;
  }
  return result;
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
