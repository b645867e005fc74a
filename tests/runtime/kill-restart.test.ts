/**
 * Durability of the real process: `zoom-archiver serve` is killed with SIGKILL after
 * it answered 200 and while the file is streaming; a restart on the same data folder
 * finishes the upload — once, byte-identical. And SIGTERM stops cleanly, handing the
 * file back (lease released) for the next start.
 */
import { createHash } from 'node:crypto';
import { createReadStream, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { SqliteAuditLog } from '../../shared/adapters/audit-sqlite';
import { SqliteUploadLedger } from '../../shared/adapters/ledger-sqlite';
import { DetailType } from '../../shared/events';
import { dataPaths } from '../../host/paths';
import { startZoomSimulator, zoomEnvFor, type ZoomSimulator } from '../../tools/zoom-simulator/simulator';
import { startServe } from '../support/serve-process';
import { waitFor } from '../support/wait-for';

const SECRET = 'kill-test-secret';
const MiB = 1024 * 1024;

const sha256File = (path: string) =>
  new Promise<string>((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path).on('data', (c) => hash.update(c)).on('end', () => resolve(hash.digest('hex'))).on('error', reject);
  });

describe('serve process durability', () => {
  let simulator: ZoomSimulator;
  let dir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    simulator = await startZoomSimulator({ webhookSecret: SECRET });
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kill-'));
    env = {
      DATA_DIR: dir,
      PORT: '0',
      LOG_LEVEL: 'WARN',
      ZOOM_WEBHOOK_SECRET_TOKEN: SECRET,
      ...zoomEnvFor(simulator),
      UPLOAD_LEASE_SECONDS: '2',
      RECOVERY_INTERVAL_SECONDS: '1',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  afterAll(() => simulator.stop());

  async function deliverSlowly(topic: string) {
    const recording = await simulator.addRecording({
      topic,
      files: [{ fileType: 'MP4', size: 6 * MiB, recordingType: 'speaker_view', recordingStart: '2026-11-26T09:00:00Z', recordingEnd: '2026-11-26T09:30:00Z' }],
    });
    const fileId = recording.files[0]!.fileId;
    simulator.setFault(fileId, { times: 1, bytesPerSecond: 1 * MiB });
    return { recording, fileId };
  }

  async function uploadedRecords(recordingId: string) {
    const audit = new SqliteAuditLog(dataPaths(dir).audit);
    try {
      return (await audit.recordingHistory(recordingId)).filter((r) => r.detailType === DetailType.FileUploaded);
    } finally {
      audit.close();
    }
  }

  it('finishes the upload exactly once after kill -9 mid-transfer and a restart', async () => {
    const { recording, fileId } = await deliverSlowly('[KIL101] Killed mid-upload');
    const first = await startServe(env);
    expect((await simulator.deliverWebhook(`${first.url}/webhooks/zoom`, recording.payload)).status).toBe(200);
    await waitFor('the transfer to start', () => (simulator.stats(fileId).bytesServed > MiB ? true : undefined));

    first.child.kill('SIGKILL');
    await first.exited;
    expect(simulator.stats(fileId).completedDownloads).toBe(0);

    const second = await startServe(env);
    try {
      const [uploaded] = await waitFor('FileUploaded after restart', async () => {
        const records = await uploadedRecords(recording.uuid);
        return records.length > 0 ? records : undefined;
      });
      await new Promise((resolve) => setTimeout(resolve, 1500)); // room for a duplicate, should one be coming
      expect(await uploadedRecords(recording.uuid)).toHaveLength(1);
      expect(simulator.stats(fileId).completedDownloads).toBe(1);
      const archived = join(dir, 'archive', String(uploaded!.data.key));
      expect(await sha256File(archived)).toBe(await simulator.expectedSha256(fileId));
      // The killed run's temporary file is gone: only the archived file is in its folder.
      expect(readdirSync(dirname(archived))).toEqual([basename(archived)]);
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  }, 90_000);

  it('stops cleanly on SIGTERM mid-transfer, releasing the file for the next start', async () => {
    const { recording, fileId } = await deliverSlowly('[KIL102] Stopped mid-upload');
    const first = await startServe(env);
    expect((await simulator.deliverWebhook(`${first.url}/webhooks/zoom`, recording.payload)).status).toBe(200);
    await waitFor('the transfer to start', () => (simulator.stats(fileId).bytesServed > MiB ? true : undefined));

    const started = Date.now();
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    const ledger = new SqliteUploadLedger({ path: dataPaths(dir).ledger });
    expect((await ledger.get(fileId))?.state).toBe('requested');
    ledger.close();

    const second = await startServe(env);
    try {
      await waitFor('FileUploaded after restart', async () => ((await uploadedRecords(recording.uuid)).length > 0 ? true : undefined));
      expect(await uploadedRecords(recording.uuid)).toHaveLength(1);
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  }, 90_000);
});
