/**
 * Lambda entry point of the cloud subscriber dispatcher: an SQS event source hands it up
 * to 10 outbox messages (shared/adapters/outbox-sqs.ts) at a time; each is sent to its
 * subscriber over HTTP (shared/adapters/subscriber-http.ts: Standard Webhooks
 * signature, https only, private addresses refused, no redirects, a timeout). The
 * answer lists the messages to try again (`batchItemFailures`; the event source has
 * ReportBatchItemFailures on); every other message of the batch is deleted by Lambda.
 *
 * What each outcome does (the schedule: ./dispatch-policy.ts):
 * - delivered: done.
 * - retry (timeout, connection failure, 5xx, 429): the message's visibility is set to
 *   the back-off — SUBSCRIBER_RETRY_BASE_SECONDS × 2^(receives − 1), the subscriber's
 *   Retry-After when longer, at most 12 h — and it is reported as a batch item failure,
 *   so SQS hands it over again then. SUBSCRIBER_GIVE_UP_HOURS (24) after its first
 *   receive it is given up instead: logged as failed, deleted.
 * - failed (another 4xx, a refused target): logged, deleted; not retried.
 * - gone (410): logged as a warning, deleted. Nothing is disabled: a Lambda has no
 *   store to remember it in, so the subscriber stays in the configuration and each
 *   later message to it ends `gone` after one request — remove it from the
 *   configuration and redeploy.
 * A message it cannot read (not an outbox message) is logged as failed and deleted:
 * reading it again cannot help. Each message that ends failed (or given up) is logged
 * with DELIVERY_FAILED_MESSAGE, which an alarm counts; the log names the event
 * and the subscriber, never its URL or secret.
 *
 * Per batch, messages are grouped by subscriber: the groups run side by side, each
 * with at most max(1, ⌊concurrency / DISPATCH_MAX_CONCURRENCY⌋) sends in flight
 * (DISPATCH_MAX_CONCURRENCY = the event source's maxConcurrency), so that a
 * subscriber's `concurrency` bounds its deliveries across invocations too. Once one
 * message of a group ends `retry`, the group's messages not yet sent are deferred with
 * their own back-off, unsent: a subscriber that is down costs one timeout per batch,
 * not ten. No send starts with less than SEND_RESERVE_MS of the invocation left; those
 * messages are reported as failures as they are, and come back after the queue's
 * visibility timeout.
 *
 * createSubscriberDispatchLambda is the bootstrap: OUTBOX_QUEUE_URL, the retry settings
 * and the subscribers (ARCHIVER_CONFIG or ARCHIVER_CONFIG_JSON, as course validation
 * loads them) checked at once. Their `env:NAME` secrets are keys of the Zoom secret
 * when ZOOM_SECRETS_ARN is set (what the stack deploys: never a secret in the
 * function's environment), read at the first invocation and every 5 minutes after
 * (a secret it cannot use is refused, never kept); else environment variables.
 */
import { ChangeMessageVisibilityCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import * as z from 'zod/mini';
import { HttpSubscriberSender } from '../../shared/adapters/subscriber-http';
import { secretKeysLoader } from '../../shared/config/secrets';
import { LOGGING_ENV, optionalVar, parseEnv, requiredVar, type Env } from '../../shared/lambda/env';
import { lambdaHandler } from '../../shared/lambda/handler';
import type { SecretsClient } from '../../shared/lambda/zoom-secrets';
import { createLogger, type AppLogger } from '../../shared/logger';
import type { OutboxMessage, SendOutcome, SubscriberSender } from '../../shared/ports/subscriber-outbox';
import { loadArchiverConfig } from '../course-validation/config';
import { resolveSubscribers, type SubscriberConfig } from './config';
import { DEFAULT_GIVE_UP_HOURS, DEFAULT_RETRY_BASE_SECONDS, DELIVERY_FAILED_MESSAGE, retryDecision, type RetryPolicy } from './dispatch-policy';

/** No send starts with less than this left of the invocation: a send's timeout and the visibility call fit in it. */
export const SEND_RESERVE_MS = 15_000;
/** The event source's maxConcurrency when DISPATCH_MAX_CONCURRENCY is not set (Lambda's minimum). */
export const DEFAULT_DISPATCH_MAX_CONCURRENCY = 2;

export const SubscriberDispatchLambdaEnv = z.object({
  OUTBOX_QUEUE_URL: requiredVar(),
  ARCHIVER_CONFIG: optionalVar(),
  ARCHIVER_CONFIG_JSON: optionalVar(),
  SUBSCRIBER_RETRY_BASE_SECONDS: z._default(
    z.coerce.number().check(z.int('must be a whole number of seconds'), z.gte(1, 'must be at least 1'), z.lte(3600, 'must be at most 3600')),
    DEFAULT_RETRY_BASE_SECONDS,
  ),
  SUBSCRIBER_GIVE_UP_HOURS: z._default(
    z.coerce.number().check(z.positive('must be positive'), z.lte(72, 'must be at most 72 (the outbox queue keeps messages 4 days)')),
    DEFAULT_GIVE_UP_HOURS,
  ),
  DISPATCH_MAX_CONCURRENCY: z._default(
    z.coerce.number().check(z.int('must be a whole number'), z.gte(1, 'must be at least 1'), z.lte(1000, 'must be at most 1000')),
    DEFAULT_DISPATCH_MAX_CONCURRENCY,
  ),
  ZOOM_SECRETS_ARN: optionalVar(),
  ...LOGGING_ENV,
});

/** What one batch needs: the sender (for the subscribers as now configured) and the queue to change visibility on. */
export interface DispatchDeps {
  sender: SubscriberSender;
  /** Deliveries in flight per subscriber in one invocation. */
  concurrencyOf: (subscriberId: string) => number;
  /** `scheme://host[:port]` of a subscriber, for logs (never its URL's path: a Slack URL is its secret). */
  originOf?: (subscriberId: string) => string | undefined;
  sqs: Pick<SQSClient, 'send'>;
  queueUrl: string;
  policy: RetryPolicy;
  logger: AppLogger;
  now: () => number;
}

const OutboxMessageSchema = z.object({
  id: z.string().check(z.minLength(1)),
  subscriberId: z.string().check(z.minLength(1)),
  type: z.string().check(z.minLength(1)),
  timestamp: z.string(),
  data: z.unknown(),
});

/** How one message of the batch ended: `retry-later` ones are the batch item failures. */
type Disposition = 'done' | 'retry-later';

/** One batch: every message sent (or deferred), the ones to try again listed. */
export async function handleOutboxBatch(event: SQSEvent, context: Pick<Context, 'getRemainingTimeInMillis'>, deps: DispatchDeps): Promise<SQSBatchResponse> {
  const deadline = deps.now() + context.getRemainingTimeInMillis() - SEND_RESERVE_MS;
  const failures: string[] = [];
  const groups = new Map<string, { record: SQSRecord; message: OutboxMessage }[]>();
  for (const record of event.Records) {
    const message = readMessage(record, deps.logger);
    if (!message) continue;
    const group = groups.get(message.subscriberId) ?? [];
    group.push({ record, message });
    groups.set(message.subscriberId, group);
  }
  await Promise.all(
    [...groups].map(async ([subscriberId, items]) => {
      let deferReason: string | undefined;
      let next = 0;
      const worker = async () => {
        while (next < items.length) {
          const { record, message } = items[next++]!;
          let disposition: Disposition;
          if (deps.now() >= deadline) {
            deps.logger.warn('subscriber message not sent: the invocation is about to time out; it comes back after the visibility timeout', logFields(record, message, deps));
            disposition = 'retry-later';
          } else if (deferReason !== undefined) {
            disposition = await retryLater(record, message, { outcome: 'retry', reason: `not sent: ${deferReason}` }, deps);
          } else {
            const outcome = await send(message, deps);
            if (outcome.outcome === 'retry') deferReason = `an earlier message to this subscriber in the batch ended retry (${outcome.reason})`;
            disposition = await settle(record, message, outcome, deps);
          }
          if (disposition === 'retry-later') failures.push(record.messageId);
        }
      };
      const workers = Math.max(1, Math.min(items.length, deps.concurrencyOf(subscriberId)));
      await Promise.all(Array.from({ length: workers }, worker));
    }),
  );
  return { batchItemFailures: failures.map((itemIdentifier) => ({ itemIdentifier })) };
}

function readMessage(record: SQSRecord, logger: AppLogger): OutboxMessage | undefined {
  let json: unknown;
  try {
    json = JSON.parse(record.body);
  } catch {
    json = undefined;
  }
  const parsed = OutboxMessageSchema.safeParse(json);
  if (parsed.success) return parsed.data as OutboxMessage;
  logger.error(DELIVERY_FAILED_MESSAGE, {
    sqsMessageId: record.messageId,
    reason: 'not an outbox message (expected JSON with id, subscriberId, type, timestamp, data); deleted',
  });
  return undefined;
}

async function send(message: OutboxMessage, deps: DispatchDeps): Promise<SendOutcome> {
  try {
    return await deps.sender.send(message);
  } catch (error) {
    // The sender answers every HTTP outcome itself; a throw is unexpected: try again later, like a 5xx.
    return { outcome: 'retry', reason: `the sender failed: ${(error as Error).name}: ${(error as Error).message}`.slice(0, 300) };
  }
}

async function settle(record: SQSRecord, message: OutboxMessage, outcome: SendOutcome, deps: DispatchDeps): Promise<Disposition> {
  const fields = logFields(record, message, deps);
  switch (outcome.outcome) {
    case 'delivered':
      deps.logger.info('subscriber message delivered', { ...fields, status: outcome.status });
      return 'done';
    case 'failed':
      deps.logger.error(DELIVERY_FAILED_MESSAGE, { ...fields, status: outcome.status, reason: outcome.reason });
      return 'done';
    case 'gone':
      deps.logger.warn(
        'subscriber answered 410 Gone: it asked to be removed; remove it from the configuration and redeploy (each message to it ends here until then)',
        { ...fields, status: outcome.status },
      );
      return 'done';
    case 'retry':
      return retryLater(record, message, outcome, deps);
  }
}

/** Sets the message's visibility to its back-off and reports it, or gives it up once its window is over. */
async function retryLater(record: SQSRecord, message: OutboxMessage, outcome: Extract<SendOutcome, { outcome: 'retry' }>, deps: DispatchDeps): Promise<Disposition> {
  const fields = logFields(record, message, deps);
  const receiveCount = Number(record.attributes.ApproximateReceiveCount) || 1;
  const firstReceiveMs = Number(record.attributes.ApproximateFirstReceiveTimestamp) || deps.now();
  const decision = retryDecision({ receiveCount, firstReceiveMs, nowMs: deps.now(), retryAfterMs: outcome.retryAfterMs }, deps.policy);
  if (decision.action === 'give-up') {
    deps.logger.error(DELIVERY_FAILED_MESSAGE, { ...fields, status: outcome.status, reason: `given up ${decision.afterHours} h after the first attempt; last: ${outcome.reason}` });
    return 'done';
  }
  try {
    await deps.sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: deps.queueUrl, ReceiptHandle: record.receiptHandle, VisibilityTimeout: decision.delaySeconds }));
    deps.logger.info('subscriber message to be tried again', { ...fields, status: outcome.status, reason: outcome.reason, delaySeconds: decision.delaySeconds });
  } catch (error) {
    // It is still reported: it comes back after the queue's visibility timeout instead.
    deps.logger.warn('could not set the back-off of a subscriber message; it comes back after the visibility timeout', {
      ...fields,
      reason: outcome.reason,
      error: (error as Error).name,
    });
  }
  return 'retry-later';
}

