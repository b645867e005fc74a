/**
 * Lambda entry point of the uploader: a rule delivers one FileUploadRequested per
 * invocation.
 *
 * createUploaderLambda is the bootstrap: the environment (ARCHIVE_BUCKET,
 * LEDGER_TABLE_NAME, EVENT_BUS_NAME, ZOOM_SECRETS_ARN and the uploader's settings)
 * checked at once, the clients built once per container. The Zoom secret is read at
 * the first invocation and reused for a few minutes (a rotation takes effect without
 * a redeploy; a secret the uploader cannot use is never kept). `handler` builds it at
 * the first invocation.
 *
 * One deadline covers the whole invocation — every attempt and back-off wait — and
 * ends before Lambda's own, leaving a margin to hand the file back and record why.
 * A final failure is published as FileUploadFailed and the invocation succeeds; an
 * error thrown here (bus unreachable after retries, or an outcome the bus must deliver
 * again, see uploadDisposition) makes Lambda retry the event.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import type { Context, EventBridgeEvent } from 'aws-lambda';
import * as z from 'zod/mini';
import { S3ArchiveStore } from '../../shared/adapters/archive-s3';
import { EventBridgePublisher } from '../../shared/adapters/eventbridge-publisher';
import { DynamoDbUploadLedger } from '../../shared/adapters/ledger-dynamodb';
import type { ZoomSecrets } from '../../shared/config/secrets';
import { sealingSecretFrom } from '../../shared/crypto/token-seal';
import { ConfigError } from '../../shared/errors';
import { DetailType, parseEvent } from '../../shared/events';
import { LOGGING_ENV, parseEnv, requiredVar, type Env } from '../../shared/lambda/env';
import { lambdaHandler } from '../../shared/lambda/handler';
import { ZOOM_SECRETS_ENV, zoomSecretsLoader, type SecretsClient } from '../../shared/lambda/zoom-secrets';
import { createLogger, type AppLogger } from '../../shared/logger';
import type { EventPublisher } from '../../shared/ports/event-publisher';
import { UploaderSettingsEnv, uploaderSettingsFrom } from './config';
import { uploadFile, type UploaderDeps, type UploadOutcome } from './use-case';
import { createUploaderDeps, uploadDisposition } from './wiring';

/** Margin kept at the end of an invocation to stop the transfer, release the lease and log. */
export const FINISH_MARGIN_MS = 30_000;

export const UploaderLambdaEnv = z.extend(UploaderSettingsEnv, {
  ARCHIVE_BUCKET: requiredVar(),
  LEDGER_TABLE_NAME: requiredVar(),
  EVENT_BUS_NAME: requiredVar(),
  ...ZOOM_SECRETS_ENV,
  ...LOGGING_ENV,
});

/**
 * Thrown for an outcome the bus must deliver again (uploadDisposition): Lambda then
 * retries the event. Retryable, so nothing treats it as a broken event.
 */
export class DeliverAgainLaterError extends Error {
  readonly retryable = true;
  constructor(readonly outcome: UploadOutcome['outcome']) {
    super(`upload not finished (${outcome}); the event must be delivered again`);
    this.name = 'DeliverAgainLaterError';
  }
}

/**
 * One invocation: the deadline is the invocation's remaining time minus `finishMarginMs`,
 * for all attempts together; each attempt keeps its own `transferTimeoutMs` as well.
 */
export async function handleUpload(
  event: Parameters<typeof parseEvent>[0],
  context: Pick<Context, 'getRemainingTimeInMillis'>,
  deps: UploaderDeps,
  finishMarginMs = FINISH_MARGIN_MS,
): Promise<UploadOutcome> {
  const parsed = parseEvent(event, DetailType.FileUploadRequested);
  const deadlineAt = deps.now() + context.getRemainingTimeInMillis() - finishMarginMs;
  const outcome = await uploadFile(parsed, { ...deps, deadlineAt });
  const disposition = uploadDisposition(outcome);
  deps.logger.info('uploader outcome', { outcome: outcome.outcome, disposition, fileId: parsed.detail.file.fileId, correlationId: parsed.detail.metadata.correlationId });
  if (disposition === 'deliver_again_later') throw new DeliverAgainLaterError(outcome.outcome);
  return outcome;
}

/**
 * In Lambda the secret is the only source of Zoom credentials: one with neither a
 * sealing secret (to open the webhook's token) nor OAuth credentials is one the
 * operator has not filled in yet, and must not be kept as if it were usable.
 */
function requireDownloadCredentials(secrets: ZoomSecrets): void {
  const canOpenWebhookTokens = sealingSecretFrom(secrets) !== undefined;
  const oauth = secrets.ZOOM_ACCOUNT_ID ?? secrets.ZOOM_CLIENT_ID ?? secrets.ZOOM_CLIENT_SECRET;
  if (!canOpenWebhookTokens && !oauth) {
    const variables = ['TOKEN_SEALING_SECRET', 'ZOOM_WEBHOOK_SECRET_TOKEN', 'ZOOM_ACCOUNT_ID', 'ZOOM_CLIENT_ID', 'ZOOM_CLIENT_SECRET'];
    throw new ConfigError(
      'uploader secret: needs TOKEN_SEALING_SECRET or ZOOM_WEBHOOK_SECRET_TOKEN (to open download tokens), or ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET',
      { variables },
    );
  }
}

/** What the bootstrap would otherwise build on AWS; tests pass stand-ins. */
export interface UploaderLambdaAdapters {
  s3?: S3Client;
  dynamoDb?: DynamoDBClient;
  publisher?: EventPublisher;
  secretsManager?: SecretsClient;
  logger?: AppLogger;
}

/**
 * The uploader's dependencies for the current Zoom secret. The loader returns the same
 * object while the secret is unchanged, so the OAuth token cache survives re-reads.
 */
export function createUploaderLambda(env: Env, adapters: UploaderLambdaAdapters = {}): () => Promise<UploaderDeps> {
  const e = parseEnv(UploaderLambdaEnv, env);
  const settings = uploaderSettingsFrom(e);
  const logger = adapters.logger ?? createLogger('uploader', e.LOG_LEVEL);
  const store = new S3ArchiveStore({
    client: adapters.s3 ?? new S3Client({}),
    bucket: e.ARCHIVE_BUCKET,
    partSizeBytes: settings.partSizeBytes,
    queueSize: settings.queueSize,
    serverSideEncryption: 'AES256',
  });
  const ledger = new DynamoDbUploadLedger({ client: adapters.dynamoDb ?? new DynamoDBClient({}), tableName: e.LEDGER_TABLE_NAME });
  const publisher = adapters.publisher ?? new EventBridgePublisher({ client: new EventBridgeClient({}), eventBusName: e.EVENT_BUS_NAME });
  // The uploader's own check runs before anything is cached: createUploaderDeps refuses
  // partial OAuth credentials or a short sealing secret (ConfigError naming the keys).
  const build = (secrets: ZoomSecrets): UploaderDeps => {
    requireDownloadCredentials(secrets);
    return createUploaderDeps({ settings, secrets, store, ledger, publisher, logger });
  };
  return zoomSecretsLoader({ arn: e.ZOOM_SECRETS_ARN, env }, build, { client: adapters.secretsManager });
}

export const handler = lambdaHandler(
  () => createUploaderLambda(process.env),
  async (event: EventBridgeEvent<string, unknown>, context: Context, deps: () => Promise<UploaderDeps>): Promise<void> => {
    await handleUpload(event, context, await deps());
  },
);
