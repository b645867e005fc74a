/**
 * A seeded audit trail for query tests: three recordings over three days, two
 * courses, every detail-type, one failure and one rejection — built from real event
 * details so the summaries go through the production code. `searchSeedEvents` adds,
 * around them, what the recording search, the latest run and the daily totals need.
 */
import { DetailType, type DetailOf, type DetailTypeName } from '../../shared/events';
import { toAuditRecord, type AuditInput } from '../../services/audit/summarize';
import type { AuditRecord } from '../../shared/ports/audit-log';

const meta = (key: string) => ({ schemaVersion: 1 as const, correlationId: `corr-${key.split(':')[0]}`, causationId: 'cause', idempotencyKey: key });
const location = (key: string) => ({ kind: 's3' as const, container: 'archive', key, uri: `s3://archive/${key}` });
const checksum = { algorithm: 'sha256' as const, value: 'a'.repeat(64) };
/** A download token as it would look if some producer leaked it; the audit must drop it. */
export const LEAKED_TOKEN = 'eyJhbGciOiJIUzUxMiJ9.eyJleHAiOjQxMDI0NDQ4MDB9.c2VjcmV0LWRvd25sb2FkLXRva2Vu';

function event<T extends DetailTypeName>(id: string, time: string, detailType: T, detail: DetailOf<T>): AuditInput {
  return { id, time, detailType, detail } as AuditInput;
}

function available(rec: string, topic: string, meetingId = '123'): DetailOf<typeof DetailType.RecordingAvailable> {
  return {
    metadata: meta(`${rec}:available`),
    trigger: 'recording.completed',
    recordingId: rec,
    meetingId,
    topic,
    startTime: '2026-11-20T09:00:00Z',
    receivedAt: '2026-11-20T10:00:00Z',
    part: { index: 0, count: 1 },
    fileCount: 1,
    files: [
      {
        fileId: `${rec}-f1`,
        idSource: 'zoom',
        fileType: 'MP4',
        fileSize: 1000,
        downloadUrl: `https://zoom.us/rec/download/x?access_token=${LEAKED_TOKEN}`,
        status: 'completed',
      },
    ],
    downloadAccess: { sealedToken: `sealed-${LEAKED_TOKEN}`, expiresAt: '2026-11-21T10:00:00Z' },
  };
}

export function seedEvents(): AuditInput[] {
  return [
    event('e01', '2026-11-20T10:00:00Z', DetailType.RecordingAvailable, available('rec-A', '[MAQ101] lesson 1')),
    event('e02', '2026-11-20T10:00:01Z', DetailType.FileUploadRequested, {
      metadata: meta('rec-A:req'),
      trigger: 'recording.completed',
      recordingId: 'rec-A',
      meetingId: '123',
      course: 'MAQ101',
      topic: '[MAQ101] lesson 1',
      startTime: '2026-11-20T09:00:00Z',
      file: available('rec-A', '').files[0]!,
      archiveKey: 'courses/MAQ101/2026-11-20/lesson.mp4',
      acceptedFileCount: 1,
      part: { index: 0, count: 1 },
      downloadAccess: { sealedToken: `sealed-${LEAKED_TOKEN}` },
    }),
    event('e03', '2026-11-20T10:02:00Z', DetailType.FileUploaded, {
      metadata: meta('rec-A:up'),
      recordingId: 'rec-A',
      fileId: 'rec-A-f1',
      course: 'MAQ101',
      fileType: 'MP4',
      location: location('courses/MAQ101/2026-11-20/lesson.mp4'),
      size: 1000,
      checksum,
      transferMs: 1500,
      attempts: 1,
    }),
    event('e04', '2026-11-20T10:02:01Z', DetailType.RecordingArchived, {
      metadata: meta('rec-A:arch'),
      recordingId: 'rec-A',
      course: 'MAQ101',
      part: { index: 0, count: 1 },
      files: [{ fileId: 'rec-A-f1', location: location('courses/MAQ101/2026-11-20/lesson.mp4'), size: 1000, checksum }],
    }),
    event('e05', '2026-11-21T10:00:00Z', DetailType.RecordingAvailable, available('rec-B', 'Staff meeting')),
    event('e06', '2026-11-21T10:00:01Z', DetailType.RecordingRejected, {
      metadata: meta('rec-B:rej'),
      recordingId: 'rec-B',
      meetingId: '124',
      topic: 'Staff meeting',
      reason: 'not_course_meeting',
      explanation: 'no course code in the topic',
    }),
    event('e07', '2026-11-22T10:00:00Z', DetailType.RecordingAvailable, available('rec-C', '[PHY201] lab')),
    event('e08', '2026-11-22T10:00:01Z', DetailType.FileUploadFailed, {
      metadata: meta('rec-C:fail'),
      recordingId: 'rec-C',
      fileId: 'rec-C-f1',
      course: 'PHY201',
      archiveKey: 'courses/PHY201/2026-11-22/lab.mp4',
      code: 'not_media',
      reason: 'Zoom answered an HTML page (200)',
      retryable: false,
      attempts: 1,
    }),
  ];
}

