/**
 * Resumable transfers into the folder archive, end to end with real parts: the Zoom
 * simulator over HTTP (ranges, drips, resets), the SQLite ledger holding the
 * checkpoints, the folder archive holding the partial file. A transfer killed with
 * SIGKILL, cut by its time limit or by a reset continues where its last checkpoint
 * is, downloading only the rest; a server that ignores ranges is followed from byte
 * 0; attempts that make no progress still count toward UPLOAD_MAX_ATTEMPTS; and the
 * S3 archive (s3rver) resumes too: its checkpoints are the multipart upload's parts, with
 * the SHA-256 state saved at each.
 *
 * The figures each case saw (bytes served / file size, attempts) are printed with
 * RESUME_TEST_FIGURES=1.
 */
import { createHash } from 'node:crypto';
import { createReadStream, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import Database from 'better-sqlite3';
import { SqliteAuditLog } from '../../shared/adapters/audit-sqlite';
import { SQLITE_LEDGER_TABLE } from '../../shared/adapters/ledger-sqlite';
import { DetailType } from '../../shared/events';
import type { AuditRecord } from '../../shared/ports/audit-log';
import type { TransferCheckpoint } from '../../shared/ports/upload-ledger';
import { dataPaths } from '../../host/paths';
import { startZoomSimulator, zoomEnvFor, type SimulatedRecording, type ZoomSimulator } from '../../tools/zoom-simulator/simulator';
import { startSimulatedRuntime, type SimulatedRuntime } from '../support/runtime';
import { startS3rver, type S3rverHandle } from '../support/s3rver';
import { startServe } from '../support/serve-process';
import { waitFor } from '../support/wait-for';

const MiB = 1024 * 1024;
const SECRET = 'resume-test-secret';
const mp4 = (size: number) => ({ fileType: 'MP4', size, recordingType: 'shared_screen_with_speaker_view', recordingStart: '2026-11-26T09:00:00Z', recordingEnd: '2026-11-26T09:30:00Z' });
const ofType = (records: AuditRecord[], detailType: string) => records.filter((r) => r.detailType === detailType);
const figures = (name: string, values: Record<string, unknown>) => {
  if (process.env.RESUME_TEST_FIGURES) process.stderr.write(`[resume figures] ${name}: ${JSON.stringify(values)}\n`);
};

const sha256File = (path: string) =>
  new Promise<string>((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path).on('data', (c) => hash.update(c)).on('end', () => resolve(hash.digest('hex'))).on('error', reject);
  });

/** The ledger entry's state and checkpoint, read from another process's ledger.sqlite (read-only; WAL lets it). */
function readLedgerEntry(ledgerPath: string, fileId: string): { state: string; checkpoint?: TransferCheckpoint } | undefined {
  let db: Database.Database;
  try {
    db = new Database(ledgerPath, { readonly: true, fileMustExist: true });
  } catch {
    return undefined; // not created yet
  }
  try {
    const row = db.prepare(`SELECT state, checkpoint FROM ${SQLITE_LEDGER_TABLE} WHERE file_id = ?`).get(fileId) as { state: string; checkpoint: string | null } | undefined;
    if (!row) return undefined;
    return { state: row.state, ...(row.checkpoint ? { checkpoint: JSON.parse(row.checkpoint) as TransferCheckpoint } : {}) };
  } finally {
    db.close();
  }
}

