/**
 * Where the Zoom credentials come from. In Lambda they live in one Secrets Manager
 * secret (JSON, ARN in ZOOM_SECRETS_ARN), never in plain environment variables; on one
 * machine they come from the environment (or .env).
 *
 * In Lambda a container lives for hours, so the secret is re-read every few minutes
 * (a rotation takes effect without a redeploy), and a value the consumer cannot use
 * yet — the operator created the secret but has not filled in every key — is never
 * kept: the next invocation reads it again and works as soon as it is fixed.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import * as z from 'zod/mini';
import { ConfigError } from '../errors';
import { parseEnv, parseSettings } from '../lambda/env';

const nonEmpty = () => z.string().check(z.minLength(1));

export const ZoomSecretsSchema = z.object({
  ZOOM_WEBHOOK_SECRET_TOKEN: z.optional(nonEmpty()),
  TOKEN_SEALING_SECRET: z.optional(z.string().check(z.minLength(16))),
  ZOOM_ACCOUNT_ID: z.optional(nonEmpty()),
  ZOOM_CLIENT_ID: z.optional(nonEmpty()),
  ZOOM_CLIENT_SECRET: z.optional(nonEmpty()),
});
export type ZoomSecrets = z.infer<typeof ZoomSecretsSchema>;

/**
 * Reads the secrets from the environment (one machine, or a Lambda function without
 * ZOOM_SECRETS_ARN) — only the known keys; an empty one counts as unset.
 */
export function secretsFromEnv(env: Record<string, string | undefined>): ZoomSecrets {
  return parseEnv(ZoomSecretsSchema, env);
}

/** The keys of the Server-to-Server OAuth app: downloads without a webhook token, and listing recordings, need all three. */
export const S2S_OAUTH_KEYS = ['ZOOM_ACCOUNT_ID', 'ZOOM_CLIENT_ID', 'ZOOM_CLIENT_SECRET'] as const;

/** Those of S2S_OAUTH_KEYS that are unset (none: the app is configured). */
export function missingS2sKeys(secrets: ZoomSecrets): (typeof S2S_OAUTH_KEYS)[number][] {
  return S2S_OAUTH_KEYS.filter((key) => !secrets[key]);
}

/** How long a valid secret is reused before it is read again. */
export const DEFAULT_SECRET_CACHE_MS = 5 * 60_000;
/**
 * After a failed re-read (Secrets Manager throttled or unreachable), the last valid
 * value is used for this long before the next try: an outage of the secret store does
 * not stop a container that already has working credentials.
 */
export const SECRET_REREAD_AFTER_ERROR_MS = 30_000;

export interface SecretsLoaderOptions<T> {
  /**
   * The consumer's own check, run before anything is cached: turns the secret into
   * what the consumer uses (its config, its clients) or throws — a ConfigError that
   * names keys, never values. A secret it refuses is not kept.
   */
  validate?: (secrets: ZoomSecrets) => T;
  client?: Pick<SecretsManagerClient, 'send'>;
  /** How long a valid secret is reused; default DEFAULT_SECRET_CACHE_MS (5 minutes). */
  cacheMs?: number;
  /** Clock in epoch ms; injectable for tests. */
  now?: () => number;
}

/**
 * A loader for the JSON secret `secretId`: the validated value, reused for `cacheMs`;
 * concurrent calls share one request. While the secret's text is unchanged the same
 * value (same object) is returned after a re-read, so callers keep what they built on it.
 */
export function secretsManagerLoader<T = ZoomSecrets>(secretId: string, options: SecretsLoaderOptions<T> = {}): () => Promise<T> {
  const validate = options.validate ?? ((secrets: ZoomSecrets) => secrets as unknown as T);
  return cachedSecretLoader(secretId, (text) => validate(parseSecret(secretId, text)), options);
}

/**
 * The same loader for a consumer that keeps keys of its own in the secret (the
 * subscriber dispatcher's signing secrets, named `env:NAME` in the configuration):
 * `validate` gets every key whose value is a string, not only the Zoom ones, and
 * decides what is usable, with the same caching and the same never-keep-a-refusal rule.
 */
export function secretKeysLoader<T>(
  secretId: string,
  options: Omit<SecretsLoaderOptions<T>, 'validate'> & { validate: (keys: Readonly<Record<string, string>>) => T },
): () => Promise<T> {
  return cachedSecretLoader(secretId, (text) => options.validate(parseSecretKeys(secretId, text)), options);
}

function cachedSecretLoader<T>(secretId: string, decode: (text: string) => T, options: Omit<SecretsLoaderOptions<T>, 'validate'>): () => Promise<T> {
  const client = options.client ?? new SecretsManagerClient({});
  const cacheMs = options.cacheMs ?? DEFAULT_SECRET_CACHE_MS;
  const now = options.now ?? Date.now;
  let cached: { text: string; value: T; freshUntil: number } | undefined;
  let pending: Promise<T> | undefined;

  async function read(): Promise<T> {
    let text: string;
    try {
      text = (await client.send(new GetSecretValueCommand({ SecretId: secretId }))).SecretString ?? '';
    } catch (error) {
      if (!cached) throw error;
      cached.freshUntil = now() + Math.min(cacheMs, SECRET_REREAD_AFTER_ERROR_MS);
      return cached.value;
    }
    if (cached && text === cached.text) {
      cached.freshUntil = now() + cacheMs;
      return cached.value;
    }
    // Whatever follows, the old value is not the operator's secret any more.
    cached = undefined;
    const value = decode(text);
    cached = { text, value, freshUntil: now() + cacheMs };
    return value;
  }

  return (): Promise<T> => {
    if (cached && now() < cached.freshUntil) return Promise.resolve(cached.value);
    pending ??= read().finally(() => {
      pending = undefined;
    });
    return pending;
  };
}

/** The secret's JSON, checked against the schema; errors name the keys, never the values. */
function parseSecret(secretId: string, text: string): ZoomSecrets {
  return parseSettings(ZoomSecretsSchema, secretObject(secretId, text), `secret ${secretId}: `);
}

/** Every key of the secret's JSON whose value is a string (other values are left out, never quoted). */
function parseSecretKeys(secretId: string, text: string): Readonly<Record<string, string>> {
  const keys: Record<string, string> = {};
  for (const [key, value] of Object.entries(secretObject(secretId, text))) if (typeof value === 'string') keys[key] = value;
  return keys;
}

function secretObject(secretId: string, text: string): Record<string, unknown> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // No cause: JSON.parse's message quotes the text it could not read, i.e. the secret.
    throw new ConfigError(`secret ${secretId} is not a JSON object`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ConfigError(`secret ${secretId} is not a JSON object`);
  return json as Record<string, unknown>;
}
