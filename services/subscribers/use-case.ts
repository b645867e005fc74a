/**
 * Subscriber delivery, in two halves that meet at the outbox:
 *
 * - enqueueForSubscribers (the `Subscribers` bus consumer): one message per subscriber
 *   that asked for the event's detail-type, committed to the outbox before the consumer
 *   returns — so the bus acknowledges the event only once every message is durable;
 * - dispatchDue (the dispatcher, one machine): sends the due messages, each
 *   subscriber with its own bounded concurrency (`concurrency`, default 2), so a slow
 *   subscriber holds up nobody else. A retryable outcome (timeout, network error, 408,
 *   429, 5xx) tries again after SUBSCRIBER_RETRY_BASE_SECONDS × 2^(attempt − 1) with
 *   jitter (half to all of it; at most an hour), or after the subscriber's Retry-After
 *   when that is longer; 24 hours after the first attempt the message is given up as
 *   failed. Any other 4xx, a refused target or a redirect fail at once; 410 Gone
 *   disables the subscriber (logged as a warning). `retry --deliveries` re-queues the
 *   failed ones.
 *
 * The cloud runs the same sender and message (services/subscribers/dispatch-handler.ts)
 * over an SQS outbox whose visibility timeout is the back-off.
 */
import { parseDetail, type DetailTypeName } from '../../shared/events';
import type { AppLogger } from '../../shared/logger';
import type { OutboxMessage, SendOutcome, SubscriberOutbox, SubscriberSender } from '../../shared/ports/subscriber-outbox';
import type { SubscriberConfig } from './config';
import { detailTypeOf, outboxMessage, type SubscribableEnvelope } from './message';

export const DEFAULT_RETRY_BASE_MS = 5_000;
export const MAX_RETRY_DELAY_MS = 3_600_000;
export const GIVE_UP_AFTER_MS = 24 * 3_600_000;
/** How long a claimed message is held by one dispatch loop: well over one attempt's timeout. */
export const DEFAULT_LEASE_MS = 60_000;
/** The log line of a message that will not be delivered (a 4xx, a refused target, given up). */
export const DELIVERY_FAILED_MESSAGE = 'subscriber delivery failed';

/**
 * The consumer: stores one message per subscriber that asked for the event's
 * detail-type (none asked: nothing). The detail is checked against its contract first
 * (a broken event is not retried: it is dead-lettered). Returns how many messages it
 * handed to the outbox (one already there is kept as it is).
 */
export async function enqueueForSubscribers(
  event: SubscribableEnvelope,
  subscribers: readonly Pick<SubscriberConfig, 'id' | 'events'>[],
  outbox: SubscriberOutbox,
): Promise<number> {
  const type = detailTypeOf(event);
  const wanting = subscribers.filter((s) => (s.events as readonly string[]).includes(type));
  if (wanting.length === 0) return 0;
  const detail = parseDetail(type as DetailTypeName, event.detail);
  const messages: OutboxMessage[] = wanting.map((s) => outboxMessage({ ...event, detail }, s.id));
  await outbox.enqueue(messages);
  return messages.length;
}

/** A claimed row, as the dispatcher needs it. */
export interface ClaimedMessage {
  subscriberId: string;
  messageId: string;
  message: OutboxMessage;
  /** Attempts made before this one. */
  attempts: number;
  firstAttemptAt: number | null;
}

/** The outbox as the dispatcher uses it (shared/adapters/outbox-sqlite.ts). */
export interface DispatchOutbox {
  claim(subscriberId: string, options: { owner: string; limit: number; leaseMs: number; now?: number }): ClaimedMessage[];
  markDelivered(key: { subscriberId: string; messageId: string }, owner: string, attempt: { attemptedAt: number; status?: number }): boolean;
  markRetry(key: { subscriberId: string; messageId: string }, owner: string, attempt: { attemptedAt: number; status?: number; nextAttemptAt: number; reason: string }): boolean;
  markFailed(key: { subscriberId: string; messageId: string }, owner: string, attempt: { attemptedAt: number; status?: number; reason: string }): boolean;
  release(key: { subscriberId: string; messageId: string }, owner: string): void;
  disable(subscriberId: string, options: { reason: string; status?: number; fingerprint?: string }): number;
}

export interface DispatchDeps {
  outbox: DispatchOutbox;
  sender: SubscriberSender;
  subscribers: readonly SubscriberConfig[];
  logger: AppLogger;
  /** Who holds the claims (one per dispatch loop). */
  owner: string;
  /** SUBSCRIBER_RETRY_BASE_SECONDS in ms; default 5 s. */
  retryBaseMs?: number;
  /** Give up this long after the first attempt; default 24 h. */
  giveUpAfterMs?: number;
  leaseMs?: number;
  now?: () => number;
  random?: () => number;
  /** Aborts the attempts in flight; their messages are released, not counted. */
  signal?: AbortSignal;
}

export interface DispatchReport {
  delivered: number;
  retried: number;
  failed: number;
  /** Subscribers disabled by a 410 Gone. */
  disabled: string[];
  /** Attempts stopped by the signal, given back uncounted. */
  released: number;
}

/** The wait before attempt `attempt + 1`, after `attempt` (1-based) failed: base × 2^(attempt − 1), jittered to half–all of it, at most an hour. */
export function retryDelayMs(attempt: number, baseMs: number, random: () => number = Math.random, retryAfterMs?: number): number {
  const ceiling = Math.min(MAX_RETRY_DELAY_MS, baseMs * 2 ** Math.max(0, attempt - 1));
  const backoff = Math.round(ceiling / 2 + (random() * ceiling) / 2);
  return Math.min(MAX_RETRY_DELAY_MS, Math.max(backoff, retryAfterMs ?? 0));
}

