/**
 * The single-machine host's stores, opened the same way by the thread that answers
 * Zoom (reads for `status`-like questions and tests) and by the consumers' worker.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { FolderArchiveStore } from '../shared/adapters/archive-folder';
import { S3ArchiveStore } from '../shared/adapters/archive-s3';
import type { ArchiveStore } from '../shared/ports/archive-store';
import type { RuntimeConfig } from './config';

export function createArchiveStore(config: RuntimeConfig): ArchiveStore {
  const { archive, uploader } = config;
  if (archive.kind === 'folder') return new FolderArchiveStore({ root: archive.dir, checkpointBytes: uploader.checkpointBytes });
  const client = new S3Client({
    region: archive.region,
    endpoint: archive.endpoint,
    forcePathStyle: archive.forcePathStyle,
    credentials: archive.credentials,
    // Several S3-compatible servers (s3rver among them) store the SDK's aws-chunked
    // checksum framing as part of the object's bytes: send checksums only when required.
    ...(archive.endpoint ? { requestChecksumCalculation: 'WHEN_REQUIRED' as const, responseChecksumValidation: 'WHEN_REQUIRED' as const } : {}),
  });
  return new S3ArchiveStore({ client, bucket: archive.bucket, partSizeBytes: uploader.partSizeBytes, queueSize: uploader.queueSize });
}
