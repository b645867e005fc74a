/**
 * Lambda entry point (Function URL). Builds clients once per container; the Zoom
 * secret is read from Secrets Manager at the first request and cached. Every request
 * goes to the same Hono app the single-machine server uses.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { Hono } from 'hono';
import { handle } from 'hono/aws-lambda';
import { DynamoDbDeliveryGuard } from '../../shared/adapters/delivery-guard-dynamodb';
import { EventBridgePublisher } from '../../shared/adapters/eventbridge-publisher';
import { secretsFromEnv, secretsManagerLoader } from '../../shared/config/secrets';
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
const loadSecrets = secretsArn ? secretsManagerLoader(secretsArn) : async () => secretsFromEnv(process.env);

let app: Promise<Hono> | undefined;
function getApp(): Promise<Hono> {
  app ??= loadSecrets()
    .then((secrets) => {
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
    })
    .catch((error: unknown) => {
      app = undefined;
      throw error;
    });
  return app;
}

export const handler: ReturnType<typeof handle> = async (event, context) => handle(await getApp())(event, context);
