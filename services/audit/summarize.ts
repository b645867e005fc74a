/**
 * Turns any bus event into an audit record: allow-lists the fields worth keeping per
 * detail-type and writes one line for people. Nothing is copied wholesale, so a
 * token, a sealed token or a signed download URL can never reach the audit trail.
 */
import { DetailType, type DetailOf, type DetailTypeName } from '../../shared/events';
import type { AuditRecord } from '../../shared/ports/audit-log';

export interface AuditInput<T extends DetailTypeName = DetailTypeName> {
  id: string;
  time: string;
  detailType: T;
  detail: DetailOf<T>;
}

type Parts = Pick<AuditRecord, 'summary' | 'data' | 'course' | 'fileId'>;

const describe: { [T in DetailTypeName]: (detail: DetailOf<T>) => Parts } = {
  [DetailType.RecordingAvailable]: (d) => ({
    summary: `received ${d.trigger} "${d.topic}" with ${d.files.length} file(s)${d.part.count > 1 ? ` (part ${d.part.index + 1}/${d.part.count})` : ''}`,
    data: { meetingId: d.meetingId, topic: d.topic, files: d.files.length, startTime: d.startTime, hostEmail: d.hostEmail, part: d.part.index },
  }),
  [DetailType.RecordingRejected]: (d) => ({
    course: d.course,
    summary: `rejected (${d.reason}): ${d.explanation}`,
    data: { meetingId: d.meetingId, topic: d.topic, reason: d.reason },
  }),
  [DetailType.FileUploadRequested]: (d) => ({
    course: d.course,
    fileId: d.file.fileId,
    summary: `${d.autoRetry ? `automatic retry ${d.autoRetry.attempt}/${d.autoRetry.maxAttempts}: ` : ''}${d.continuedFrom !== undefined ? `continued from byte ${d.continuedFrom}: ` : ''}requested ${d.file.fileType} ${d.file.recordingType ?? ''} → ${d.archiveKey}`.replace(/\s+/g, ' '),
    data: {
      key: d.archiveKey,
      fileType: d.file.fileType,
      recordingType: d.file.recordingType,
      expectedSize: d.file.fileSize,
      autoRetryAttempt: d.autoRetry?.attempt,
      autoRetryMaxAttempts: d.autoRetry?.maxAttempts,
      continuedFrom: d.continuedFrom,
    },
  }),
  [DetailType.FileUploaded]: (d) => ({
    course: d.course,
    fileId: d.fileId,
    summary: `uploaded ${d.size} bytes to ${d.location.uri} in ${Math.round(d.transferMs)} ms${d.resumedFrom ? ` (resumed at byte ${d.resumedFrom})` : ''}${d.rangeRefused ? ' (Zoom refused the ranged request: started over from byte 0)' : ''}`,
    data: { key: d.location.key, uri: d.location.uri, size: d.size, sha256: d.checksum.value, transferMs: Math.round(d.transferMs), attempts: d.attempts, resumedFrom: d.resumedFrom, rangeRefused: d.rangeRefused },
  }),
  [DetailType.FileUploadFailed]: (d) => ({
    course: d.course,
    fileId: d.fileId,
    summary:
      `failed (${d.code}${d.retryable ? ', retryable' : ''}) after ${d.attempts} attempt(s): ${d.reason}` +
      (d.nextAttemptAt ? `; next automatic attempt at ${d.nextAttemptAt}` : d.retryable ? '; waits for `zoom-archiver retry`' : ''),
    data: { key: d.archiveKey, code: d.code, reason: d.reason, retryable: d.retryable, attempts: d.attempts, nextAttemptAt: d.nextAttemptAt },
  }),
  [DetailType.RecordingArchived]: (d) => ({
    course: d.course,
    summary: `archived: all ${d.files.length} file(s) uploaded`,
    data: { files: d.files.length, bytes: d.files.reduce((sum, f) => sum + f.size, 0) },
  }),
  [DetailType.ReconciliationCompleted]: (d) => ({
    summary:
      `${d.trigger} ${d.from}..${d.to} (${d.listing} listing): ${d.recordingsFound} recording(s) in ${d.pages} page(s), ` +
      `${d.filesRequested} file(s) requested, ${d.filesAlreadyArchived} already archived, ${d.recordingsRejected} rejected, ` +
      `${d.recordingsStillProcessing} still processing, ${d.filesFailed} failed` +
      (d.errors.length > 0 ? `; ${d.errors.length} window(s) not listed: ${d.errors[0]!.message}` : ''),
    data: {
      runId: d.runId,
      trigger: d.trigger,
      from: d.from,
      to: d.to,
      listing: d.listing,
      windows: d.windows,
      pages: d.pages,
      apiCalls: d.apiCalls,
      rateLimited: d.rateLimited,
      recordingsFound: d.recordingsFound,
      recordingsHandedOver: d.recordingsHandedOver,
      filesRequested: d.filesRequested,
      filesAlreadyArchived: d.filesAlreadyArchived,
      filesInProgress: d.filesInProgress,
      filesFailed: d.filesFailed,
      recordingsRejected: d.recordingsRejected,
      recordingsStillProcessing: d.recordingsStillProcessing,
      errors: d.errors.length,
    },
  }),
  [DetailType.RecordingWouldBeTrashed]: (d) => ({
    course: d.course,
    summary:
      `dry run: would move to Zoom's trash now (${d.archivedFiles.length} file(s) verified in the archive` +
      `${d.otherFiles.length > 0 ? `, ${d.otherFiles.length} unarchived file(s) would go with it` : ''}); nothing deleted`,
    data: trashData(d),
  }),
  [DetailType.RecordingTrashedInZoom]: (d) => ({
    course: d.course,
    summary:
      `moved to Zoom's trash${d.outcome === 'already_in_trash' ? ' (Zoom already had it there: our first request was answered, its answer lost)' : ''}: ` +
      `${d.archivedFiles.length} file(s) verified in the archive${d.otherFiles.length > 0 ? `, ${d.otherFiles.length} unarchived file(s) went with it` : ''}; Zoom keeps its trash 30 days`,
    data: { ...trashData(d), outcome: d.outcome, trashedAt: d.trashedAt },
  }),
};

