/**
 * What one recording looks like to an operator (summarizeRecording), from audit
 * histories built the way the audit consumer builds them: real event details, checked
 * against their schemas, turned into records by toAuditRecord.
 */
import { createHash } from 'node:crypto';
import { DetailType, parseDetail, type DetailOf, type DetailTypeName } from '../../shared/events';
import type { AuditRecord } from '../../shared/ports/audit-log';
import { toAuditRecord } from '../../services/audit/summarize';
import { recentRecordingIds, summarizeRecording } from '../../host/dashboard/recording-view';

const REC = 'kV3+q9ZfQ1uM2x/7pL0aBw==';
const TOPIC = '[MAQ101] Maqam Bayati — lesson 3';
const START = '2026-11-20T09:00:00Z';
const T = (minute: number, second = 0) => new Date(Date.UTC(2026, 10, 20, 10, minute, second)).toISOString();

let seq = 0;
function record<D extends DetailTypeName>(detailType: D, time: string, detail: DetailOf<D>): AuditRecord {
  seq += 1;
  return toAuditRecord({ id: `evt-${String(seq).padStart(4, '0')}`, time, detailType, detail: parseDetail(detailType, detail) } as never);
}
const meta = (key: string) => ({ schemaVersion: 1 as const, correlationId: `corr-${REC}`, causationId: 'webhook-delivery', idempotencyKey: key });
const keyOf = (fileId: string) => `courses/MAQ101/2026-11-20/090000_${fileId}.mp4`;
const location = (fileId: string) => ({ kind: 'folder' as const, container: '/srv/archive', key: keyOf(fileId), uri: `file:///srv/archive/${keyOf(fileId)}` });
const sha = (fileId: string) => createHash('sha256').update(fileId).digest('hex');
const zoomFile = (fileId: string, recordingType = 'shared_screen_with_speaker_view') => ({
  fileId,
  idSource: 'zoom' as const,
  fileType: 'MP4',
  fileExtension: 'MP4',
  recordingType,
  fileSize: 734_003_200,
  downloadUrl: `https://ssrweb.zoom.us/rec/download/${fileId}`,
  status: 'completed',
});

const available = (time: string, fileIds: string[], topic = TOPIC) =>
  record(DetailType.RecordingAvailable, time, {
    metadata: meta(`${REC}:available`),
    trigger: 'recording.completed',
    recordingId: REC,
    meetingId: '85012345678',
    topic,
    startTime: START,
    receivedAt: time,
    part: { index: 0, count: 1 },
    fileCount: fileIds.length,
    files: fileIds.map((id) => zoomFile(id)),
  });
const rejected = (time: string, reason: 'not_course_meeting' | 'no_eligible_file' | 'still_processing', explanation: string) =>
  record(DetailType.RecordingRejected, time, { metadata: meta(`${REC}:rejected:${time}`), recordingId: REC, meetingId: '85012345678', topic: TOPIC, reason, explanation });
const requested = (time: string, fileId: string, accepted = 2) =>
  record(DetailType.FileUploadRequested, time, {
    metadata: meta(`FileUploadRequested:${fileId}:${time}`),
    trigger: 'recording.completed',
    recordingId: REC,
    meetingId: '85012345678',
    course: 'MAQ101',
    topic: TOPIC,
    startTime: START,
    file: zoomFile(fileId),
    archiveKey: keyOf(fileId),
    acceptedFileCount: accepted,
    part: { index: 0, count: 1 },
  });
const uploaded = (time: string, fileId: string, size: number) =>
  record(DetailType.FileUploaded, time, {
    metadata: meta(`FileUploaded:${fileId}`),
    recordingId: REC,
    fileId,
    course: 'MAQ101',
    fileType: 'MP4',
    recordingType: 'shared_screen_with_speaker_view',
    location: location(fileId),
    size,
    checksum: { algorithm: 'sha256', value: sha(fileId) },
    transferMs: 4321.6,
    attempts: 1,
  });
const failed = (time: string, fileId: string, failure: { code: 'not_media' | 'download_failed' | 'timeout'; reason: string; retryable: boolean; nextAttemptAt?: string }) =>
  record(DetailType.FileUploadFailed, time, {
    metadata: meta(`FileUploadFailed:${fileId}:${time}`),
    recordingId: REC,
    fileId,
    course: 'MAQ101',
    archiveKey: keyOf(fileId),
    attempts: 3,
    ...failure,
  });
const archived = (time: string, files: { fileId: string; size: number }[]) =>
  record(DetailType.RecordingArchived, time, {
    metadata: meta(`RecordingArchived:${REC}`),
    recordingId: REC,
    course: 'MAQ101',
    part: { index: 0, count: 1 },
    files: files.map((f) => ({ fileId: f.fileId, location: location(f.fileId), size: f.size, checksum: { algorithm: 'sha256' as const, value: sha(f.fileId) } })),
  });

