/**
 * The public event contract: one Zod schema per detail-type. Types are inferred from
 * the schemas, never written by hand. Every detail carries `metadata` and a
 * `schemaVersion` literal, so a consumer refuses a version it does not understand;
 * the versions are spelled once, in SCHEMA_VERSIONS, for the schemas and producers alike.
 *
 * Secrets never travel in clear: the webhook's download token is sealed
 * (AES-256-GCM, see shared/crypto/token-seal.ts) into `downloadAccess.sealedToken`,
 * readable only by holders of the sealing key (webhook and uploader), and the audit
 * trail drops the field altogether.
 *
 * Written with zod/mini (tree-shakable): every Lambda bundles these schemas, and the
 * classic API alone would put ~440 KB into the webhook's bundle.
 */
import * as z from 'zod/mini';
import { MetadataSchema } from './metadata';
import { DetailType, type DetailTypeName } from './names';

const isoDateTime = z.iso.datetime({ offset: true });

/**
 * The schema version of each detail-type. The schemas accept exactly this version and
 * every producer stamps it from here, so a new version is one edit, never a literal
 * hunted through the producers.
 */
export const SCHEMA_VERSIONS = {
  [DetailType.RecordingAvailable]: 1,
  [DetailType.RecordingRejected]: 1,
  [DetailType.FileUploadRequested]: 1,
  [DetailType.FileUploaded]: 1,
  [DetailType.FileUploadFailed]: 1,
  [DetailType.RecordingArchived]: 1,
  [DetailType.ReconciliationCompleted]: 1,
  [DetailType.RecordingWouldBeTrashed]: 1,
  [DetailType.RecordingTrashedInZoom]: 1,
} as const satisfies Record<DetailTypeName, number>;

function withVersion<T extends DetailTypeName>(detailType: T) {
  return z.extend(MetadataSchema, { schemaVersion: z.literal(SCHEMA_VERSIONS[detailType]) });
}
const text = (min = 1, max?: number) =>
  max === undefined ? z.string().check(z.minLength(min)) : z.string().check(z.minLength(min), z.maxLength(max));
const count = () => z.int().check(z.nonnegative());
const part = () => z.object({ index: count(), count: z.int().check(z.positive()) });

/** Download credential carried from the webhook to the uploader, sealed. */
export const DownloadAccessSchema = z.object({
  /** base64url(iv | ciphertext | tag) of the webhook's download_token. */
  sealedToken: text(),
  /** The token's `exp` claim, when it could be read; lets the uploader skip an expired one unopened. */
  expiresAt: z.optional(isoDateTime),
});
export type DownloadAccess = z.infer<typeof DownloadAccessSchema>;

/** One file of a Zoom recording, normalized. CC and TIMELINE files have no id, size or status in Zoom's payload. */
export const RecordingFileSchema = z.object({
  /** Zoom's file id, or a stable id derived from the meeting UUID, type and times (see `idSource`). */
  fileId: text(),
  idSource: z.enum(['zoom', 'derived']),
  fileType: text(),
  fileExtension: z.optional(z.string()),
  recordingType: z.optional(z.string()),
  fileSize: z.optional(count()),
  recordingStart: z.optional(isoDateTime),
  recordingEnd: z.optional(isoDateTime),
  downloadUrl: text(),
  status: z.optional(z.string()),
});
export type RecordingFile = z.infer<typeof RecordingFileSchema>;

/**
 * What announced the files: one of Zoom's two recording webhooks, or the reconciler,
 * which lists Zoom's recordings itself — on a schedule (`sweep`) or when asked
 * (`backfill`).
 */
const Trigger = z.enum(['recording.completed', 'recording.transcript_completed', 'sweep', 'backfill']);
export type Trigger = z.infer<typeof Trigger>;

/**
 * Set by the reconciler only. It hands over the whole recording (naming and best-view
 * selection must see every file) but asks for just the accepted files the ledger does
 * not know yet; the others are archived, in flight, or waiting for a person.
 */
