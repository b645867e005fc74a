/**
 * The bus consumers of the single-machine runtime: the same use cases the Lambda
 * handlers call, each bound to the rule (shared/events/rules.ts) the bus routes by.
 */
import { ALL_DETAIL_TYPES, CONSUMER_RULES, DetailType, parseEvent } from '../shared/events';
import type { AppLogger } from '../shared/logger';
import type { AuditLog } from '../shared/ports/audit-log';
import type { EventPublisher } from '../shared/ports/event-publisher';
import type { SubscriberOutbox } from '../shared/ports/subscriber-outbox';
import { auditEvent } from '../services/audit/use-case';
import type { ArchiverConfig } from '../services/course-validation/config';
import { validateRecording } from '../services/course-validation/use-case';
import type { SubscriberConfig } from '../services/subscribers/config';
import { enqueueForSubscribers } from '../services/subscribers/use-case';
import { uploadFile, type UploaderDeps } from '../services/uploader/use-case';
import { scheduleCleanup, type ScheduleDeps } from '../services/cleanup/use-case';
import { uploadDisposition } from '../services/uploader/wiring';
import type { Consumer } from './bus/durable-bus';

export function courseValidationConsumer(deps: { rules: ArchiverConfig; publisher: EventPublisher; logger: AppLogger }): Consumer {
  return {
    name: CONSUMER_RULES.courseValidation.id,
    concurrency: 4,
    maxAttempts: 5,
    async handle(event) {
      await validateRecording(parseEvent(event, DetailType.RecordingAvailable), { config: deps.rules, publisher: deps.publisher, logger: deps.logger });
      return 'done';
    },
  };
}

export function uploaderConsumer(deps: UploaderDeps, concurrency: number): Consumer {
  return {
    name: CONSUMER_RULES.uploader.id,
    concurrency,
    maxAttempts: 10,
    async handle(event) {
      const outcome = await uploadFile(parseEvent(event, DetailType.FileUploadRequested), deps);
      // The same rule as the Lambda's: only a file handed back (shutting down) is delivered again;
      // a file another run holds is that run's, or the recovery sweep's once its lease expires.
      return uploadDisposition(outcome) === 'deliver_again_later' ? 'later' : 'done';
    },
  };
}

/**
 * Every event → one outbox message per subscriber that asked for its detail-type,
 * committed before the delivery counts as done; the dispatcher (consumers' worker)
 * sends them. With no subscriber configured it acknowledges at once.
 */
export function subscribersConsumer(deps: { subscribers: readonly SubscriberConfig[]; outbox: SubscriberOutbox | undefined; logger: AppLogger }): Consumer {
  return {
    name: CONSUMER_RULES.subscribers.id,
    concurrency: 2,
    maxAttempts: 10,
    async handle(event) {
      if (deps.outbox && deps.subscribers.length > 0) await enqueueForSubscribers(event, deps.subscribers, deps.outbox);
      return 'done';
    },
  };
}

/**
 * RecordingArchived → the recording's clean-up in Zoom is due after cleanup.delayHours
 * (DATA_DIR/cleanup.sqlite). Without a schedule (cleanup.trashInZoom "off") it
 * acknowledges at once: the bus routes every event by every rule.
 */
export function cleanupConsumer(deps: Omit<ScheduleDeps, 'schedule'> & { schedule: ScheduleDeps['schedule'] | undefined }): Consumer {
  return {
    name: CONSUMER_RULES.cleanup.id,
    concurrency: 1,
    maxAttempts: 10,
    async handle(event) {
      const archived = parseEvent(event, DetailType.RecordingArchived).detail;
      if (deps.schedule) await scheduleCleanup(archived, { ...deps, schedule: deps.schedule });
      return 'done';
    },
  };
}

export function auditConsumer(deps: { auditLog: AuditLog; logger: AppLogger }): Consumer {
  return {
    name: CONSUMER_RULES.audit.id,
    concurrency: 1,
    maxAttempts: 10,
    async handle(event) {
      await auditEvent(parseEvent(event, ...ALL_DETAIL_TYPES), deps);
      return 'done';
    },
  };
}
