/**
 * The course-validation use case: one RecordingAvailable in, either one
 * FileUploadRequested per accepted file or one RecordingRejected out, published
 * and returned. Runs unchanged behind the Lambda handler and in the
 * single-machine runtime (it receives its ports).
 *
 * Metadata is derived from the cause (correlation id carried, causation id = the
 * bus event id). Idempotency keys name the business fact, so a re-delivered
 * RecordingAvailable produces the same keys and consumers drop the duplicates:
 * - FileUploadRequested:{fileId}:{16 hex of SHA-256(archive key)} — the key is
 *   hashed so the idempotency key stays within its 1024-character limit; a new
 *   naming rule is a new fact (the file goes to a new place);
 * - RecordingRejected:{trigger}:{recordingId}:{part}/{parts}:{reason} — a
 *   transcript_completed rejection is not a duplicate of the completed one.
 *
 * Every detail is validated against its contract before publishing; if publishing
 * fails the error propagates, so the bus retries the input.
 */
import { createHash } from 'node:crypto';
import {
  DetailType,
  deriveMetadata,
  parseDetail,
  SCHEMA_VERSIONS,
  type DetailTypeName,
  type DomainEvent,
  type FileUploadRequested,
  type ParsedEvent,
  type RecordingAvailable,
  type RecordingRejected,
} from '../../shared/events';
import type { AppLogger } from '../../shared/logger';
import type { EventPublisher } from '../../shared/ports/event-publisher';
import type { ArchiverConfig } from './config';
import { decideRecording, type Decision } from './decision';

export interface ValidateRecordingDeps {
  config: ArchiverConfig;
  publisher: EventPublisher;
  logger: AppLogger;
}

export async function validateRecording(
  event: ParsedEvent<typeof DetailType.RecordingAvailable>,
  deps: ValidateRecordingDeps,
): Promise<DomainEvent[]> {
  const recording = event.detail;
  const logFields = {
    correlationId: recording.metadata.correlationId,
    causationId: event.id,
    recordingId: recording.recordingId,
    meetingId: recording.meetingId,
    trigger: recording.trigger,
    part: `${recording.part.index + 1}/${recording.part.count}`,
  };
  const decision = onlyRequested(decideRecording(recording, deps.config), recording);
  const events = toEvents(event, decision);
  try {
    await deps.publisher.publish(events);
  } catch (error) {
    deps.logger.error('publishing the course-validation decision failed', {
      ...logFields,
      outcome: decision.outcome,
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    });
    throw error;
  }
  logDecision(decision, recording, logFields, deps);
  return events;
}

/**
 * A reconciliation asks for the accepted files the ledger does not know yet
 * (`reconciliation.requestOnly`): the decision still sees every file, so names and the
 * best-view choice are the webhook's; only the requests narrow. If none of them is
 * accepted any more (the rules changed since the reconciler looked), nothing is
 * requested and the recording is rejected with the reason.
 */
export function onlyRequested(decision: Decision, recording: RecordingAvailable): Decision {
  const wanted = recording.reconciliation?.requestOnly;
  if (!wanted || decision.outcome !== 'accepted') return decision;
  const set = new Set(wanted);
  const files = decision.files.filter(({ file }) => set.has(file.fileId));
  if (files.length > 0) return { ...decision, files };
  return {
    outcome: 'rejected',
    reason: 'no_eligible_file',
    explanation: `none of the ${wanted.length} file(s) the reconciliation asked for is eligible under the current rules; the recording's other accepted files are in the ledger already`,
    match: decision.match,
    selection: decision.selection,
  };
}

export function toEvents(event: ParsedEvent<typeof DetailType.RecordingAvailable>, decision: Decision): DomainEvent[] {
  const recording = event.detail;
  const metadata = <T extends DetailTypeName>(detailType: T, idempotencyKey: string) =>
    deriveMetadata(
      { metadata: recording.metadata, eventId: event.id },
      { schemaVersion: SCHEMA_VERSIONS[detailType], idempotencyKey },
    );

  if (decision.outcome === 'rejected') {
    const { index, count } = recording.part;
    const detail: RecordingRejected = {
      metadata: metadata(DetailType.RecordingRejected, `${DetailType.RecordingRejected}:${recording.trigger}:${recording.recordingId}:${index}/${count}:${decision.reason}`),
      recordingId: recording.recordingId,
      meetingId: recording.meetingId,
      topic: recording.topic,
      course: decision.match?.course,
      reason: decision.reason,
      explanation: decision.explanation,
    };
    return [{ detailType: DetailType.RecordingRejected, detail: parseDetail(DetailType.RecordingRejected, detail) }];
  }

  return decision.files.map(({ file, archiveKey }): DomainEvent => {
    const detail: FileUploadRequested = {
      metadata: metadata(DetailType.FileUploadRequested, `${DetailType.FileUploadRequested}:${file.fileId}:${digest(archiveKey)}`),
      trigger: recording.trigger,
      recordingId: recording.recordingId,
      meetingId: recording.meetingId,
      course: decision.match.course,
      topic: recording.topic,
      hostEmail: recording.hostEmail,
      startTime: recording.startTime,
      file,
      archiveKey,
      acceptedFileCount: decision.files.length,
      part: recording.part,
      downloadAccess: recording.downloadAccess,
      reconciliationRunId: recording.reconciliation?.runId,
    };
    return { detailType: DetailType.FileUploadRequested, detail: parseDetail(DetailType.FileUploadRequested, detail) };
  });
}

const digest = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex').slice(0, 16);

type LogFields = Record<string, string>;

function logDecision(decision: Decision, recording: RecordingAvailable, fields: LogFields, deps: ValidateRecordingDeps): void {
  const { logger } = deps;
  if (decision.outcome === 'rejected') {
    logger.info('recording rejected', { ...fields, reason: decision.reason, course: decision.match?.course, explanation: decision.explanation });
    return;
  }
  const { match, selection, keys } = decision;
  if (keys.zone.fellBack) {
    logger.warn('the recording has no valid time zone; names use UTC', { ...fields, timezone: recording.timezone ?? null });
  }
  if (keys.disambiguated.length > 0) {
    logger.warn('archive keys collided and got a file-id suffix; add {part} to the template to avoid this', {
      ...fields,
      fileIds: keys.disambiguated,
    });
  }
  if (selection.pending.length > 0) {
    logger.warn('eligible files still processing were not requested; re-drive the recording once they are completed', {
      ...fields,
      pending: selection.pending.map((file) => ({ fileId: file.fileId, fileType: file.fileType, status: file.status })),
    });
  }
  logger.info('files requested for upload', {
    ...fields,
    course: match.course,
    matchedBy: match.matchedBy,
    files: decision.files.map(({ file, archiveKey }) => ({ fileId: file.fileId, fileType: file.fileType, archiveKey })),
    skipped: selection.skipped.map((entry) => ({ fileId: entry.file.fileId, fileType: entry.file.fileType, reason: entry.reason })),
  });
}
