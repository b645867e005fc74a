/**
 * One transfer attempt: open the Zoom download, stream it through the verifier
 * (SHA-256, byte count, "is this really the file?") into the archive store. No
 * temporary file and no whole-file buffer: memory is bounded by the store's part
 * size × queue size. The store commits only if the verifier ended without error, so
 * a short, long or HTML body never lands under the final key.
 *
 * Resume: with a store that can continue a put (ArchiveStore.resumable: the folder
 * store) the transfer records checkpoints as it goes (`progress.onCheckpoint`, the
 * ledger), and an attempt that finds one asks Zoom only for the rest
 * (`Range: bytes=<committed>-`). The verifier first absorbs the bytes the archive
 * holds, so the SHA-256 still covers the whole file. A server that answers 200 to the
 * ranged request (no ranges) is followed from byte 0 — cleanly, as a new put — and
 * the result says so (`rangeRefused`). A store whose committed bytes cannot be read
 * back (S3: resumeHash 'saved-state') gets the hash state with each checkpoint
 * instead, from a saveable SHA-256 (shared/crypto/resumable-sha256.ts), which is
 * slower than node:crypto and so used only there, and on a worker thread
 * (shared/crypto/sha256-worker.ts) so that the bytes move at the plain put's pace.
 */
import { pipeline } from 'node:stream';
import type { FileUploadRequested } from '../../shared/events';
import type { ArchivePutResult, ArchiveStore, ResumePoint } from '../../shared/ports/archive-store';
import type { TransferCheckpoint } from '../../shared/ports/upload-ledger';
import { DownloadHttpError, type DownloadResponse, type ZoomDownloader } from '../../shared/ports/zoom-client';
import { ResumableSha256 } from '../../shared/crypto/resumable-sha256';
import { OffThreadSha256 } from '../../shared/crypto/sha256-worker';
import { contentKindOf } from '../../shared/content-kind';
import { MediaVerifier } from './media-verifier';

export interface TransferResult extends ArchivePutResult {
  sha256: string;
  /** The byte this attempt started at (0: the whole file was downloaded). */
  resumedFrom: number;
  /** A checkpoint was there, but Zoom answered the ranged request with the whole file: started over. */
  rangeRefused?: boolean;
  /** Why a checkpoint given could not be used (the store no longer held its bytes). */
  resumeRefused?: string;
}

/** Where an earlier attempt got to, and how to record the next checkpoints. */
export interface TransferProgress {
  checkpoint?: TransferCheckpoint;
  /** Records a checkpoint (the ledger); false: the lease is lost, the put aborts. */
  onCheckpoint(checkpoint: TransferCheckpoint): Promise<boolean>;
}

const CONTENT_TYPES: Record<string, string> = {
  mp4: 'video/mp4',
  m4a: 'audio/mp4',
  vtt: 'text/vtt; charset=utf-8',
  txt: 'text/plain; charset=utf-8',
  json: 'application/json',
  csv: 'text/csv; charset=utf-8',
};

export function archiveMetadata(request: FileUploadRequested): Record<string, string> {
  const metadata: Record<string, string> = {
    'recording-id': request.recordingId,
    'file-id': request.file.fileId,
    course: request.course,
  };
  if (request.file.recordingStart) metadata['recording-start'] = request.file.recordingStart;
  if (request.file.recordingType) metadata['recording-type'] = request.file.recordingType;
  return metadata;
}

