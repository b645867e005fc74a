/**
 * Lambda entry point of the Subscribers consumer: the rule built from
 * CONSUMER_RULES.subscribers delivers every zoom-archiver event; this writes one
 * outbox message per subscriber that asked for its detail-type to the SQS outbox
 * (shared/adapters/outbox-sqs.ts), which the dispatcher (dispatch-handler.ts) sends.
 * With no subscribers configured it writes nothing.
 *
 * createSubscribersDeps is the bootstrap: OUTBOX_QUEUE_URL and the subscribers
 * (ARCHIVER_CONFIG or ARCHIVER_CONFIG_JSON, as course validation loads them) checked
 * once per container. It needs no secret: a message names its subscriber by id, and
 * only the dispatcher reads the signing secrets. An event that breaks its contract,
 * or that SQS does not take (after the adapter's retries), fails the invocation:
 * EventBridge and Lambda retry it, then it goes to the rule's dead-letter queue.
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import type { EventBridgeEvent } from 'aws-lambda';
import * as z from 'zod/mini';
import { SqsSubscriberOutbox } from '../../shared/adapters/outbox-sqs';
import { EventEnvelopeError } from '../../shared/errors';
import { ALL_DETAIL_TYPES, parseEvent } from '../../shared/events';
import { LOGGING_ENV, optionalVar, parseEnv, requiredVar, type Env } from '../../shared/lambda/env';
import { lambdaHandler } from '../../shared/lambda/handler';
import { createLogger, type AppLogger } from '../../shared/logger';
import type { SubscriberOutbox } from '../../shared/ports/subscriber-outbox';
import { loadArchiverConfig } from '../course-validation/config';
import type { SubscriberSpec } from './config';
import { enqueueForSubscribers } from './use-case';

export const SubscribersLambdaEnv = z.object({
  OUTBOX_QUEUE_URL: requiredVar(),
  // The subscribers: in the same configuration as the course rules (the stack inlines the JSON).
  ARCHIVER_CONFIG: optionalVar(),
  ARCHIVER_CONFIG_JSON: optionalVar(),
  ...LOGGING_ENV,
});

type IncomingEvent = Pick<EventBridgeEvent<string, unknown>, 'id' | 'time' | 'source' | 'detail-type' | 'detail'>;

export interface SubscribersDeps {
  subscribers: readonly SubscriberSpec[];
  outbox: SubscriberOutbox;
  logger: AppLogger;
}

/** What the bootstrap would otherwise build on AWS; tests pass stand-ins. */
export interface SubscribersLambdaAdapters {
  sqs?: Pick<SQSClient, 'send'>;
  outbox?: SubscriberOutbox;
  logger?: AppLogger;
}

export function createSubscribersDeps(env: Env, adapters: SubscribersLambdaAdapters = {}): SubscribersDeps {
  const e = parseEnv(SubscribersLambdaEnv, env);
  const config = loadArchiverConfig({ ARCHIVER_CONFIG: e.ARCHIVER_CONFIG, ARCHIVER_CONFIG_JSON: e.ARCHIVER_CONFIG_JSON });
  const logger = adapters.logger ?? createLogger('subscribers', e.LOG_LEVEL);
  const outbox = adapters.outbox ?? new SqsSubscriberOutbox({ client: adapters.sqs ?? new SQSClient({}), queueUrl: e.OUTBOX_QUEUE_URL });
  logger.info('subscribers loaded', { source: config.source, subscribers: config.subscribers.map((s) => ({ id: s.id, events: s.events })) });
  return { subscribers: config.subscribers, outbox, logger };
}

/** One bus event → its outbox messages, committed before the invocation succeeds. Answers how many were enqueued. */
export async function handleSubscriberEvent(event: IncomingEvent, deps: SubscribersDeps): Promise<number> {
  try {
    // Every detail-type has a contract, wanted by a subscriber or not: a broken event is dead-lettered, not skipped.
    parseEvent(event, ...ALL_DETAIL_TYPES);
  } catch (error) {
    if (error instanceof EventEnvelopeError) {
      deps.logger.error('refused an event that does not match its contract', { eventId: event.id, detailType: event['detail-type'], error: error.message });
    }
    throw error;
  }
  return enqueueForSubscribers(event, deps.subscribers, deps.outbox);
}

export const handler = lambdaHandler(
  () => createSubscribersDeps(process.env),
  async (event: EventBridgeEvent<string, unknown>, _context: unknown, deps: SubscribersDeps): Promise<void> => {
    await handleSubscriberEvent(event, deps);
  },
);
