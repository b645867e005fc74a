/**
 * When the cloud dispatcher (dispatch-handler.ts) tries a subscriber message again, and
 * when it stops: pure functions of the message's receive count, its first receive and
 * the subscriber's Retry-After, shared with the CDK construct, which sizes the outbox
 * queue's maxReceiveCount from the same schedule (infrastructure/constructs/subscriber-delivery.ts).
 *
 * - The n-th receive that ends `retry` waits SUBSCRIBER_RETRY_BASE_SECONDS × 2^(n − 1)
 *   (5 s, 10 s, 20 s, … by default), or the subscriber's Retry-After when that is
 *   longer, at most MAX_RETRY_DELAY_SECONDS (SQS's 12 h visibility limit, counted from
 *   the receive, less a margin for the time between the receive and the call).
 * - A message is given up SUBSCRIBER_GIVE_UP_HOURS (24) after its first receive: the
 *   last wait is shortened to end at that moment, so the last attempt is made then,
 *   and a `retry` after it gives up.
 * The same schedule as one machine's dispatcher (services/subscribers/use-case.ts),
 * but without its jitter (the wait is exact, which SQS makes cheap to test and to
 * reason about) and with waits up to 12 h instead of 1 h: each wait is a
 * ChangeMessageVisibility, and 24 h of doubling takes 16 receives from 5 s.
 */

/** The log line of a message that will not be delivered (a 4xx, a refused target, given up), the same on one machine; an alarm counts them. */
export { DELIVERY_FAILED_MESSAGE } from './use-case';

/** The same default as one machine's dispatcher (host/config.ts). */
export const DEFAULT_RETRY_BASE_SECONDS = 5;
export const DEFAULT_GIVE_UP_HOURS = 24;
/** SQS: a message's visibility timeout can be at most 12 hours from its receive. */
export const SQS_MAX_VISIBILITY_SECONDS = 12 * 3600;
/** Left of the 12 h for the time between SQS handing the batch to Lambda and the ChangeMessageVisibility call. */
export const VISIBILITY_MARGIN_SECONDS = 5 * 60;
export const MAX_RETRY_DELAY_SECONDS = SQS_MAX_VISIBILITY_SECONDS - VISIBILITY_MARGIN_SECONDS;

export interface RetryPolicy {
  baseSeconds: number;
  giveUpHours: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { baseSeconds: DEFAULT_RETRY_BASE_SECONDS, giveUpHours: DEFAULT_GIVE_UP_HOURS };

/** The back-off after the `receiveCount`-th receive (1-based) ended `retry`, before the give-up window is applied. */
export function backoffSeconds(receiveCount: number, policy: RetryPolicy, retryAfterMs?: number): number {
  const doubling = policy.baseSeconds * 2 ** (Math.max(1, Math.floor(receiveCount)) - 1);
  const asked = retryAfterMs !== undefined && retryAfterMs > 0 ? Math.ceil(retryAfterMs / 1000) : 0;
  return Math.min(Math.max(doubling, asked), MAX_RETRY_DELAY_SECONDS);
}

export type RetryDecision = { action: 'retry'; delaySeconds: number } | { action: 'give-up'; afterHours: number };

/**
 * What to do with a message whose attempt ended `retry`: wait (a visibility timeout in
 * whole seconds, at least 1), or give up because its window since `firstReceiveMs` is over.
 */
export function retryDecision(input: { receiveCount: number; firstReceiveMs: number; nowMs: number; retryAfterMs?: number }, policy: RetryPolicy): RetryDecision {
  const giveUpAtMs = input.firstReceiveMs + policy.giveUpHours * 3600_000;
  if (input.nowMs >= giveUpAtMs) return { action: 'give-up', afterHours: policy.giveUpHours };
  const untilGiveUp = Math.max(1, Math.ceil((giveUpAtMs - input.nowMs) / 1000));
  return { action: 'retry', delaySeconds: Math.max(1, Math.min(backoffSeconds(input.receiveCount, policy, input.retryAfterMs), untilGiveUp)) };
}

/**
 * How many receives the back-off makes within the give-up window (no Retry-After, no
 * failed invocation): the outbox queue's maxReceiveCount must be above this, or SQS
 * would dead-letter messages the dispatcher still means to try.
 */
export function receivesWithinGiveUp(policy: RetryPolicy = DEFAULT_RETRY_POLICY): number {
  const window = policy.giveUpHours * 3600;
  let elapsed = 0;
  let receives = 1;
  while (elapsed < window) {
    elapsed += backoffSeconds(receives, policy);
    receives++;
  }
  return receives;
}
