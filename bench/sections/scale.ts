/**
 * Report section: scale on one machine. N recordings × 3 small MP4s, a quarter of them
 * delivered twice, all sent at once (concurrency 50) to `zoom-archiver serve` in its
 * own process, with the simulated Zoom in another: time until every file is archived,
 * files archived exactly once (FileUploaded per file id, objects in the folder, and
 * the simulator's completed downloads), and how the time grows from 50 to 200
 * recordings at the configured upload concurrency.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteAuditLog } from '../../shared/adapters/audit-sqlite';
import { DetailType } from '../../shared/events';
import { signatureFor } from '../../services/webhook/signature';
import { dataPaths } from '../../host/paths';
import type { BenchContext } from '../section';
import { zoomEnvFor } from '../../tools/zoom-simulator/simulator';
import { waitFor } from '../../tests/support/wait-for';
import { startRemoteSimulator, type RemoteRecording } from '../remote-simulator';
import { startServeProcess } from '../serve-process';
import { table } from '../stats';

const SECRET = 'bench-scale-secret';
const FILE_BYTES = 256 * 1024;
const UPLOAD_CONCURRENCY = 4;

interface ScaleRun {
  recordings: number;
  deliveries: number;
  seconds: number;
  filesExpected: number;
  fileUploadedEvents: number;
  distinctFilesUploaded: number;
  objects: number;
  recordingsArchived: number;
}

async function pool<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < items.length) await work(items[next++]!);
  }));
}

async function runOnce(recordingCount: number, ctx: BenchContext): Promise<ScaleRun> {
  const simulator = await startRemoteSimulator();
  const serve = await startServeProcess({
    ZOOM_WEBHOOK_SECRET_TOKEN: SECRET,
    ...zoomEnvFor(simulator),
    UPLOAD_CONCURRENCY: String(UPLOAD_CONCURRENCY),
  });
  try {
    const recordings: RemoteRecording[] = [];
    for (let i = 0; i < recordingCount; i++) {
      const views = ['shared_screen_with_speaker_view', 'gallery_view', 'speaker_view'];
      recordings.push(
        await simulator.addRecording({
          topic: `[SCL${String(100 + (i % 50))}] Scale lesson ${i}`,
          files: views.map((recordingType) => ({ fileType: 'MP4', size: FILE_BYTES, recordingType, recordingStart: '2026-11-26T09:00:00Z', recordingEnd: '2026-11-26T09:45:00Z' })),
        }),
      );
    }
    // A quarter delivered twice, the duplicate right after the original, as Zoom does.
    const deliveries = recordings.flatMap((r, i) => (i % 4 === 0 ? [r, r] : [r]));
    const audit = new SqliteAuditLog(dataPaths(serve.dataDir).audit);
    const started = performance.now();
    await pool(deliveries, 50, async (recording) => {
      const body = JSON.stringify(recording.payload);
      const timestamp = String(Math.floor(Date.now() / 1000));
      const response = await fetch(`${serve.url}/webhooks/zoom`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-zm-request-timestamp': timestamp, 'x-zm-signature': signatureFor(SECRET, timestamp, body) },
        body,
      });
      if (response.status !== 200) throw new Error(`delivery answered ${response.status}`);
    });
    const expected = recordingCount * 3;
    let uploaded = 0;
    await waitFor(
      () => `all ${expected} files archived (${uploaded} were)`,
      async () => {
        uploaded = (await audit.latest(100_000)).filter((r) => r.detailType === DetailType.FileUploaded).length;
        return uploaded >= expected ? true : undefined;
      },
      15 * 60_000,
    );
    const seconds = (performance.now() - started) / 1000;
    await new Promise((resolve) => setTimeout(resolve, 2000)); // would a duplicate still come?
    const all = await audit.latest(100_000);
    audit.close();
    const fileUploaded = all.filter((r) => r.detailType === DetailType.FileUploaded);
    const objects = readdirSync(join(serve.dataDir, 'archive'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && e.name.endsWith('.mp4')).length;
    ctx.log(`scale: ${recordingCount} recordings archived in ${seconds.toFixed(1)} s`);
    return {
      recordings: recordingCount,
      deliveries: deliveries.length,
      seconds,
      filesExpected: expected,
      fileUploadedEvents: fileUploaded.length,
      distinctFilesUploaded: new Set(fileUploaded.map((r) => r.fileId)).size,
      objects,
      recordingsArchived: all.filter((r) => r.detailType === DetailType.RecordingArchived).length,
    };
  } finally {
    await serve.stop();
    await simulator.stop();
  }
}

export async function run(ctx: BenchContext): Promise<string> {
  const sizes = ctx.numbers('BENCH_SCALE_RECORDINGS', [50, 100, 200]);
  const runs: ScaleRun[] = [];
  for (const n of sizes) runs.push(await runOnce(n, ctx));
  const first = runs[0]!;
  const rows = runs.map((r) => [
    String(r.recordings),
    String(r.deliveries),
    r.seconds.toFixed(1),
    (r.filesExpected / r.seconds).toFixed(1),
    `${r.distinctFilesUploaded}/${r.filesExpected}`,
    String(r.fileUploadedEvents - r.distinctFilesUploaded),
    String(r.objects),
    String(r.recordingsArchived),
    `${(r.seconds / first.seconds).toFixed(2)}× for ${(r.recordings / first.recordings).toFixed(0)}× the work`,
  ]);
  const exactlyOnce = runs.every((r) => r.distinctFilesUploaded === r.filesExpected && r.fileUploadedEvents === r.filesExpected && r.objects === r.filesExpected && r.recordingsArchived === r.recordings);
  return [
    '## Scale: many recordings at once through `zoom-archiver serve`',
    '',
    `Each recording has 3 MP4s of ${FILE_BYTES / 1024} KiB; a quarter of the recordings are delivered twice; all deliveries sent at concurrency 50; upload concurrency ${UPLOAD_CONCURRENCY}; folder archive. Time from the first delivery until every file's FileUploaded is in the audit trail.`,
    '',
    table(['recordings', 'deliveries', 'seconds', 'files/s', 'files archived (distinct/expected)', 'duplicate FileUploaded', 'objects in archive', 'RecordingArchived', 'growth'], rows),
    '',
    `Exactly once: ${exactlyOnce ? 'yes — every file archived once, one object each, one RecordingArchived per recording' : 'NO — see the table'}.`,
  ].join('\n');
}