export const ReconciliationRequestSchema = z.object({
  runId: text(1, 100),
  /** File ids to request; course validation still decides which files are accepted and under which keys. */
  requestOnly: z.array(text(1, 300)).check(z.maxLength(300)),
});
export type ReconciliationRequest = z.infer<typeof ReconciliationRequestSchema>;

export const RecordingAvailableSchema = z.object({
  metadata: withVersion(DetailType.RecordingAvailable),
  /** The Zoom event that announced the files. */
  trigger: Trigger,
  /** Meeting instance UUID: the recording's identity. */
  recordingId: text(),
  /** Numeric meeting id (shared by every instance of a recurring meeting), as a string. */
  meetingId: text(),
  accountId: z.optional(z.string()),
  hostId: z.optional(z.string()),
  hostEmail: z.optional(z.string()),
  topic: z.string(),
  meetingType: z.optional(z.int()),
  startTime: isoDateTime,
  /** The meeting's IANA time zone, when Zoom sent one. */
  timezone: z.optional(z.string()),
  durationMinutes: z.optional(count()),
  /** Zoom's event_ts as ISO time, and when we accepted the delivery. */
  zoomEventTime: z.optional(isoDateTime),
  receivedAt: isoDateTime,
  /**
   * A recording too large for one bus entry is split by files into parts, each a
   * complete RecordingAvailable for its files; `fileCount` is the whole recording's.
   */
  part: part(),
  fileCount: count(),
  files: z.array(RecordingFileSchema),
  downloadAccess: z.optional(DownloadAccessSchema),
  reconciliation: z.optional(ReconciliationRequestSchema),
});
export type RecordingAvailable = z.infer<typeof RecordingAvailableSchema>;

export const RejectionReason = z.enum(['not_course_meeting', 'no_eligible_file', 'still_processing']);
export type RejectionReason = z.infer<typeof RejectionReason>;

export const RecordingRejectedSchema = z.object({
  metadata: withVersion(DetailType.RecordingRejected),
  recordingId: text(),
  meetingId: text(),
  topic: z.string(),
  course: z.optional(z.string()),
  reason: RejectionReason,
  /** Human-readable explanation, e.g. which files were skipped and why. */
  explanation: z.string(),
});
export type RecordingRejected = z.infer<typeof RecordingRejectedSchema>;

export const FileUploadRequestedSchema = z.object({
  metadata: withVersion(DetailType.FileUploadRequested),
  /** The RecordingAvailable's trigger: a recording's files and its later transcript are announced separately. */
  trigger: Trigger,
  recordingId: text(),
  meetingId: text(),
  course: text(),
  topic: z.string(),
  hostEmail: z.optional(z.string()),
  startTime: isoDateTime,
  file: RecordingFileSchema,
  /** Where the file goes in the archive; deterministic, so a retry finds its own object, never duplicates. An archived object is never replaced. */
  archiveKey: text(1, 1024),
  /** How many files of this RecordingAvailable (trigger + part) were accepted: RecordingArchived waits for all of them. */
  acceptedFileCount: z.int().check(z.positive()),
  part: part(),
  downloadAccess: z.optional(DownloadAccessSchema),
  /** The reconciliation run that asked for the file: its files are announced together (RecordingArchived), apart from other runs'. */
  reconciliationRunId: z.optional(text(1, 100)),
  /** Set when the recovery sweep re-drives a retryable failure by itself: which automatic attempt this is, of how many. */
  autoRetry: z.optional(z.object({ attempt: z.int().check(z.positive()), maxAttempts: z.int().check(z.positive()) })),
  /** Set when a run stopped at its invocation deadline hands the transfer on: the checkpoint (bytes) the next run resumes from. */
  continuedFrom: z.optional(count()),
});
export type FileUploadRequested = z.infer<typeof FileUploadRequestedSchema>;

export const ChecksumSchema = z.object({ algorithm: z.literal('sha256'), value: z.string().check(z.regex(/^[0-9a-f]{64}$/)) });
export type Checksum = z.infer<typeof ChecksumSchema>;

export const ArchiveLocationSchema = z.object({
  kind: z.enum(['s3', 'folder']),
  /** Bucket name (s3) or absolute folder path (folder). */
  container: text(),
  key: text(),
  /** s3://bucket/key or file:///path — for people and links. */
  uri: text(),
});
export type ArchiveLocation = z.infer<typeof ArchiveLocationSchema>;

