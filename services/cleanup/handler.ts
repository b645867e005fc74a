/**
 * Lambda entry point of the clean-up run: a schedule invokes it every few minutes
 * (infrastructure/constructs/zoom-cleanup.ts); it takes the recordings whose clean-up
 * is due (items `cleanup#…` of the ledger table, through its byState index), checks
 * each again against Zoom, the ledger and the archive, and moves it to Zoom's trash
 * (or, in a dry run, records that it would) — services/cleanup/use-case.ts decides
 * everything. One run at a time (reserved concurrency 1).
 *
 * A recording that fails for another reason than Zoom being busy (Zoom refusing, e.g.
 * a missing scope; the archive; a store) is postponed like a busy one and makes the
 * invocation fail at its end (CleanupRunError), so that the run's error alarm fires.
 *
 * The run stops taking new recordings FINISH_MARGIN_MS before Lambda's deadline; one
 * in hand finishes (a recording is a few API calls). What is left is due still and
 * the next run takes it.
 *
 * createCleanupLambda is the bootstrap: the environment and the rules checked at
 * once, clients built once per container; the Zoom secret read at the first
 * invocation and re-read every few minutes. Moving recordings to the trash needs the
 * Server-to-Server OAuth app with the scope cloud_recording:delete:meeting_recording:admin
 * (classic: recording:write:admin); a secret without the app's three keys is refused.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import type { Context } from 'aws-lambda';
import * as z from 'zod/mini';
import { S3ArchiveStore } from '../../shared/adapters/archive-s3';
import { DynamoDbCleanupSchedule } from '../../shared/adapters/cleanup-dynamodb';
import { EventBridgePublisher } from '../../shared/adapters/eventbridge-publisher';
import { DynamoDbUploadLedger } from '../../shared/adapters/ledger-dynamodb';
import { createZoomApi } from '../../shared/adapters/zoom-api';
import { oauthTokenSourceFor } from '../../shared/adapters/zoom-oauth';
import { missingS2sKeys, type ZoomSecrets } from '../../shared/config/secrets';
import { ArchiverError, ConfigError } from '../../shared/errors';
import { LOGGING_ENV, optionalVar, parseEnv, requiredVar, type Env } from '../../shared/lambda/env';
import { lambdaHandler } from '../../shared/lambda/handler';
import { ZOOM_SECRETS_ENV, zoomSecretsLoader, type SecretsClient } from '../../shared/lambda/zoom-secrets';
import { createLogger, type AppLogger } from '../../shared/logger';
import type { ArchiveStore } from '../../shared/ports/archive-store';
import type { EventPublisher } from '../../shared/ports/event-publisher';
import { loadArchiverConfig } from '../course-validation/config';
import { ReconcilerSettingsEnv, reconcilerSettingsFrom } from '../reconciler/config';
import { UploaderSettingsEnv } from '../uploader/config';
import { countOutcomes, runDueCleanups, type CleanupOutcome, type CleanupResult, type RunDeps } from './use-case';

/** No new recording is taken after Lambda's deadline minus this. */
export const FINISH_MARGIN_MS = 60_000;

export const CleanupLambdaEnv = z.extend(ReconcilerSettingsEnv, {
  ZOOM_OAUTH_TOKEN_URL: UploaderSettingsEnv.shape.ZOOM_OAUTH_TOKEN_URL,
  LEDGER_TABLE_NAME: requiredVar(),
  EVENT_BUS_NAME: requiredVar(),
  ARCHIVE_BUCKET: requiredVar(),
  ARCHIVER_CONFIG: optionalVar(),
  ARCHIVER_CONFIG_JSON: optionalVar(),
  ...ZOOM_SECRETS_ENV,
  ...LOGGING_ENV,
});

export interface CleanupLambdaAdapters {
  dynamoDb?: DynamoDBClient;
  s3?: S3Client;
  archive?: Pick<ArchiveStore, 'head'>;
  publisher?: EventPublisher;
  secretsManager?: SecretsClient;
  logger?: AppLogger;
  now?: () => Date;
}

