/**
 * The sandbox: what `npm start` does when no Zoom secret is configured. It starts the
 * Zoom simulator on loopback, points the runtime at it (generated webhook secret,
 * simulated OAuth app, downloads allowed from the simulator only), delivers the sample
 * recordings through the real HTTP webhook, shows the transfers, and ends with a
 * summary read back from the audit trail and the archive.
 */
import { randomBytes } from 'node:crypto';
import { relative } from 'node:path';
import { MultiBar, Presets } from 'cli-progress';
import { DetailType } from '../../shared/events';
import type { AuditRecord } from '../../shared/ports/audit-log';
import type { ArchiverConfig } from '../../services/course-validation/config';
import { selectFiles } from '../../services/course-validation/file-selection';
import type { Runtime } from '../../host/runtime';
import { WEBHOOK_PATH } from '../../services/webhook/http';
import { assignFileIds } from '../../shared/zoom/normalize';
import type { ZoomRecordingFile } from '../../shared/zoom/recording';
import { startZoomSimulator, zoomEnvFor, type SimulatedRecording, type ZoomSimulator } from '../zoom-simulator/simulator';
import { sampleRecordings } from './sample';

export interface Sandbox {
  simulator: ZoomSimulator;
  /** The environment the runtime must run with to talk to the simulator. */
  env: Record<string, string>;
}

export async function startSandbox(): Promise<Sandbox> {
  const webhookSecret = randomBytes(24).toString('base64url');
  const simulator = await startZoomSimulator({ webhookSecret });
  return {
    simulator,
    env: { ZOOM_WEBHOOK_SECRET_TOKEN: webhookSecret, ...zoomEnvFor(simulator) },
  };
}

export interface SandboxResult {
  recordings: { uuid: string; topic: string; history: AuditRecord[] }[];
  /** Archived files whose bytes were checked against what the simulator served. */
  verified: number;
}

export async function runSandboxDemo(
  sandbox: Sandbox,
  runtime: Runtime,
  rules: ArchiverConfig,
  options: { print: (line: string) => void; progress: boolean; archiveRoot?: string },
): Promise<SandboxResult> {
  const { simulator } = sandbox;
  const { print } = options;
  const recordings: SimulatedRecording[] = [];
  for (const spec of sampleRecordings()) recordings.push(await simulator.addRecording(spec));

  print('');
  print(`Sandbox: a simulated Zoom is running at ${simulator.baseUrl}; it now sends ${recordings.length} signed recording.completed webhooks to ${runtime.url}${WEBHOOK_PATH}.`);
  for (const recording of recordings) {
    const started = performance.now();
    const answer = await simulator.deliverWebhook(`${runtime.url}${WEBHOOK_PATH}`, recording.payload);
    print(`  "${recording.payload.payload.object.topic}" (${recording.files.length} files): webhook answered ${answer.status} in ${(performance.now() - started).toFixed(1)} ms`);
  }

  const stopProgress = showProgress(simulator, recordings, options.progress, print);
  await runtime.bus.idle();
  stopProgress();

  const result: SandboxResult = { recordings: [], verified: 0 };
  print('');
  print('Summary');
  for (const recording of recordings) {
    const object = recording.payload.payload.object;
    const history = await runtime.auditLog.recordingHistory(recording.uuid);
    result.recordings.push({ uuid: recording.uuid, topic: object.topic, history });
    print(`  ${object.topic}`);
    const rejected = history.find((r) => r.detailType === DetailType.RecordingRejected);
    if (rejected) {
      print(`    rejected: ${rejected.summary.replace(/^rejected /, '')}`);
      continue;
    }
    const uploaded = new Map(history.filter((r) => r.detailType === DetailType.FileUploaded).map((r) => [r.fileId, r]));
    const failed = new Map(history.filter((r) => r.detailType === DetailType.FileUploadFailed).map((r) => [r.fileId, r]));
    const files = assignFileIds(recording.uuid, object.recording_files as unknown as ZoomRecordingFile[]);
    const skipped = new Map(selectFiles({ files, durationMinutes: object.duration }, rules.files).skipped.map((s) => [s.file.fileId, s]));
    for (const file of files) {
      const label = `${file.fileType} ${file.recordingType ?? ''}`.trim().padEnd(42);
      const done = uploaded.get(file.fileId);
      if (done) {
        const served = recording.files.find((f) => f.fileId === file.fileId);
        const matches = served ? (await served.sha256()) === done.data.sha256 : false;
        if (matches) result.verified++;
        const where = options.archiveRoot && done.data.key ? relative(process.cwd(), `${options.archiveRoot}/${done.data.key}`) : String(done.data.uri);
        print(`    archived  ${label} ${mib(Number(done.data.size))} → ${where} (SHA-256 ${matches ? 'matches what Zoom served' : 'MISMATCH'})`);
      } else if (failed.has(file.fileId)) {
        print(`    FAILED    ${label} ${failed.get(file.fileId)!.summary}`);
      } else {
        const reason = skipped.get(file.fileId);
        print(`    skipped   ${label} ${reason ? reason.reason.replace(/_/g, ' ') : 'not selected'}${reason?.durationSeconds !== undefined ? ` (${reason.durationSeconds} s)` : ''}`);
      }
    }
    const archived = history.find((r) => r.detailType === DetailType.RecordingArchived);
    if (archived) print(`    ${archived.summary}`);
  }
  const course = result.recordings[0]!;
  print('');
  print('Look closer:');
  print(`  npx zoom-archiver status                                  # the last 24 hours`);
  print(`  npx zoom-archiver status --recording '${course.uuid}'   # this lesson's history`);
  if (runtime.dashboardUrl) print(`  ${runtime.dashboardUrl}   # the dashboard, in a browser`);
  print('Set ZOOM_WEBHOOK_SECRET_TOKEN (see README) to receive real Zoom webhooks. The server keeps running; Ctrl-C stops it.');
  return result;
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`.padStart(10);

/** Progress bars (or, without a terminal, a line per finished file) fed by the simulator's byte counters. */
function showProgress(simulator: ZoomSimulator, recordings: SimulatedRecording[], tty: boolean, print: (line: string) => void): () => void {
  const files = recordings.flatMap((r) => r.files.filter((f) => f.size > 1024 * 1024).map((f) => ({ ...f, topic: r.payload.payload.object.topic })));
  const bars = tty ? new MultiBar({ format: '  {bar} {percentage}% {name}', hideCursor: true, clearOnComplete: false }, Presets.shades_classic) : undefined;
  const shown = new Map<string, ReturnType<MultiBar['create']> | true>();
  const tick = () => {
    for (const file of files) {
      const served = simulator.stats(file.fileId).bytesServed;
      if (served === 0) continue;
      const name = `${file.fileType} ${mib(file.size).trim()} — ${file.topic}`;
      if (bars) {
        const bar = shown.get(file.fileId) ?? bars.create(file.size, 0, { name });
        shown.set(file.fileId, bar);
        if (bar !== true) bar.update(Math.min(served, file.size));
      } else if (served >= file.size && !shown.has(file.fileId)) {
        shown.set(file.fileId, true);
        print(`  streamed ${name} from Zoom`);
      }
    }
  };
  const timer = setInterval(tick, 100);
  return () => {
    clearInterval(timer);
    tick();
    bars?.stop();
  };
}