export async function transferOnce(
  request: FileUploadRequested,
  token: string,
  deps: { downloader: ZoomDownloader; store: ArchiveStore; resumableMinBytes?: number },
  signal: AbortSignal,
  progress?: TransferProgress,
): Promise<TransferResult> {
  const { file } = request;
  const expect = contentKindOf(file.fileType);
  const resumable = progress && worthResuming(deps.store, file.fileSize, deps.resumableMinBytes) ? deps.store.resumable : undefined;
  const savedState = resumable?.resumeHash === 'saved-state';
  // Read once: `progress.checkpoint` follows this transfer's own checkpoints as they are recorded.
  const given = progress?.checkpoint;
  const prepared: ResumePoint = resumable ? await resumable.prepareResume(request.archiveKey, given, file.fileSize) : { offset: 0 };
  // A checkpoint at (or past) the end leaves nothing to ask for: a Range there is unsatisfiable.
  let point: ResumePoint = file.fileSize !== undefined && prepared.offset >= file.fileSize ? { offset: 0, reason: 'the checkpoint is at the end of the file' } : prepared;
  // The store cannot give the committed bytes back (S3): the checksum continues from the state saved with the checkpoint.
  let state: string | undefined;
  if (savedState && point.offset > 0) {
    state = progress!.checkpoint?.hashState;
    const problem = state === undefined ? 'the checkpoint has no saved hash state' : await hashStateProblem(state);
    if (problem !== undefined) {
      point = { offset: 0, reason: problem };
      state = undefined;
    }
  }
  const options = { token, signal, expectedSize: file.fileSize, expect };
  let response: DownloadResponse;
  try {
    response = await deps.downloader.open(file.downloadUrl, { ...options, offset: point.offset });
  } catch (error) {
    // 416: the server will not serve that range (the file changed, or the checkpoint is wrong): start over.
    if (point.offset === 0 || !(error instanceof DownloadHttpError) || error.status !== 416) throw error;
    response = await deps.downloader.open(file.downloadUrl, options);
  }
  const resumedFrom = response.offset;
  // Hashed on a worker thread (its cost off this event loop); from the checkpoint's state,
  // unless Zoom answered the ranged request with the whole file: then from the start.
  let hash: OffThreadSha256 | undefined;
  try {
    if (savedState) hash = new OffThreadSha256(resumedFrom > 0 ? state : undefined);
  } catch (error) {
    response.body.destroy();
    throw error;
  }
  const verifier = new MediaVerifier({
    expectedSize: file.fileSize,
    expect,
    resumeAt: resumedFrom,
    ...(hash ? { resumableHash: hash, stateEvery: resumable!.checkpointBytes } : {}),
  });
  if (resumedFrom > 0 && !savedState) {
    try {
      await verifier.absorbPrefix(point.committed!());
    } catch (error) {
      response.body.destroy();
      throw error;
    }
  }
  // Errors of the download reach the verifier, and so the store, which then commits nothing.
  pipeline(response.body, verifier, () => undefined);
  const extension = (file.fileExtension ?? '').toLowerCase();
  const input = {
    key: request.archiveKey,
    body: verifier,
    contentLength: file.fileSize,
    contentType: CONTENT_TYPES[extension] ?? 'application/octet-stream',
    metadata: archiveMetadata(request),
    signal,
  };
  const stored = resumable
    ? await resumable.putResumable({ ...input, sha256: async () => verifier.result().sha256, resumeFrom: resumedFrom > 0 ? progress!.checkpoint : undefined, onCheckpoint: async (checkpoint) => progress!.onCheckpoint(savedState ? { ...checkpoint, hashState: await verifier.stateAt(checkpoint.bytesCommitted) } : checkpoint) })
    : await deps.store.put(input);
  const verified = verifier.result();
  return {
    ...stored,
    sha256: verified.sha256,
    resumedFrom,
    ...(point.offset > 0 && resumedFrom === 0 ? { rangeRefused: true } : {}),
    ...(point.reason && given ? { resumeRefused: point.reason } : {}),
  };
}

/** Why a checkpoint's hash state cannot be continued (undefined: it can): loaded here first, on this thread and without bytes, so that a bad one starts over with its reason. */
async function hashStateProblem(state: string): Promise<string | undefined> {
  try {
    await ResumableSha256.create(state);
    return undefined;
  } catch (error) {
    return `the checkpoint's hash state cannot be loaded (${(error as Error).message})`;
  }
}

/**
 * Whether to take the store's resumable path for a file of `size` bytes: always with a
 * store that reads its committed bytes back (no cost: bench section `resume`); with one
 * that needs a saveable hash (S3, slower hashing) only from `minBytes` on (a size
 * unknown is a small CC or TIMELINE file).
 */
function worthResuming(store: ArchiveStore, size: number | undefined, minBytes = 0): boolean {
  if (!store.resumable) return false;
  if (store.resumable.resumeHash === 'read-back') return true;
  return size !== undefined && size >= minBytes;
}