function trashData(d: DetailOf<typeof DetailType.RecordingWouldBeTrashed> | DetailOf<typeof DetailType.RecordingTrashedInZoom>): Parts['data'] {
  return {
    meetingId: d.meetingId,
    topic: d.topic,
    archivedFiles: d.archivedFiles.length,
    archivedBytes: d.archivedFiles.reduce((sum, f) => sum + f.size, 0),
    otherFiles: d.otherFiles.length,
    otherFileTypes: [...new Set(d.otherFiles.map((f) => f.fileType))].join(',') || undefined,
    dueAt: d.dueAt,
  };
}

/**
 * The audit trail is kept by recording; a reconciliation run has none, so it is kept
 * under `reconciliation:<runId>` (`status --recording reconciliation:<runId>` shows it).
 */
export const reconciliationRecordId = (runId: string) => `reconciliation:${runId}`;

function recordingIdOf(event: AuditInput): string {
  return event.detailType === DetailType.ReconciliationCompleted
    ? reconciliationRecordId((event.detail as DetailOf<typeof DetailType.ReconciliationCompleted>).runId)
    : (event.detail as { recordingId: string }).recordingId;
}

/** A run is a problem when it could not list everything or found files that failed. */
function isProblem(event: AuditInput): boolean {
  if (event.detailType === DetailType.ReconciliationCompleted) {
    const d = event.detail as DetailOf<typeof DetailType.ReconciliationCompleted>;
    return d.errors.length > 0 || d.filesFailed > 0;
  }
  return PROBLEMS.has(event.detailType);
}

const PROBLEMS: ReadonlySet<DetailTypeName> = new Set([DetailType.FileUploadFailed, DetailType.RecordingRejected]);

export function toAuditRecord(event: AuditInput): AuditRecord {
  const parts = (describe[event.detailType] as (detail: unknown) => Parts)(event.detail);
  const data = Object.fromEntries(Object.entries(parts.data).filter(([, value]) => value !== undefined));
  return {
    eventId: event.id,
    detailType: event.detailType,
    time: new Date(event.time).toISOString(),
    recordingId: recordingIdOf(event),
    course: parts.course,
    fileId: parts.fileId,
    correlationId: event.detail.metadata.correlationId,
    causationId: event.detail.metadata.causationId,
    problem: isProblem(event),
    summary: parts.summary,
    data,
  };
}
