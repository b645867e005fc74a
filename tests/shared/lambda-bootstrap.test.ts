/**
 * The pieces every Lambda handler is bootstrapped with: parseEnv (one error naming
 * every missing or invalid variable, never a value), lambdaHandler (dependencies
 * built at the first invocation, kept, a failed build not kept) and zoomSecretsLoader
 * (Secrets Manager when ZOOM_SECRETS_ARN is set, else the environment).
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import * as z from 'zod/mini';
import { ConfigError } from '../../shared/errors';
import { optionalVar, parseEnv, parseSettings, requiredVar, requiredVariables } from '../../shared/lambda/env';
import { lambdaHandler } from '../../shared/lambda/handler';
import { zoomSecretsLoader } from '../../shared/lambda/zoom-secrets';
import type { ZoomSecrets } from '../../shared/config/secrets';

const Schema = z.object({
  EVENT_BUS_NAME: requiredVar(),
  LEDGER_TABLE_NAME: requiredVar(),
  ZOOM_SECRETS_ARN: optionalVar(),
  UPLOAD_LEASE_SECONDS: z._default(z.coerce.number().check(z.int(), z.positive(), z.lte(3600)), 60),
  ENDPOINT: z.optional(z.url()),
  MODE: z.optional(z.enum(['normal', 'full'])),
});

function errorOf(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('parseEnv', () => {
  it('returns the typed values: coerced, defaulted, optional ones absent', () => {
    expect(parseEnv(Schema, { EVENT_BUS_NAME: 'bus', LEDGER_TABLE_NAME: 'ledger', UPLOAD_LEASE_SECONDS: '120' })).toEqual({
      EVENT_BUS_NAME: 'bus',
      LEDGER_TABLE_NAME: 'ledger',
      UPLOAD_LEASE_SECONDS: 120,
    });
    expect(parseEnv(Schema, { EVENT_BUS_NAME: 'bus', LEDGER_TABLE_NAME: 'ledger' }).UPLOAD_LEASE_SECONDS).toBe(60);
  });

  it('names every missing variable in one ConfigError, in the schema order', () => {
    const error = errorOf(() => parseEnv(Schema, {}));

    expect(error.message).toBe('EVENT_BUS_NAME: is required; LEDGER_TABLE_NAME: is required');
    expect(error.variables).toEqual(['EVENT_BUS_NAME', 'LEDGER_TABLE_NAME']);
    expect(error.retryable).toBe(false);
  });

  it('treats an empty value as unset: required ones are reported, defaulted ones get their default', () => {
    expect(errorOf(() => parseEnv(Schema, { EVENT_BUS_NAME: '', LEDGER_TABLE_NAME: 'ledger' })).message).toBe('EVENT_BUS_NAME: is required');
    expect(parseEnv(Schema, { EVENT_BUS_NAME: 'bus', LEDGER_TABLE_NAME: 'ledger', UPLOAD_LEASE_SECONDS: '' }).UPLOAD_LEASE_SECONDS).toBe(60);
  });

  it('says what rule an invalid value broke, together with the missing ones, and never quotes a value', () => {
    const values = { UPLOAD_LEASE_SECONDS: 'hunter2-not-a-number', ENDPOINT: 'hunter2-not-a-url', MODE: 'hunter2-mode' };
    const error = errorOf(() => parseEnv(Schema, { LEDGER_TABLE_NAME: 'ledger', ...values }));

    expect(error.message).toBe(
      'EVENT_BUS_NAME: is required; UPLOAD_LEASE_SECONDS: must be a number; ENDPOINT: must be a URL; MODE: must be one of normal, full',
    );
    expect(`${error.message} ${String(error.stack)}`).not.toContain('hunter2');
    expect(errorOf(() => parseEnv(Schema, { EVENT_BUS_NAME: 'b', LEDGER_TABLE_NAME: 'l', UPLOAD_LEASE_SECONDS: '2.5' })).message).toBe(
      'UPLOAD_LEASE_SECONDS: must be a whole number',
    );
    expect(errorOf(() => parseEnv(Schema, { EVENT_BUS_NAME: 'b', LEDGER_TABLE_NAME: 'l', UPLOAD_LEASE_SECONDS: '0' })).message).toBe(
      'UPLOAD_LEASE_SECONDS: must be positive',
    );
    expect(errorOf(() => parseEnv(Schema, { EVENT_BUS_NAME: 'b', LEDGER_TABLE_NAME: 'l', UPLOAD_LEASE_SECONDS: '3601' })).message).toBe(
      'UPLOAD_LEASE_SECONDS: must be at most 3600',
    );
  });

  it("keeps a schema's own message", () => {
    const own = z.object({ TOKEN: z.string({ error: 'is required (the Zoom app\'s "Secret Token")' }) });
    expect(errorOf(() => parseEnv(own, {})).message).toBe('TOKEN: is required (the Zoom app\'s "Secret Token")');
  });

  it("reads only the schema's variables", () => {
    const parsed = parseEnv(Schema, { EVENT_BUS_NAME: 'bus', LEDGER_TABLE_NAME: 'ledger', PATH: '/usr/bin', MODE_EXTRA: 'x' });
    expect(Object.keys(parsed).sort()).toEqual(['EVENT_BUS_NAME', 'LEDGER_TABLE_NAME', 'UPLOAD_LEASE_SECONDS']);
  });

  it('reports settings that are not text (a JSON secret) in the same format, with the prefix naming their source', () => {
    const secret = z.object({ KEY: z.optional(z.string().check(z.minLength(16))), OTHER: z.optional(z.string()) });
    const error = errorOf(() => parseSettings(secret, { KEY: 'hunter2', OTHER: 42 }, 'secret arn:x: '));

    expect(error.message).toBe('secret arn:x: KEY: must have at least 16 characters; OTHER: must be a string');
    expect(error.variables).toEqual(['KEY', 'OTHER']);
    expect(error.message).not.toContain('hunter2');
  });

  it('lists the variables a deployment must set: neither optional nor defaulted', () => {
    expect(requiredVariables(Schema)).toEqual(['EVENT_BUS_NAME', 'LEDGER_TABLE_NAME']);
  });
});

describe('lambdaHandler', () => {
  it('builds nothing until the first invocation, then builds once and reuses it', async () => {
    const build = jest.fn(() => ({ client: Symbol('client') }));
    const seen: unknown[] = [];
    const handler = lambdaHandler(build, async (event: string, _context: unknown, deps) => {
      seen.push(deps.client);
      return `handled ${event}`;
    });
    expect(build).not.toHaveBeenCalled();

    expect(await handler('a', {})).toBe('handled a');
    expect(await handler('b', {})).toBe('handled b');

    expect(build).toHaveBeenCalledTimes(1);
    expect(seen[0]).toBe(seen[1]);
  });

  it('does not keep a build that failed: every invocation reports it until the configuration is fixed', async () => {
    const env: Record<string, string | undefined> = {};
    const build = jest.fn(() => parseEnv(z.object({ EVENT_BUS_NAME: requiredVar() }), env));
    const handler = lambdaHandler(build, async (_event: unknown, _context: unknown, deps) => deps.EVENT_BUS_NAME);

    await expect(handler({}, {})).rejects.toThrow(new ConfigError('EVENT_BUS_NAME: is required'));
    await expect(handler({}, {})).rejects.toThrow(ConfigError);
    env.EVENT_BUS_NAME = 'bus';
    expect(await handler({}, {})).toBe('bus');
    expect(build).toHaveBeenCalledTimes(3);
  });
});

describe('zoomSecretsLoader', () => {
  const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:zoom-AbCdEf';
  const fakeSecretsManager = (texts: string[]) => {
    const ids: unknown[] = [];
    const client = {
      send: async (command: { input: { SecretId?: string } }) => {
        ids.push(command.input.SecretId);
        return { SecretString: texts[Math.min(ids.length, texts.length) - 1] };
      },
    } as unknown as Pick<SecretsManagerClient, 'send'>;
    return { client, ids };
  };

  it('reads the secret from Secrets Manager when ZOOM_SECRETS_ARN is set, ignoring the environment', async () => {
    const { client, ids } = fakeSecretsManager([JSON.stringify({ ZOOM_WEBHOOK_SECRET_TOKEN: 'from-secrets-manager-0001' })]);
    const load = zoomSecretsLoader({ arn: ARN, env: { ZOOM_WEBHOOK_SECRET_TOKEN: 'from-the-environment-0001' } }, (s: ZoomSecrets) => ({ token: s.ZOOM_WEBHOOK_SECRET_TOKEN }), { client });

    const first = await load();
    expect(first).toEqual({ token: 'from-secrets-manager-0001' });
    expect(await load()).toBe(first);
    expect(ids).toEqual([ARN]);
  });

  it('does not keep a secret the handler refuses: the next call reads again', async () => {
    const { client, ids } = fakeSecretsManager(['{}', JSON.stringify({ ZOOM_WEBHOOK_SECRET_TOKEN: 'filled-in-later-0001' })]);
    const build = (s: ZoomSecrets) => {
      if (!s.ZOOM_WEBHOOK_SECRET_TOKEN) throw new ConfigError('ZOOM_WEBHOOK_SECRET_TOKEN: is required');
      return s.ZOOM_WEBHOOK_SECRET_TOKEN;
    };
    const load = zoomSecretsLoader({ arn: ARN, env: {} }, build, { client });

    await expect(load()).rejects.toThrow('ZOOM_WEBHOOK_SECRET_TOKEN: is required');
    expect(await load()).toBe('filled-in-later-0001');
    expect(ids).toHaveLength(2);
  });

  it('without an ARN builds once from the environment, and a refusal is thrown at once (the bootstrap fails)', async () => {
    const build = jest.fn((s: ZoomSecrets) => ({ token: s.ZOOM_WEBHOOK_SECRET_TOKEN }));
    const load = zoomSecretsLoader({ arn: undefined, env: { ZOOM_WEBHOOK_SECRET_TOKEN: 'from-the-environment-0001', UNRELATED: 'x' } }, build);

    expect(await load()).toBe(await load());
    expect(await load()).toEqual({ token: 'from-the-environment-0001' });
    expect(build).toHaveBeenCalledTimes(1);

    // The environment's secrets go through the same schema: a short sealing secret names the key, not the value.
    expect(() => zoomSecretsLoader({ arn: undefined, env: { TOKEN_SEALING_SECRET: 'hunter2' } }, build)).toThrow(
      'TOKEN_SEALING_SECRET: must have at least 16 characters',
    );
  });
});