export interface CleanupAnswer {
  /** How many recordings ended how, e.g. { trashed: 2, held: 1 }. */
  outcomes: Partial<Record<CleanupOutcome, number>>;
  results: CleanupResult[];
}

export function createCleanupLambda(env: Env, adapters: CleanupLambdaAdapters = {}): () => Promise<RunDeps> {
  const e = parseEnv(CleanupLambdaEnv, env);
  const settings = reconcilerSettingsFrom(e);
  const rules = loadArchiverConfig({ ARCHIVER_CONFIG: e.ARCHIVER_CONFIG, ARCHIVER_CONFIG_JSON: e.ARCHIVER_CONFIG_JSON });
  const logger = adapters.logger ?? createLogger('cleanup', e.LOG_LEVEL);
  const dynamoDb = adapters.dynamoDb ?? new DynamoDBClient({});
  const ledger = new DynamoDbUploadLedger({ client: dynamoDb, tableName: e.LEDGER_TABLE_NAME });
  const schedule = new DynamoDbCleanupSchedule({ client: dynamoDb, tableName: e.LEDGER_TABLE_NAME });
  const archive = adapters.archive ?? new S3ArchiveStore({ client: adapters.s3 ?? new S3Client({}), bucket: e.ARCHIVE_BUCKET });
  const publisher = adapters.publisher ?? new EventBridgePublisher({ client: new EventBridgeClient({}), eventBusName: e.EVENT_BUS_NAME });
  const now = adapters.now ?? (() => new Date());
  logger.info('clean-up rules loaded', { source: rules.source, mode: rules.cleanup.trashInZoom, delayHours: rules.cleanup.delayMs / 3_600_000, exceptCourses: [...rules.cleanup.exceptCourses] });
  const build = (secrets: ZoomSecrets): RunDeps => {
    const missing = missingS2sKeys(secrets);
    if (missing.length > 0) {
      throw new ConfigError(
        `clean-up secret: moving recordings to Zoom's trash needs the Server-to-Server OAuth app (ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET); missing ${missing.join(', ')}`,
        { variables: missing },
      );
    }
    return { rules, schedule, ledger, archive, zoom: createZoomApi(settings, oauthTokenSourceFor(e.ZOOM_OAUTH_TOKEN_URL, secrets)), publisher, logger, now };
  };
  return zoomSecretsLoader({ arn: e.ZOOM_SECRETS_ARN, env }, build, { client: adapters.secretsManager });
}

/** Some recording of the run failed for another reason than Zoom being busy (each is due again after a back-off). */
export class CleanupRunError extends ArchiverError {
  readonly retryable = true;
}

/** One scheduled invocation: every due recording until the deadline. */
export async function handleCleanupRun(context: Pick<Context, 'getRemainingTimeInMillis'>, deps: RunDeps, finishMarginMs = FINISH_MARGIN_MS): Promise<CleanupAnswer> {
  const deadlineAt = deps.now().getTime() + context.getRemainingTimeInMillis() - finishMarginMs;
  const results = await runDueCleanups(deps, { deadlineAt });
  const outcomes = countOutcomes(results);
  deps.logger.info('clean-up run', { mode: deps.rules.cleanup.trashInZoom, outcomes });
  const failed = results.filter((result) => result.outcome === 'failed');
  if (failed.length > 0) {
    // The invocation fails so that the run's error alarm says so; each failed recording is due again after a back-off.
    throw new CleanupRunError(`clean-up run: ${failed.length} recording(s) failed, e.g. ${failed[0]!.recordingId}: ${failed[0]!.note ?? 'unknown error'}`);
  }
  return { outcomes, results };
}

export const handler = lambdaHandler(
  () => createCleanupLambda(process.env),
  async (_event: unknown, context: Context, deps: () => Promise<RunDeps>): Promise<CleanupAnswer> => handleCleanupRun(context, await deps()),
);
