/**
 * The uploader's settings that this module owns: the recovery sweep's re-drive cap,
 * its default, and errors that name the variable.
 */
import { DEFAULT_MAX_REDRIVES, loadUploaderSettings } from '../../services/uploader/config';
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
