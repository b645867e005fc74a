/**
 * The Zoom secret of a Lambda handler, loaded one way for every handler that needs it
 * (the webhook and the uploader): from Secrets Manager when ZOOM_SECRETS_ARN is set —
 * what the stack deploys, so the values never sit in the function's configuration —
 * else from the environment (a function run outside the stack).
 *
 * Built on secretsManagerLoader, so the rules are the same for both: the handler's
 * `build` turns the secret into what it uses (its app, its clients) and runs before
 * anything is kept; a secret it refuses is never cached, and the next invocation reads
 * again. From Secrets Manager the value is re-read every 5 minutes (a rotation takes
 * effect without a redeploy) and the same built object is returned while the secret's
 * text is unchanged. From the environment, which cannot change under a running
 * container, it is built once, with the handler's other dependencies: a refusal fails
 * that bootstrap, i.e. every invocation, with the handler's ConfigError.
 */
import { secretsFromEnv, secretsManagerLoader, type SecretsLoaderOptions, type ZoomSecrets } from '../config/secrets';
import { optionalVar, type Env } from './env';

/** What the loader needs of a Secrets Manager client (tests pass a stand-in). */
export type SecretsClient = NonNullable<SecretsLoaderOptions<unknown>['client']>;

/** The variable that says where the secret is; spread into a handler's env schema. */
export const ZOOM_SECRETS_ENV = { ZOOM_SECRETS_ARN: optionalVar() };

export interface ZoomSecretsSource {
  /** ZOOM_SECRETS_ARN, as the handler parsed it. */
  arn: string | undefined;
  /** Where the secret's keys are read when there is no ARN. */
  env: Env;
}

export function zoomSecretsLoader<T>(
  source: ZoomSecretsSource,
  build: (secrets: ZoomSecrets) => T,
  options: { client?: SecretsClient; now?: () => number } = {},
): () => Promise<T> {
  if (source.arn) return secretsManagerLoader(source.arn, { ...options, validate: build });
  const value = build(secretsFromEnv(source.env));
  return () => Promise.resolve(value);
}
