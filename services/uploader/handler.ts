/**
 * Lambda entry point of the uploader: a rule delivers one FileUploadRequested per
 * invocation. Clients are built once per container, at the first invocation; the Zoom
 * secrets are read from Secrets Manager and reused for a few minutes (a rotation
 * takes effect without a redeploy; a secret the uploader cannot use is never kept).
 * One deadline covers the whole invocation — every attempt and back-off wait — and
 * ends before Lambda's own, leaving a margin to hand the file back and record why.
 * A final failure is published as FileUploadFailed and the invocation succeeds; an
 * error thrown here (bus unreachable after retries) makes Lambda retry the event.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import type { Context, EventBridgeEvent } from 'aws-lambda';
import { S3ArchiveStore } from '../../shared/adapters/archive-s3';
import { EventBridgePublisher } from '../../shared/adapters/eventbridge-publisher';
import { DynamoDbUploadLedger } from '../../shared/adapters/ledger-dynamodb';
import { secretsFromEnv, secretsManagerLoader, type ZoomSecrets } from '../../shared/config/secrets';
import { ConfigError } from '../../shared/errors';
import { DetailType, parseEvent } from '../../shared/events';
import { createLogger } from '../../shared/logger';
import { loadUploaderSettings } from './config';
import { uploadFile, type UploaderDeps, type UploadOutcome } from './use-case';
import { createUploaderDeps } from './wiring';

/** Margin kept at the end of an invocation to stop the transfer, release the lease and log. */
export const FINISH_MARGIN_MS = 30_000;

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
  deps.logger.info('uploader outcome', { outcome: outcome.outcome, fileId: parsed.detail.file.fileId, correlationId: parsed.detail.metadata.correlationId });
  return outcome;
}

/**
 * In Lambda the secret is the only source of Zoom credentials: one with neither a
 * sealing secret (to open the webhook's token) nor OAuth credentials is one the
 * operator has not filled in yet, and must not be kept as if it were usable.
 */
function requireDownloadCredentials(secrets: ZoomSecrets): void {
  const sealing = secrets.TOKEN_SEALING_SECRET ?? secrets.ZOOM_WEBHOOK_SECRET_TOKEN;
  const oauth = secrets.ZOOM_ACCOUNT_ID ?? secrets.ZOOM_CLIENT_ID ?? secrets.ZOOM_CLIENT_SECRET;
  if (!sealing && !oauth) {
    throw new ConfigError(
      'uploader secret: needs TOKEN_SEALING_SECRET or ZOOM_WEBHOOK_SECRET_TOKEN (to open download tokens), or ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET',
    );
  }
}

/** Built at the first invocation (so that importing this module has no side effects), then reused. */
let container: (() => Promise<UploaderDeps>) | undefined;

function containerDeps(): () => Promise<UploaderDeps> {
  const required = (name: string) => {
    const value = process.env[name];
    if (!value) throw new ConfigError(`${name} is required`);
    return value;
  };
  const settings = loadUploaderSettings(process.env);
  const logger = createLogger('uploader');
  const store = new S3ArchiveStore({ client: new S3Client({}), bucket: required('ARCHIVE_BUCKET'), partSizeBytes: settings.partSizeBytes, queueSize: settings.queueSize, serverSideEncryption: 'AES256' });
  const ledger = new DynamoDbUploadLedger({ client: new DynamoDBClient({}), tableName: required('LEDGER_TABLE_NAME') });
  const publisher = new EventBridgePublisher({ client: new EventBridgeClient({}), eventBusName: required('EVENT_BUS_NAME') });
  // The uploader's own check runs before anything is cached: createUploaderDeps refuses
  // partial OAuth credentials or a short sealing secret (ConfigError naming the keys).
  const build = (secrets: ZoomSecrets): UploaderDeps => {
    requireDownloadCredentials(secrets);
    return createUploaderDeps({ settings, secrets, store, ledger, publisher, logger });
  };
  const secretsArn = process.env.ZOOM_SECRETS_ARN;
  if (secretsArn) return secretsManagerLoader(secretsArn, { validate: build });
  const fromEnv = build(secretsFromEnv(process.env));
  return async () => fromEnv;
}

export async function handler(event: EventBridgeEvent<string, unknown>, context: Context): Promise<void> {
  container ??= containerDeps();
  // The loader returns the same deps while the secret is unchanged, so the OAuth token cache survives.
  await handleUpload(event, context, await container());
}
