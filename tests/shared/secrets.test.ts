/**
 * The Secrets Manager loader, with a fake client that counts reads and a fake clock:
 * an invalid secret is never kept (the next call reads again), a valid one is reused
 * for 5 minutes and then re-read (a rotation takes effect), concurrent calls share one
 * read, and no error message carries a secret's value.
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { loadWebhookConfig } from '../../services/webhook/config';
import { ConfigError } from '../../shared/errors';
import { DEFAULT_SECRET_CACHE_MS, SECRET_REREAD_AFTER_ERROR_MS, secretsManagerLoader, type ZoomSecrets } from '../../shared/config/secrets';

const SECRET_ID = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:zoom-archiver/zoom-AbCdEf';
const TOKEN = 'webhook-secret-token-value-0001';
const ROTATED = 'webhook-secret-token-value-0002';

/** A Secrets Manager stand-in: answers the current text (or fails), counts the reads, can hold them. */
class FakeSecrets {
  text = '{}';
  failWith: Error | undefined;
  reads = 0;
  secretIds: unknown[] = [];
  private held: (() => void)[] | undefined;

  readonly client = {
    send: async (command: { input: { SecretId?: string } }) => {
      this.reads++;
      this.secretIds.push(command.input.SecretId);
      if (this.held) await new Promise<void>((resolve) => this.held!.push(resolve));
      if (this.failWith) throw this.failWith;
      return { SecretString: this.text };
    },
  } as unknown as Pick<SecretsManagerClient, 'send'>;

  hold(): void {
    this.held = [];
  }
  releaseAll(): void {
    const waiting = this.held ?? [];
    this.held = undefined;
    for (const resolve of waiting) resolve();
  }
}

/** A consumer's check like the webhook's: the secret token is required. */
const requireToken = (secrets: ZoomSecrets) => {
  if (!secrets.ZOOM_WEBHOOK_SECRET_TOKEN) throw new ConfigError('webhook configuration: ZOOM_WEBHOOK_SECRET_TOKEN: is required');
  return { token: secrets.ZOOM_WEBHOOK_SECRET_TOKEN };
};

