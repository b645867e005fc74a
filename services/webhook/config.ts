/**
 * Webhook configuration, validated once at start-up: a missing secret is a clear
 * message at boot, not an `undefined` inside a request.
 *
 * Two parts, because in Lambda they arrive separately: the settings come from the
 * environment at the cold start, the secret token from the Zoom secret, re-read every
 * few minutes. On one machine both come from the environment (loadWebhookConfig).
 */
import * as z from 'zod/mini';
import { sealingSecretFrom } from '../../shared/crypto/token-seal';
import { parseEnv, parseSettings, type Env } from '../../shared/lambda/env';

/** The webhook's settings that are not secret. */
export const WebhookSettingsEnv = z.object({
  WEBHOOK_MAX_SKEW_SECONDS: z._default(
    z.coerce.number().check(z.int(), z.positive(), z.lte(86_400, 'must be at most 86400 (one day)')),
    300,
  ),
});

const WebhookSecretSchema = z.object({
  ZOOM_WEBHOOK_SECRET_TOKEN: z.string({ error: 'is required (the Zoom app\'s "Secret Token")' }).check(z.minLength(1, 'must not be empty')),
  /** Seals download tokens on the bus; defaults to the webhook secret token (the rule is sealingSecretFrom's). */
  TOKEN_SEALING_SECRET: z.optional(z.string()),
});

export interface WebhookSettings {
  maxSkewSeconds: number;
}

export interface WebhookConfig extends WebhookSettings {
  secretToken: string;
  sealingSecret: string;
}

/** Everything from one place (the environment on one machine); every problem in one ConfigError. */
export function loadWebhookConfig(env: Env): WebhookConfig {
  const e = parseEnv(z.extend(WebhookSettingsEnv, WebhookSecretSchema.shape), env);
  return { ...webhookSettingsFrom(e), ...secretPart(e) };
}

/** The settings from variables already parsed with WebhookSettingsEnv (or a schema extending it). */
export function webhookSettingsFrom(e: z.output<typeof WebhookSettingsEnv>): WebhookSettings {
  return { maxSkewSeconds: e.WEBHOOK_MAX_SKEW_SECONDS };
}

/** The whole configuration from settings read earlier and the Zoom secret's keys (Lambda). */
export function webhookConfigFrom(settings: WebhookSettings, secrets: Env): WebhookConfig {
  return { ...settings, ...secretPart(parseSettings(WebhookSecretSchema, secrets)) };
}

function secretPart(secret: z.output<typeof WebhookSecretSchema>): Pick<WebhookConfig, 'secretToken' | 'sealingSecret'> {
  // Defined: without TOKEN_SEALING_SECRET the secret token, required above, seals.
  return { secretToken: secret.ZOOM_WEBHOOK_SECRET_TOKEN, sealingSecret: sealingSecretFrom(secret)! };
}
