/**
 * ARCHIVER_CONFIG_JSON: the course-validation rules passed inline (how the Lambda
 * function gets them from the CDK stack) behave exactly like the same JSON in a file.
 */
import { readFileSync } from 'node:fs';
import { DEFAULT_KEY_TEMPLATE, loadArchiverConfig } from '../../services/course-validation/config';
import { configError, configFixturePath } from './support';

const fixtureText = (name: string) => readFileSync(configFixturePath(name), 'utf8');

describe('ARCHIVER_CONFIG_JSON', () => {
  it('gives the same rules as the same JSON read from ARCHIVER_CONFIG', () => {
    const path = configFixturePath('full.json');
    const fromFile = loadArchiverConfig({ ARCHIVER_CONFIG: path });
    const inline = loadArchiverConfig({ ARCHIVER_CONFIG_JSON: JSON.stringify(JSON.parse(fixtureText('full.json'))) });

    expect(inline.source).toBe('ARCHIVER_CONFIG_JSON');
    expect({ ...inline, source: fromFile.source }).toEqual(fromFile);
    expect(inline.naming.template.source).toBe('archive/{course}/{start:yyyy}/{start:MM}/{start:dd_HHmm}_{recordingType}{part:-p}.{ext}');
    expect([...inline.courses.meetings]).toEqual([['5550001111', 'STAFF-ARCHIVE']]);
  });

  it('accepts a leading byte-order mark and surrounding white space, like a file', () => {
    const config = loadArchiverConfig({ ARCHIVER_CONFIG_JSON: '\ufeff{"files":{"minDurationSeconds":30}}\n' });
    expect(config.files.minDurationSeconds).toBe(30);
    expect(config.naming.template.source).toBe(DEFAULT_KEY_TEMPLATE);
  });

  it('falls back to the defaults when empty', () => {
    for (const value of ['', '   ']) {
      expect(loadArchiverConfig({ ARCHIVER_CONFIG_JSON: value }).source).toBe('defaults');
    }
  });

  it.each([
    ['bad-time-zone.json', /^ARCHIVER_CONFIG_JSON: naming\.timeZone: unknown time zone "Mars\/Olympus_Mons"/],
    ['bad-template-token.json', /^ARCHIVER_CONFIG_JSON: naming\.template: segment 3 \("\{date:yyyy\}"\): unknown token \{date:yyyy\}/],
    ['unknown-field.json', /^ARCHIVER_CONFIG_JSON: files\.minDuration: unknown field/],
    ['bad-pattern.json', /^ARCHIVER_CONFIG_JSON: courses\.topicPatterns\[0\]\.pattern: must have a named capture group "course"/],
    ['bad-file-type.json', /^ARCHIVER_CONFIG_JSON: files\.fileTypes\[1\]: expected one of MP4, M4A/],
    ['not-json.json', /^ARCHIVER_CONFIG_JSON: not valid JSON/],
  ])('names the variable and the bad field: %s', (file, message) => {
    const error = configError(() => loadArchiverConfig({ ARCHIVER_CONFIG_JSON: fixtureText(file) }));
    expect(error.message).toMatch(message);
    expect(error.retryable).toBe(false);
  });

  it('refuses to guess when both ARCHIVER_CONFIG and ARCHIVER_CONFIG_JSON are set', () => {
    const error = configError(() => loadArchiverConfig({ ARCHIVER_CONFIG: configFixturePath('full.json'), ARCHIVER_CONFIG_JSON: '{}' }));
    expect(error.message).toMatch(/ARCHIVER_CONFIG and ARCHIVER_CONFIG_JSON are both set/);
  });
});
