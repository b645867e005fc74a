/**
 * The uploader's settings that this module owns: the recovery sweep's re-drive cap and
 * automatic re-drive schedule, their defaults, and errors that name the variable.
 */
import { DEFAULT_AUTO_RETRY_BASE_SECONDS, DEFAULT_AUTO_RETRY_MAX_ATTEMPTS, DEFAULT_MAX_REDRIVES, loadUploaderSettings } from '../../services/uploader/config';
import { autoRetryDelayMs } from '../../services/uploader/failure-policy';
import { ConfigError } from '../../shared/errors';

describe('UPLOAD_MAX_REDRIVES', () => {
  it('defaults to 3 re-drives', () => {
    expect(DEFAULT_MAX_REDRIVES).toBe(3);
    expect(loadUploaderSettings({}).maxRedrives).toBe(3);
    expect(loadUploaderSettings({ UPLOAD_MAX_REDRIVES: '' }).maxRedrives).toBe(3);
  });

  it('reads a whole number from the environment', () => {
    expect(loadUploaderSettings({ UPLOAD_MAX_REDRIVES: '7' }).maxRedrives).toBe(7);
  });

  it.each(['0', '-1', '2.5', 'many', '101'])('refuses %j, naming the variable', (value) => {
    expect(() => loadUploaderSettings({ UPLOAD_MAX_REDRIVES: value })).toThrow(ConfigError);
    expect(() => loadUploaderSettings({ UPLOAD_MAX_REDRIVES: value })).toThrow(/UPLOAD_MAX_REDRIVES/);
  });
});

describe('AUTO_RETRY_BASE_SECONDS and AUTO_RETRY_MAX_ATTEMPTS', () => {
  it('default to 5 minutes and 8 automatic re-drives (about 21 hours of doubling waits)', () => {
    expect(DEFAULT_AUTO_RETRY_BASE_SECONDS).toBe(300);
    expect(DEFAULT_AUTO_RETRY_MAX_ATTEMPTS).toBe(8);
    const { autoRetry } = loadUploaderSettings({});
    expect(autoRetry).toEqual({ baseMs: 300_000, maxAttempts: 8 });
    const total = Array.from({ length: autoRetry.maxAttempts }, (_, i) => autoRetryDelayMs(autoRetry, i + 1)).reduce((a, b) => a + b, 0);
    expect(total / 3_600_000).toBeCloseTo(21.25, 2);
  });

  it('read whole numbers; 0 attempts turns automatic re-drive off', () => {
    expect(loadUploaderSettings({ AUTO_RETRY_BASE_SECONDS: '1', AUTO_RETRY_MAX_ATTEMPTS: '0' }).autoRetry).toEqual({ baseMs: 1_000, maxAttempts: 0 });
    expect(loadUploaderSettings({ AUTO_RETRY_BASE_SECONDS: '86400', AUTO_RETRY_MAX_ATTEMPTS: '50' }).autoRetry).toEqual({ baseMs: 86_400_000, maxAttempts: 50 });
  });

  it.each([
    ['AUTO_RETRY_BASE_SECONDS', '0'],
    ['AUTO_RETRY_BASE_SECONDS', '86401'],
    ['AUTO_RETRY_BASE_SECONDS', '1.5'],
    ['AUTO_RETRY_MAX_ATTEMPTS', '-1'],
    ['AUTO_RETRY_MAX_ATTEMPTS', '51'],
    ['AUTO_RETRY_MAX_ATTEMPTS', 'often'],
  ])('refuses %s=%j, naming the variable', (name, value) => {
    expect(() => loadUploaderSettings({ [name]: value })).toThrow(ConfigError);
    expect(() => loadUploaderSettings({ [name]: value })).toThrow(new RegExp(name));
  });
});