/**
 * Sends every message due now, each subscriber in its own lane with at most
 * `concurrency` attempts in flight, until none is due (or the signal aborts).
 * Resolves with what became of them.
 */
export async function dispatchDue(deps: DispatchDeps): Promise<DispatchReport> {
  const report: DispatchReport = { delivered: 0, retried: 0, failed: 0, disabled: [], released: 0 };
  await Promise.all(deps.subscribers.map((subscriber) => lane(subscriber, deps, report)));
  return report;
}

async function lane(subscriber: SubscriberConfig, deps: DispatchDeps, report: DispatchReport): Promise<void> {
  const inFlight = new Set<Promise<void>>();
  const leaseMs = deps.leaseMs ?? DEFAULT_LEASE_MS;
  const now = deps.now ?? Date.now;
  // One attempt per message per pass: a message due again at once waits for the next pass.
  const attempted = new Set<string>();
  let gone = false;
  for (;;) {
    if (deps.signal?.aborted || gone) break;
    const free = subscriber.concurrency - inFlight.size;
    let claimed = free > 0 ? deps.outbox.claim(subscriber.id, { owner: deps.owner, limit: free, leaseMs, now: now() }) : [];
    const again = claimed.filter((row) => attempted.has(row.messageId));
    for (const row of again) deps.outbox.release(row, deps.owner);
    claimed = claimed.filter((row) => !attempted.has(row.messageId));
    if (again.length > 0 && claimed.length === 0 && inFlight.size === 0) break;
    for (const row of claimed) {
      attempted.add(row.messageId);
      const run = attempt(row, subscriber, deps, report).then((outcome) => {
        if (outcome === 'gone') gone = true;
      });
      const tracked = run.finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
    }
    if (inFlight.size === 0) break;
    if (claimed.length === 0 || inFlight.size >= subscriber.concurrency) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
}

async function attempt(row: ClaimedMessage, subscriber: SubscriberConfig, deps: DispatchDeps, report: DispatchReport): Promise<SendOutcome['outcome'] | 'released'> {
  const now = deps.now ?? Date.now;
  const key = { subscriberId: row.subscriberId, messageId: row.messageId };
  const attemptedAt = now();
  let outcome: SendOutcome;
  try {
    outcome = await deps.sender.send(row.message, { signal: deps.signal });
  } catch (error) {
    outcome = { outcome: 'retry', reason: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
  }
  if (deps.signal?.aborted && outcome.outcome !== 'delivered') {
    deps.outbox.release(key, deps.owner);
    report.released++;
    return 'released';
  }
  const attempts = row.attempts + 1;
  const fields = { subscriberId: subscriber.id, origin: subscriber.origin, messageId: row.messageId, type: row.message.type, attempts };
  switch (outcome.outcome) {
    case 'delivered':
      deps.outbox.markDelivered(key, deps.owner, { attemptedAt, status: outcome.status });
      report.delivered++;
      deps.logger.debug('subscriber delivery done', { ...fields, status: outcome.status });
      return 'delivered';
    case 'gone': {
      const reason = `${subscriber.origin} answered 410 Gone: the subscriber asked to be removed and is disabled`;
      const rows = deps.outbox.disable(subscriber.id, { reason, status: 410, fingerprint: subscriber.fingerprint });
      report.disabled.push(subscriber.id);
      deps.logger.warn('subscriber disabled: it answered 410 Gone; no more messages are sent to it (change its url to deliver to it again)', { ...fields, disabledMessages: rows });
      return 'gone';
    }
    case 'failed':
      deps.outbox.markFailed(key, deps.owner, { attemptedAt, status: outcome.status, reason: outcome.reason });
      report.failed++;
      deps.logger.warn(DELIVERY_FAILED_MESSAGE, { ...fields, status: outcome.status, reason: outcome.reason, retry: 'zoom-archiver retry --deliveries' });
      return 'failed';
    case 'retry': {
      const finished = now();
      const giveUpAt = (row.firstAttemptAt ?? attemptedAt) + (deps.giveUpAfterMs ?? GIVE_UP_AFTER_MS);
      if (finished >= giveUpAt) {
        const reason = `gave up ${Math.round((deps.giveUpAfterMs ?? GIVE_UP_AFTER_MS) / 3_600_000)} h after the first attempt: ${outcome.reason}`;
        deps.outbox.markFailed(key, deps.owner, { attemptedAt, status: outcome.status, reason });
        report.failed++;
        deps.logger.warn(DELIVERY_FAILED_MESSAGE, { ...fields, status: outcome.status, reason, retry: 'zoom-archiver retry --deliveries' });
        return 'failed';
      }
      const delay = retryDelayMs(attempts, deps.retryBaseMs ?? DEFAULT_RETRY_BASE_MS, deps.random, outcome.retryAfterMs);
      const nextAttemptAt = Math.min(finished + delay, giveUpAt);
      deps.outbox.markRetry(key, deps.owner, { attemptedAt, status: outcome.status, reason: outcome.reason, nextAttemptAt });
      report.retried++;
      deps.logger.info('subscriber delivery will be retried', { ...fields, status: outcome.status, reason: outcome.reason, nextAttemptAt: new Date(nextAttemptAt).toISOString() });
      return 'retry';
    }
  }
}
