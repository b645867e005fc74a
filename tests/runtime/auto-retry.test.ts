/**
 * Automatic re-drive of retryable failures, end to end through the single-machine
 * runtime (real HTTP webhook, both threads, SQLite, the folder archive), with the
 * schedule shrunk to seconds (AUTO_RETRY_BASE_SECONDS=1, RECOVERY_INTERVAL_SECONDS=1):
 * a Zoom outage that outlasts one delivery's attempts heals with no command run, and
 * the audit trail shows the automatic attempt; a permanent failure is never tried again.
 */
import { DetailType } from '../../shared/events';
import type { AuditRecord } from '../../shared/ports/audit-log';
import type { SimulatedRecording } from '../../tools/zoom-simulator/simulator';
import { startSimulatedRuntime, type SimulatedRuntime } from '../support/runtime';
import { waitFor } from '../support/wait-for';

const MiB = 1024 * 1024;
const SECRET = 'auto-retry-test-secret';
const SWEEP_INTERVAL_MS = 1_000;
const mp4 = (size: number) => ({ fileType: 'MP4', size, recordingType: 'shared_screen_with_speaker_view', recordingStart: '2026-11-26T09:00:00Z', recordingEnd: '2026-11-26T09:30:00Z' });

describe('single-machine runtime: automatic re-drive of retryable failures', () => {
  let env: SimulatedRuntime;
  beforeAll(async () => {
    env = await startSimulatedRuntime({
      secret: SECRET,
      dirPrefix: 'auto-retry-',
      env: { AUTO_RETRY_BASE_SECONDS: '1', AUTO_RETRY_MAX_ATTEMPTS: '3', RECOVERY_INTERVAL_SECONDS: '1', UPLOAD_MAX_ATTEMPTS: '2', SWEEP_INTERVAL_SECONDS: '0' },
    });
  });
  afterAll(() => env?.stop());

  const history = (recording: SimulatedRecording) => env.runtime.auditLog.recordingHistory(recording.uuid);
  const ofType = (records: AuditRecord[], detailType: string) => records.filter((r) => r.detailType === detailType);

  it('an outage that heals with no command run: failed as retryable with a next attempt, then re-driven by the sweep and archived', async () => {
    const recording = await env.simulator.addRecording({ topic: '[AUTO101] Outage', files: [mp4(3 * MiB + 11)] });
    const fileId = recording.files[0]!.fileId;
    // Both attempts of the first delivery meet the outage (UPLOAD_MAX_ATTEMPTS=2); Zoom is healthy after it.
    env.simulator.setFault(fileId, { status: 503, times: 2 });

    expect((await env.simulator.deliverWebhook(env.webhookUrl, recording.payload)).status).toBe(200);

    const failure = await waitFor('FileUploadFailed in the audit trail', async () => ofType(await history(recording), DetailType.FileUploadFailed)[0], 15_000);
    expect(failure.data).toMatchObject({ code: 'download_failed', retryable: true, attempts: 2 });
    expect(typeof failure.data.nextAttemptAt).toBe('string');
    expect(failure.summary).toContain(`next automatic attempt at ${String(failure.data.nextAttemptAt)}`);
    // Scheduled one base (1 s) after the failure.
    const due = Date.parse(String(failure.data.nextAttemptAt)) - Date.parse(failure.time);
    expect(due).toBeGreaterThanOrEqual(0);
    expect(due).toBeLessThanOrEqual(1_000 + 500);

    // Nobody does anything: the recovery sweep re-drives it once it is due.
    const uploaded = await waitFor('the file archived by its automatic re-drive', async () => ofType(await history(recording), DetailType.FileUploaded)[0], 20_000);
    const key = String(uploaded.data.key);
    expect(await env.archivedSha(key)).toBe(await env.simulator.expectedSha256(fileId));
    await env.runtime.bus.idle();

    const records = await history(recording);
    const requests = ofType(records, DetailType.FileUploadRequested);
    expect(requests).toHaveLength(2);
    const automatic = requests.find((r) => r.data.autoRetryAttempt !== undefined)!;
    expect(automatic.data).toMatchObject({ autoRetryAttempt: 1, autoRetryMaxAttempts: 3, key });
    expect(automatic.summary).toBe(`automatic retry 1/3: requested MP4 shared_screen_with_speaker_view → ${key}`);
    expect(Date.parse(automatic.time)).toBeGreaterThanOrEqual(Date.parse(String(failure.data.nextAttemptAt)));
    expect(automatic.correlationId).toBe(failure.correlationId);
    expect(ofType(records, DetailType.FileUploadFailed)).toHaveLength(1);
    expect(ofType(records, DetailType.RecordingArchived)).toHaveLength(1);
    expect(env.simulator.stats(fileId)).toMatchObject({ downloadRequests: 3, completedDownloads: 1 });
    expect(await env.runtime.ledger.get(fileId)).toMatchObject({ state: 'uploaded', autoRetries: 1 });
  });

  it('a permanent failure not retried: 404 fails as not retryable, with no next attempt, and Zoom is asked no more', async () => {
    const recording = await env.simulator.addRecording({ topic: '[AUTO102] Gone', files: [mp4(MiB)] });
    const fileId = recording.files[0]!.fileId;
    env.simulator.setFault(fileId, { status: 404 });
    // A witness failing retryably at the same time: its automatic re-drive shows the sweep at work meanwhile.
    const witness = await env.simulator.addRecording({ topic: '[AUTO103] Witness', files: [mp4(MiB)] });
    env.simulator.setFault(witness.files[0]!.fileId, { status: 503, times: 2 });

    expect((await env.simulator.deliverWebhook(env.webhookUrl, recording.payload)).status).toBe(200);
    expect((await env.simulator.deliverWebhook(env.webhookUrl, witness.payload)).status).toBe(200);

    const failure = await waitFor('FileUploadFailed in the audit trail', async () => ofType(await history(recording), DetailType.FileUploadFailed)[0], 15_000);
    expect(failure.data).toMatchObject({ code: 'not_found', retryable: false, attempts: 1 });
    expect(failure.data).not.toHaveProperty('nextAttemptAt');
    expect(failure.summary).not.toContain('next automatic attempt');
    expect(env.simulator.stats(fileId).downloadRequests).toBe(1);

    // Several sweep intervals later (more than the first automatic re-drive's wait of 1 s), still one request.
    await new Promise((resolve) => setTimeout(resolve, 5 * SWEEP_INTERVAL_MS));
    await env.runtime.bus.idle();

    expect(ofType(await history(witness), DetailType.FileUploaded)).toHaveLength(1);
    expect(env.simulator.stats(fileId).downloadRequests).toBe(1);
    const records = await history(recording);
    expect(ofType(records, DetailType.FileUploadRequested)).toHaveLength(1);
    expect(ofType(records, DetailType.FileUploadFailed)).toHaveLength(1);
    const entry = await env.runtime.ledger.get(fileId);
    expect(entry).toMatchObject({ state: 'failed', autoRetries: 0, lastError: { code: 'not_found', retryable: false } });
    expect(entry?.nextAttemptAt).toBeUndefined();
  });
});