export const FileUploadedSchema = z.object({
  metadata: withVersion(DetailType.FileUploaded),
  recordingId: text(),
  fileId: text(),
  course: text(),
  fileType: text(),
  recordingType: z.optional(z.string()),
  recordingStart: z.optional(isoDateTime),
  location: ArchiveLocationSchema,
  size: count(),
  checksum: ChecksumSchema,
  /** Wall time of the transfer, in milliseconds. */
  transferMs: z.number().check(z.nonnegative()),
  attempts: z.int().check(z.positive()),
  /** Set when the last attempt continued an interrupted transfer: the byte it resumed at (only the rest was downloaded). */
  resumedFrom: z.optional(count()),
  /** Set when a checkpoint was there but Zoom answered the ranged request with the whole file (no ranges): the last attempt started over from byte 0. */
  rangeRefused: z.optional(z.boolean()),
});
export type FileUploaded = z.infer<typeof FileUploadedSchema>;

export const FailureCode = z.enum([
  'download_failed',
  'not_found',
  'unauthorized',
  'foreign_host',
  'not_media',
  'size_mismatch',
  'archive_failed',
  'timeout',
  'invalid_request',
  /** The archive key already holds different bytes: an archived object is never replaced. */
  'key_conflict',
  /** The transfer could not finish within the time its runs are given (re-driven too often). */
  'deadline',
  /** The ledger refused to record the file (e.g. an entry over its size limit). */
  'ledger_refused',
]);
export type FailureCode = z.infer<typeof FailureCode>;

export const FileUploadFailedSchema = z.object({
  metadata: withVersion(DetailType.FileUploadFailed),
  recordingId: text(),
  fileId: text(),
  course: z.optional(z.string()),
  archiveKey: z.optional(z.string()),
  code: FailureCode,
  /** What went wrong, for a person; never contains a token or secret. */
  reason: z.string(),
  /** Whether re-driving the file later can help (e.g. after Zoom recovers). */
  retryable: z.boolean(),
  attempts: count(),
  /** When the recovery sweep re-drives it by itself (retryable failures, AUTO_RETRY_*); absent: a person decides (`retry`). */
  nextAttemptAt: z.optional(isoDateTime),
});
export type FileUploadFailed = z.infer<typeof FileUploadFailedSchema>;

export const RecordingArchivedSchema = z.object({
  metadata: withVersion(DetailType.RecordingArchived),
  recordingId: text(),
  course: text(),
  part: part(),
  files: z.array(
    z.object({
      fileId: text(),
      location: ArchiveLocationSchema,
      size: count(),
      checksum: ChecksumSchema,
    }),
  ),
});
export type RecordingArchived = z.infer<typeof RecordingArchivedSchema>;

const isoDate = z.string().check(z.regex(/^\d{4}-\d{2}-\d{2}$/, 'must be YYYY-MM-DD'));

/**
 * One reconciliation run (a sweep or a backfill) as the reconciler saw it: what it
 * listed and what it handed over. What became of the files handed over is told by
 * the events that follow them (FileUploaded, FileUploadFailed, RecordingRejected).
 */
export const ReconciliationCompletedSchema = z.object({
  metadata: withVersion(DetailType.ReconciliationCompleted),
  runId: text(1, 100),
  trigger: z.enum(['sweep', 'backfill']),
  /** UTC dates, both included. */
  from: isoDate,
  to: isoDate,
  /** How Zoom was listed: account-wide, or user by user (the token lacked the account-level scope). */
  listing: z.enum(['account', 'users']),
  windows: count(),
  pages: count(),
  apiCalls: count(),
  /** Answers of 429 that were waited out. */
  rateLimited: count(),
  recordingsFound: count(),
  /** Recordings handed to course validation (RecordingAvailable published). */
  recordingsHandedOver: count(),
  /** Files asked for (not yet in the ledger). */
  filesRequested: count(),
  filesAlreadyArchived: count(),
  /** Files in the ledger but not finished (requested or uploading): their run finishes them. */
  filesInProgress: count(),
  /** Files the ledger holds as failed: not asked for again here (`retry` re-drives them). */
  filesFailed: count(),
  /** Recordings that are not a course's or have no eligible file (handed over once, then remembered). */
  recordingsRejected: count(),
  /** Recordings with eligible files Zoom is still processing: examined again by the next run. */
  recordingsStillProcessing: count(),
  /** Windows that could not be listed (after retries); the run is incomplete when there is any. */
  errors: z.array(z.object({ window: text(), message: text(1, 1000) })).check(z.maxLength(50)),
  startedAt: isoDateTime,
  finishedAt: isoDateTime,
});
export type ReconciliationCompleted = z.infer<typeof ReconciliationCompletedSchema>;

