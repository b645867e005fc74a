/**
 * Lambda entry point (Function URL). Every request goes to the same Hono app the
 * single-machine server uses.
 *
 * createWebhookLambda is the bootstrap: the environment (EVENT_BUS_NAME,
 * LEDGER_TABLE_NAME, ZOOM_SECRETS_ARN, WEBHOOK_MAX_SKEW_SECONDS) checked at once, the
 * clients built once per container. The Zoom secret is read at the first request,
 * reused for a few minutes and never kept while the webhook cannot use it (no secret
 * token, a short sealing secret). `handler` builds it at the first invocation.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { Context } from 'aws-lambda';
import { handle } from 'hono/aws-lambda';
import * as z from 'zod/mini';
import { DynamoDbDeliveryGuard } from '../../shared/adapters/delivery-guard-dynamodb';
import { EventBridgePublisher } from '../../shared/adapters/eventbridge-publisher';
import type { ZoomSecrets } from '../../shared/config/secrets';
import { TokenSealer } from '../../shared/crypto/token-seal';
import { LOGGING_ENV, parseEnv, requiredVar, type Env } from '../../shared/lambda/env';
import { lambdaHandler } from '../../shared/lambda/handler';
import { ZOOM_SECRETS_ENV, zoomSecretsLoader, type SecretsClient } from '../../shared/lambda/zoom-secrets';
import { createLogger, type AppLogger } from '../../shared/logger';
import type { EventPublisher } from '../../shared/ports/event-publisher';
import { webhookConfigFrom, WebhookSettingsEnv, webhookSettingsFrom } from './config';
import { createWebhookApp } from './http';

export const WebhookLambdaEnv = z.extend(WebhookSettingsEnv, {
  EVENT_BUS_NAME: requiredVar(),
  // Replays are remembered in the ledger table (items `delivery#…`, the only ones this role may write).
  LEDGER_TABLE_NAME: requiredVar(),
  ...ZOOM_SECRETS_ENV,
  ...LOGGING_ENV,
});

/** The Function URL adapter of the webhook app. */
export type FunctionUrlHandler = ReturnType<typeof handle>;
export type FunctionUrlEvent = Parameters<FunctionUrlHandler>[0];
export type FunctionUrlResult = Awaited<ReturnType<FunctionUrlHandler>>;

export interface WebhookLambda {
  /** The app for the current Zoom secret: the same one while the secret is unchanged. */
  app(): Promise<FunctionUrlHandler>;
}

/** What the bootstrap would otherwise build on AWS; tests pass stand-ins. */
export interface WebhookLambdaAdapters {
  publisher?: EventPublisher;
  dynamoDb?: DynamoDBClient;
  secretsManager?: SecretsClient;
  logger?: AppLogger;
  now?: () => Date;
}

export function createWebhookLambda(env: Env, adapters: WebhookLambdaAdapters = {}): WebhookLambda {
  const e = parseEnv(WebhookLambdaEnv, env);
  const settings = webhookSettingsFrom(e);
  const publisher = adapters.publisher ?? new EventBridgePublisher({ client: new EventBridgeClient({}), eventBusName: e.EVENT_BUS_NAME });
  const deliveries = new DynamoDbDeliveryGuard({ client: adapters.dynamoDb ?? new DynamoDBClient({}), tableName: e.LEDGER_TABLE_NAME });
  const logger = adapters.logger ?? createLogger('webhook', e.LOG_LEVEL);
  const now = adapters.now ?? (() => new Date());
  // The webhook's own check (a missing secret token, a short sealing secret) runs before the secret is kept.
  const build = (secrets: ZoomSecrets): FunctionUrlHandler => {
    const config = webhookConfigFrom(settings, secrets);
    return handle(
      createWebhookApp({
        secretToken: config.secretToken,
        maxSkewSeconds: config.maxSkewSeconds,
        sealer: new TokenSealer(config.sealingSecret),
        deliveries,
        publisher,
        logger,
        now,
      }),
    );
  };
  return { app: zoomSecretsLoader({ arn: e.ZOOM_SECRETS_ARN, env }, build, { client: adapters.secretsManager }) };
}

/** One Function URL request, answered by the app for the current secret. */
export async function handleWebhookRequest(event: FunctionUrlEvent, context: Context, deps: WebhookLambda): Promise<FunctionUrlResult> {
  const app = await deps.app();
  return app(event, context);
}

export const handler = lambdaHandler(() => createWebhookLambda(process.env), handleWebhookRequest);
