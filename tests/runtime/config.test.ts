import { ConfigError } from '../../shared/errors';
import { loadRuntimeConfig } from '../../host/config';

const base = { ZOOM_WEBHOOK_SECRET_TOKEN: 'zoom-secret-token-22ch' };

describe('runtime configuration', () => {
  it('defaults to SQLite and a folder archive under ./data', () => {
    const config = loadRuntimeConfig(base);
    expect(config).toMatchObject({ host: '127.0.0.1', port: 8080, uploadConcurrency: 2, busSync: 'normal', archive: { kind: 'folder' } });
    expect(config.archive.kind === 'folder' && config.archive.dir).toMatch(/data[/\\]archive$/);
  });

  it('archives to an S3-compatible bucket with the credentials given in the same configuration', () => {
    const config = loadRuntimeConfig({ ...base, ARCHIVE_BUCKET: 'school-recordings', ARCHIVE_S3_ENDPOINT: 'http://127.0.0.1:9000', AWS_ACCESS_KEY_ID: 'id', AWS_SECRET_ACCESS_KEY: 'key' });
    expect(config.archive).toEqual({
      kind: 's3',
      bucket: 'school-recordings',
      endpoint: 'http://127.0.0.1:9000',
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'id', secretAccessKey: 'key', sessionToken: undefined },
    });
  });

  it('lists every problem at once, naming each variable', () => {
    let error: unknown;
    try {
      loadRuntimeConfig({ ...base, PORT: 'eighty', ARCHIVE_BUCKET: 'Not_A_Bucket', UPLOAD_CONCURRENCY: '0', BUS_SYNC: 'sometimes', WEBHOOK_MAX_SKEW_SECONDS: '-1' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    for (const name of ['PORT', 'ARCHIVE_BUCKET', 'UPLOAD_CONCURRENCY', 'BUS_SYNC', 'WEBHOOK_MAX_SKEW_SECONDS']) expect(message).toContain(name);
  });
});

describe('the sealing secret', () => {
  it('refuses a webhook secret under 16 characters when it is what seals, naming the variable and not the value', () => {
    expect(() => loadRuntimeConfig({ ZOOM_WEBHOOK_SECRET_TOKEN: 'x' })).toThrow(/ZOOM_WEBHOOK_SECRET_TOKEN: must have at least 16 characters.*set TOKEN_SEALING_SECRET/);
  });

  it('accepts a short webhook secret when TOKEN_SEALING_SECRET (≥ 16) seals instead', () => {
    expect(() => loadRuntimeConfig({ ZOOM_WEBHOOK_SECRET_TOKEN: 'x', TOKEN_SEALING_SECRET: 'a-long-enough-sealing-secret' })).not.toThrow();
  });

  it('refuses a TOKEN_SEALING_SECRET under 16 characters', () => {
    let message = '';
    try {
      loadRuntimeConfig({ ZOOM_WEBHOOK_SECRET_TOKEN: 'zoom-secret-token-22ch', TOKEN_SEALING_SECRET: 'short-secret' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/TOKEN_SEALING_SECRET: must have at least 16 characters/);
    expect(message).not.toContain('short-secret');
  });
});

describe('reconciliation settings', () => {
  const s2s = { ZOOM_ACCOUNT_ID: 'acct', ZOOM_CLIENT_ID: 'client', ZOOM_CLIENT_SECRET: 'client-secret-value' };

  it('sweeps hourly over 3 days by default when Server-to-Server OAuth is configured, and not at all without it', () => {
    const withS2s = loadRuntimeConfig({ ...base, ...s2s });
    expect(withS2s.sweepIntervalMs).toBe(3_600_000);
    expect(withS2s.reconciler).toEqual({ apiBaseUrl: 'https://api.zoom.us/v2', requestsPerSecond: 10, lookbackDays: 3 });
    expect(loadRuntimeConfig(base).sweepIntervalMs).toBe(0);
    expect(loadRuntimeConfig({ ...base, ...s2s, SWEEP_INTERVAL_SECONDS: '0' }).sweepIntervalMs).toBe(0);
  });

  it('refuses a sweep without credentials, a too-short interval, a look-back under a day and a bad API URL, naming each variable', () => {
    expect(() => loadRuntimeConfig({ ...base, SWEEP_INTERVAL_SECONDS: '600' })).toThrow(/SWEEP_INTERVAL_SECONDS needs Zoom Server-to-Server OAuth/);
    let message = '';
    try {
      loadRuntimeConfig({ ...base, ...s2s, SWEEP_INTERVAL_SECONDS: '5', SWEEP_LOOKBACK_DAYS: '0', ZOOM_API_BASE_URL: 'not a url', ZOOM_API_REQUESTS_PER_SECOND: '-1' });
    } catch (error) {
      message = (error as Error).message;
    }
    for (const name of ['SWEEP_INTERVAL_SECONDS', 'SWEEP_LOOKBACK_DAYS', 'ZOOM_API_BASE_URL', 'ZOOM_API_REQUESTS_PER_SECOND']) expect(message).toContain(name);
    expect(message).not.toContain('client-secret-value');
  });

  it('lets commands that serve no webhook run without the webhook secret', () => {
    expect(() => loadRuntimeConfig({ ...s2s })).toThrow(/ZOOM_WEBHOOK_SECRET_TOKEN/);
    const config = loadRuntimeConfig({ ...s2s }, { webhook: 'optional' });
    expect(config.webhook).toBeUndefined();
  });
});