/**
 * A recording's verified files, and the files that go to Zoom's trash with it without
 * being archived (the rules did not select them: audio, chat, ...). Zoom keeps its
 * trash 30 days; after that only the archived files remain.
 */
const TrashedRecordingFields = {
  recordingId: text(),
  meetingId: text(),
  topic: z.string(),
  course: text(),
  startTime: isoDateTime,
  /** Every selected file, each verified in the archive (uploaded, checksum recorded) when it was checked. */
  archivedFiles: z
    .array(z.object({ fileId: text(), location: ArchiveLocationSchema, size: count(), checksum: ChecksumSchema }))
    .check(z.maxLength(300)),
  /** Files of the recording the rules did not select: they go to the trash with it, unarchived. */
  otherFiles: z.array(z.object({ fileId: text(), fileType: text(), recordingType: z.optional(z.string()), fileSize: z.optional(count()) })).check(z.maxLength(300)),
  /** When the clean-up was due: the last RecordingArchived + cleanup.delayHours, or the time of a retry after a failed attempt. */
  dueAt: isoDateTime,
};

/** trashInZoom "dry-run": every check passed at the due time; nothing was deleted. */
export const RecordingWouldBeTrashedSchema = z.object({
  metadata: withVersion(DetailType.RecordingWouldBeTrashed),
  ...TrashedRecordingFields,
  checkedAt: isoDateTime,
});
export type RecordingWouldBeTrashed = z.infer<typeof RecordingWouldBeTrashedSchema>;

/** trashInZoom "on": the recording (every file of the meeting instance) is in Zoom's trash. */
export const RecordingTrashedInZoomSchema = z.object({
  metadata: withVersion(DetailType.RecordingTrashedInZoom),
  ...TrashedRecordingFields,
  /** `trashed`: Zoom answered 204; `already_in_trash`: 404/3301 to our repeated DELETE (the first answer was lost). */
  outcome: z.enum(['trashed', 'already_in_trash']),
  trashedAt: isoDateTime,
});
export type RecordingTrashedInZoom = z.infer<typeof RecordingTrashedInZoomSchema>;

/** detail-type -> schema; the single registry used by producers, consumers and the audit. */
export const DetailSchemas = {
  [DetailType.RecordingAvailable]: RecordingAvailableSchema,
  [DetailType.RecordingRejected]: RecordingRejectedSchema,
  [DetailType.FileUploadRequested]: FileUploadRequestedSchema,
  [DetailType.FileUploaded]: FileUploadedSchema,
  [DetailType.FileUploadFailed]: FileUploadFailedSchema,
  [DetailType.RecordingArchived]: RecordingArchivedSchema,
  [DetailType.ReconciliationCompleted]: ReconciliationCompletedSchema,
  [DetailType.RecordingWouldBeTrashed]: RecordingWouldBeTrashedSchema,
  [DetailType.RecordingTrashedInZoom]: RecordingTrashedInZoomSchema,
} as const satisfies Record<DetailTypeName, z.ZodMiniType>;

export type DetailOf<T extends DetailTypeName> = z.infer<(typeof DetailSchemas)[T]>;

/** An event as our code publishes it: the detail-type and its typed detail. */
export type DomainEvent = { [T in DetailTypeName]: { detailType: T; detail: DetailOf<T> } }[DetailTypeName];
