/**
 * Lambda entry point of the uploader: a rule delivers one FileUploadRequested per
 * invocation. Clients are built once per container; the Zoom secrets are read from
 * Secrets Manager at the first invocation and cached. A transfer never runs past the
 * invocation's remaining time (minus a margin to publish and release the lease).
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
import { secretsFromEnv, secretsManagerLoader } from '../../shared/config/secrets';
import { ConfigError } from '../../shared/errors';
import { DetailType, parseEvent } from '../../shared/events';
import { createLogger } from '../../shared/logger';
import { loadUploaderSettings } from './config';
import { uploadFile, type UploaderDeps } from './use-case';
import { createUploaderDeps } from './wiring';

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
const secretsArn = process.env.ZOOM_SECRETS_ARN;
const loadSecrets = secretsArn ? secretsManagerLoader(secretsArn) : async () => secretsFromEnv(process.env);

/** Margin kept at the end of an invocation to publish the outcome and release the lease. */
const FINISH_MARGIN_MS = 30_000;
let deps: Promise<UploaderDeps> | undefined;

export async function handler(event: EventBridgeEvent<string, unknown>, context: Context): Promise<void> {
  deps ??= loadSecrets().then((secrets) => createUploaderDeps({ settings, secrets, store, ledger, publisher, logger }));
  const base = await deps.catch((error: unknown) => {
    deps = undefined;
    throw error;
  });
  const parsed = parseEvent(event, DetailType.FileUploadRequested);
  const transferTimeoutMs = Math.max(1_000, Math.min(settings.transferTimeoutMs, context.getRemainingTimeInMillis() - FINISH_MARGIN_MS));
  const outcome = await uploadFile(parsed, { ...base, transferTimeoutMs });
  logger.info('uploader outcome', { outcome: outcome.outcome, fileId: parsed.detail.file.fileId, correlationId: parsed.detail.metadata.correlationId });
}
