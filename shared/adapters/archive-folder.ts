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
 * Resumable puts (`resumable`, ResumableArchive) write to
 * `.<name>.<random>.resumable.partial` (a name longer than the temporary stem allows
 * gets a digest of the whole name after its shortened stem, so two long names never
 * share partials) and commit exactly as put does. On the way:
 * - Checkpoints. After about every `checkpointBytes` of body (on a write boundary) the
 *   partial file is fsynced, and only then `onCheckpoint({ uploadId: <the partial's
 *   file name>, bytesCommitted: <its size, prefix included>, parts: [] })` is awaited:
 *   a recorded checkpoint names bytes that survive a crash. The first checkpoint of a
 *   put also fsyncs the directory, so the partial's name survives too. Writing stays
 *   pipelined, and the fsync off its path: while a checkpoint's fsync and callback
 *   run, the following batches are appended to this put's own partial (they are past
 *   the checkpoint, which stays true); the next checkpoint and the commit wait for
 *   it, so checkpoints are recorded in order, one at a time, never after the commit,
 *   and at most about `checkpointBytes` are written past one not yet recorded. An
 *   fsync in the write path cost 15-20 % of a 256 MiB put; overlapped, a resumable
 *   put is no slower than put. `false` (the lease is lost) aborts the put (origin
 *   'aborted') at the next batch. Once a checkpoint of this put was accepted, the
 *   other resumable partials of the key are removed: the ledger no longer names them.
 * - Resume (`resumeFrom`, as `prepareResume` accepted it). The old partial is never
 *   appended to: a writer that lost its lease may still run and hold it open, and
 *   would write into it. A new partial (new random name) gets a copy of exactly the
 *   checkpoint's first `bytesCommitted` bytes (copyFile, a reflink where the file
 *   system has them, then truncated to the checkpoint; a zombie writer only ever
 *   writes past its own checkpoints), is fsynced with its directory, and is
 *   recorded at once as a checkpoint of this put (same `bytesCommitted`, new
 *   `uploadId`) — only then is the old partial removed, so a crash or a failure at
 *   any point leaves a checkpoint whose bytes exist. Then the body is appended.
 * - Failure. A put that offered a checkpoint (a resume always does) keeps its partial
 *   for the next resume: it holds at least the last checkpoint's bytes. A put that
 *   did not, and one that can never be resumed (ArchiveKeyConflictError, an invalid
 *   key, a failure that is not retryable other than a refused checkpoint), removes it.
 * - `prepareResume` accepts a checkpoint whose `uploadId` is a resumable partial of
 *   this very key (a plain file name with the key's own prefix and suffix) in the
 *   key's directory, holding at least `bytesCommitted` (> 0) bytes; else offset 0
 *   with the reason.
 * After a commit, the resumable partials of the key are stale and removed, whatever
 * their age; plain partials only once untouched since the put began (a concurrent
 * put may still be writing one).
 *
 * Metadata is not kept: the ledger and the audit trail hold it, and a sidecar file
 * could not be replaced atomically together with the object. Where S3 allows both
 * `a` and `a/b` as keys, a folder cannot: such a put fails, not retryable.
 */
import { createHash, randomBytes } from 'node:crypto';
import { constants as fsConstants, createReadStream, type Stats } from 'node:fs';
import { copyFile, link, lstat, mkdir, open, readdir, rm, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { ArchiverError, ConfigError } from '../errors';
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
  type ResumableArchive,
  type ResumablePutInput,
  type ResumePoint,
} from '../ports/archive-store';
import type { TransferCheckpoint } from '../ports/upload-ledger';
import { assertArchiveKey, assertArchiveMetadata } from './archive-rules';
import { releaseChunk } from './chunk-pool';
import { meterPutBody, writeCause, writeOrigin } from './archive-put-body';

export interface FolderArchiveStoreOptions {
  /** The archive folder; created on first put. Relative paths resolve against the working directory. */
  root: string;
  /** Bytes of body between two checkpoints of a resumable put (about: a checkpoint falls on a write boundary). Default 16 MiB. */
  checkpointBytes?: number;
}

/** Suffix of in-progress files; nothing else in the archive ends with it. */
export const PARTIAL_SUFFIX = '.partial';
/** Suffix of the in-progress files of resumable puts (a kind of PARTIAL_SUFFIX). */
export const RESUMABLE_PARTIAL_SUFFIX = `.resumable${PARTIAL_SUFFIX}`;
export const DEFAULT_CHECKPOINT_BYTES = 16 * 1024 * 1024;
/** Room left for the temporary name's dot, random part and suffix within a 255-byte file name. */
const MAX_TEMP_STEM_BYTES = 200;
/** The key can never be written here as it stands: a file where a folder is needed, or the reverse, or a name too long. */
const PERMANENT_CODES = new Set(['EISDIR', 'ENOTDIR', 'EEXIST', 'ENAMETOOLONG']);
const MISSING_CODES = new Set(['ENOENT', 'ENOTDIR']);
const RANDOM_HEX = /^[0-9a-f]{12}$/;

/** The cause of a resumable put aborted because onCheckpoint answered false: the caller lost its lease. */
export class CheckpointRefusedError extends ArchiverError {
  readonly retryable = false;
  constructor(readonly checkpoint: TransferCheckpoint) {
    super(`the checkpoint at ${checkpoint.bytesCommitted} bytes was refused (the lease is lost)`);
  }
}

/** What a resumable put adds to put's write. */
interface ResumableWrite {
  onCheckpoint(checkpoint: TransferCheckpoint): Promise<boolean>;
  resumeFrom?: TransferCheckpoint;
}

export class FolderArchiveStore implements ArchiveStore {
  readonly kind = 'folder';
  readonly keepsMetadata = false;
  readonly root: string;
  readonly resumable: ResumableArchive;

  constructor(options: FolderArchiveStoreOptions) {
    if (!options.root) throw new ConfigError('folder archive: a root folder (ARCHIVE_DIR) is required');
    this.root = path.resolve(options.root);
    const checkpointBytes = options.checkpointBytes ?? DEFAULT_CHECKPOINT_BYTES;
    if (!Number.isSafeInteger(checkpointBytes) || checkpointBytes <= 0) {
      throw new ConfigError(`folder archive: checkpointBytes must be a positive whole number, not ${checkpointBytes}`);
    }
    this.resumable = {
      checkpointBytes,
      resumeHash: 'read-back',
      prepareResume: (key, checkpoint) => this.prepareResume(key, checkpoint),
      putResumable: (input) => this.putResumable(input),
    };
  }

  put(input: ArchivePutInput): Promise<ArchivePutResult> {
    return this.write(input, undefined);
  }

  private putResumable(input: ResumablePutInput): Promise<ArchivePutResult> {
    return this.write(input, { onCheckpoint: input.onCheckpoint, resumeFrom: input.resumeFrom });
  }

  private async prepareResume(key: string, checkpoint: TransferCheckpoint | undefined): Promise<ResumePoint> {
    const target = this.pathOf(key);
    if (checkpoint === undefined || checkpoint === null) return { offset: 0, reason: 'no checkpoint' };
    const problem = checkpointProblem(path.basename(target), checkpoint);
    if (problem) return { offset: 0, reason: problem };
    const { bytesCommitted } = checkpoint;
    const file = path.join(path.dirname(target), checkpoint.uploadId!);
    let stats: Stats;
    try {
      stats = await lstat(file);
    } catch (error) {
      const missing = MISSING_CODES.has(errorCode(error) ?? '');
      return { offset: 0, reason: missing ? `the partial file ${checkpoint.uploadId} is gone` : `the partial file ${checkpoint.uploadId} cannot be read: ${describeError(error)}` };
    }
    if (!stats.isFile()) return { offset: 0, reason: `${checkpoint.uploadId} is not a regular file` };
    if (stats.size < bytesCommitted) {
      return { offset: 0, reason: `the partial file ${checkpoint.uploadId} holds ${stats.size} bytes, fewer than the ${bytesCommitted} checkpointed` };
    }
    return { offset: bytesCommitted, committed: () => readPrefix(file, bytesCommitted) };
  }

  /** put, and with `resumable` a resumable put: one path, so that both keep the same promises. */
  private async write(input: ArchivePutInput, resumable: ResumableWrite | undefined): Promise<ArchivePutResult> {
    const { key, signal } = input;
    let target: string;
    let metered: ReturnType<typeof meterPutBody>;
    /** Bytes copied from the partial being resumed; the body supplies the rest. */
    let prefix = 0;
    try {
      target = this.pathOf(key);
      assertArchiveMetadata(input.metadata);
      if (resumable) {
        if (typeof resumable.onCheckpoint !== 'function') throw new ArchiveInputError('a resumable put needs onCheckpoint');
        if (resumable.resumeFrom !== undefined) prefix = resumePrefix(key, path.basename(target), resumable.resumeFrom, input.contentLength);
      }
      // The declared length is the whole object's; after a resume the body supplies the rest.
      const bodyLength = input.contentLength === undefined ? undefined : input.contentLength - prefix;
      metered = meterPutBody(prefix === 0 ? input : { ...input, contentLength: bodyLength });
    } catch (error) {
      input.body.destroy();
      throw error;
    }
    const { chunks, meter, release } = metered;
    const directory = path.dirname(target);
    const name = path.basename(target);
    let temporary: string | undefined;
    /** onCheckpoint was called in this put: the partial is what the caller's checkpoint names. */
    let offered = false;
    let refused: CheckpointRefusedError | undefined;
    const startedAt = Date.now();
    try {
      const firstCreated = await mkdir(directory, { recursive: true });
      const highest = firstCreated === undefined ? directory : path.dirname(firstCreated);
      temporary = path.join(directory, resumable ? resumableName(name) : temporaryName(name));
      let checkpoints: Checkpoints | undefined;
      if (resumable) {
        const partial = temporary;
        const uploadId = path.basename(partial);
        let directorySynced = false;
        const offer = async (bytesCommitted: number): Promise<void> => {
          // The file's bytes are fsynced by now; its name must survive a crash too.
          if (!directorySynced) await syncDirectories(highest, directory);
          directorySynced = true;
          const checkpoint: TransferCheckpoint = { uploadId, bytesCommitted, parts: [] };
          const first = !offered;
          offered = true;
          if (!(await resumable.onCheckpoint(checkpoint))) throw (refused = new CheckpointRefusedError(checkpoint));
          // The caller's checkpoint names this partial now: every other one of the key is garbage.
          if (first) await removeResumablePartials(directory, name, uploadId);
        };
        if (prefix > 0) {
          await copyPrefix(path.join(directory, resumable.resumeFrom!.uploadId!), partial, prefix);
          await offer(prefix);
        }
        checkpoints = { every: this.resumable.checkpointBytes, reached: offer };
      }
      await writeDurably(temporary, chunks, { position: prefix, checkpoints });
      const size = prefix + meter.bytes;
      try {
        await link(temporary, target);
      } catch (error) {
        if (errorCode(error) !== 'EEXIST' || !(await holdsFile(target))) throw error;
        const same = await sameBytes(target, temporary, size);
        const written = temporary;
        temporary = undefined;
        const cleanupError = await rm(written, { force: true }).then(() => undefined, (e: unknown) => e);
        if (!same) throw new ArchiveKeyConflictError(key, { cleanupError });
        // The put that linked it may have died before its directory fsync.
        await syncDirectories(highest, directory);
        await removeStalePartials(directory, name, startedAt);
        return { location: this.describe(key), size };
      }
      const linked = temporary;
      temporary = undefined;
      // Committed: a temporary name that cannot be removed now is only a stray hard
      // link, which the next put of this key removes (removeStalePartials).
      await rm(linked, { force: true }).catch(ignore);
      await syncDirectories(highest, directory);
      await removeStalePartials(directory, name, startedAt);
      return { location: this.describe(key), size };
    } catch (error) {
      if (error instanceof ArchiveKeyConflictError) throw error;
      const origin = refused ? 'aborted' : writeOrigin(meter, signal);
      const cause = refused ?? writeCause(meter, signal, error);
      input.body.destroy();
      const permanent = origin === 'store' && PERMANENT_CODES.has(errorCode(error) ?? '');
      const retryable = !permanent && (cause instanceof ArchiverError ? cause.retryable : true);
      // Kept for the next resume while it can be one; a refused checkpoint only means another owner continues.
      const keep = offered && (retryable || refused !== undefined);
      const cleanupError =
        temporary === undefined || keep ? undefined : await rm(temporary, { force: true }).then(() => undefined, (e: unknown) => e);
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

/** Checkpoints of a resumable put, as writeDurably takes them. */
interface Checkpoints {
  /** Bytes written between two checkpoints (at least). */
  every: number;
  /** Called, in order, once the file's first `bytes` are fsynced; a rejection fails the write. */
  reached(bytes: number): Promise<void>;
}

/**
 * Writes every chunk, then fsyncs, before the caller may link: a crash leaves at
 * worst a stray .partial. One write is in flight while the next chunks are read and
 * gathered; they go out together in one writev (no copy), so the download does not
 * wait for the disk chunk by chunk (bench/results/latest.md, transfer breakdown).
 * With `checkpoints`, each time `every` more bytes are out, an fsync then `reached`
 * run beside the writes that follow (the fsync covers every byte written before it
 * began); the next checkpoint, the final fsync and the close wait for it, and its
 * failure fails the write at the next batch. With `position` > 0 the file exists and
 * holds exactly that many bytes (a resume); the chunks are appended.
 */
async function writeDurably(
  file: string,
  chunks: AsyncIterable<Buffer>,
  options: { position?: number; checkpoints?: Checkpoints } = {},
): Promise<void> {
  const { checkpoints } = options;
  let position = options.position ?? 0;
  let checkpointed = position;
  const handle = await open(file, position > 0 ? 'r+' : 'wx');
  const writer: { inFlight?: Promise<void>; checkpoint?: Promise<void>; failed?: { error: unknown } } = {};
  const writeBatch = async (batch: Buffer[]) => {
    position = await writeAll(handle, batch, position);
    // Written: the download's reused memory may take new bytes (shared/adapters/chunk-pool.ts).
    for (const chunk of batch) releaseChunk(chunk);
    if (checkpoints && position - checkpointed >= checkpoints.every) {
      // One checkpoint at a time, in order.
      await writer.checkpoint;
      if (writer.failed) return;
      const at = (checkpointed = position);
      writer.checkpoint = (async () => {
        await handle.sync();
        await checkpoints.reached(at);
      })().catch((error: unknown) => {
        writer.failed ??= { error };
      });
    }
  };
  const startWrite = (batch: Buffer[]) => {
    const write: Promise<void> = writeBatch(batch).then(
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
    // The body has ended: no checkpoint for the last batch, the commit follows.
    if (batch.length > 0) {
      position = await writeAll(handle, batch, position);
      for (const chunk of batch) releaseChunk(chunk);
    }
    await writer.checkpoint;
    throwIfFailed();
    await handle.sync();
  } finally {
    // Never close under a write or a checkpoint still running (a failed body ends the loop early).
    await writer.inFlight;
    await writer.checkpoint;
    await handle.close();
  }
}

/** writev at `position` until every byte is out (a write may be partial); resolves with the position after them. */
async function writeAll(handle: FileHandle, buffers: Buffer[], position: number): Promise<number> {
  let pending = buffers;
  while (pending.length > 0) {
    const { bytesWritten } = await handle.writev(pending, position);
    position += bytesWritten;
    let skip = bytesWritten;
    while (pending.length > 0 && skip >= pending[0]!.length) {
      skip -= pending[0]!.length;
      pending = pending.slice(1);
    }
    if (skip > 0) pending = [pending[0]!.subarray(skip), ...pending.slice(1)];
  }
  return position;
}

/**
 * Creates `destination` holding exactly the first `bytes` of `source`, fsynced.
 * copyFile clones where the file system can (a reflink, no data copied) and copies
 * in the kernel elsewhere; whatever a writer appended past the checkpoint is cut off.
 * `source` is only read: a writer that still holds it open cannot reach `destination`.
 */
async function copyPrefix(source: string, destination: string, bytes: number): Promise<void> {
  const stats = await lstat(source);
  if (!stats.isFile()) throw new Error(`${path.basename(source)} is not a regular file`);
  if (stats.size < bytes) throw new Error(`${path.basename(source)} holds ${stats.size} bytes, fewer than the ${bytes} checkpointed`);
  await copyFile(source, destination, fsConstants.COPYFILE_EXCL | fsConstants.COPYFILE_FICLONE);
  const handle = await open(destination, 'r+');
  try {
    const { size } = await handle.stat();
    if (size < bytes) throw new Error(`${path.basename(source)} held ${size} bytes when copied, fewer than the ${bytes} checkpointed`);
    await handle.truncate(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Exactly the first `bytes` of `file`, as a byte stream; errors if the file holds fewer. */
function readPrefix(file: string, bytes: number): Readable {
  async function* read(): AsyncGenerator<Buffer> {
    const handle = await open(file, 'r');
    try {
      for (let position = 0; position < bytes; ) {
        const buffer = Buffer.allocUnsafe(Math.min(1024 * 1024, bytes - position));
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
        if (bytesRead === 0) throw new Error(`${path.basename(file)} ended after ${position} of the ${bytes} committed bytes`);
        position += bytesRead;
        yield buffer.subarray(0, bytesRead);
      }
    } finally {
      await handle.close();
    }
  }
  return Readable.from(read(), { objectMode: false });
}

/** Validates a put's `resumeFrom` (as prepareResume accepted it) and answers its prefix length. */
function resumePrefix(key: string, name: string, checkpoint: TransferCheckpoint, contentLength: number | undefined): number {
  const problem = checkpointProblem(name, checkpoint);
  if (problem) throw new ArchiveInputError(`cannot resume ${key}: ${problem}`);
  const { bytesCommitted } = checkpoint;
  if (contentLength !== undefined && !(Number.isSafeInteger(contentLength) && contentLength >= 0)) {
    throw new ArchiveInputError(`invalid contentLength ${contentLength}`);
  }
  if (contentLength !== undefined && bytesCommitted > contentLength) {
    throw new ArchiveInputError(`cannot resume ${key}: ${bytesCommitted} bytes committed, ${contentLength} declared`);
  }
  return bytesCommitted;
}

/** Why `checkpoint` cannot name a resumable partial of the file `name` (undefined: it can). */
function checkpointProblem(name: string, checkpoint: TransferCheckpoint): string | undefined {
  if (typeof checkpoint !== 'object' || checkpoint === null) return 'not a checkpoint';
  const { uploadId, bytesCommitted } = checkpoint;
  if (!Number.isSafeInteger(bytesCommitted) || bytesCommitted <= 0) return `nothing to resume (bytesCommitted ${String(bytesCommitted)})`;
  if (typeof uploadId !== 'string' || uploadId === '') return 'the checkpoint names no partial file';
  if (/[/\\\0]/.test(uploadId) || !isResumablePartialOf(uploadId, name)) {
    return `the checkpoint names ${JSON.stringify(uploadId)}, not a partial file of ${name}`;
  }
  return undefined;
}

/**
 * A process killed mid-write (kill -9, power loss) leaves its `.partial` behind. Once
 * a put of the same key has committed, any sibling plain partial of that key
 * untouched since this put began belongs to a dead writer (a live one writes
 * continuously), so it is removed; its resumable partials are all stale (there is
 * nothing left to resume). Partials of other keys are told apart by their exact
 * name. Best effort: a failure here never fails the committed put.
 */
async function removeStalePartials(directory: string, name: string, startedAt: number): Promise<void> {
  try {
    for (const entry of await readdir(directory)) {
      const resumable = isResumablePartialOf(entry, name);
      if (!resumable && !isPlainPartialOf(entry, name)) continue;
      const candidate = path.join(directory, entry);
      if (resumable) {
        await rm(candidate, { force: true });
        continue;
      }
      const stats = await stat(candidate).catch(() => undefined);
      if (stats && stats.mtimeMs < startedAt) await rm(candidate, { force: true });
    }
  } catch {
    // The object is committed; a stray partial is only disk space.
  }
}

/** Removes every resumable partial of the file `name` but `keep`. Best effort: a stray one is only disk space. */
async function removeResumablePartials(directory: string, name: string, keep: string): Promise<void> {
  try {
    for (const entry of await readdir(directory)) {
      if (entry !== keep && isResumablePartialOf(entry, name)) await rm(path.join(directory, entry), { force: true });
    }
  } catch {
    // Removed at the latest after the commit (removeStalePartials).
  }
}

function temporaryName(name: string): string {
  return `.${truncateUtf8(name, MAX_TEMP_STEM_BYTES)}.${randomBytes(6).toString('hex')}${PARTIAL_SUFFIX}`;
}

function resumableName(name: string): string {
  return `.${resumableStem(name)}.${randomBytes(6).toString('hex')}${RESUMABLE_PARTIAL_SUFFIX}`;
}

/** The name, or when too long its shortened stem and a digest of the whole name (so that two long names never share partials). */
function resumableStem(name: string): string {
  const stem = truncateUtf8(name, MAX_TEMP_STEM_BYTES);
  return stem === name ? stem : `${stem}.${createHash('sha256').update(name).digest('hex').slice(0, 8)}`;
}

function isPlainPartialOf(entry: string, name: string): boolean {
  return randomBetween(entry, `.${truncateUtf8(name, MAX_TEMP_STEM_BYTES)}.`, PARTIAL_SUFFIX);
}

function isResumablePartialOf(entry: string, name: string): boolean {
  return randomBetween(entry, `.${resumableStem(name)}.`, RESUMABLE_PARTIAL_SUFFIX);
}

/** Whether `entry` is exactly `prefix`, a random part, `suffix`. */
function randomBetween(entry: string, prefix: string, suffix: string): boolean {
  return (
    entry.length === prefix.length + 12 + suffix.length &&
    entry.startsWith(prefix) &&
    entry.endsWith(suffix) &&
    RANDOM_HEX.test(entry.slice(prefix.length, prefix.length + 12))
  );
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
