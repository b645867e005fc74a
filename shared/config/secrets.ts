/**
 * Where the Zoom credentials come from. In Lambda they live in one Secrets Manager
 * secret (JSON, ARN in ZOOM_SECRETS_ARN), read once per container at the first
 * request and cached; never in plain environment variables. On one machine they come
 * from the environment (or .env).
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import * as z from 'zod/mini';
import { ConfigError } from '../errors';

const nonEmpty = () => z.string().check(z.minLength(1));

export const ZoomSecretsSchema = z.object({
  ZOOM_WEBHOOK_SECRET_TOKEN: z.optional(nonEmpty()),
  TOKEN_SEALING_SECRET: z.optional(z.string().check(z.minLength(16))),
  ZOOM_ACCOUNT_ID: z.optional(nonEmpty()),
  ZOOM_CLIENT_ID: z.optional(nonEmpty()),
  ZOOM_CLIENT_SECRET: z.optional(nonEmpty()),
});
export type ZoomSecrets = z.infer<typeof ZoomSecretsSchema>;

const SECRET_KEYS = Object.keys(ZoomSecretsSchema.shape) as (keyof ZoomSecrets)[];

/** Reads the secrets from the environment (single machine) — only the known keys. */
export function secretsFromEnv(env: Record<string, string | undefined>): ZoomSecrets {
  const picked = Object.fromEntries(SECRET_KEYS.filter((k) => env[k]).map((k) => [k, env[k]]));
  const result = ZoomSecretsSchema.safeParse(picked);
  if (!result.success) throw new ConfigError(`invalid secret settings: ${result.error.issues.map((i) => String(i.path[0])).join(', ')}`);
  return result.data;
}

/** Reads the JSON secret once; concurrent first calls share one request. */
export function secretsManagerLoader(secretId: string, client: Pick<SecretsManagerClient, 'send'> = new SecretsManagerClient({})) {
  let pending: Promise<ZoomSecrets> | undefined;
  return (): Promise<ZoomSecrets> => {
    pending ??= (async () => {
      const response = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
      let json: unknown;
      try {
        json = JSON.parse(response.SecretString ?? '');
      } catch (error) {
        throw new ConfigError(`secret ${secretId} is not a JSON object`, { cause: error });
      }
      const result = ZoomSecretsSchema.safeParse(json);
      // Name the keys only: values are secrets.
      if (!result.success) throw new ConfigError(`secret ${secretId} has invalid keys: ${result.error.issues.map((i) => String(i.path[0])).join(', ')}`);
      return result.data;
    })().catch((error: unknown) => {
      pending = undefined; // let the next invocation try again
      throw error;
    });
    return pending;
  };
}
