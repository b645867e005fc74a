/**
 * Lambda entry point: an EventBridge rule delivers RecordingAvailable events.
 *
 * createCourseValidationDeps is the bootstrap: EVENT_BUS_NAME and the rules
 * (ARCHIVER_CONFIG or ARCHIVER_CONFIG_JSON) are validated and the clients built once
 * per container, so a bad configuration fails with a clear message naming the
 * variable or the rule's field, not somewhere inside an event. `handler` builds it at
 * the first invocation. An event that does not match its contract is logged and
 * rethrown: it ends in the rule's dead-letter queue, where an operator sees it.
 */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { EventBridgeEvent } from 'aws-lambda';
import * as z from 'zod/mini';
import { EventBridgePublisher } from '../../shared/adapters/eventbridge-publisher';
import { EventEnvelopeError } from '../../shared/errors';
import { DetailType, parseEvent, type DomainEvent } from '../../shared/events';
import { LOGGING_ENV, optionalVar, parseEnv, requiredVar, type Env } from '../../shared/lambda/env';
import { lambdaHandler } from '../../shared/lambda/handler';
import { createLogger, type AppLogger } from '../../shared/logger';
import type { EventPublisher } from '../../shared/ports/event-publisher';
import { loadArchiverConfig } from './config';
import { validateRecording, type ValidateRecordingDeps } from './use-case';

export const CourseValidationLambdaEnv = z.object({
  EVENT_BUS_NAME: requiredVar(),
  // The rules: a file path or the JSON itself (the stack inlines it); neither = the built-in rules.
  ARCHIVER_CONFIG: optionalVar(),
  ARCHIVER_CONFIG_JSON: optionalVar(),
  ...LOGGING_ENV,
});

type IncomingEvent = Pick<EventBridgeEvent<string, unknown>, 'id' | 'time' | 'source' | 'detail-type' | 'detail'>;

/** Parses the bus event against the RecordingAvailable contract and runs the use case. */
export async function handleRecordingAvailable(event: IncomingEvent, deps: ValidateRecordingDeps): Promise<DomainEvent[]> {
  let parsed;
  try {
    parsed = parseEvent(event, DetailType.RecordingAvailable);
  } catch (error) {
    if (error instanceof EventEnvelopeError) {
      deps.logger.error('refused an event that does not match the RecordingAvailable contract', {
        eventId: event.id,
        detailType: event['detail-type'],
        error: error.message,
      });
    }
    throw error;
  }
  return validateRecording(parsed, deps);
}

/** What the bootstrap would otherwise build on AWS; tests pass stand-ins. */
export interface CourseValidationAdapters {
  publisher?: EventPublisher;
  logger?: AppLogger;
}

export function createCourseValidationDeps(env: Env, adapters: CourseValidationAdapters = {}): ValidateRecordingDeps {
  const e = parseEnv(CourseValidationLambdaEnv, env);
  const deps: ValidateRecordingDeps = {
    config: loadArchiverConfig(e),
    publisher: adapters.publisher ?? new EventBridgePublisher({ client: new EventBridgeClient({}), eventBusName: e.EVENT_BUS_NAME }),
    logger: adapters.logger ?? createLogger('course-validation', e.LOG_LEVEL),
  };
  deps.logger.info('course-validation rules loaded', { source: deps.config.source, template: deps.config.naming.template.source });
  return deps;
}

export const handler = lambdaHandler(
  () => createCourseValidationDeps(process.env),
  async (event: EventBridgeEvent<string, unknown>, _context: unknown, deps: ValidateRecordingDeps): Promise<void> => {
    await handleRecordingAvailable(event, deps);
  },
);