const fileStates = (history: AuditRecord[]) => Object.fromEntries(summarizeRecording(history)!.files.map((f) => [f.fileId, f.state]));

describe('summarizeRecording', () => {
  it('has nothing to say about an empty history', () => {
    expect(summarizeRecording([])).toBeUndefined();
  });

  it('archived: every accepted file uploaded, with sizes, keys, checksums and the meeting facts', () => {
    const history = [
      available(T(0), ['f1', 'f2']),
      requested(T(0, 1), 'f1'),
      requested(T(0, 1), 'f2'),
      uploaded(T(2), 'f1', 1_000_000),
      uploaded(T(3), 'f2', 250_000),
      archived(T(3, 1), [{ fileId: 'f1', size: 1_000_000 }, { fileId: 'f2', size: 250_000 }]),
    ];

    const summary = summarizeRecording(history)!;

    expect(summary).toMatchObject({
      recordingId: REC,
      meetingId: '85012345678',
      topic: TOPIC,
      course: 'MAQ101',
      startTime: START,
      firstSeen: T(0),
      lastSeen: T(3, 1),
      state: 'archived',
      uploadedFiles: 2,
      failedFiles: 0,
      bytesArchived: 1_250_000,
    });
    expect(summary.rejection).toBeUndefined();
    expect(summary.files).toHaveLength(2);
    expect(summary.files[0]).toEqual({
      fileId: 'f1',
      fileType: 'MP4',
      recordingType: 'shared_screen_with_speaker_view',
      key: keyOf('f1'),
      expectedSize: 734_003_200,
      size: 1_000_000,
      sha256: sha('f1'),
      transferMs: 4322,
      state: 'uploaded',
      requestedAt: T(0, 1),
      finishedAt: T(2),
      failure: undefined,
    });
  });

  it('archived also without the RecordingArchived announcement once each file is uploaded', () => {
    const history = [available(T(0), ['f1']), requested(T(0, 1), 'f1', 1), uploaded(T(2), 'f1', 42)];
    expect(summarizeRecording(history)).toMatchObject({ state: 'archived', uploadedFiles: 1, bytesArchived: 42 });
  });

  it('partly archived: some files uploaded, the others failed (with why)', () => {
    const history = [
      available(T(0), ['f1', 'f2']),
      requested(T(0, 1), 'f1'),
      requested(T(0, 1), 'f2'),
      uploaded(T(2), 'f1', 1_000),
      failed(T(5), 'f2', { code: 'not_media', reason: 'Zoom answered an HTML page (200)', retryable: false }),
    ];

    const summary = summarizeRecording(history)!;

    expect(summary).toMatchObject({ state: 'partly_archived', uploadedFiles: 1, failedFiles: 1, bytesArchived: 1_000 });
    expect(summary.files.find((f) => f.fileId === 'f2')).toMatchObject({
      state: 'failed',
      finishedAt: T(5),
      key: keyOf('f2'),
      failure: { code: 'not_media', reason: 'Zoom answered an HTML page (200)', retryable: false, nextAttemptAt: undefined },
    });
  });

  it('failed: files failed and none uploaded; a scheduled automatic attempt is kept', () => {
    const next = '2026-11-20T10:20:00.000Z';
    const history = [
      available(T(0), ['f1', 'f2']),
      requested(T(0, 1), 'f1'),
      requested(T(0, 1), 'f2'),
      failed(T(4), 'f1', { code: 'download_failed', reason: 'Zoom answered 503 three times', retryable: true, nextAttemptAt: next }),
      failed(T(5), 'f2', { code: 'timeout', reason: 'no byte for 60 s', retryable: true }),
    ];

    const summary = summarizeRecording(history)!;

    expect(summary).toMatchObject({ state: 'failed', uploadedFiles: 0, failedFiles: 2, bytesArchived: 0 });
    expect(summary.files[0]!.failure).toEqual({ code: 'download_failed', reason: 'Zoom answered 503 three times', retryable: true, nextAttemptAt: next });
  });

  it('rejected: course validation said no, with its reason and explanation and no files', () => {
    const history = [available(T(0), ['f1']), rejected(T(0, 1), 'not_course_meeting', 'no course code in the topic')];

    const summary = summarizeRecording(history)!;

    expect(summary).toMatchObject({ state: 'rejected', files: [], uploadedFiles: 0, rejection: { reason: 'not_course_meeting', explanation: 'no course code in the topic' } });
  });

  it('processing: not validated yet, or a file still requested', () => {
    expect(summarizeRecording([available(T(0), ['f1'])])!.state).toBe('processing');
    expect(summarizeRecording([available(T(0), ['f1']), requested(T(0, 1), 'f1', 1)])!.state).toBe('processing');
    const oneLeft = [available(T(0), ['f1', 'f2']), requested(T(0, 1), 'f1'), requested(T(0, 1), 'f2'), uploaded(T(2), 'f1', 10)];
    expect(summarizeRecording(oneLeft)).toMatchObject({ state: 'processing', uploadedFiles: 1 });
    expect(fileStates(oneLeft)).toEqual({ f1: 'uploaded', f2: 'requested' });
  });

  it('rejected, then accepted after a rules change: judged by its files', () => {
    const history = [available(T(0), ['f1']), rejected(T(0, 1), 'still_processing', 'Zoom is still processing 1 file(s)')];
    expect(summarizeRecording(history)!.state).toBe('rejected');

    history.push(available(T(30), ['f1']), requested(T(30, 1), 'f1', 1));
    expect(summarizeRecording(history)!.state).toBe('processing');

    history.push(uploaded(T(32), 'f1', 5_000));
    expect(summarizeRecording(history)).toMatchObject({ state: 'archived', uploadedFiles: 1, bytesArchived: 5_000 });
  });

  it('a retried file: failed, requested again (processing, the failure cleared), then uploaded (archived)', () => {
    const history = [
      available(T(0), ['f1']),
      requested(T(0, 1), 'f1', 1),
      failed(T(3), 'f1', { code: 'download_failed', reason: 'Zoom answered 503 three times', retryable: true }),
    ];
    expect(summarizeRecording(history)).toMatchObject({ state: 'failed', failedFiles: 1 });

    history.push(requested(T(40), 'f1', 1)); // `zoom-archiver retry` / the dashboard's Retry
    const retrying = summarizeRecording(history)!;
    expect(retrying).toMatchObject({ state: 'processing', failedFiles: 0 });
    expect(retrying.files).toHaveLength(1);
    expect(retrying.files[0]).toMatchObject({ state: 'requested', failure: undefined, requestedAt: T(0, 1) });

    history.push(uploaded(T(42), 'f1', 7_000));
    const done = summarizeRecording(history)!;
    expect(done).toMatchObject({ state: 'archived', uploadedFiles: 1, failedFiles: 0, bytesArchived: 7_000, lastSeen: T(42) });
    expect(done.files[0]).toMatchObject({ state: 'uploaded', failure: undefined, finishedAt: T(42) });
  });

  it('a duplicate FileUploadFailed after the upload does not undo it', () => {
    const history = [
      available(T(0), ['f1']),
      requested(T(0, 1), 'f1', 1),
      uploaded(T(2), 'f1', 900),
      failed(T(2, 30), 'f1', { code: 'timeout', reason: 'a stale attempt gave up', retryable: true }),
    ];

    const summary = summarizeRecording(history)!;

    expect(summary).toMatchObject({ state: 'archived', uploadedFiles: 1, failedFiles: 0, bytesArchived: 900 });
    expect(summary.files[0]).toMatchObject({ state: 'uploaded', failure: undefined, finishedAt: T(2) });
  });

  it('a duplicate FileUploadRequested after the upload (Zoom delivered the webhook again) does not make it processing again', () => {
    // The uploader answers a request for an uploaded file with nothing (the ledger counts a duplicate), so no FileUploaded follows.
    const history = [available(T(0), ['f1']), requested(T(0, 1), 'f1', 1), uploaded(T(2), 'f1', 900), available(T(10), ['f1']), requested(T(10, 1), 'f1', 1)];

    const summary = summarizeRecording(history)!;

    expect(summary).toMatchObject({ state: 'archived', uploadedFiles: 1, bytesArchived: 900 });
    expect(summary.files[0]).toMatchObject({ state: 'uploaded', size: 900 });
  });
});

describe('recentRecordingIds', () => {
  it('lists recordings by their latest event, newest first, without reconciliation runs, up to the limit', () => {
    const rec = (recordingId: string, detailType: DetailTypeName = DetailType.FileUploaded) => ({ recordingId, detailType }) as AuditRecord;
    const newestFirst = [rec('b'), rec('reconciliation:run-1', DetailType.ReconciliationCompleted), rec('a'), rec('b'), rec('c'), rec('d')];

    expect(recentRecordingIds(newestFirst, 10)).toEqual(['b', 'a', 'c', 'd']);
    expect(recentRecordingIds(newestFirst, 2)).toEqual(['b', 'a']);
  });
});
