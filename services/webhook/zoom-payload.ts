/**
 * Zod schemas for what Zoom POSTs to the webhook (shapes from Zoom's webhook reference,
 * https://developers.zoom.us/docs/api/meetings/events/#tag/recording). Only the fields the
 * pipeline needs are checked; unknown fields are ignored, `null` is read as absent
 * (Zoom sends nulls for some optional fields), and the types are strict: a mistyped
 * field is a 400, so a malformed delivery is never half-understood. zod/mini keeps
 * the webhook's bundle small.
 */
import * as z from 'zod/mini';
import { MAX_DOWNLOAD_TOKEN_CHARS, count, optional, text } from '../../shared/zoom/recording';

export {
  MAX_DOWNLOAD_TOKEN_CHARS,
  MAX_RECORDING_FILES,
  MAX_TOPIC_CHARS,
  RecordingPayloadSchema,
  type RecordingPayload,
  type ZoomRecordingFile,
  type ZoomRecordingObject,
} from '../../shared/zoom/recording';

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
