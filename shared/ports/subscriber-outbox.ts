/**
 * Ports of subscriber delivery: the outbox the subscribers consumer commits one
 * message per (event, subscriber) to before the event counts as handled, and the
 * sender that delivers one message over HTTP.
 *
 * Adapters:
 * - one machine: shared/adapters/outbox-sqlite.ts (DATA_DIR/outbox.sqlite) — also the
 *   dispatcher's store (due messages, back-off, status, `retry --deliveries`);
 * - cloud: shared/adapters/outbox-sqs.ts — an SQS queue the dispatch Lambda consumes
 *   (retries by visibility timeout, then a dead-letter queue).
 * Sender: shared/adapters/subscriber-http.ts (Standard Webhooks signing or a Slack
 * message; https only except loopback, private ranges refused unless allowed, no
 * redirects, a timeout).
 *
 * Secrets: a message names its subscriber by id; the secret is looked up from the
 * configuration at send time, never stored in the outbox, an event, a log or an error.
 */

/** One message for one subscriber. `id` is the bus event id: the same on every retry (Standard Webhooks `webhook-id`). */
export interface OutboxMessage {
  id: string;
  /** SubscriberConfig.id */
  subscriberId: string;
  /** The event's detail-type (Standard Webhooks `type`). */
  type: string;
  /** The event's time, ISO 8601. */
  timestamp: string;
  /** The event's detail, as published (it never holds a token in clear). */
  data: unknown;
}

export interface SubscriberOutbox {
  /** Commits the messages; a message already there (same id and subscriber) is kept as it is. Resolves once durable. */
  enqueue(messages: readonly OutboxMessage[]): Promise<void>;
}

/** What one HTTP delivery attempt came to. */
export type SendOutcome =
  | { outcome: 'delivered'; status: number }
  /** Timeout, connection failure, 5xx, 429: worth another attempt, after `retryAfterMs` when the subscriber said so. */
  | { outcome: 'retry'; status?: number; reason: string; retryAfterMs?: number }
  /** Any other 4xx, or a target refused before connecting (not https, a private address): not retried. */
  | { outcome: 'failed'; status?: number; reason: string }
  /** 410 Gone: the subscriber asked to be removed; it is disabled with a warning. */
  | { outcome: 'gone'; status: 410 };

export interface SubscriberSender {
  send(message: OutboxMessage, options?: { signal?: AbortSignal }): Promise<SendOutcome>;
}
