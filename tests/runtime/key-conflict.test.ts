/**
 * An operator's key template that maps two recordings' files to one key, end to end
 * through the single-machine runtime: the first recording is archived, the second
 * fails with key_conflict instead of replacing it, the archived bytes stay the
 * first's, and `status --failed` shows why.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DetailType } from '../../shared/events';
import { runStatus } from '../../host/cli/status';
import type { Runtime } from '../../host/runtime';
import type { ZoomSimulator } from '../../tools/zoom-simulator/simulator';
import { startSimulatedRuntime, type SimulatedRuntime } from '../support/runtime';

const MiB = 1024 * 1024;
const SECRET = 'key-conflict-test-secret';
const KEY = 'courses/KEY101/speaker_view.mp4';
// Same size for both files: only their bytes tell them apart.
const lesson = (day: string) => ({
  fileType: 'MP4',
  size: 3 * MiB + 5,
  recordingType: 'speaker_view',
  recordingStart: `2026-11-${day}T09:00:00Z`,
  recordingEnd: `2026-11-${day}T09:30:00Z`,
});

describe('single-machine runtime: two recordings whose files map to one archive key', () => {
  let env: SimulatedRuntime;
  let dir: string;
  let simulator: ZoomSimulator;
  let runtime: Runtime;
  let webhookUrl: string;

  beforeAll(async () => {
    env = await startSimulatedRuntime({ secret: SECRET, dirPrefix: 'key-conflict-', env: { ARCHIVER_CONFIG_JSON: JSON.stringify({ naming: { template: 'courses/{course}/{recordingType}.{ext}' } }) } });
    ({ dir, simulator, runtime, webhookUrl } = env);
  });
  afterAll(() => env?.stop());

  const archivedSha = (key: string) => env.archivedSha(key);

  it('archives the first, fails the second with key_conflict naming the key, keeps the first bytes, and status --failed says so', async () => {
    const first = await simulator.addRecording({ topic: '[KEY101] Lesson 1', startTime: '2026-11-24T09:00:00Z', files: [lesson('24')] });
    const second = await simulator.addRecording({ topic: '[KEY101] Lesson 2', startTime: '2026-11-26T09:00:00Z', files: [lesson('26')] });
    const firstFile = first.files[0]!;
    const secondFile = second.files[0]!;
    expect(await simulator.expectedSha256(secondFile.fileId)).not.toBe(await simulator.expectedSha256(firstFile.fileId));

    expect((await simulator.deliverWebhook(webhookUrl, first.payload)).status).toBe(200);
    await runtime.bus.idle();
    expect((await simulator.deliverWebhook(webhookUrl, second.payload)).status).toBe(200);
    await runtime.bus.idle();

    const firstHistory = await runtime.auditLog.recordingHistory(first.uuid);
    const uploaded = firstHistory.filter((r) => r.detailType === DetailType.FileUploaded);
    expect(uploaded.map((r) => [r.fileId, r.data.key])).toEqual([[firstFile.fileId, KEY]]);
    expect(firstHistory.filter((r) => r.detailType === DetailType.RecordingArchived)).toHaveLength(1);

    const secondHistory = await runtime.auditLog.recordingHistory(second.uuid);
    expect(secondHistory.filter((r) => r.detailType === DetailType.FileUploadRequested).map((r) => r.data.key)).toEqual([KEY]);
    expect(secondHistory.filter((r) => r.detailType === DetailType.FileUploaded)).toEqual([]);
    expect(secondHistory.filter((r) => r.detailType === DetailType.RecordingArchived)).toEqual([]);
    const failed = secondHistory.filter((r) => r.detailType === DetailType.FileUploadFailed);
    expect(failed).toHaveLength(1);
    expect(failed[0]!.fileId).toBe(secondFile.fileId);
    expect(failed[0]!.data).toEqual({
      key: KEY,
      code: 'key_conflict',
      reason: `archive key already holds a different object: ${KEY}`,
      retryable: false,
      attempts: 1,
    });

    expect(await archivedSha(KEY)).toBe(await simulator.expectedSha256(firstFile.fileId));
    const folder = join(dir, 'archive', 'courses', 'KEY101');
    expect(readdirSync(folder)).toEqual(['speaker_view.mp4']);
    expect(await runtime.ledger.get(secondFile.fileId)).toMatchObject({ state: 'failed', lastError: { code: 'key_conflict', retryable: false } });
    expect(await runtime.ledger.get(firstFile.fileId)).toMatchObject({ state: 'uploaded' });

    const problems = JSON.parse(await runStatus(runtime.auditLog, { failed: true, json: true }, new Date())) as Array<{
      detailType: string;
      recordingId: string;
      fileId?: string;
      summary: string;
      data: Record<string, unknown>;
    }>;
    const conflicts = problems.filter((r) => r.detailType === DetailType.FileUploadFailed && r.data.code === 'key_conflict');
    expect(conflicts).toHaveLength(1);
    expect(conflicts[0]).toMatchObject({ recordingId: second.uuid, fileId: secondFile.fileId, data: { key: KEY } });
    expect(conflicts[0]!.summary).toBe(`failed (key_conflict) after 1 attempt(s): archive key already holds a different object: ${KEY}`);
    expect(runtime.bus.stats()).toMatchObject({ pending: 0, dead: 0 });
  });
});
