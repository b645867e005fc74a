/**
 * One subscriber message from one bus event, and its Standard Webhooks signature
 * (https://www.standardwebhooks.com, signed with the `standardwebhooks` package):
 *
 *   POST <url>
 *   content-type: application/json
 *   user-agent: zoom-archiver (+https://www.standardwebhooks.com)
 *   webhook-id: <the bus event id — the same on every retry: receivers dedupe on it>
 *   webhook-timestamp: <seconds, the time of this attempt>
 *   webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}", keyed with base64-decode(secret after "whsec_")>
 *
 *   {"type":"FileUploaded","timestamp":"2026-11-26T10:02:11.123Z","data":{…the event's detail…}}
 *
 * The body is the same bytes on every attempt; only the timestamp and signature change.
 */
import { Webhook } from 'standardwebhooks';
import type { OutboxMessage } from '../../shared/ports/subscriber-outbox';

export const USER_AGENT = 'zoom-archiver (+https://www.standardwebhooks.com)';

/**
 * What a message is made from: a bus event, as an envelope (the local bus's and
 * EventBridge's share these fields) or parsed (shared/events parseEvent).
 */
export type SubscribableEnvelope =
  | { id: string; time: string; 'detail-type': string; detail: unknown }
  | { id: string; time: string; detailType: string; detail: unknown };

/** The detail-type of either shape. */
export const detailTypeOf = (event: SubscribableEnvelope): string => ('detailType' in event ? event.detailType : event['detail-type']);

/** The message for one subscriber: `id` is the bus event id (stable on every retry), `type` its detail-type, `data` its detail. */
export function outboxMessage(event: SubscribableEnvelope, subscriberId: string): OutboxMessage {
  return { id: event.id, subscriberId, type: detailTypeOf(event), timestamp: new Date(event.time).toISOString(), data: event.detail };
}

/** The Standard Webhooks body: `{"type", "timestamp", "data"}`. */
export function messageBody(message: OutboxMessage): string {
  return JSON.stringify({ type: message.type, timestamp: message.timestamp, data: message.data });
}

/** The headers of one signed attempt at `at` (the signature covers id, the attempt's timestamp in seconds, and `body`). */
export function signedHeaders(message: OutboxMessage, body: string, secret: string, at: Date): Record<string, string> {
  return {
    'content-type': 'application/json',
    'user-agent': USER_AGENT,
    'webhook-id': message.id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign(message.id, at, body),
  };
}
