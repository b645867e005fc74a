/**
 * Webhook configuration, validated once at start-up: a missing secret is a clear
 * message at boot, not an `undefined` inside a request.
 */
import * as z from 'zod/mini';
import { sealingSecretFrom } from '../../shared/crypto/token-seal';
import { ConfigError } from '../../shared/errors';

const WebhookConfigSchema = z.object({
  ZOOM_WEBHOOK_SECRET_TOKEN: z
    .string({ error: 'is required (the Zoom app\'s "Secret Token")' })
    .check(z.minLength(1, 'must not be empty')),
  /** Seals download tokens on the bus; defaults to the webhook secret token (checked by sealingSecretFrom). */
  TOKEN_SEALING_SECRET: z.optional(z.string()),
  WEBHOOK_MAX_SKEW_SECONDS: z._default(
    z.coerce.number().check(z.int(), z.positive(), z.lte(86_400, 'must be at most 86400 (one day)')),
    300,
  ),
});

export interface WebhookConfig {
  secretToken: string;
  sealingSecret: string;
  maxSkewSeconds: number;
}

export function loadWebhookConfig(env: Record<string, string | undefined>): WebhookConfig {
  const result = WebhookConfigSchema.safeParse(env);
  if (!result.success) {
    throw new ConfigError(`webhook configuration: ${result.error.issues.map((i) => `${String(i.path[0])}: ${i.message}`).join('; ')}`);
  }
  const config = result.data;
  return {
    secretToken: config.ZOOM_WEBHOOK_SECRET_TOKEN,
    sealingSecret: sealingSecretFrom(config)!,
    maxSkewSeconds: config.WEBHOOK_MAX_SKEW_SECONDS,
  };
}
