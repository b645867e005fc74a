/**
 * SubscriberOutbox on Amazon SQS (the cloud's outbox; one machine uses
 * outbox-sqlite.ts): one SQS message per (event, subscriber), body = the
 * OutboxMessage as JSON, consumed by the dispatch Lambda
 * (services/subscribers/dispatch-handler.ts), which retries by visibility timeout.
 *
 * - SendMessageBatch, 10 entries and 256 KiB per call. SendMessageBatch is not
 *   all-or-nothing: it answers 200 with `Failed` entries, so only those are sent again
 *   (with backoff); an entry SQS blames on the sender (`SenderFault`) is not retried.
 *   If any entry is still refused after the last attempt, enqueue throws
 *   OutboxEnqueueError: the consumer's invocation fails and EventBridge/Lambda retry the
 *   whole event, whose messages already accepted are then sent a second time.
 * - A standard queue: no MessageDeduplicationId (FIFO queues only, and their 300
 *   messages/s without batching would be the only FIFO gain). A message can therefore
 *   reach a subscriber twice (an event retried after a partial enqueue, SQS's own
 *   at-least-once delivery); the subscriber dedupes on `webhook-id`, which is the bus
 *   event id, the same on every copy. Within one call, the port's "same id and
 *   subscriber is kept once" holds: duplicates are dropped before sending.
 * - Size: an event detail is at most 240 KB (shared/events/limits.ts), so a message
 *   fits SQS's 256 KiB; one that would not (a detail from elsewhere) fails loudly with
 *   OutboxMessageTooLargeError naming the event and subscriber, never silently truncated.
 * - SQS accepts only XML characters in a body; JSON.stringify escapes control
 *   characters but not U+FFFE/U+FFFF, so those are written as \uFFFE / \uFFFF escapes
 *   (the same JSON once parsed).
 *
 * Messages hold ids and the event detail only, never a subscriber's secret
 * (shared/ports/subscriber-outbox.ts).
 */
import { SendMessageBatchCommand, type SendMessageBatchRequestEntry, type SQSClient } from '@aws-sdk/client-sqs';
import { ArchiverError } from '../errors';
import type { OutboxMessage, SubscriberOutbox } from '../ports/subscriber-outbox';
import { backoffDelay, sleep, type BackoffOptions } from '../retry';

/** SQS limits: 10 entries per SendMessageBatch, 256 KiB per message and per batch (bodies together). */
export const SQS_MAX_BATCH_ENTRIES = 10;
export const SQS_MAX_MESSAGE_BYTES = 256 * 1024;

/** A message that cannot be sent as it is: retrying the same event cannot help. */
export class OutboxMessageTooLargeError extends ArchiverError {
  readonly retryable = false;
}

/** SQS refused (or never answered for) some messages after the last attempt. */
export class OutboxEnqueueError extends ArchiverError {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly failedCount: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface SqsSubscriberOutboxOptions {
  client: Pick<SQSClient, 'send'>;
  queueUrl: string;
  /** Attempts per entry, including the first. Default 4. */
  maxAttempts?: number;
  backoff?: BackoffOptions;
}

/** The SQS body of a message: its JSON, with the two non-characters SQS refuses escaped. */
export function outboxMessageBody(message: OutboxMessage): string {
  return JSON.stringify(message).replace(/[\uFFFE\uFFFF]/g, (c) => `\\u${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export class SqsSubscriberOutbox implements SubscriberOutbox {
  private readonly maxAttempts: number;
  private readonly backoff: BackoffOptions;

  constructor(private readonly options: SqsSubscriberOutboxOptions) {
    this.maxAttempts = options.maxAttempts ?? 4;
    this.backoff = options.backoff ?? { baseMs: 100, maxMs: 800 };
  }

  async enqueue(messages: readonly OutboxMessage[]): Promise<void> {
    const seen = new Set<string>();
    const bodies: { message: OutboxMessage; body: string }[] = [];
    for (const message of messages) {
      const key = JSON.stringify([message.id, message.subscriberId]);
      if (seen.has(key)) continue;
      seen.add(key);
      const body = outboxMessageBody(message);
      const bytes = Buffer.byteLength(body, 'utf8');
      if (bytes > SQS_MAX_MESSAGE_BYTES) {
        throw new OutboxMessageTooLargeError(
          `the ${message.type} message of event ${message.id} for subscriber ${message.subscriberId} is ${bytes} bytes, ` +
            `over SQS's ${SQS_MAX_MESSAGE_BYTES} bytes per message; it cannot be queued`,
        );
      }
      bodies.push({ message, body });
    }
    for (const batch of sqsBatches(bodies.map(({ body }) => body))) await this.sendWithRetries(batch);
  }

  private async sendWithRetries(bodies: string[]): Promise<void> {
    let pending: SendMessageBatchRequestEntry[] = bodies.map((body, i) => ({ Id: `m${i}`, MessageBody: body }));
    const total = pending.length;
    let lastError: unknown;
    let lastCodes: string[] = [];
    for (let attempt = 1; attempt <= this.maxAttempts && pending.length > 0; attempt++) {
      if (attempt > 1) await sleep(backoffDelay(attempt - 1, this.backoff));
      try {
        const response = await this.options.client.send(new SendMessageBatchCommand({ QueueUrl: this.options.queueUrl, Entries: pending }));
        const accepted = new Set((response.Successful ?? []).map((entry) => entry.Id));
        const failed = response.Failed ?? [];
        const senderFault = failed.filter((entry) => entry.SenderFault);
        if (senderFault.length > 0) {
          throw new OutboxEnqueueError(
            `SQS refused ${senderFault.length} of ${total} subscriber messages as invalid (${[...new Set(senderFault.map((entry) => entry.Code))].join(', ')})`,
            false,
            senderFault.length,
          );
        }
        lastCodes = failed.map((entry) => entry.Code ?? 'unknown');
        // Neither Successful nor Failed: no answer for that entry, so it is sent again.
        pending = pending.filter((entry) => !accepted.has(entry.Id));
      } catch (error) {
        if (error instanceof OutboxEnqueueError) throw error;
        lastError = error;
        lastCodes = [];
      }
    }
    if (pending.length === 0) return;
    const why = lastCodes.length > 0 ? `entry errors: ${[...new Set(lastCodes)].join(', ')}` : `request failed: ${(lastError as Error | undefined)?.name ?? 'no answer'}`;
    throw new OutboxEnqueueError(`${pending.length} of ${total} subscriber messages not accepted by SQS after ${this.maxAttempts} attempts (${why})`, true, pending.length, {
      cause: lastError,
    });
  }
}

/** Splits bodies into SendMessageBatch calls within the count and size limits. */
export function sqsBatches(bodies: readonly string[]): string[][] {
  const result: string[][] = [];
  let current: string[] = [];
  let currentBytes = 0;
  for (const body of bodies) {
    const bytes = Buffer.byteLength(body, 'utf8');
    if (current.length === SQS_MAX_BATCH_ENTRIES || (current.length > 0 && currentBytes + bytes > SQS_MAX_MESSAGE_BYTES)) {
      result.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(body);
    currentBytes += bytes;
  }
  if (current.length > 0) result.push(current);
  return result;
}
