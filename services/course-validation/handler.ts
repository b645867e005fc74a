/**
 * Lambda entry point: an EventBridge rule delivers RecordingAvailable events. The
 * rules (ARCHIVER_CONFIG) are validated and the clients built once per container,
 * so a bad configuration fails the cold start with a clear message instead of
 * every invocation. An event that does not match its contract is logged and
 * rethrown: it ends in the rule's dead-letter queue, where an operator sees it.
 */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { EventBridgeEvent } from 'aws-lambda';
import { EventBridgePublisher } from '../../shared/adapters/eventbridge-publisher';
import { ConfigError, EventEnvelopeError } from '../../shared/errors';
import { DetailType, parseEvent, type DomainEvent } from '../../shared/events';
import { createLogger } from '../../shared/logger';
import { loadArchiverConfig } from './config';
import { validateRecording, type ValidateRecordingDeps } from './use-case';

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

const eventBusName = process.env.EVENT_BUS_NAME;
if (!eventBusName) throw new ConfigError('EVENT_BUS_NAME is required');

const deps: ValidateRecordingDeps = {
  config: loadArchiverConfig(process.env),
  publisher: new EventBridgePublisher({ client: new EventBridgeClient({}), eventBusName }),
  logger: createLogger('course-validation'),
};
deps.logger.info('course-validation rules loaded', { source: deps.config.source, template: deps.config.naming.template.source });

export async function handler(event: EventBridgeEvent<string, unknown>): Promise<void> {
  await handleRecordingAvailable(event, deps);
}
