/**
 * Load against `zoom-archiver serve` (issue 9, part 4): 2,000 signed deliveries at
 * concurrency 100 — 1,500 distinct recordings (half course meetings with one small
 * MP4, half staff meetings the rules reject) and 500 duplicates interleaved, some
 * alongside their original, some about 120 deliveries later. Every answer must be a
 * 2xx within 3 s, and the audit must show each recording decided once: each course
 * file downloaded, archived and announced once with Zoom's bytes.
 *
 * Each delivery comes on its own connection, as Zoom's webhook deliveries do. A
 * second pass sends all 2,000 again over 100 keep-alive connections opened at once;
 * its latencies are recorded, not asserted: a busy Node server accepts the late
 * connections of such a burst slowly, whatever the application (reproduced with a
 * bare node:http server), which says more about the client than about the webhook.
 * That pass also shows re-deliveries download nothing. `npm run test:reliability`.
 */
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteAuditLog } from '../../shared/adapters/audit-sqlite';
import { DetailType } from '../../shared/events';
import { dataPaths } from '../../host/paths';
import { startZoomSimulator, zoomEnvFor, type SimulatedRecording, type ZoomSimulator } from '../../tools/zoom-simulator/simulator';
import { postSignedWebhook } from '../support/webhook-post';
import { writeResult, type LatencySummary, type LoadResult } from './faults/results';
import { listFolder } from './faults/rig';
import { waitFor } from '../support/wait-for';
import { startServe, type ServeProcess } from '../support/serve-process';

const SECRET = 'reliability-load-webhook-secret';
const DISTINCT = 1_500;
const GROUPS = 500; // each group: three distinct deliveries and one duplicate
const CONCURRENCY = 100;
const FILE_BYTES = 64 * 1024;
const UPLOAD_CONCURRENCY = 4;

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
const round = (n: number) => Math.round(n * 10) / 10;
const loadAverage = () => loadavg().map((n) => n.toFixed(2)).join(' / ');

/** Delivery order: groups of [d(3j), d(3j+1), d(3j+2), duplicate]; even groups repeat d(3j+1) at once, odd groups a recording ~30 groups back. */
function deliveryOrder(groups: number): number[] {
  const order: number[] = [];
  for (let j = 0; j < groups; j++) {
    order.push(3 * j, 3 * j + 1, 3 * j + 2);
    order.push(j % 2 === 0 ? 3 * j + 1 : j >= 30 ? 3 * (j - 30) + 2 : 3 * j);
  }
  return order;
}

const deliver = (url: URL, body: Buffer, agent: http.Agent | false) => postSignedWebhook(url, body, SECRET, agent);

/** Sends every body at `concurrency`, each timed from the start of its request to the end of its answer. */
async function send(url: URL, bodies: Buffer[], agent: http.Agent | false): Promise<{ latencies: number[]; statuses: string[]; seconds: number }> {
  const latencies: number[] = new Array(bodies.length);
  const statuses: string[] = new Array(bodies.length);
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let slot = next++; slot < bodies.length; slot = next++) {
        const begun = performance.now();
        try {
          statuses[slot] = String(await deliver(url, bodies[slot]!, agent));
        } catch (error) {
          statuses[slot] = `error ${error instanceof Error ? error.message : String(error)}`;
        }
        latencies[slot] = performance.now() - begun;
      }
    }),
  );
  return { latencies, statuses, seconds: (performance.now() - started) / 1000 };
}

function summarize(latencies: number[]): LatencySummary {
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    min: round(sorted[0]!),
    p50: round(percentile(sorted, 50)),
    p90: round(percentile(sorted, 90)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted[sorted.length - 1]!),
    mean: round(sorted.reduce((a, b) => a + b, 0) / sorted.length),
  };
}

const countStatuses = (statuses: string[]) => statuses.reduce<Record<string, number>>((n, s) => ({ ...n, [s]: (n[s] ?? 0) + 1 }), {});

