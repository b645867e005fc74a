/**
 * Lambda entry point of the recovery sweep, run on a schedule: re-publishes the
 * FileUploadRequested of uploads whose run died (expired lease), stopped at its
 * deadline, or that were never claimed, and of retryable failures whose automatic
 * re-drive is due (AUTO_RETRY_BASE_SECONDS, AUTO_RETRY_MAX_ATTEMPTS). The ledger makes
 * re-driving safe: an uploaded file is never sent again; one re-driven
 * UPLOAD_MAX_REDRIVES times is failed instead.
 *
 * createRecoveryDeps is the bootstrap: LEDGER_TABLE_NAME, EVENT_BUS_NAME and the
 * uploader's settings checked at once. The staleness and the re-drive cap come from
 * the same settings and the same rule (recoveryStaleAfterMs) as the single-machine
 * host's sweep, and so does the automatic re-drive's schedule. `handler` builds it at the first invocation.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { ScheduledEvent } from 'aws-lambda';
import * as z from 'zod/mini';
import { EventBridgePublisher } from '../../shared/adapters/eventbridge-publisher';
import { DynamoDbUploadLedger } from '../../shared/adapters/ledger-dynamodb';
import { LOGGING_ENV, parseEnv, requiredVar, type Env } from '../../shared/lambda/env';
import { lambdaHandler } from '../../shared/lambda/handler';
import { createLogger, type AppLogger } from '../../shared/logger';
import type { EventPublisher } from '../../shared/ports/event-publisher';
import { recoveryStaleAfterMs, UploaderSettingsEnv, uploaderSettingsFrom } from './config';
import { recoverStalledUploads, type RecoveryDeps } from './redrive';

export const RecoveryLambdaEnv = z.extend(UploaderSettingsEnv, {
  LEDGER_TABLE_NAME: requiredVar(),
  EVENT_BUS_NAME: requiredVar(),
  ...LOGGING_ENV,
});

/** What the bootstrap would otherwise build on AWS; tests pass stand-ins. */
export interface RecoveryLambdaAdapters {
  dynamoDb?: DynamoDBClient;
  publisher?: EventPublisher;
  logger?: AppLogger;
  now?: () => number;
}

export function createRecoveryDeps(env: Env, adapters: RecoveryLambdaAdapters = {}): RecoveryDeps {
  const e = parseEnv(RecoveryLambdaEnv, env);
  const settings = uploaderSettingsFrom(e);
  return {
    ledger: new DynamoDbUploadLedger({ client: adapters.dynamoDb ?? new DynamoDBClient({}), tableName: e.LEDGER_TABLE_NAME }),
    publisher: adapters.publisher ?? new EventBridgePublisher({ client: new EventBridgeClient({}), eventBusName: e.EVENT_BUS_NAME }),
    logger: adapters.logger ?? createLogger('uploader-recovery', e.LOG_LEVEL),
    now: adapters.now ?? Date.now,
    staleAfterMs: recoveryStaleAfterMs(settings),
    maxRedrives: settings.maxRedrives,
    autoRetry: settings.autoRetry,
  };
}

export interface RecoverySummary {
  redriven: number;
  failed: number;
  skipped: number;
  /** Retryable failures re-driven by themselves (due automatic re-drives). */
  autoRetried: number;
}

/** One sweep. The schedule's event carries nothing but its id and time, logged to line the sweep up with it. */
export async function handleRecoverySweep(event: Pick<ScheduledEvent, 'id' | 'time'>, deps: RecoveryDeps): Promise<RecoverySummary> {
  const result = await recoverStalledUploads(deps);
  const summary = { redriven: result.redriven.length, failed: result.failed.length, skipped: result.skipped.length, autoRetried: result.autoRetried.length };
  deps.logger.info('recovery sweep', { scheduleEventId: event.id, scheduledAt: event.time, ...summary });
  return summary;
}

export const handler = lambdaHandler(
  () => createRecoveryDeps(process.env),
  (event: ScheduledEvent, _context: unknown, deps: RecoveryDeps) => handleRecoverySweep(event, deps),
);
