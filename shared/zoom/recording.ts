/**
 * Zod schemas for a Zoom recording object, the shape Zoom sends in recording webhooks
 * and returns from its recordings REST API (Zoom's webhook reference,
 * https://developers.zoom.us/docs/api/meetings/events/#tag/recording, and the Cloud
 * Recording API, https://developers.zoom.us/docs/api/meetings/#tag/cloud-recording).
 * Only the fields the pipeline needs are checked; unknown fields are ignored, `null`
 * is read as absent (Zoom sends nulls for some optional fields), and the types are
 * strict: a mistyped field is refused, so a malformed recording is never
 * half-understood. zod/mini keeps the bundles small.
 */
import * as z from 'zod/mini';

/** Absent or null => undefined. */
export const optional = <T extends z.ZodMiniType>(schema: T) =>
  z.pipe(
    z.nullish(schema),
    z.transform((value: z.output<T> | null | undefined): z.output<T> | undefined => value ?? undefined),
  );
export const text = (min: number, max: number) => z.string().check(z.minLength(min), z.maxLength(max));
export const count = () => z.int().check(z.nonnegative());
export const isoTime = z.iso.datetime({ offset: true });

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
