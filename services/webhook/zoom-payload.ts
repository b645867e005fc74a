/**
 * Zod schemas for what Zoom POSTs to the webhook (shapes from Zoom's webhook reference,
 * https://developers.zoom.us/docs/api/meetings/events/#tag/recording). Only the fields the
 * pipeline needs are checked; unknown fields are ignored, `null` is read as absent
 * (Zoom sends nulls for some optional fields), and the types are strict: a mistyped
 * field is a 400, so a malformed delivery is never half-understood. zod/mini keeps
 * the webhook's bundle small.
 */
import * as z from 'zod/mini';

/** Absent or null => undefined. */
const optional = <T extends z.ZodMiniType>(schema: T) =>
  z.pipe(
    z.nullish(schema),
    z.transform((value: z.output<T> | null | undefined): z.output<T> | undefined => value ?? undefined),
  );
const text = (min: number, max: number) => z.string().check(z.minLength(min), z.maxLength(max));
const count = () => z.int().check(z.nonnegative());
const isoTime = z.iso.datetime({ offset: true });

/**
 * What one delivery may carry. Zoom keeps at most 150 files per recorded session and
 * limits a meeting's topic to 200 characters (Zoom API reference, "Create a meeting":
 * https://developers.zoom.us/docs/api/meetings/#tag/meetings/POST/users/{userId}/meetings);
 * the bounds leave room above both and keep one signed delivery from costing the
 * pipeline more than a few MB (the topic is copied into each file's request, audit
 * record and ledger entry). A payload beyond them is refused with 400, not truncated.
 */
export const MAX_RECORDING_FILES = 300;
export const MAX_TOPIC_CHARS = 1_000;
/** Zoom's download_token is a JWT of well under 2 KB. */
export const MAX_DOWNLOAD_TOKEN_CHARS = 4_096;

export const ZoomEnvelopeSchema = z.object({
  event: text(1, 200),
  event_ts: optional(count()),
  payload: z.record(z.string(), z.unknown()),
  download_token: optional(text(0, MAX_DOWNLOAD_TOKEN_CHARS)),
});
export type ZoomEnvelope = z.output<typeof ZoomEnvelopeSchema>;

/**
 * Zoom's plainToken is a short random base64url string (e.g. `qgg8vlvZRS6UYooatFL8Aw`).
 * Anything else — in particular text shaped like `v0:{ts}:{body}` — is refused, so
 * the answer can never serve as a signature of a chosen message.
 */
export const PLAIN_TOKEN_FORMAT = /^[A-Za-z0-9_-]{8,128}={0,2}$/;
export const UrlValidationPayloadSchema = z.object({
  plainToken: z.string().check(z.regex(PLAIN_TOKEN_FORMAT, 'must be 8 to 128 base64url characters, as Zoom sends')),
});

export const ZoomRecordingFileSchema = z.object({
  id: optional(text(1, 200)),
  recording_start: optional(isoTime),
  recording_end: optional(isoTime),
  file_type: text(1, 100),
  file_size: optional(count()),
  file_extension: optional(text(0, 20)),
  download_url: text(1, 4096),
  status: optional(text(0, 100)),
  recording_type: optional(text(0, 200)),
});
export type ZoomRecordingFile = z.output<typeof ZoomRecordingFileSchema>;

export const ZoomRecordingObjectSchema = z.object({
  uuid: text(1, 200),
  id: z.union([count(), z.string().check(z.regex(/^\d{1,20}$/))]),
  account_id: optional(text(0, 200)),
  host_id: optional(text(0, 200)),
  host_email: optional(text(0, 320)),
  topic: text(0, MAX_TOPIC_CHARS),
  type: optional(z.int()),
  start_time: isoTime,
  timezone: optional(text(0, 100)),
  duration: optional(count()),
  recording_files: z.array(ZoomRecordingFileSchema).check(z.maxLength(MAX_RECORDING_FILES, `at most ${MAX_RECORDING_FILES} files per recording (Zoom keeps at most 150 per session)`)),
});
export type ZoomRecordingObject = z.output<typeof ZoomRecordingObjectSchema>;

export const RecordingPayloadSchema = z.object({
  account_id: optional(text(0, 200)),
  object: ZoomRecordingObjectSchema,
});
export type RecordingPayload = z.output<typeof RecordingPayloadSchema>;

/** Zoom events this product acts on, ignores on purpose, or answers. */
export const ZoomEvent = {
  UrlValidation: 'endpoint.url_validation',
  RecordingCompleted: 'recording.completed',
  TranscriptCompleted: 'recording.transcript_completed',
} as const;

/** Recording lifecycle events acknowledged and logged, but not acted on (see README). */
export const ACKNOWLEDGED_RECORDING_EVENTS = new Set([
  'recording.trashed',
  'recording.deleted',
  'recording.recovered',
  'recording.batch_trashed',
  'recording.batch_deleted',
  'recording.batch_recovered',
]);
