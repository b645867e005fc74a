/**
 * Wires the real uploader for tests: a simulated Zoom (real HTTP), the real OAuth
 * token source and downloader, a SQLite ledger on disk, a folder or s3rver archive,
 * and FileUploadRequested events produced by the real webhook and course-validation
 * use cases from the simulator's own payload.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FolderArchiveStore } from '../../shared/adapters/archive-folder';
import { S3ArchiveStore } from '../../shared/adapters/archive-s3';
import { SqliteUploadLedger } from '../../shared/adapters/ledger-sqlite';
import { ZoomHttpDownloader } from '../../shared/adapters/zoom-download';
import { ZoomOAuthTokenSource } from '../../shared/adapters/zoom-oauth';
import { TokenSealer } from '../../shared/crypto/token-seal';
import { silentLogger } from '../../shared/logger';
import type { ArchiveStore } from '../../shared/ports/archive-store';
import { uploadFile, type UploaderDeps } from '../../services/uploader/use-case';
import { MemoryPublisher } from '../support/memory-publisher';
import { uploadRequestsFor, type Requested } from '../support/pipeline';
import { startS3rver, type S3rverHandle } from '../support/s3rver';
import { startZoomSimulator, type SimulatedRecordingSpec, type ZoomSimulator } from '../../tools/zoom-simulator/simulator';

export const WEBHOOK_SECRET = 'uploader-test-webhook-secret';

export interface Harness {
  simulator: ZoomSimulator;
  store: ArchiveStore;
  ledger: SqliteUploadLedger;
  publisher: MemoryPublisher;
  deps: UploaderDeps;
  /** FileUploadRequested events for a new simulated recording, as the pipeline would produce them. */
  requestsFor(spec: SimulatedRecordingSpec): Promise<Requested[]>;
  upload(event: Requested, overrides?: Partial<UploaderDeps>): ReturnType<typeof uploadFile>;
  /** SHA-256 of what the archive holds under key. */
  archivedSha256(key: string): Promise<string>;
  stop(): Promise<void>;
}


export async function startHarness(kind: 'folder' | 's3'): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'uploader-'));
  const simulator = await startZoomSimulator();
  let s3: S3rverHandle | undefined;
  let store: ArchiveStore;
  if (kind === 's3') {
    s3 = await startS3rver();
    store = new S3ArchiveStore({ client: s3.client, bucket: s3.bucket, partSizeBytes: 5 * 1024 * 1024, queueSize: 2 });
  } else {
    store = new FolderArchiveStore({ root: join(dir, 'archive') });
  }
  const ledger = new SqliteUploadLedger({ path: join(dir, 'ledger.sqlite') });
  const publisher = new MemoryPublisher();
  const sealer = new TokenSealer(WEBHOOK_SECRET);
  const deps: UploaderDeps = {
    ledger,
    store,
    tokens: new ZoomOAuthTokenSource({
      tokenUrl: simulator.oauthTokenUrl,
      accountId: simulator.accountId,
      clientId: simulator.clientId,
      clientSecret: simulator.clientSecret,
    }),
    downloader: new ZoomHttpDownloader({ allowlist: '127.0.0.1', idleTimeoutMs: 2_000 }),
    publisher,
    sealer,
    logger: silentLogger,
    now: () => Date.now(),
    instanceId: 'test',
    leaseMs: 5_000,
    policy: { maxAttempts: 4, backoff: { baseMs: 10, maxMs: 50 }, maxRetryAfterMs: 3_000 },
    transferTimeoutMs: 20_000,
  };

  return {
    simulator,
    store,
    ledger,
    publisher,
    deps,
    async requestsFor(spec) {
      const recording = await simulator.addRecording({ topic: '[UPL101] Uploader test', ...spec });
      return uploadRequestsFor(recording.payload, WEBHOOK_SECRET);
    },
    upload: (event, overrides = {}) => uploadFile(event, { ...deps, ...overrides }),
    async archivedSha256(key) {
      const hash = createHash('sha256');
      for await (const chunk of await store.get(key)) hash.update(chunk as Buffer);
      return hash.digest('hex');
    },
    async stop() {
      ledger.close();
      await simulator.stop();
      await s3?.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One eligible MP4 (3 minutes long) of the given size. */
export const mp4 = (size: number, fileId?: string) => ({
  fileId,
  fileType: 'MP4',
  size,
  recordingType: 'shared_screen_with_speaker_view',
  recordingStart: '2026-11-26T09:00:00Z',
  recordingEnd: '2026-11-26T09:03:00Z',
});
