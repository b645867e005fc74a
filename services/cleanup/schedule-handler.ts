/**
 * Lambda entry point of the clean-up's scheduling: a rule sends it every
 * RecordingArchived (CONSUMER_RULES.cleanup); it records when the recording is due
 * for Zoom's trash (services/cleanup/use-case.ts, scheduleCleanup) as an item
 * `cleanup#<recordingId>` of the ledger table. The clean-up run (handler.ts) takes it
 * from there at the due time.
 *
 * createCleanupScheduleDeps is the bootstrap: LEDGER_TABLE_NAME and the rules
 * (ARCHIVER_CONFIG_JSON, the same JSON course validation gets) checked at once. A
 * detail that breaks its contract throws, so EventBridge retries and dead-letters it.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { EventBridgeEvent } from 'aws-lambda';
import * as z from 'zod/mini';
import { DynamoDbCleanupSchedule } from '../../shared/adapters/cleanup-dynamodb';
import { DetailType, parseEvent } from '../../shared/events';
import { LOGGING_ENV, optionalVar, parseEnv, requiredVar, type Env } from '../../shared/lambda/env';
import { lambdaHandler } from '../../shared/lambda/handler';
import { createLogger, type AppLogger } from '../../shared/logger';
import { loadArchiverConfig } from '../course-validation/config';
import { scheduleCleanup, type ScheduleDeps, type ScheduleOutcome } from './use-case';

export const CleanupScheduleLambdaEnv = z.object({
  LEDGER_TABLE_NAME: requiredVar(),
  ARCHIVER_CONFIG: optionalVar(),
  ARCHIVER_CONFIG_JSON: optionalVar(),
  ...LOGGING_ENV,
});

export interface CleanupScheduleAdapters {
  dynamoDb?: DynamoDBClient;
  logger?: AppLogger;
  now?: () => Date;
}

export function createCleanupScheduleDeps(env: Env, adapters: CleanupScheduleAdapters = {}): ScheduleDeps {
  const e = parseEnv(CleanupScheduleLambdaEnv, env);
  const rules = loadArchiverConfig({ ARCHIVER_CONFIG: e.ARCHIVER_CONFIG, ARCHIVER_CONFIG_JSON: e.ARCHIVER_CONFIG_JSON });
  const schedule = new DynamoDbCleanupSchedule({ client: adapters.dynamoDb ?? new DynamoDBClient({}), tableName: e.LEDGER_TABLE_NAME });
  return { rules, schedule, logger: adapters.logger ?? createLogger('cleanup-schedule', e.LOG_LEVEL), now: adapters.now ?? (() => new Date()) };
}

export async function handleRecordingArchived(event: EventBridgeEvent<string, unknown>, deps: ScheduleDeps): Promise<ScheduleOutcome> {
  return scheduleCleanup(parseEvent(event, DetailType.RecordingArchived).detail, deps);
}

export const handler = lambdaHandler(
  () => createCleanupScheduleDeps(process.env),
  async (event: EventBridgeEvent<string, unknown>, _context: unknown, deps: ScheduleDeps): Promise<void> => {
    await handleRecordingArchived(event, deps);
  },
);
