/**
 * Lambda entry point (Function URL). Builds clients once per container; the Zoom
 * secret is read from Secrets Manager at the first request, reused for a few minutes
 * and never kept while the webhook cannot use it. Every request goes to the same Hono
 * app the single-machine server uses.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { Hono } from 'hono';
import { handle } from 'hono/aws-lambda';
import { DynamoDbDeliveryGuard } from '../../shared/adapters/delivery-guard-dynamodb';
import { EventBridgePublisher } from '../../shared/adapters/eventbridge-publisher';
import { secretsFromEnv, secretsManagerLoader, type ZoomSecrets } from '../../shared/config/secrets';
import { TokenSealer } from '../../shared/crypto/token-seal';
import { createLogger } from '../../shared/logger';
import { loadWebhookConfig } from './config';
import { createWebhookApp } from './http';

const eventBusName = process.env.EVENT_BUS_NAME;
if (!eventBusName) throw new Error('EVENT_BUS_NAME is required');
const publisher = new EventBridgePublisher({ client: new EventBridgeClient({}), eventBusName });
// Replays are remembered in the ledger table (items `delivery#…`, the only ones this role may write).
const ledgerTableName = process.env.LEDGER_TABLE_NAME;
if (!ledgerTableName) throw new Error('LEDGER_TABLE_NAME is required');
const deliveries = new DynamoDbDeliveryGuard({ client: new DynamoDBClient({}), tableName: ledgerTableName });
const logger = createLogger('webhook');
const secretsArn = process.env.ZOOM_SECRETS_ARN;

/** The webhook's own check (a missing secret token, a short sealing secret) runs before the secret is kept. */
const buildApp = (secrets: ZoomSecrets): Hono => {
  const config = loadWebhookConfig({ ...process.env, ...secrets });
  return createWebhookApp({
    secretToken: config.secretToken,
    maxSkewSeconds: config.maxSkewSeconds,
    sealer: new TokenSealer(config.sealingSecret),
    deliveries,
    publisher,
    logger,
    now: () => new Date(),
  });
};

/** Re-reads the secret every few minutes (a rotation takes effect); the same app while it is unchanged. */
let getApp: (() => Promise<Hono>) | undefined;
function appLoader(): () => Promise<Hono> {
  if (secretsArn) return secretsManagerLoader(secretsArn, { validate: buildApp });
  const app = buildApp(secretsFromEnv(process.env));
  return async () => app;
}

export const handler: ReturnType<typeof handle> = async (event, context) => {
  getApp ??= appLoader();
  return handle(await getApp())(event, context);
};
