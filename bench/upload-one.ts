/**
 * Uploads one simulated Zoom file with the real uploader and prints one JSON line:
 * throughput, peak RSS of this process, and whether the archived bytes' SHA-256
 * equals what the simulator served. The simulator and s3rver run in child processes,
 * so the figures are the uploader's own.
 *
 *   npx tsx bench/upload-one.ts <size MiB> <folder|s3>
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FolderArchiveStore } from '../shared/adapters/archive-folder';
import { S3ArchiveStore } from '../shared/adapters/archive-s3';
import { SqliteUploadLedger } from '../shared/adapters/ledger-sqlite';
import { DetailType } from '../shared/events';
import { silentLogger } from '../shared/logger';
import type { ArchiveStore } from '../shared/ports/archive-store';
import { loadUploaderSettings } from '../services/uploader/config';
import { uploadFile } from '../services/uploader/use-case';
import { createUploaderDeps } from '../services/uploader/wiring';
import { MemoryPublisher } from '../tests/support/memory-publisher';
import { uploadRequestsFor } from '../tests/support/pipeline';
import { startS3rver, type S3rverHandle } from '../tests/support/s3rver';
import { startRemoteSimulator } from './remote-simulator';

const SECRET = 'bench-webhook-secret';
const MiB = 1024 * 1024;

async function main(): Promise<void> {
  const sizeMiB = Number(process.argv[2] ?? 256);
  const sink = (process.argv[3] ?? 'folder') as 'folder' | 's3';
  const dir = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), 'upload-one-'));
  const simulator = await startRemoteSimulator();
  let s3: S3rverHandle | undefined;
  try {
    const settings = loadUploaderSettings({ ...process.env, ZOOM_OAUTH_TOKEN_URL: simulator.oauthTokenUrl, ZOOM_DOWNLOAD_HOSTS: '127.0.0.1' });
    let store: ArchiveStore;
    if (sink === 's3') {
      s3 = await startS3rver();
      store = new S3ArchiveStore({ client: s3.client, bucket: s3.bucket, partSizeBytes: settings.partSizeBytes, queueSize: settings.queueSize });
    } else {
      store = new FolderArchiveStore({ root: join(dir, 'archive') });
    }
    const recording = await simulator.addRecording({
      topic: '[BEN101] Benchmark',
      files: [{ fileType: 'MP4', size: sizeMiB * MiB, recordingType: 'speaker_view', recordingStart: '2026-11-26T09:00:00Z', recordingEnd: '2026-11-26T10:00:00Z' }],
    });
    const [request] = await uploadRequestsFor(recording.payload, SECRET);
    const ledger = new SqliteUploadLedger({ path: join(dir, 'ledger.sqlite') });
    const publisher = new MemoryPublisher();
    const deps = createUploaderDeps({
      settings,
      secrets: { ZOOM_WEBHOOK_SECRET_TOKEN: SECRET, ZOOM_ACCOUNT_ID: simulator.accountId, ZOOM_CLIENT_ID: simulator.clientId, ZOOM_CLIENT_SECRET: simulator.clientSecret },
      store,
      ledger,
      publisher,
      logger: silentLogger,
    });
    const rssBefore = process.memoryUsage().rss;
    const started = performance.now();
    const outcome = await uploadFile(request!, deps);
    const seconds = (performance.now() - started) / 1000;
    const uploaded = publisher.ofType(DetailType.FileUploaded)[0];
    ledger.close();
    console.log(
      JSON.stringify({
        sink,
        sizeMiB,
        outcome: outcome.outcome,
        seconds,
        mbPerSec: (sizeMiB * MiB) / 1e6 / seconds,
        maxRssMB: process.resourceUsage().maxRSS / 1024,
        rssBeforeMB: rssBefore / MiB,
        sha256Matches: uploaded?.checksum.value === recording.files[0]!.sha256,
      }),
    );
  } finally {
    await simulator.stop();
    await s3?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
