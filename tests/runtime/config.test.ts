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
