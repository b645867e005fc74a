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
import type { DeliveryGuard } from '../../shared/ports/delivery-guard';
import type { EventPublisher } from '../../shared/ports/event-publisher';
import { normalizeRecording } from '../../shared/zoom/normalize';
import { checkSignatureHeaders, urlValidationAnswer, verifySignature } from './signature';
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
  /**
   * Zoom's `x-zm-trackingid`. Not covered by the signature, so it is only logged
   * (shortened) to help match Zoom's delivery logs, never used as an id.
   */
  trackingId: string | undefined;
}

export interface WebhookDeps {
  secretToken: string;
  maxSkewSeconds: number;
  publisher: EventPublisher;
  sealer: TokenSealer;
  /** Remembers kept deliveries, so the same signed bytes sent again publish nothing. */
  deliveries: DeliveryGuard;
  logger: AppLogger;
  now: () => Date;
}

export interface WebhookAnswer {
  status: 200 | 400 | 401 | 500;
  body: Record<string, unknown>;
}

const answer = (status: WebhookAnswer['status'], body: Record<string, unknown>): WebhookAnswer => ({ status, body });
const refuse = (status: 400 | 401, error: string, message: string) => answer(status, { error, message });

/** Longest header value written to a log line: unauthenticated requests must not fill the log. */
export const MAX_LOGGED_HEADER_CHARS = 64;
export function loggedHeader(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return value.length <= MAX_LOGGED_HEADER_CHARS ? value : `${value.slice(0, MAX_LOGGED_HEADER_CHARS)}…(${value.length} chars)`;
}

/**
 * The checks that need no body (signature headers present and well-formed, timestamp
 * in the window), for the HTTP layer to run before it reads the body. Undefined when
 * they pass; otherwise the 401 to send.
 */
export function refuseBeforeBody(delivery: Omit<WebhookDelivery, 'rawBody'>, deps: Pick<WebhookDeps, 'maxSkewSeconds' | 'logger' | 'now'>): WebhookAnswer | undefined {
  const check = checkSignatureHeaders(delivery, { nowMs: deps.now().getTime(), maxSkewSeconds: deps.maxSkewSeconds });
  if (check.ok) return undefined;
  deps.logger.warn('webhook refused before reading the body', { reason: check.reason, unsignedTrackingId: loggedHeader(delivery.trackingId) });
  return refuse(401, 'unauthorized', check.reason);
}

export async function handleWebhookDelivery(delivery: WebhookDelivery, deps: WebhookDeps): Promise<WebhookAnswer> {
  const receivedAt = deps.now();
  // Every request is authenticated before its body is parsed, url_validation included:
  // Zoom signs it, and its answer is an HMAC under the same secret as a signature.
  const check = verifySignature(delivery, deps.secretToken, { nowMs: receivedAt.getTime(), maxSkewSeconds: deps.maxSkewSeconds });
  if (!check.ok) {
    deps.logger.warn('webhook refused: bad signature', { reason: check.reason, unsignedTrackingId: loggedHeader(delivery.trackingId) });
    return refuse(401, 'unauthorized', check.reason);
  }

  const parsed = parseEnvelope(delivery.rawBody);
  if (!parsed.ok) {
    deps.logger.warn('webhook refused: malformed body', { reason: parsed.message });
    return refuse(400, 'bad_request', parsed.message);
  }
  const envelope = parsed.envelope;

  if (envelope.event === ZoomEvent.UrlValidation) {
    const payload = UrlValidationPayloadSchema.safeParse(envelope.payload);
    if (!payload.success) return refuse(400, 'bad_request', describe(payload.error, 'payload'));
    deps.logger.info('answered endpoint.url_validation');
    return answer(200, urlValidationAnswer(payload.data.plainToken, deps.secretToken));
  }

  if (envelope.event === ZoomEvent.RecordingCompleted || envelope.event === ZoomEvent.TranscriptCompleted) {
    return acceptRecording(envelope, envelope.event, delivery, receivedAt, deps);
  }
  const kind = ACKNOWLEDGED_RECORDING_EVENTS.has(envelope.event) ? 'acknowledged' : 'unknown';
  deps.logger.info(`ignored ${kind} Zoom event`, { event: envelope.event });
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
    deps.logger.warn('webhook refused: invalid recording payload', { reason: message });
    return refuse(400, 'bad_request', message);
  }
  const object = payload.data.object;
  const logFields = {
    recordingId: object.uuid,
    meetingId: String(object.id),
    files: object.recording_files.length,
    trigger,
    unsignedTrackingId: loggedHeader(delivery.trackingId),
  };

  // The same signed bytes again (a replay inside the window): kept once already.
  const deliveryKey = createHash('sha256').update(delivery.signature!).digest('hex');
  const windowEndsAt = (Number(delivery.timestamp) + deps.maxSkewSeconds) * 1000 + 1000;
  let firstTime: boolean;
  try {
    firstTime = await deps.deliveries.claim(deliveryKey, windowEndsAt, receivedAt.getTime());
  } catch (error) {
    deps.logger.error('could not check the delivery against earlier ones; answering 500 so that Zoom retries', { ...logFields, error: errorText(error) });
    return answer(500, { error: 'publish_failed', message: 'the recording could not be queued; please retry' });
  }
  if (!firstTime) {
    deps.logger.warn('identical delivery seen before inside the timestamp window: published nothing', logFields);
    return answer(200, { status: 'duplicate', recordingId: object.uuid });
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
      causationId: causationIdOf(object.uuid, envelope.event_ts),
    },
    deps.sealer,
  );
  // Every publisher checks each event against its contract before keeping any, so an
  // event that breaks it fails the publish below: answered 500, never acknowledged.
  const events: DomainEvent[] = details.map((detail) => ({ detailType: DetailType.RecordingAvailable, detail }));
  try {
    await deps.publisher.publish(events);
  } catch (error) {
    // Not kept => not acknowledged: Zoom retries, and the pipeline de-duplicates.
    await deps.deliveries.release(deliveryKey).catch(() => undefined);
    deps.logger.error('publishing RecordingAvailable failed; answering 500 so that Zoom retries', {
      ...logFields,
      correlationId,
      error: errorText(error),
    });
    return answer(500, { error: 'publish_failed', message: 'the recording could not be queued; please retry' });
  }
  deps.logger.info('recording accepted', { ...logFields, correlationId, parts: events.length });
  return answer(200, { status: 'accepted', recordingId: object.uuid, correlationId });
}

const errorText = (error: unknown) => (error instanceof Error ? `${error.name}: ${error.message}` : String(error));

/**
 * The delivery's causation id, from signed fields only (the meeting instance and
 * Zoom's event time); hashed when too long for the metadata.
 */
function causationIdOf(uuid: string, eventTs: number | undefined): string {
  const id = `zoom:${uuid}@${eventTs ?? 'unknown'}`;
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
