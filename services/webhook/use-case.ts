/**
 * The webhook use case: authenticate, parse, normalize, publish, answer. No other
 * I/O, so Zoom's 3-second limit holds whatever the recording's size. The HTTP layer
 * (Hono, shared by Lambda and the single-machine server) only hands over raw bytes
 * and headers and writes back the answer.
 */
import { createHash, randomUUID } from 'node:crypto';
import type * as z from 'zod/mini';
import type { TokenSealer } from '../../shared/crypto/token-seal';
import { DetailType, type DomainEvent } from '../../shared/events';
import type { AppLogger } from '../../shared/logger';
import type { EventPublisher } from '../../shared/ports/event-publisher';
import { normalizeRecording } from './normalize';
import { urlValidationAnswer, verifySignature } from './signature';
import {
  ACKNOWLEDGED_RECORDING_EVENTS,
  RecordingPayloadSchema,
  UrlValidationPayloadSchema,
  ZoomEnvelopeSchema,
  ZoomEvent,
  type ZoomEnvelope,
} from './zoom-payload';

export interface WebhookDelivery {
  rawBody: Buffer;
  signature: string | undefined;
  timestamp: string | undefined;
  /** Zoom's `x-zm-trackingid`, used as the delivery's causation id when present. */
  trackingId: string | undefined;
}

export interface WebhookDeps {
  secretToken: string;
  maxSkewSeconds: number;
  publisher: EventPublisher;
  sealer: TokenSealer;
  logger: AppLogger;
  now: () => Date;
}

export interface WebhookAnswer {
  status: 200 | 400 | 401 | 500;
  body: Record<string, unknown>;
}

const answer = (status: WebhookAnswer['status'], body: Record<string, unknown>): WebhookAnswer => ({ status, body });
const refuse = (status: 400 | 401, error: string, message: string) => answer(status, { error, message });

export async function handleWebhookDelivery(delivery: WebhookDelivery, deps: WebhookDeps): Promise<WebhookAnswer> {
  const receivedAt = deps.now();
  const hasSignature = delivery.signature !== undefined || delivery.timestamp !== undefined;
  if (hasSignature) {
    const check = verifySignature(delivery, deps.secretToken, { nowMs: receivedAt.getTime(), maxSkewSeconds: deps.maxSkewSeconds });
    if (!check.ok) {
      deps.logger.warn('webhook refused: bad signature', { reason: check.reason, trackingId: delivery.trackingId });
      return refuse(401, 'unauthorized', check.reason);
    }
  }

  const parsed = parseEnvelope(delivery.rawBody);
  if (!parsed.ok) {
    // Without a signature we say nothing about the body: 401 first.
    if (!hasSignature) return refuse(401, 'unauthorized', 'missing x-zm-signature header');
    deps.logger.warn('webhook refused: malformed body', { reason: parsed.message, trackingId: delivery.trackingId });
    return refuse(400, 'bad_request', parsed.message);
  }
  const envelope = parsed.envelope;

  if (envelope.event === ZoomEvent.UrlValidation) {
    const payload = UrlValidationPayloadSchema.safeParse(envelope.payload);
    if (!payload.success) return refuse(400, 'bad_request', describe(payload.error, 'payload'));
    deps.logger.info('answered endpoint.url_validation', { signed: hasSignature });
    return answer(200, urlValidationAnswer(payload.data.plainToken, deps.secretToken));
  }

  // Every other event must be signed.
  if (!hasSignature) return refuse(401, 'unauthorized', 'missing x-zm-signature header');

  if (envelope.event === ZoomEvent.RecordingCompleted || envelope.event === ZoomEvent.TranscriptCompleted) {
    return acceptRecording(envelope, envelope.event, delivery, receivedAt, deps);
  }
  const kind = ACKNOWLEDGED_RECORDING_EVENTS.has(envelope.event) ? 'acknowledged' : 'unknown';
  deps.logger.info(`ignored ${kind} Zoom event`, { event: envelope.event, trackingId: delivery.trackingId });
  return answer(200, { status: 'ignored', event: envelope.event });
}

async function acceptRecording(
  envelope: ZoomEnvelope,
  trigger: typeof ZoomEvent.RecordingCompleted | typeof ZoomEvent.TranscriptCompleted,
  delivery: WebhookDelivery,
  receivedAt: Date,
  deps: WebhookDeps,
): Promise<WebhookAnswer> {
  const payload = RecordingPayloadSchema.safeParse(envelope.payload);
  if (!payload.success) {
    const message = describe(payload.error, 'payload');
    deps.logger.warn('webhook refused: invalid recording payload', { reason: message, trackingId: delivery.trackingId });
    return refuse(400, 'bad_request', message);
  }
  const correlationId = randomUUID();
  const details = normalizeRecording(
    {
      trigger,
      payload: payload.data,
      eventTs: envelope.event_ts,
      downloadToken: envelope.download_token,
      receivedAt,
      correlationId,
      causationId: causationIdOf(delivery, payload.data.object.uuid, envelope.event_ts),
    },
    deps.sealer,
  );
  // Every publisher checks each event against its contract before keeping any, so an
  // event that breaks it fails the publish below: answered 500, never acknowledged.
  const events: DomainEvent[] = details.map((detail) => ({ detailType: DetailType.RecordingAvailable, detail }));
  const logFields = {
    correlationId,
    recordingId: payload.data.object.uuid,
    meetingId: String(payload.data.object.id),
    files: payload.data.object.recording_files.length,
    parts: events.length,
    trigger,
  };
  try {
    await deps.publisher.publish(events);
  } catch (error) {
    // Not kept => not acknowledged: Zoom retries, and the pipeline de-duplicates.
    deps.logger.error('publishing RecordingAvailable failed; answering 500 so that Zoom retries', {
      ...logFields,
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    });
    return answer(500, { error: 'publish_failed', message: 'the recording could not be queued; please retry' });
  }
  deps.logger.info('recording accepted', logFields);
  return answer(200, { status: 'accepted', recordingId: payload.data.object.uuid, correlationId });
}

/** Zoom's tracking id, else uuid@event_ts; hashed when too long for the metadata (the header is not signed). */
function causationIdOf(delivery: WebhookDelivery, uuid: string, eventTs: number | undefined): string {
  const id = `zoom:${delivery.trackingId ?? `${uuid}@${eventTs ?? 'unknown'}`}`;
  return id.length <= MAX_CAUSATION_ID ? id : `zoom:sha256:${createHash('sha256').update(id).digest('hex')}`;
}
const MAX_CAUSATION_ID = 200;

type EnvelopeResult = { ok: true; envelope: ZoomEnvelope } | { ok: false; message: string };

function parseEnvelope(rawBody: Buffer): EnvelopeResult {
  if (rawBody.length === 0) return { ok: false, message: 'empty body; expected a Zoom event as JSON' };
  let text = rawBody.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // tolerate a UTF-8 byte-order mark
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, message: 'body is not valid JSON' };
  }
  const envelope = ZoomEnvelopeSchema.safeParse(json);
  if (!envelope.success) return { ok: false, message: describe(envelope.error, 'body') };
  return { ok: true, envelope: envelope.data };
}

/** A short, value-free description of what is wrong (field paths and expectations only). */
function describe(error: z.core.$ZodError, root: string): string {
  const issues = error.issues.slice(0, 3).map((issue) => {
    const path = [root, ...issue.path.map(String)].join('.');
    return `${path}: ${issue.message}`;
  });
  const more = error.issues.length > 3 ? ` (+${error.issues.length - 3} more)` : '';
  return `invalid Zoom event: ${issues.join('; ')}${more}`;
}