export const seedRecords = (): AuditRecord[] => seedEvents().map(toAuditRecord);

/** A Zoom meeting UUID (base64: may hold `/`, `+` and `=`). */
export const SEARCH_UUID = 'Gx7+kQ/2TbW8pZ1aYc3dEw==';
/** The numeric meeting id every instance of the recurring "Éléments" meeting shares. */
export const SEARCH_MEETING_ID = '85123456789';

function uploaded(rec: string, fileId: string, size: number): DetailOf<typeof DetailType.FileUploaded> {
  return {
    metadata: meta(`${rec}:up:${fileId}`),
    recordingId: rec,
    fileId,
    course: 'GEO110',
    fileType: 'MP4',
    location: location(`courses/GEO110/${fileId}.mp4`),
    size,
    checksum,
    transferMs: 900,
    attempts: 1,
  };
}

function sweep(runId: string, day: string): DetailOf<typeof DetailType.ReconciliationCompleted> {
  return {
    metadata: meta(`${runId}:done`),
    runId,
    trigger: 'sweep',
    from: day,
    to: day,
    listing: 'account',
    windows: 1,
    pages: 1,
    apiCalls: 1,
    rateLimited: 0,
    recordingsFound: 0,
    recordingsHandedOver: 0,
    filesRequested: 0,
    filesAlreadyArchived: 0,
    filesInProgress: 0,
    filesFailed: 0,
    recordingsRejected: 0,
    recordingsStillProcessing: 0,
    errors: [],
    startedAt: `${day}T02:59:00Z`,
    finishedAt: `${day}T03:00:00Z`,
  };
}

/**
 * More trail for the search, the latest run and the daily totals, chosen so that every
 * query on `seedEvents` answers the same with these written too: other recordings and
 * course (GEO110), before the seed's days (August: more than 90 days before December,
 * not a problem) or after them (December; the one rejection on 2026-12-02).
 *
 * Files (FileUploaded) on 2026-08-01, 2026-12-01 (two) and 2026-12-03 — none on
 * 2026-12-02 or 2026-12-04, which have other events.
 */
export function searchSeedEvents(): AuditInput[] {
  return [
    event('s01', '2026-08-01T09:00:00Z', DetailType.RecordingAvailable, available('rec-old', 'Éléments de géométrie (archive)', SEARCH_MEETING_ID)),
    event('s02', '2026-08-01T09:10:00Z', DetailType.FileUploaded, uploaded('rec-old', 'rec-old-f1', 999_999)),
    event('s03', '2026-12-01T09:00:00Z', DetailType.RecordingAvailable, available(SEARCH_UUID, 'Éléments de géométrie', SEARCH_MEETING_ID)),
    event('s04', '2026-12-01T09:05:00Z', DetailType.FileUploaded, uploaded(SEARCH_UUID, 'uuid-f1', 5000)),
    event('s05', '2026-12-01T09:06:00Z', DetailType.FileUploaded, uploaded(SEARCH_UUID, 'uuid-f2', 2500)),
    event('s06', '2026-12-02T03:00:00Z', DetailType.ReconciliationCompleted, sweep('run-1', '2026-12-01')),
    event('s07', '2026-12-02T10:00:00Z', DetailType.RecordingRejected, {
      metadata: meta('rec-E:rej'),
      recordingId: 'rec-E',
      meetingId: '86100000001',
      topic: '100% attendance_review',
      reason: 'not_course_meeting',
      explanation: 'no course code in the topic',
    }),
    event('s08', '2026-12-03T03:00:00Z', DetailType.ReconciliationCompleted, sweep('run-2', '2026-12-02')),
    event('s09', '2026-12-03T08:00:00Z', DetailType.RecordingAvailable, available('rec-F', 'ÉLÉMENTS — révision', SEARCH_MEETING_ID)),
    event('s10', '2026-12-03T09:00:00Z', DetailType.FileUploaded, uploaded('rec-F', 'rec-F-f1', 1200)),
    // Carries the topic and meeting id too, but is not a searchable detail-type.
    event('s11', '2026-12-04T08:00:00Z', DetailType.RecordingWouldBeTrashed, {
      metadata: meta(`${SEARCH_UUID}:would-trash`),
      recordingId: SEARCH_UUID,
      meetingId: SEARCH_MEETING_ID,
      topic: 'Éléments de géométrie',
      course: 'GEO110',
      startTime: '2026-12-01T08:00:00Z',
      archivedFiles: [{ fileId: 'uuid-f1', location: location('courses/GEO110/uuid-f1.mp4'), size: 5000, checksum }],
      otherFiles: [],
      dueAt: '2026-12-04T08:00:00Z',
      checkedAt: '2026-12-04T08:00:00Z',
    }),
  ];
}

export const searchSeedRecords = (): AuditRecord[] => searchSeedEvents().map(toAuditRecord);
