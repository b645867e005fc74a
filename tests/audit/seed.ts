/**
 * A seeded audit trail for query tests: three recordings over three days, two
 * courses, every detail-type, one failure and one rejection — built from real event
 * details so the summaries go through the production code.
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

function available(rec: string, topic: string): DetailOf<typeof DetailType.RecordingAvailable> {
  return {
    metadata: meta(`${rec}:available`),
    trigger: 'recording.completed',
    recordingId: rec,
    meetingId: '123',
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
