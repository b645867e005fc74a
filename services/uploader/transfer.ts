/**
 * One transfer attempt: open the Zoom download, stream it through the verifier
 * (SHA-256, byte count, "is this really the file?") into the archive store. No
 * temporary file and no whole-file buffer: memory is bounded by the store's part
 * size × queue size. The store commits only if the verifier ended without error, so
 * a short, long or HTML body never lands under the final key.
 */
import { pipeline } from 'node:stream';
import type { FileUploadRequested } from '../../shared/events';
import type { ArchivePutResult, ArchiveStore } from '../../shared/ports/archive-store';
import type { ZoomDownloader } from '../../shared/ports/zoom-client';
import { contentKindOf } from '../../shared/content-kind';
import { MediaVerifier } from './media-verifier';

export interface TransferResult extends ArchivePutResult {
  sha256: string;
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
  deps: { downloader: ZoomDownloader; store: ArchiveStore },
  signal: AbortSignal,
): Promise<TransferResult> {
  const { file } = request;
  const expect = contentKindOf(file.fileType);
  const response = await deps.downloader.open(file.downloadUrl, { token, signal, expectedSize: file.fileSize, expect });
  const verifier = new MediaVerifier({ expectedSize: file.fileSize, expect });
  // Errors of the download reach the verifier, and so the store, which then commits nothing.
  pipeline(response.body, verifier, () => undefined);
  const extension = (file.fileExtension ?? '').toLowerCase();
  const stored = await deps.store.put({
    key: request.archiveKey,
    body: verifier,
    contentLength: file.fileSize,
    contentType: CONTENT_TYPES[extension] ?? 'application/octet-stream',
    metadata: archiveMetadata(request),
    signal,
  });
  const verified = verifier.result();
  return { ...stored, sha256: verified.sha256 };
}
