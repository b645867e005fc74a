/**
 * What one recording looks like to an operator, derived from its audit history alone
 * (so the list of recent recordings needs no ledger read per file): its course,
 * topic, start, files, and one state.
 *
 * - rejected: course validation's latest word was RecordingRejected (a recording
 *   rejected and later accepted, after a rules change, is judged by its files);
 * - archived: every accepted file uploaded (RecordingArchived, or each file's last
 *   event is FileUploaded and none is missing);
 * - partly archived: some files uploaded, the others failed;
 * - failed: files failed and none uploaded;
 * - processing: anything still requested or uploading, or not yet validated.
 */
import { DetailType } from '../../shared/events';
import type { AuditRecord } from '../../shared/ports/audit-log';

export type RecordingState = 'archived' | 'partly_archived' | 'failed' | 'rejected' | 'processing';

export const STATE_LABELS: Record<RecordingState, string> = {
  archived: 'archived',
  partly_archived: 'partly archived',
  failed: 'failed',
  rejected: 'rejected',
  processing: 'processing',
};

export type FileAuditState = 'requested' | 'uploaded' | 'failed';

export interface FileAuditView {
  fileId: string;
  fileType?: string;
  recordingType?: string;
  key?: string;
  expectedSize?: number;
  size?: number;
  sha256?: string;
  transferMs?: number;
  state: FileAuditState;
  requestedAt: string;
  finishedAt?: string;
  failure?: { code: string; reason: string; retryable: boolean; nextAttemptAt?: string };
}

export interface RecordingSummary {
  recordingId: string;
  meetingId?: string;
  topic?: string;
  course?: string;
  /** The meeting's start (ISO), when the trail has it. */
  startTime?: string;
  /** The first and latest event of the recording in the trail. */
  firstSeen: string;
  lastSeen: string;
  state: RecordingState;
  files: FileAuditView[];
  uploadedFiles: number;
  failedFiles: number;
  bytesArchived: number;
  /** Why it was rejected: reason code and explanation. */
  rejection?: { reason: string; explanation: string };
}

const str = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);
const num = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) ? value : undefined);

/** `history` oldest first (AuditLog.recordingHistory); undefined for an empty history. */
export function summarizeRecording(history: readonly AuditRecord[]): RecordingSummary | undefined {
  const first = history[0];
  const last = history[history.length - 1];
  if (!first || !last) return undefined;
  const summary: RecordingSummary = {
    recordingId: first.recordingId,
    firstSeen: first.time,
    lastSeen: last.time,
    state: 'processing',
    files: [],
    uploadedFiles: 0,
    failedFiles: 0,
    bytesArchived: 0,
  };
  const files = new Map<string, FileAuditView>();
  let rejectedLast = false;
  let archivedAnnounced = false;
  for (const record of history) {
    const d = record.data;
    summary.course ??= record.course;
    summary.meetingId ??= str(d.meetingId);
    summary.topic ??= str(d.topic);
    summary.startTime ??= str(d.startTime);
    switch (record.detailType) {
      case DetailType.RecordingRejected:
        rejectedLast = true;
        summary.rejection = { reason: str(d.reason) ?? 'rejected', explanation: rejectionExplanation(record) };
        break;
      case DetailType.FileUploadRequested: {
        rejectedLast = false;
        if (!record.fileId) break;
        // A request for a file already uploaded (Zoom delivering the webhook again) is a duplicate the uploader answers with nothing: it stays uploaded.
        if (files.get(record.fileId)?.state === 'uploaded') break;
        const file = files.get(record.fileId) ?? { fileId: record.fileId, state: 'requested', requestedAt: record.time };
        Object.assign(file, { state: 'requested', fileType: str(d.fileType) ?? file.fileType, recordingType: str(d.recordingType) ?? file.recordingType, key: str(d.key) ?? file.key, expectedSize: num(d.expectedSize) ?? file.expectedSize });
        file.failure = undefined;
        files.set(record.fileId, file);
        break;
      }
      case DetailType.FileUploaded: {
        if (!record.fileId) break;
        const file = files.get(record.fileId) ?? { fileId: record.fileId, state: 'requested', requestedAt: record.time };
        Object.assign(file, { state: 'uploaded', size: num(d.size), sha256: str(d.sha256), key: str(d.key) ?? file.key, transferMs: num(d.transferMs), finishedAt: record.time });
        file.failure = undefined;
        files.set(record.fileId, file);
        break;
      }
      case DetailType.FileUploadFailed: {
        if (!record.fileId) break;
        const file = files.get(record.fileId) ?? { fileId: record.fileId, state: 'requested', requestedAt: record.time };
        // A duplicate FileUploadFailed after the file was uploaded does not undo the upload.
        if (file.state === 'uploaded') break;
        file.state = 'failed';
        file.finishedAt = record.time;
        file.key = str(d.key) ?? file.key;
        file.failure = { code: str(d.code) ?? 'failed', reason: str(d.reason) ?? record.summary, retryable: d.retryable === true, nextAttemptAt: str(d.nextAttemptAt) };
        files.set(record.fileId, file);
        break;
      }
      case DetailType.RecordingArchived:
        archivedAnnounced = true;
        break;
    }
  }
  summary.files = [...files.values()];
  summary.uploadedFiles = summary.files.filter((f) => f.state === 'uploaded').length;
  summary.failedFiles = summary.files.filter((f) => f.state === 'failed').length;
  summary.bytesArchived = summary.files.reduce((sum, f) => sum + (f.state === 'uploaded' ? (f.size ?? 0) : 0), 0);
  summary.state = stateOf(summary, rejectedLast, archivedAnnounced);
  return summary;
}

function stateOf(s: RecordingSummary, rejectedLast: boolean, archivedAnnounced: boolean): RecordingState {
  if (s.files.length === 0) return rejectedLast ? 'rejected' : 'processing';
  if (s.files.some((f) => f.state === 'requested')) return 'processing';
  if (s.failedFiles === 0) return archivedAnnounced || s.uploadedFiles === s.files.length ? 'archived' : 'processing';
  return s.uploadedFiles > 0 ? 'partly_archived' : 'failed';
}

/** A RecordingRejected record's explanation: its summary without the "rejected (reason): " the audit trail writes first. */
export const rejectionExplanation = (record: AuditRecord): string => record.summary.replace(/^rejected \([^)]*\): /, '');

/** Recording ids in order of their latest event, from records newest first; reconciliation runs left out. */
export function recentRecordingIds(newestFirst: readonly AuditRecord[], limit: number): string[] {
  const ids: string[] = [];
  const seen = new Set<string>();
  for (const record of newestFirst) {
    if (seen.has(record.recordingId) || record.detailType === DetailType.ReconciliationCompleted) continue;
    seen.add(record.recordingId);
    ids.push(record.recordingId);
    if (ids.length >= limit) break;
  }
  return ids;
}