describe('secretsManagerLoader', () => {
  let fake: FakeSecrets;
  let now: number;
  const clock = () => now;
  beforeEach(() => {
    fake = new FakeSecrets();
    now = Date.UTC(2026, 10, 26, 9, 0, 0);
  });

  it('does not keep a secret its consumer refuses: the next call reads again and works once the operator fills it in', async () => {
    const load = secretsManagerLoader(SECRET_ID, { client: fake.client, validate: requireToken, now: clock });
    fake.text = JSON.stringify({ ZOOM_ACCOUNT_ID: 'acct' }); // created, not filled in yet

    await expect(load()).rejects.toThrow(/ZOOM_WEBHOOK_SECRET_TOKEN/);
    await expect(load()).rejects.toThrow(ConfigError);
    expect(fake.reads).toBe(2);

    fake.text = JSON.stringify({ ZOOM_WEBHOOK_SECRET_TOKEN: TOKEN });
    now += 1_000; // well within the cache time: an invalid value started no cache period

    expect(await load()).toEqual({ token: TOKEN });
    expect(fake.reads).toBe(3);
    expect(fake.secretIds.every((id) => id === SECRET_ID)).toBe(true);
  });

  it('does not keep a secret the schema refuses either', async () => {
    const load = secretsManagerLoader(SECRET_ID, { client: fake.client, now: clock });
    fake.text = JSON.stringify({ ZOOM_WEBHOOK_SECRET_TOKEN: TOKEN, TOKEN_SEALING_SECRET: 'short' });

    await expect(load()).rejects.toThrow(/TOKEN_SEALING_SECRET/);

    fake.text = JSON.stringify({ ZOOM_WEBHOOK_SECRET_TOKEN: TOKEN, TOKEN_SEALING_SECRET: 'a-sealing-secret-long-enough' });
    expect((await load()).TOKEN_SEALING_SECRET).toBe('a-sealing-secret-long-enough');
    expect(fake.reads).toBe(2);
  });

  it('reuses a valid secret for 5 minutes, then reads it again, so a rotation takes effect', async () => {
    const load = secretsManagerLoader(SECRET_ID, { client: fake.client, validate: requireToken, now: clock });
    fake.text = JSON.stringify({ ZOOM_WEBHOOK_SECRET_TOKEN: TOKEN });
    const first = await load();

    fake.text = JSON.stringify({ ZOOM_WEBHOOK_SECRET_TOKEN: ROTATED }); // rotated in Secrets Manager
    now += DEFAULT_SECRET_CACHE_MS - 1;
    expect(await load()).toBe(first);
    expect(fake.reads).toBe(1);

    now += 1;
    expect(await load()).toEqual({ token: ROTATED });
    expect(fake.reads).toBe(2);
    expect(DEFAULT_SECRET_CACHE_MS).toBe(5 * 60_000);
  });

  it('returns the very same value after a re-read of an unchanged secret, so what callers built on it is kept', async () => {
    let built = 0;
    const load = secretsManagerLoader(SECRET_ID, { client: fake.client, validate: (s) => ({ built: ++built, ...requireToken(s) }), now: clock });
    fake.text = JSON.stringify({ ZOOM_WEBHOOK_SECRET_TOKEN: TOKEN });
    const first = await load();

    now += DEFAULT_SECRET_CACHE_MS;
    const second = await load();

    expect(fake.reads).toBe(2);
    expect(second).toBe(first);
    expect(built).toBe(1);
  });

  it('takes its cache time from an option', async () => {
    const load = secretsManagerLoader(SECRET_ID, { client: fake.client, cacheMs: 10_000, now: clock });
    fake.text = JSON.stringify({ ZOOM_WEBHOOK_SECRET_TOKEN: TOKEN });
    await load();

    now += 9_999;
    await load();
    expect(fake.reads).toBe(1);
    now += 1;
    await load();
    expect(fake.reads).toBe(2);
  });

  it('shares one read among concurrent first calls, and among concurrent calls after the cache time', async () => {
    const load = secretsManagerLoader(SECRET_ID, { client: fake.client, validate: requireToken, now: clock });
    fake.text = JSON.stringify({ ZOOM_WEBHOOK_SECRET_TOKEN: TOKEN });
    fake.hold();

    const calls = Array.from({ length: 10 }, () => load());
    await Promise.resolve();
    fake.releaseAll();
    const values = await Promise.all(calls);

    expect(fake.reads).toBe(1);
    expect(new Set(values).size).toBe(1);

    now += DEFAULT_SECRET_CACHE_MS;
    fake.text = JSON.stringify({ ZOOM_WEBHOOK_SECRET_TOKEN: ROTATED });
    fake.hold();
    const again = Array.from({ length: 10 }, () => load());
    await Promise.resolve();
    fake.releaseAll();

    expect((await Promise.all(again)).every((v) => v.token === ROTATED)).toBe(true);
    expect(fake.reads).toBe(2);
  });

  it('shares a failing first read too, and tries again at the next call', async () => {
    const load = secretsManagerLoader(SECRET_ID, { client: fake.client, now: clock });
    fake.failWith = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    fake.hold();

    const calls = [load(), load(), load()];
    await Promise.resolve();
    fake.releaseAll();
    const results = await Promise.allSettled(calls);

    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    expect(fake.reads).toBe(1);
    fake.failWith = undefined;
    fake.text = JSON.stringify({ ZOOM_WEBHOOK_SECRET_TOKEN: TOKEN });
    expect((await load()).ZOOM_WEBHOOK_SECRET_TOKEN).toBe(TOKEN);
    expect(fake.reads).toBe(2);
  });

  it('keeps using the last valid secret when a re-read fails, and tries again after a short while', async () => {
    const load = secretsManagerLoader(SECRET_ID, { client: fake.client, validate: requireToken, now: clock });
    fake.text = JSON.stringify({ ZOOM_WEBHOOK_SECRET_TOKEN: TOKEN });
    const first = await load();
    fake.failWith = Object.assign(new Error('connect ETIMEDOUT'), { name: 'TimeoutError' });

    now += DEFAULT_SECRET_CACHE_MS;
    expect(await load()).toBe(first);
    expect(fake.reads).toBe(2);
    now += SECRET_REREAD_AFTER_ERROR_MS - 1;
    expect(await load()).toBe(first);
    expect(fake.reads).toBe(2);

    fake.failWith = undefined;
    fake.text = JSON.stringify({ ZOOM_WEBHOOK_SECRET_TOKEN: ROTATED });
    now += 1;
    expect(await load()).toEqual({ token: ROTATED });
    expect(fake.reads).toBe(3);
  });

  it('drops a valid secret once it is replaced by one that does not validate', async () => {
    const load = secretsManagerLoader(SECRET_ID, { client: fake.client, validate: requireToken, now: clock });
    fake.text = JSON.stringify({ ZOOM_WEBHOOK_SECRET_TOKEN: TOKEN });
    await load();

    fake.text = JSON.stringify({ ZOOM_CLIENT_ID: 'half-edited' });
    now += DEFAULT_SECRET_CACHE_MS;

    await expect(load()).rejects.toThrow(/ZOOM_WEBHOOK_SECRET_TOKEN/);
    await expect(load()).rejects.toThrow(ConfigError);
    expect(fake.reads).toBe(3);
  });

  describe('error messages name keys, never values', () => {
    const secretValues = [TOKEN, 'client-secret-value-XYZ', 'shortseal', 'not-json-secret-text'];
    async function errorOf(text: string, validate?: (s: ZoomSecrets) => unknown): Promise<Error> {
      fake.text = text;
      const load = secretsManagerLoader(SECRET_ID, { client: fake.client, validate, now: clock });
      return load().then(
        () => {
          throw new Error('expected the load to fail');
        },
        (error: Error) => error,
      );
    }
    const expectNoValue = (error: Error) => {
      const everything = `${error.message} ${String(error.stack)} ${JSON.stringify(error)} ${String(error.cause ?? '')}`;
      for (const value of secretValues) expect(everything).not.toContain(value);
    };

    it('for text that is not JSON (JSON.parse would quote it)', async () => {
      const error = await errorOf('not-json-secret-text');

      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).toContain('is not a JSON object');
      expect(error.cause).toBeUndefined();
      expectNoValue(error);
    });

    it('for keys the schema refuses', async () => {
      const error = await errorOf(JSON.stringify({ ZOOM_WEBHOOK_SECRET_TOKEN: TOKEN, ZOOM_CLIENT_SECRET: 'client-secret-value-XYZ', TOKEN_SEALING_SECRET: 'shortseal' }));

      expect(error.message).toContain('TOKEN_SEALING_SECRET');
      expectNoValue(error);
    });

    it("for the webhook's own configuration check", async () => {
      const error = await errorOf(JSON.stringify({ ZOOM_CLIENT_SECRET: 'client-secret-value-XYZ' }), (secrets) => loadWebhookConfig({ ...secrets }));

      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).toContain('ZOOM_WEBHOOK_SECRET_TOKEN');
      expectNoValue(error);
    });
  });
});
