/**
 * The single-machine runtime end to end: the simulated Zoom delivers signed webhooks
 * to the real HTTP server; the durable bus drives course validation, the uploader and
 * the audit; files are compared by SHA-256 with what Zoom served.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DetailType } from '../../shared/events';
import type { Runtime } from '../../host/runtime';
import type { SimulatedRecording, ZoomSimulator } from '../../tools/zoom-simulator/simulator';
import { startSimulatedRuntime, type SimulatedRuntime } from '../support/runtime';

const MiB = 1024 * 1024;
const SECRET = 'runtime-test-secret';
const mp4 = (size: number, recordingType: string) => ({ fileType: 'MP4', size, recordingType, recordingStart: '2026-11-26T09:00:00Z', recordingEnd: '2026-11-26T09:30:00Z' });

describe('single-machine runtime', () => {
  let env: SimulatedRuntime;
  let dir: string;
  let simulator: ZoomSimulator;
  let runtime: Runtime;
  let webhookUrl: string;

  beforeAll(async () => {
    env = await startSimulatedRuntime({ secret: SECRET, dirPrefix: 'runtime-', env: { UPLOAD_CONCURRENCY: '3' } });
    ({ dir, simulator, runtime, webhookUrl } = env);
  });
  afterAll(() => env?.stop());

  const archivedSha = (key: string) => env.archivedSha(key);
  const uploadedKeys = async (recording: SimulatedRecording) =>
    (await runtime.auditLog.recordingHistory(recording.uuid)).filter((r) => r.detailType === DetailType.FileUploaded).map((r) => [r.fileId!, String(r.data.key)] as const);

  it('archives the eligible files of a signed delivery, byte-identical, with a complete audit trail', async () => {
    const recording = await simulator.addRecording({
      topic: '[RUN101] Runtime lesson',
      files: [mp4(5 * MiB + 7, 'shared_screen_with_speaker_view'), mp4(3 * MiB, 'gallery_view'), { fileType: 'CHAT', content: 'hi' }],
    });

    expect((await simulator.deliverWebhook(webhookUrl, recording.payload)).status).toBe(200);
    await runtime.bus.idle();

    const uploaded = await uploadedKeys(recording);
    expect(uploaded).toHaveLength(2);
    for (const [fileId, key] of uploaded) expect(await archivedSha(key)).toBe(await simulator.expectedSha256(fileId));
    const types = (await runtime.auditLog.recordingHistory(recording.uuid)).map((r) => r.detailType);
    expect(types.filter((t) => t === DetailType.RecordingAvailable)).toHaveLength(1);
    expect(types.filter((t) => t === DetailType.FileUploadRequested)).toHaveLength(2);
    expect(types.filter((t) => t === DetailType.RecordingArchived)).toHaveLength(1);
    expect(runtime.bus.stats()).toMatchObject({ pending: 0, dead: 0 });
  });

  it('archives each file once when Zoom delivers the same recording five times at once, and again later', async () => {
    const recording = await simulator.addRecording({ topic: '[RUN102] Duplicates', files: [mp4(4 * MiB, 'speaker_view'), mp4(2 * MiB, 'gallery_view')] });

    // Zoom's duplicates are separate deliveries, each signed at its own time (identical bytes would be a replay, see below).
    const now = Math.floor(Date.now() / 1000);
    const answers = await Promise.all(Array.from({ length: 5 }, (_, i) => simulator.deliverWebhook(webhookUrl, recording.payload, { timestampSeconds: now - i })));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    await runtime.bus.idle();
    expect((await simulator.deliverWebhook(webhookUrl, recording.payload, { timestampSeconds: now + 1 })).status).toBe(200);
    await runtime.bus.idle();

    for (const file of recording.files) expect(simulator.stats(file.fileId).completedDownloads).toBe(1);
    const uploaded = await uploadedKeys(recording);
    expect(uploaded.map(([id]) => id).sort()).toEqual(recording.files.map((f) => f.fileId).sort());
    const history = await runtime.auditLog.recordingHistory(recording.uuid);
    expect(history.filter((r) => r.detailType === DetailType.RecordingAvailable)).toHaveLength(6);
    expect(history.filter((r) => r.detailType === DetailType.RecordingArchived)).toHaveLength(1);
    const folder = join(dir, 'archive', 'courses', 'RUN102');
    const files = readdirSync(folder, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    expect(files.map((f) => f.name).filter((n) => n.endsWith('.partial'))).toEqual([]);
    expect(files).toHaveLength(2);
  });

  it('refuses a foreign download URL with FileUploadFailed foreign_host, permanently (connections to it are counted in tests/reliability)', async () => {
    const recording = await simulator.addRecording({ topic: '[RUN103] Foreign', files: [mp4(MiB, 'speaker_view')] });
    const payload = structuredClone(recording.payload);
    payload.payload.object.recording_files[0]!.download_url = 'http://169.254.169.254/latest/meta-data/';

    expect((await simulator.deliverWebhook(webhookUrl, payload)).status).toBe(200);
    await runtime.bus.idle();

    const failed = (await runtime.auditLog.recordingHistory(recording.uuid)).filter((r) => r.detailType === DetailType.FileUploadFailed);
    expect(failed).toHaveLength(1);
    expect(failed[0]!.data).toMatchObject({ code: 'foreign_host', retryable: false });
  });

  it('publishes nothing for a replay: the same signed bytes again, with a new unsigned tracking id', async () => {
    const recording = await simulator.addRecording({ topic: '[RUN103] Replayed', files: [mp4(1 * MiB, 'speaker_view')] });
    const at = Math.floor(Date.now() / 1000);
    const first = await simulator.deliverWebhook(webhookUrl, recording.payload, { timestampSeconds: at });
    const replay = await simulator.deliverWebhook(webhookUrl, recording.payload, { timestampSeconds: at });
    await runtime.bus.idle();

    expect(JSON.parse(first.body)).toMatchObject({ status: 'accepted' });
    expect(JSON.parse(replay.body)).toMatchObject({ status: 'duplicate' });
    const history = await runtime.auditLog.recordingHistory(recording.uuid);
    expect(history.filter((r) => r.detailType === DetailType.RecordingAvailable)).toHaveLength(1);
    // The causation id comes from signed fields, not from the (random, unsigned) tracking id.
    const available = history.find((r) => r.detailType === DetailType.RecordingAvailable)!;
    expect(available.causationId).toBe(`zoom:${recording.uuid}@${recording.payload.event_ts}`);
  });
});