describe('load: 2,000 signed deliveries at concurrency 100 against serve', () => {
  let simulator: ZoomSimulator;
  let serve: ServeProcess;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'reliability-load-'));
    simulator = await startZoomSimulator({ webhookSecret: SECRET });
    serve = await startServe({
      DATA_DIR: dir,
      LOG_LEVEL: 'WARN',
      ZOOM_WEBHOOK_SECRET_TOKEN: SECRET,
      ...zoomEnvFor(simulator),
      UPLOAD_CONCURRENCY: String(UPLOAD_CONCURRENCY),
    });
  });
  afterAll(async () => {
    await serve?.kill('SIGTERM');
    await simulator?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Waits until bus.sqlite has no pending delivery, twice in a row. */
  async function drained(): Promise<number> {
    const bus = new Database(dataPaths(dir).bus, { readonly: true });
    try {
      const count = (state: string) => (bus.prepare('SELECT COUNT(*) AS n FROM deliveries WHERE state = ?').get(state) as { n: number }).n;
      let quiet = 0;
      await waitFor(
        'the bus to drain',
        async () => {
          quiet = count('pending') === 0 ? quiet + 1 : 0;
          if (quiet < 2) await new Promise((resolve) => setTimeout(resolve, 400));
          return quiet >= 2 ? true : undefined;
        },
        600_000,
      );
      return count('dead');
    } finally {
      bus.close();
    }
  }

  it('answers every delivery 2xx within 3 s and decides each recording once', async () => {
    const problems: string[] = [];
    const loadBefore = loadAverage();
    const recordings: { recording: SimulatedRecording; course: boolean }[] = [];
    for (let i = 0; i < DISTINCT; i++) {
      const course = i % 2 === 0;
      const recording = await simulator.addRecording({
        topic: course ? `[LOD101] Load lesson ${i}` : `Staff meeting ${i}`,
        files: [{ fileType: 'MP4', size: FILE_BYTES, recordingType: 'shared_screen_with_speaker_view', recordingStart: '2026-11-26T09:00:00Z', recordingEnd: '2026-11-26T09:05:00Z' }],
      });
      recordings.push({ recording, course });
    }
    const order = deliveryOrder(GROUPS);
    expect(order).toHaveLength(2_000);
    expect(new Set(order).size).toBe(DISTINCT);
    const deliveriesOf = new Map<number, number>();
    for (const index of order) deliveriesOf.set(index, (deliveriesOf.get(index) ?? 0) + 1);
    // Each delivery distinct, as Zoom's duplicates are (another event time and token): identical signed bytes would be a replay.
    const bodies = order.map((index, slot) => {
      const payload = recordings[index]!.recording.payload;
      return Buffer.from(JSON.stringify({ ...payload, event_ts: payload.event_ts + slot }));
    });
    const url = new URL(`${serve.url}/webhooks/zoom`);

    const started = performance.now();
    const pass = await send(url, bodies, false);
    const dead = await drained();
    const drainedSeconds = (performance.now() - started) / 1000;
    if (dead > 0) problems.push(`${dead} bus deliveries dead-lettered`);

    const audit = new SqliteAuditLog(dataPaths(dir).audit);
    const archive = await listFolder(dataPaths(dir).archive);
    const objects = new Map(archive.objects.map((o) => [o.key, o]));
    let available = 0;
    let archivedOnce = 0;
    let rejected = 0;
    let rejectedMoreThanOnce = 0;
    let notProcessed = 0;
    let duplicatedFiles = 0;
    try {
      for (const [index, { recording, course }] of recordings.entries()) {
        const history = await audit.recordingHistory(recording.uuid);
        const count = (type: string) => history.filter((r) => r.detailType === type).length;
        const delivered = deliveriesOf.get(index)!;
        available += count(DetailType.RecordingAvailable);
        if (count(DetailType.RecordingAvailable) !== delivered) problems.push(`${recording.uuid}: ${count(DetailType.RecordingAvailable)} RecordingAvailable for ${delivered} deliveries`);
        if (course) {
          const file = recording.files[0]!;
          const stats = simulator.stats(file.fileId);
          const uploaded = history.filter((r) => r.detailType === DetailType.FileUploaded);
          const object = uploaded[0] ? objects.get(String(uploaded[0].data.key)) : undefined;
          const rightBytes = object?.sha256 === (await simulator.expectedSha256(file.fileId));
          if (uploaded.length > 1 || stats.completedDownloads > 1 || stats.downloadRequests > 1) duplicatedFiles++;
          if (count(DetailType.RecordingArchived) === 1 && uploaded.length === 1 && stats.completedDownloads === 1 && rightBytes && count(DetailType.RecordingRejected) === 0) archivedOnce++;
          else {
            notProcessed++;
            problems.push(`${recording.uuid}: ${count(DetailType.RecordingArchived)} RecordingArchived, ${uploaded.length} FileUploaded, ${stats.completedDownloads} downloads, bytes ${rightBytes ? 'match' : 'differ or missing'}, ${count(DetailType.FileUploadFailed)} failed`);
          }
        } else {
          const rejections = history.filter((r) => r.detailType === DetailType.RecordingRejected);
          if (rejections.length >= 1 && rejections.every((r) => r.data.reason === 'not_course_meeting') && count(DetailType.FileUploadRequested) === 0) rejected++;
          else {
            notProcessed++;
            problems.push(`${recording.uuid}: ${rejections.length} RecordingRejected, ${count(DetailType.FileUploadRequested)} FileUploadRequested`);
          }
          if (rejections.length > 1) rejectedMoreThanOnce++;
        }
      }
    } finally {
      audit.close();
    }
    if (archive.objects.length !== DISTINCT / 2) problems.push(`${archive.objects.length} objects in the archive, expected ${DISTINCT / 2}`);
    if (archive.partials.length > 0) problems.push(`${archive.partials.length} partial files left`);

    const latency = summarize(pass.latencies);
    const non2xx = pass.statuses.filter((s) => !/^2\d\d$/.test(s)).length;
    if (non2xx > 0) problems.push(`${non2xx} answers were not 2xx: ${JSON.stringify(countStatuses(pass.statuses))}`);
    if (latency.max >= 3_000) problems.push(`slowest answer ${Math.round(latency.max)} ms (limit 3000 ms)`);

    // Second pass, recorded only: the same 2,000 over 100 keep-alive connections opened at once.
    const downloadsBefore = recordings.reduce((n, r) => n + simulator.stats(r.recording.files[0]!.fileId).downloadRequests, 0);
    const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const keepAlive = await send(url, bodies, agent);
    agent.destroy();
    await drained();
    const downloadsAfter = recordings.reduce((n, r) => n + simulator.stats(r.recording.files[0]!.fileId).downloadRequests, 0);
    if (downloadsAfter !== downloadsBefore) problems.push(`the second pass downloaded ${downloadsAfter - downloadsBefore} file(s) again`);

    const result: LoadResult = {
      deliveries: order.length,
      distinctRecordings: DISTINCT,
      duplicateDeliveries: order.length - DISTINCT,
      courseRecordings: DISTINCT / 2,
      nonCourseRecordings: DISTINCT / 2,
      fileBytes: FILE_BYTES,
      concurrency: CONCURRENCY,
      uploadConcurrency: UPLOAD_CONCURRENCY,
      client: 'node:http, a new connection per delivery, from the test process that also runs the Zoom simulator',
      statuses: countStatuses(pass.statuses),
      latencyMs: latency,
      sendSeconds: round(pass.seconds),
      deliveriesPerSecond: Math.round(order.length / pass.seconds),
      drainedSeconds: round(drainedSeconds),
      recordingAvailableEvents: available,
      archivedOnce,
      rejected,
      rejectedMoreThanOnce,
      notProcessed,
      duplicatedFiles,
      keepAlivePass: {
        statuses: countStatuses(keepAlive.statuses),
        latencyMs: summarize(keepAlive.latencies),
        sendSeconds: round(keepAlive.seconds),
        downloadsAgain: downloadsAfter - downloadsBefore,
      },
      machine: { cpus: cpus().length, loadBefore, loadAfter: loadAverage() },
      passed: problems.length === 0,
      problems: problems.slice(0, 20),
      finishedAt: new Date().toISOString(),
    };
    writeResult('load', result);

    expect(problems).toEqual([]);
    expect(result).toMatchObject({ archivedOnce: DISTINCT / 2, rejected: DISTINCT / 2, notProcessed: 0, duplicatedFiles: 0, recordingAvailableEvents: order.length });
    expect(result.latencyMs.max).toBeLessThan(3_000);
  }, 900_000);
});