function logFields(record: SQSRecord, message: OutboxMessage, deps: Pick<DispatchDeps, 'originOf'>): Record<string, unknown> {
  return {
    eventId: message.id,
    subscriberId: message.subscriberId,
    origin: deps.originOf?.(message.subscriberId),
    type: message.type,
    sqsMessageId: record.messageId,
    receiveCount: Number(record.attributes.ApproximateReceiveCount) || undefined,
  };
}

/** What the bootstrap would otherwise build on AWS; tests pass stand-ins. */
export interface SubscriberDispatchAdapters {
  sqs?: Pick<SQSClient, 'send'>;
  secretsManager?: SecretsClient;
  /** The sender for the resolved subscribers; default the HTTP sender. */
  createSender?: (subscribers: readonly SubscriberConfig[]) => SubscriberSender;
  logger?: AppLogger;
  now?: () => number;
}

/**
 * The dispatcher's dependencies for the current secret. Without ZOOM_SECRETS_ARN they
 * are built once (the environment cannot change under a running container); with it,
 * the loader returns the same object while the secret is unchanged.
 */
export function createSubscriberDispatchLambda(env: Env, adapters: SubscriberDispatchAdapters = {}): () => Promise<DispatchDeps> {
  const e = parseEnv(SubscriberDispatchLambdaEnv, env);
  const config = loadArchiverConfig({ ARCHIVER_CONFIG: e.ARCHIVER_CONFIG, ARCHIVER_CONFIG_JSON: e.ARCHIVER_CONFIG_JSON });
  const logger = adapters.logger ?? createLogger('subscriber-dispatch', e.LOG_LEVEL);
  const sqs = adapters.sqs ?? new SQSClient({});
  const createSender = adapters.createSender ?? ((subscribers: readonly SubscriberConfig[]) => new HttpSubscriberSender(subscribers));
  const policy: RetryPolicy = { baseSeconds: e.SUBSCRIBER_RETRY_BASE_SECONDS, giveUpHours: e.SUBSCRIBER_GIVE_UP_HOURS };
  const invocations = e.DISPATCH_MAX_CONCURRENCY;
  const now = adapters.now ?? Date.now;
  logger.info('subscribers loaded', { source: config.source, subscribers: config.subscribers.map((s) => s.id) });

  const build = (secrets: Record<string, string | undefined>): DispatchDeps => {
    const subscribers = resolveSubscribers(config, secrets);
    const concurrency = new Map(subscribers.map((s) => [s.id, Math.max(1, Math.floor(s.concurrency / invocations))]));
    const origins = new Map(subscribers.map((s) => [s.id, s.origin]));
    return {
      sender: createSender(subscribers),
      concurrencyOf: (id) => concurrency.get(id) ?? 1,
      originOf: (id) => origins.get(id),
      sqs,
      queueUrl: e.OUTBOX_QUEUE_URL,
      policy,
      logger,
      now,
    };
  };
  if (e.ZOOM_SECRETS_ARN) return secretKeysLoader(e.ZOOM_SECRETS_ARN, { validate: build, client: adapters.secretsManager });
  const deps = build(env);
  return () => Promise.resolve(deps);
}

export const handler = lambdaHandler(
  () => createSubscriberDispatchLambda(process.env),
  async (event: SQSEvent, context: Context, deps: () => Promise<DispatchDeps>): Promise<SQSBatchResponse> => handleOutboxBatch(event, context, await deps()),
);