describe('resumable transfers into the folder archive: a real serve process killed with SIGKILL', () => {
  let simulator: ZoomSimulator;
  let dir: string;

  beforeAll(async () => {
    simulator = await startZoomSimulator({ webhookSecret: SECRET });
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'resume-kill-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  afterAll(() => simulator.stop());

  async function uploadedRecords(recordingId: string) {
    const audit = new SqliteAuditLog(dataPaths(dir).audit);
    try {
      return ofType(await audit.recordingHistory(recordingId), DetailType.FileUploaded);
    } finally {
      audit.close();
    }
  }

  it('killed at about half way, resumes after a restart: only the rest is downloaded, byte-identical, and the audit says it resumed', async () => {
    const size = 48 * MiB + 123;
    const recording = await simulator.addRecording({ topic: '[RES101] Killed half way', files: [mp4(size)] });
    const fileId = recording.files[0]!.fileId;
    simulator.setFault(fileId, { bytesPerSecond: 8 * MiB });
    const env = {
      DATA_DIR: dir,
      PORT: '0',
      LOG_LEVEL: 'WARN',
      ZOOM_WEBHOOK_SECRET_TOKEN: SECRET,
      ...zoomEnvFor(simulator),
      ARCHIVE_CHECKPOINT_MB: '2',
      UPLOAD_LEASE_SECONDS: '3',
      RECOVERY_INTERVAL_SECONDS: '1',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
    const ledgerPath = dataPaths(dir).ledger;

    const first = await startServe(env);
    let checkpointAtKill: TransferCheckpoint;
    try {
      expect((await simulator.deliverWebhook(`${first.url}/webhooks/zoom`, recording.payload)).status).toBe(200);
      checkpointAtKill = await waitFor(
        () => `half the file served and a checkpoint in the ledger (served ${simulator.stats(fileId).bytesServed})`,
        () => {
          if (simulator.stats(fileId).bytesServed < size / 2) return undefined;
          const checkpoint = readLedgerEntry(ledgerPath, fileId)?.checkpoint;
          return checkpoint && checkpoint.bytesCommitted > 0 ? checkpoint : undefined;
        },
        20_000,
        { intervalMs: 50 },
      );
    } finally {
      await first.kill('SIGKILL');
    }
    const servedAtKill = simulator.stats(fileId).bytesServed;
    expect(simulator.stats(fileId)).toMatchObject({ completedDownloads: 0, rangeRequests: 0 });
    expect(servedAtKill).toBeLessThan(size);
    expect(await uploadedRecords(recording.uuid)).toHaveLength(0);
    // What the ledger holds after the kill: still the killed run's, at least the checkpoint seen.
    const afterKill = readLedgerEntry(ledgerPath, fileId);
    expect(afterKill?.state).toBe('uploading');
    expect(afterKill?.checkpoint?.bytesCommitted).toBeGreaterThanOrEqual(checkpointAtKill.bytesCommitted);

    // The restart goes at full speed: the rest of the file comes quickly.
    simulator.setFault(fileId, undefined);
    const second = await startServe(env);
    try {
      const [uploaded] = await waitFor('FileUploaded after the restart', async () => {
        const records = await uploadedRecords(recording.uuid);
        return records.length > 0 ? records : undefined;
      }, 30_000);
      const stats = simulator.stats(fileId);
      figures('a (SIGKILL at half way)', {
        size,
        checkpointAtKill: checkpointAtKill.bytesCommitted,
        servedAtKill,
        bytesServed: stats.bytesServed,
        servedOverSize: +(stats.bytesServed / size).toFixed(3),
        rangeRequests: stats.rangeRequests,
        resumedFrom: uploaded!.data.resumedFrom,
        attempts: uploaded!.data.attempts,
      });
      expect(stats.bytesServed).toBeLessThanOrEqual(1.3 * size);
      expect(stats.bytesServed).toBeGreaterThanOrEqual(size);
      expect(stats.rangeRequests).toBeGreaterThanOrEqual(1);
      // Never a whole-file (200) download: the second run asked for the rest only.
      expect(stats.completedDownloads).toBe(0);
      const resumedFrom = Number(uploaded!.data.resumedFrom);
      expect(resumedFrom).toBeGreaterThan(0);
      expect(resumedFrom).toBeGreaterThanOrEqual(checkpointAtKill.bytesCommitted);
      expect(resumedFrom).toBeLessThan(size);
      expect(uploaded!.summary).toContain(`(resumed at byte ${resumedFrom})`);
      expect(uploaded!.data.size).toBe(size);
      const archived = join(dir, 'archive', String(uploaded!.data.key));
      const expected = await simulator.expectedSha256(fileId);
      expect(uploaded!.data.sha256).toBe(expected);
      expect(await sha256File(archived)).toBe(expected);
      // The partial files (the killed run's, and the resume's) are gone: only the archived file is in its folder.
      expect(readdirSync(dirname(archived))).toEqual([basename(archived)]);
      await new Promise((resolve) => setTimeout(resolve, 1500)); // room for a duplicate, should one be coming
      expect(await uploadedRecords(recording.uuid)).toHaveLength(1);
      expect(readLedgerEntry(ledgerPath, fileId)).toEqual({ state: 'uploaded' });
    } finally {
      await second.kill('SIGTERM');
    }
  }, 60_000);

  it('S3 (s3rver): killed at about half way after two parts, resumes after a restart from the last checkpointed part, byte-identical', async () => {
    // s3rver stays up across the kill and the restart: only the serve processes are killed.
    const s3 = await startS3rver({ bucket: 'resume-kill-test' });
    try {
      const partSize = 5 * MiB;
      const queueSize = 2;
      // The kill loses at most the parts in flight and the one filling: partSize × (queue + 1)
      // = 15 MiB, under 0.3 × size (19.2 MiB) for 64 MiB.
      const size = 64 * MiB + 321;
      const recording = await simulator.addRecording({ topic: '[RES107] S3 killed half way', files: [mp4(size)] });
      const fileId = recording.files[0]!.fileId;
      simulator.setFault(fileId, { bytesPerSecond: 8 * MiB });
      const env = {
        DATA_DIR: dir,
        PORT: '0',
        LOG_LEVEL: 'WARN',
        ZOOM_WEBHOOK_SECRET_TOKEN: SECRET,
        ...zoomEnvFor(simulator),
        ARCHIVE_BUCKET: s3.bucket,
        ARCHIVE_S3_ENDPOINT: s3.endpoint,
        AWS_ACCESS_KEY_ID: 'S3RVER',
        AWS_SECRET_ACCESS_KEY: 'S3RVER',
        ARCHIVE_PART_SIZE_MB: String(partSize / MiB),
        ARCHIVE_QUEUE_SIZE: String(queueSize),
        // S3 resumes only files of at least ARCHIVE_S3_RESUMABLE_MIN_MB (default 1 GiB): every file here.
        ARCHIVE_S3_RESUMABLE_MIN_MB: '0',
        UPLOAD_LEASE_SECONDS: '3',
        RECOVERY_INTERVAL_SECONDS: '1',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      };
      const ledgerPath = dataPaths(dir).ledger;
      const started = Date.now();

      const first = await startServe(env);
      let checkpointAtKill: TransferCheckpoint;
      try {
        expect((await simulator.deliverWebhook(`${first.url}/webhooks/zoom`, recording.payload)).status).toBe(200);
        checkpointAtKill = await waitFor(
          () => `half the file served and two parts checkpointed (served ${simulator.stats(fileId).bytesServed}, parts ${readLedgerEntry(ledgerPath, fileId)?.checkpoint?.parts.length ?? 0})`,
          () => {
            if (simulator.stats(fileId).bytesServed < size / 2) return undefined;
            const checkpoint = readLedgerEntry(ledgerPath, fileId)?.checkpoint;
            return checkpoint && checkpoint.parts.length >= 2 ? checkpoint : undefined;
          },
          15_000,
          { intervalMs: 50 },
        );
      } finally {
        await first.kill('SIGKILL');
      }
      // The simulator counts a chunk when its stream hands it on: wait until it has seen the killed connection close.
      let lastServed = -1;
      const servedAtKill = await waitFor('the killed run\'s download to stop', () => {
        const served = simulator.stats(fileId).bytesServed;
        if (served === lastServed) return served;
        lastServed = served;
        return undefined;
      }, 5_000);
      expect(simulator.stats(fileId)).toMatchObject({ completedDownloads: 0, rangeRequests: 0 });
      expect(servedAtKill).toBeLessThan(size);
      expect(await uploadedRecords(recording.uuid)).toHaveLength(0);
      // The checkpoint seen names the multipart upload, whole parts, and the SHA-256 state there.
      expect(checkpointAtKill.uploadId).toEqual(expect.any(String));
      expect(checkpointAtKill.bytesCommitted).toBe(checkpointAtKill.parts.length * partSize);
      expect(checkpointAtKill.hashState).toEqual(expect.any(String));
      // What the ledger holds after the kill: still the killed run's upload, at least the checkpoint seen.
      const afterKill = readLedgerEntry(ledgerPath, fileId);
      expect(afterKill?.state).toBe('uploading');
      expect(afterKill?.checkpoint?.uploadId).toBe(checkpointAtKill.uploadId);
      expect(afterKill?.checkpoint?.bytesCommitted).toBeGreaterThanOrEqual(checkpointAtKill.bytesCommitted);

      // The restart goes at full speed: the rest of the file comes quickly.
      simulator.setFault(fileId, undefined);
      const second = await startServe(env);
      try {
        const [uploaded] = await waitFor('FileUploaded after the restart', async () => {
          const records = await uploadedRecords(recording.uuid);
          return records.length > 0 ? records : undefined;
        }, 15_000);
        const stats = simulator.stats(fileId);
        const resumedFrom = Number(uploaded!.data.resumedFrom);
        figures('g (S3, SIGKILL at half way)', {
          size,
          partsAtKill: checkpointAtKill.parts.length,
          checkpointAtKill: checkpointAtKill.bytesCommitted,
          checkpointAfterKill: afterKill?.checkpoint?.bytesCommitted,
          servedAtKill,
          bytesServed: stats.bytesServed,
          servedOverSize: +(stats.bytesServed / size).toFixed(3),
          rangeRequests: stats.rangeRequests,
          resumedFrom,
          resumedFromParts: resumedFrom / partSize,
          attempts: uploaded!.data.attempts,
          elapsedMs: Date.now() - started,
        });
        expect(stats.bytesServed).toBeLessThanOrEqual(1.3 * size);
        expect(stats.bytesServed).toBeGreaterThanOrEqual(size);
        expect(stats.rangeRequests).toBeGreaterThanOrEqual(1);
        // Never a whole-file (200) download: the second run asked for the rest only.
        expect(stats.completedDownloads).toBe(0);
        // Resumed from a checkpointed part boundary, at least where the ledger was seen at the kill.
        expect(resumedFrom % partSize).toBe(0);
        expect(resumedFrom).toBeGreaterThanOrEqual(checkpointAtKill.bytesCommitted);
        expect(resumedFrom).toBeLessThan(size);
        // The served total is the killed run's bytes plus the rest from the checkpoint.
        expect(stats.bytesServed).toBe(servedAtKill + (size - resumedFrom));
        expect(uploaded!.summary).toContain(`(resumed at byte ${resumedFrom})`);
        expect(uploaded!.data.size).toBe(size);
        expect(String(uploaded!.data.uri)).toMatch(/^s3:\/\//);
        const expected = await simulator.expectedSha256(fileId);
        expect(uploaded!.data.sha256).toBe(expected);
        // The object as s3rver holds it, read back.
        const object = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: String(uploaded!.data.key) }));
        const hash = createHash('sha256');
        let objectBytes = 0;
        for await (const chunk of object.Body as AsyncIterable<Buffer>) {
          hash.update(chunk);
          objectBytes += chunk.length;
        }
        expect(objectBytes).toBe(size);
        expect(hash.digest('hex')).toBe(expected);
        await new Promise((resolve) => setTimeout(resolve, 1500)); // room for a duplicate, should one be coming
        expect(await uploadedRecords(recording.uuid)).toHaveLength(1);
        expect(readLedgerEntry(ledgerPath, fileId)).toEqual({ state: 'uploaded' });
      } finally {
        await second.kill('SIGTERM');
      }
    } finally {
      await s3.stop();
    }
  }, 30_000);
});

/** One in-process runtime per describe, its own simulator. */
function inProcessRuntime(dirPrefix: string, env: Record<string, string>) {
  const holder: { env?: SimulatedRuntime } = {};
  beforeAll(async () => {
    holder.env = await startSimulatedRuntime({ secret: SECRET, dirPrefix, env: { AUTO_RETRY_MAX_ATTEMPTS: '0', ...env } });
  });
  afterAll(() => holder.env?.stop());
  const get = () => holder.env!;
  return {
    get,
    history: (recording: SimulatedRecording) => get().runtime.auditLog.recordingHistory(recording.uuid),
    /** Delivers the recording's webhook and waits for the file's outcome in the audit trail. */
    async outcome(recording: SimulatedRecording, timeoutMs = 30_000) {
      const env = get();
      expect((await env.simulator.deliverWebhook(env.webhookUrl, recording.payload)).status).toBe(200);
      const records = await waitFor(
        () => `FileUploaded or FileUploadFailed (served ${env.simulator.stats(recording.files[0]!.fileId).bytesServed})`,
        async () => {
          const history = await env.runtime.auditLog.recordingHistory(recording.uuid);
          return ofType(history, DetailType.FileUploaded).length + ofType(history, DetailType.FileUploadFailed).length > 0 ? history : undefined;
        },
        timeoutMs,
      );
      await env.runtime.bus.idle();
      return records;
    },
    /** The archived file's folder holds that file alone: no partial file left behind. */
    archiveFolderOf(key: string): string[] {
      const file = join(dataPaths(get().dir).archive, ...key.split('/'));
      return readdirSync(dirname(file)).filter((name) => name !== basename(file));
    },
  };
}

describe('resumable transfers: an attempt limit of a few seconds on a file that takes many', () => {
  const rt = inProcessRuntime('resume-limit-', { UPLOAD_TRANSFER_TIMEOUT_SECONDS: '2', UPLOAD_MAX_ATTEMPTS: '2', ARCHIVE_CHECKPOINT_MB: '1' });

  it('archives the file byte-identical over more attempts than UPLOAD_MAX_ATTEMPTS, since each attempt moved the checkpoint forward', async () => {
    const env = rt.get();
    const size = 36 * MiB + 7;
    const recording = await env.simulator.addRecording({ topic: '[RES102] Slow drip', files: [mp4(size)] });
    const fileId = recording.files[0]!.fileId;
    // About 9 s at this rate; every attempt is cut after 2 s.
    env.simulator.setFault(fileId, { bytesPerSecond: 4 * MiB });
    const started = Date.now();

    const records = await rt.outcome(recording, 40_000);

    const elapsedMs = Date.now() - started;
    expect(ofType(records, DetailType.FileUploadFailed)).toHaveLength(0);
    const [uploaded] = ofType(records, DetailType.FileUploaded);
    const stats = env.simulator.stats(fileId);
    figures('b (2 s attempt limit, UPLOAD_MAX_ATTEMPTS=2)', {
      size,
      bytesServed: stats.bytesServed,
      servedOverSize: +(stats.bytesServed / size).toFixed(3),
      rangeRequests: stats.rangeRequests,
      attempts: uploaded!.data.attempts,
      resumedFrom: uploaded!.data.resumedFrom,
      elapsedMs,
    });
    expect(Number(uploaded!.data.attempts)).toBeGreaterThan(2);
    // Each attempt after the first asked for the rest of the file.
    expect(stats.rangeRequests).toBe(Number(uploaded!.data.attempts) - 1);
    expect(stats.bytesServed).toBeLessThanOrEqual(1.3 * size);
    expect(Number(uploaded!.data.resumedFrom)).toBeGreaterThan(0);
    expect(uploaded!.data.sha256).toBe(await env.simulator.expectedSha256(fileId));
    expect(await env.archivedSha(String(uploaded!.data.key))).toBe(await env.simulator.expectedSha256(fileId));
    expect(rt.archiveFolderOf(String(uploaded!.data.key))).toEqual([]);
    // Progressing attempts retry at once: no back-off piled up between them.
    expect(elapsedMs).toBeLessThan(20_000);
    expect(await env.runtime.ledger.get(fileId)).toMatchObject({ state: 'uploaded' });
    expect((await env.runtime.ledger.get(fileId))?.checkpoint).toBeUndefined();
  }, 45_000);
});

describe('resumable transfers: resets and servers without ranges', () => {
  const rt = inProcessRuntime('resume-reset-', { ARCHIVE_CHECKPOINT_MB: '1' });

  it('a connection reset mid-way: the next attempt asks for the rest only, and the file is byte-identical', async () => {
    const env = rt.get();
    const size = 24 * MiB + 5;
    const recording = await env.simulator.addRecording({ topic: '[RES103] Reset mid-way', files: [mp4(size)] });
    const fileId = recording.files[0]!.fileId;
    const cutAt = Math.floor(size * 0.6);
    env.simulator.setFault(fileId, { resetAfterBytes: cutAt, times: 1 });

    const records = await rt.outcome(recording);

    expect(ofType(records, DetailType.FileUploadFailed)).toHaveLength(0);
    const [uploaded] = ofType(records, DetailType.FileUploaded);
    const stats = env.simulator.stats(fileId);
    figures('c (reset at 60 %)', {
      size,
      bytesServed: stats.bytesServed,
      servedOverSize: +(stats.bytesServed / size).toFixed(3),
      rangeRequests: stats.rangeRequests,
      attempts: uploaded!.data.attempts,
      resumedFrom: uploaded!.data.resumedFrom,
    });
    expect(stats.rangeRequests).toBe(1);
    expect(stats.bytesServed).toBeLessThanOrEqual(1.3 * size);
    expect(stats.completedDownloads).toBe(0); // the second answer was a 206, not the whole file
    expect(uploaded!.data.attempts).toBe(2);
    const resumedFrom = Number(uploaded!.data.resumedFrom);
    expect(resumedFrom).toBeGreaterThan(0);
    expect(resumedFrom).toBeLessThanOrEqual(cutAt);
    // The served total is exactly the cut-off first body plus the rest from the checkpoint.
    expect(stats.bytesServed).toBe(cutAt + (size - resumedFrom));
    expect(await env.archivedSha(String(uploaded!.data.key))).toBe(await env.simulator.expectedSha256(fileId));
    expect(uploaded!.data.sha256).toBe(await env.simulator.expectedSha256(fileId));
    expect(rt.archiveFolderOf(String(uploaded!.data.key))).toEqual([]);
  });

  it('a server that ignores ranges: the transfer starts over from byte 0 and still ends byte-identical, not marked resumed', async () => {
    const env = rt.get();
    const size = 16 * MiB + 3;
    const recording = await env.simulator.addRecording({ topic: '[RES104] No ranges', files: [mp4(size)] });
    const fileId = recording.files[0]!.fileId;
    const cutAt = Math.floor(size / 2);
    // Faults chain by `times`: the first request is cut half way, every later one ignores Range too.
    env.simulator.setFault(fileId, [{ ignoreRange: true, resetAfterBytes: cutAt, times: 1 }, { ignoreRange: true }]);

    const records = await rt.outcome(recording);

    expect(ofType(records, DetailType.FileUploadFailed)).toHaveLength(0);
    const [uploaded] = ofType(records, DetailType.FileUploaded);
    const stats = env.simulator.stats(fileId);
    figures('d (ignores ranges, reset at 50 %)', {
      size,
      bytesServed: stats.bytesServed,
      servedOverSize: +(stats.bytesServed / size).toFixed(3),
      rangeRequests: stats.rangeRequests,
      attempts: uploaded!.data.attempts,
      resumedFrom: uploaded!.data.resumedFrom,
    });
    // The second attempt did ask for a range (there was a checkpoint), and got the whole file.
    expect(stats.rangeRequests).toBe(1);
    expect(stats.completedDownloads).toBe(1);
    expect(stats.bytesServed).toBe(cutAt + size); // ≈ 1.5 × size
    expect(uploaded!.data.attempts).toBe(2);
    expect(uploaded!.data.resumedFrom).toBeUndefined();
    // Recorded: the last attempt had a checkpoint, and Zoom answered its ranged request with the whole file.
    expect(uploaded!.data.rangeRefused).toBe(true);
    expect(uploaded!.summary).toContain('started over from byte 0');
    expect(uploaded!.summary).not.toContain('resumed');
    expect(await env.archivedSha(String(uploaded!.data.key))).toBe(await env.simulator.expectedSha256(fileId));
    expect(uploaded!.data.sha256).toBe(await env.simulator.expectedSha256(fileId));
    // The first attempt's partial was discarded, the new one committed: nothing left over.
    expect(rt.archiveFolderOf(String(uploaded!.data.key))).toEqual([]);
  });
});

describe('resumable transfers: an attempt that makes no progress still counts', () => {
  const rt = inProcessRuntime('resume-noprogress-', { ARCHIVE_CHECKPOINT_MB: '1', UPLOAD_MAX_ATTEMPTS: '2' });

  it('every attempt reset before its first checkpoint: FileUploadFailed after exactly UPLOAD_MAX_ATTEMPTS attempts', async () => {
    const env = rt.get();
    const size = 8 * MiB;
    const recording = await env.simulator.addRecording({ topic: '[RES105] Never gets far', files: [mp4(size)] });
    const fileId = recording.files[0]!.fileId;
    // A quarter of a checkpoint (1 MiB), on every request.
    env.simulator.setFault(fileId, { resetAfterBytes: 256 * 1024 });

    const records = await rt.outcome(recording);

    expect(ofType(records, DetailType.FileUploaded)).toHaveLength(0);
    const failures = ofType(records, DetailType.FileUploadFailed);
    expect(failures).toHaveLength(1);
    const stats = env.simulator.stats(fileId);
    figures('e (every attempt reset before a checkpoint, UPLOAD_MAX_ATTEMPTS=2)', {
      size,
      bytesServed: stats.bytesServed,
      rangeRequests: stats.rangeRequests,
      attempts: failures[0]!.data.attempts,
      code: failures[0]!.data.code,
    });
    expect(failures[0]!.data).toMatchObject({ attempts: 2, code: 'download_failed', retryable: true });
    expect(stats.downloadRequests).toBe(2);
    expect(stats.cdnRequests).toBe(2);
    // No checkpoint was ever recorded, so no attempt asked for a range.
    expect(stats.rangeRequests).toBe(0);
    expect(stats.bytesServed).toBe(2 * 256 * 1024);
    const entry = await env.runtime.ledger.get(fileId);
    expect(entry).toMatchObject({ state: 'failed', lastError: { code: 'download_failed' } });
    expect(entry?.checkpoint).toBeUndefined();
    // And no third attempt comes later on its own (automatic re-drive is off here).
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(env.simulator.stats(fileId).downloadRequests).toBe(2);
  });
});

describe('resumable transfers: the S3 archive resumes from its last uploaded part', () => {
  let s3: S3rverHandle | undefined;
  let env: SimulatedRuntime | undefined;
  beforeAll(async () => {
    s3 = await startS3rver({ bucket: 'resume-test' });
    env = await startSimulatedRuntime({
      secret: SECRET,
      dirPrefix: 'resume-s3-',
      env: {
        ARCHIVE_BUCKET: s3.bucket,
        ARCHIVE_S3_ENDPOINT: s3.endpoint,
        AWS_ACCESS_KEY_ID: 'S3RVER',
        AWS_SECRET_ACCESS_KEY: 'S3RVER',
        ARCHIVE_CHECKPOINT_MB: '1',
        // S3 resumes only files of at least ARCHIVE_S3_RESUMABLE_MIN_MB (default 1 GiB): every file here.
        ARCHIVE_S3_RESUMABLE_MIN_MB: '0',
        AUTO_RETRY_MAX_ATTEMPTS: '0',
      },
    });
  });
  afterAll(async () => {
    await env?.stop();
    await s3?.stop();
  });

  it('a reset mid-way resumes from the last part S3 holds: byte-identical, the rest downloaded once', async () => {
    const e = env!;
    expect(e.runtime.store.kind).toBe('s3');
    expect(e.runtime.store.resumable?.resumeHash).toBe('saved-state');
    const partSize = e.runtime.store.resumable!.checkpointBytes;
    const size = 12 * MiB + 9;
    const recording = await e.simulator.addRecording({ topic: '[RES106] S3 reset', files: [mp4(size)] });
    const fileId = recording.files[0]!.fileId;
    const cutAt = Math.floor(size * 0.6);
    // Dripped, so that the first part is long uploaded when the connection breaks.
    e.simulator.setFault(fileId, { resetAfterBytes: cutAt, bytesPerSecond: 8 * MiB, times: 1 });

    expect((await e.simulator.deliverWebhook(e.webhookUrl, recording.payload)).status).toBe(200);
    const records = await waitFor('the file\'s outcome', async () => {
      const history = await e.runtime.auditLog.recordingHistory(recording.uuid);
      return ofType(history, DetailType.FileUploaded).length + ofType(history, DetailType.FileUploadFailed).length > 0 ? history : undefined;
    });

    expect(ofType(records, DetailType.FileUploadFailed)).toHaveLength(0);
    const [uploaded] = ofType(records, DetailType.FileUploaded);
    const stats = e.simulator.stats(fileId);
    figures('f (S3, reset at 60 %)', {
      size,
      bytesServed: stats.bytesServed,
      servedOverSize: +(stats.bytesServed / size).toFixed(3),
      rangeRequests: stats.rangeRequests,
      attempts: uploaded!.data.attempts,
      resumedFrom: uploaded!.data.resumedFrom,
    });
    // The cut came after the first part was uploaded: the second attempt asked for the rest from there.
    const resumedFrom = Math.floor(cutAt / partSize) * partSize;
    expect(resumedFrom).toBeGreaterThan(0);
    expect(stats.rangeRequests).toBe(1);
    expect(uploaded!.data.resumedFrom).toBe(resumedFrom);
    expect(stats.bytesServed).toBe(cutAt + (size - resumedFrom));
    expect(stats.bytesServed / size).toBeLessThanOrEqual(1.3);
    expect(uploaded!.data.attempts).toBe(2);
    expect(String(uploaded!.data.uri)).toMatch(/^s3:\/\//);
    expect(await e.archivedSha(String(uploaded!.data.key))).toBe(await e.simulator.expectedSha256(fileId));
    expect(uploaded!.data.sha256).toBe(await e.simulator.expectedSha256(fileId));
    expect((await e.runtime.ledger.get(fileId))?.checkpoint).toBeUndefined();
  });
});
