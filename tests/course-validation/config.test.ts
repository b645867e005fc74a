import {
  DEFAULT_KEY_TEMPLATE,
  DEFAULT_TOPIC_PATTERN,
  loadArchiverConfig,
  parseArchiverConfig,
} from '../../services/course-validation/config';
import { configError, configFixturePath } from './support';

describe('loadArchiverConfig', () => {
  it('uses the original deployment rules when ARCHIVER_CONFIG is not set', () => {
    for (const env of [{}, { ARCHIVER_CONFIG: '' }, { ARCHIVER_CONFIG: '   ' }]) {
      const config = loadArchiverConfig(env);
      expect(config.source).toBe('defaults');
      expect(config.courses.topicPatterns.map((p) => p.source)).toEqual([DEFAULT_TOPIC_PATTERN]);
      expect(config.courses.meetings.size).toBe(0);
      expect(config.courses.hosts.size).toBe(0);
      expect([...config.files.fileTypes]).toEqual(['MP4']);
      expect(config.files.recordingTypes).toBeUndefined();
      expect(config.files.bestViewOnly).toBeUndefined();
      expect(config.files.minDurationSeconds).toBe(120);
      expect(config.naming.template.source).toBe(DEFAULT_KEY_TEMPLATE);
      expect(config.naming.timeZone).toEqual({ kind: 'meeting' });
    }
  });

  it('reads every option from the file', () => {
    const path = configFixturePath('full.json');
    const config = loadArchiverConfig({ ARCHIVER_CONFIG: path });
    expect(config.source).toBe(`ARCHIVER_CONFIG ${path}`);
    expect(config.courses.topicPatterns).toHaveLength(2);
    expect(config.courses.topicPatterns[0]!.regex.flags).toBe('i');
    expect([...config.courses.meetings]).toEqual([['5550001111', 'STAFF-ARCHIVE']]);
    expect([...config.courses.hosts]).toEqual([['teacher@example.com', 'MAQ-GENERAL']]);
    expect([...config.files.fileTypes]).toEqual(['MP4', 'M4A', 'TRANSCRIPT', 'CC']);
    expect(config.files.recordingTypes?.has('audio_only')).toBe(true);
    expect(config.files.bestViewOnly).toEqual(['shared_screen_with_speaker_view', 'speaker_view', 'gallery_view']);
    expect(config.files.minDurationSeconds).toBe(60);
    expect(config.naming.template.source).toBe('archive/{course}/{start:yyyy}/{start:MM}/{start:dd_HHmm}_{recordingType}{part:-p}.{ext}');
    expect(config.naming.timeZone).toEqual({ kind: 'fixed', zone: 'Europe/Berlin' });
  });

  it.each([
    ['bad-time-zone.json', /: naming\.timeZone: unknown time zone "Mars\/Olympus_Mons"/],
    ['bad-template-token.json', /: naming\.template: segment 3 \("\{date:yyyy\}"\): unknown token \{date:yyyy\}/],
    ['unknown-field.json', /: files\.minDuration: unknown field/],
    ['bad-pattern.json', /: courses\.topicPatterns\[0\]\.pattern: must have a named capture group "course"/],
    ['bad-file-type.json', /: files\.fileTypes\[1\]: expected one of MP4, M4A/],
    ['not-json.json', /: not valid JSON/],
    ['missing.json', /: cannot read the file \(ENOENT\)/],
  ])('names the file and the bad field: %s', (file, message) => {
    const path = configFixturePath(file);
    const error = configError(() => loadArchiverConfig({ ARCHIVER_CONFIG: path }));
    expect(error.message.startsWith(`ARCHIVER_CONFIG ${path}: `)).toBe(true);
    expect(error.message).toMatch(message);
    expect(error.retryable).toBe(false);
  });
});

describe('parseArchiverConfig', () => {
  it.each([
    [{ courses: { topicPatterns: [{ pattern: '(?<course>[A-Z' }] } }, 'courses.topicPatterns[0].pattern: not a valid regular expression'],
    [{ courses: { topicPatterns: [{ pattern: '(?<course>x)', flags: 'g' }] } }, 'courses.topicPatterns[0].flags: flags may only use'],
    [{ courses: { meetings: { 'abc-def': 'MAQ101' } } }, 'courses.meetings["abc-def"]: a meeting id is a number'],
    [{ courses: { meetings: { '123 456': 'A', '123456': 'B' } } }, 'courses.meetings["123 456"]: meeting id 123456 is listed twice'],
    [{ courses: { meetings: { '123': '  ' } } }, 'courses.meetings["123"]: a course code must not be empty'],
    [{ courses: { hosts: { 'not-an-email': 'MAQ101' } } }, 'courses.hosts["not-an-email"]: not an email address'],
    [{ files: { fileTypes: [] } }, 'files.fileTypes: must list at least one value'],
    [{ files: { fileTypes: ['MP4', 'mp4'] } }, 'files.fileTypes[1]: "MP4" is listed twice'],
    [{ files: { recordingTypes: ['speaker-view'] } }, 'files.recordingTypes[0]: expected one of'],
    [{ files: { bestViewOnly: ['speaker_view', 'speaker_view'] } }, 'files.bestViewOnly[1]: "speaker_view" is listed twice'],
    [{ files: { minDurationSeconds: -1 } }, 'files.minDurationSeconds:'],
    [{ files: { minDurationSeconds: 1.5 } }, 'files.minDurationSeconds:'],
    [{ naming: { template: 'courses/{course}/{topic}.mp4' } }, 'naming.template: must contain {fileType}, {fileId}'],
    [{ naming: { timeZone: 42 } }, 'naming.timeZone:'],
    [{ extra: true }, 'extra: unknown field'],
    [[], '(top level):'],
  ])('names the field: %j', (input, expected) => {
    const error = configError(() => parseArchiverConfig(input, 'test config'));
    expect(error.message).toContain(`test config: ${expected}`);
  });

  it('reports every problem at once', () => {
    const error = configError(() => parseArchiverConfig({ files: { fileTypes: ['MP5'] }, naming: { timeZone: 'Nowhere/City' } }));
    expect(error.message).toContain('files.fileTypes[0]');
    expect(error.message).toContain('naming.timeZone');
  });

  it.each([
    ['UTC', { kind: 'utc' }],
    ['utc', { kind: 'utc' }],
    ['meeting', { kind: 'meeting' }],
    ['Asia/Tokyo', { kind: 'fixed', zone: 'Asia/Tokyo' }],
  ])('accepts the time zone %s', (timeZone, expected) => {
    expect(parseArchiverConfig({ naming: { timeZone } }).naming.timeZone).toEqual(expected);
  });

  it('accepts a $schema field for editors and an empty object', () => {
    expect(parseArchiverConfig({ $schema: 'https://example.com/schema.json' }).files.minDurationSeconds).toBe(120);
    expect(parseArchiverConfig({}).naming.template.source).toBe(DEFAULT_KEY_TEMPLATE);
  });

  it('replaces the default topic pattern when topicPatterns is given (an empty list disables topic matching)', () => {
    expect(parseArchiverConfig({ courses: { topicPatterns: [] } }).courses.topicPatterns).toEqual([]);
  });
});
