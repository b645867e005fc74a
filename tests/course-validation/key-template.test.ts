import fc from 'fast-check';
import { DEFAULT_KEY_TEMPLATE } from '../../services/course-validation/config';
import { MAX_KEY_BYTES, MAX_SEGMENT_BYTES, sanitizeKey } from '../../services/course-validation/key-sanitizer';
import {
  KeyTemplateError,
  parseKeyTemplate,
  renderKey,
  shortDigest,
  type KeyFields,
} from '../../services/course-validation/key-template';
import { ConfigError } from '../../shared/errors';
import { utf8Bytes } from './support';

const fields = (overrides: Partial<KeyFields> = {}): KeyFields => ({
  course: 'MAQ101',
  topic: 'Maqam Bayati — lesson 3',
  fullTopic: '[MAQ101] Maqam Bayati — lesson 3',
  meetingId: '1234567890',
  recordingId: '4444AAAiAAAAAiAiAiiAii==',
  fileId: '388ffb46-1541-460d-8447-4624451a1db7',
  recordingType: 'shared_screen_with_speaker_view',
  fileType: 'MP4',
  fileExtension: 'MP4',
  start: '2021-07-13T21:44:51Z',
  fileStart: '2021-07-13T21:44:57Z',
  zone: 'America/Los_Angeles',
  part: { index: 1, count: 1 },
  ...overrides,
});

const render = (template: string, overrides: Partial<KeyFields> = {}) => renderKey(parseKeyTemplate(template), fields(overrides));

describe('parseKeyTemplate refuses bad templates at start-up', () => {
  it.each([
    ['an unknown token', 'courses/{date:yyyy}/{recordingType}.{ext}', /unknown token \{date:yyyy\}/],
    ['an argument where none is taken', 'courses/{course:x}/{recordingType}.{ext}', /\{course\} takes no argument/],
    ['"/" inside a date format', 'courses/{start:yyyy/MM}/{recordingType}.{ext}', /contains "\/"/],
    ['a date format that writes "/"', 'courses/{start:D}/{recordingType}.{ext}', /writes "\/"/],
    ['a leading slash', '/courses/{recordingType}.{ext}', /must not start with "\/"/],
    ['a trailing slash', 'courses/{recordingType}.{ext}/', /must not end with "\/"/],
    ['an empty segment', 'courses//{recordingType}.{ext}', /empty segment/],
    ['a ".." segment', 'courses/../{recordingType}.{ext}', /"\." and "\.\." segments/],
    ['an unclosed token', 'courses/{course/{recordingType}.{ext}', /nested "\{"|without "\}"/],
    ['a stray "}"', 'courses/course}/{recordingType}.{ext}', /"\}" without "\{"/],
    ['a reserved character in literal text', 'courses:{course}/{recordingType}.{ext}', /not allowed in keys/],
    ['a bad {part} prefix', 'courses/{recordingType}{part:?}.{ext}', /\{part:<prefix>\}/],
    ['no token telling file types apart', 'courses/{course}/{start:yyyy-MM-dd}_{topic}{part}.mp4', /must contain \{fileType\}, \{fileId\}/],
    ['too many segments', `${Array.from({ length: 17 }, () => 'a').join('/')}/{fileId}`, /at most 16/],
    ['an empty template', '  ', /must not be empty/],
  ])('%s', (_case, template, message) => {
    let error: unknown;
    try {
      parseKeyTemplate(template);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(KeyTemplateError);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(message);
  });

  it('accepts the default template and the example of the design document', () => {
    expect(() => parseKeyTemplate(DEFAULT_KEY_TEMPLATE)).not.toThrow();
    expect(() => parseKeyTemplate('courses/{course}/{start:yyyy-MM-dd}/{start:HHmmss}_{recordingType}.{ext}')).not.toThrow();
  });
});

describe('renderKey', () => {
  it('renders the default template in the meeting time zone', () => {
    expect(render(DEFAULT_KEY_TEMPLATE)).toBe(
      `courses/MAQ101/2021-07-13/2021-07-13_1444_Maqam Bayati — lesson 3_shared_screen_with_speaker_view_${shortDigest('4444AAAiAAAAAiAiAiiAii==')}.mp4`,
    );
  });

  it('renders every token', () => {
    const key = render(
      '{course}/{meetingId}/{recordingId}/{instance}/{fileId}/{fileType}/{fullTopic}/{fileStart:HHmmss}/{start}/{recordingType}{part}.{ext}',
      { recordingId: 'mUlTiPaRt/Uuid+With//Slashes==', part: { index: 2, count: 3 } },
    );
    expect(key.split('/')).toEqual([
      'MAQ101',
      '1234567890',
      'mUlTiPaRt-Uuid+With-Slashes==',
      shortDigest('mUlTiPaRt/Uuid+With//Slashes=='),
      '388ffb46-1541-460d-8447-4624451a1db7',
      'MP4',
      'MAQ101 - Maqam Bayati — lesson 3',
      '144457',
      '2021-07-13_144451',
      'shared_screen_with_speaker_view2.mp4',
    ]);
  });

  it('writes the lower-case file type when Zoom sends no recording type, and derives missing extensions', () => {
    const key = render('{recordingType}.{ext}', { fileType: 'CC', recordingType: undefined, fileExtension: undefined });
    expect(key).toBe('cc.vtt');
    expect(render('{recordingType}.{ext}', { fileType: 'TIMELINE', recordingType: undefined, fileExtension: 'JSON' })).toBe('timeline.json');
  });

  it('uses a fixed English locale with Latin digits, whatever the runtime', () => {
    expect(render('{start:dd MMM yyyy}_{fileId}', { zone: 'UTC' })).toBe('13 Jul 2021_388ffb46-1541-460d-8447-4624451a1db7');
  });

  describe('{part}', () => {
    it('is empty for the only file of its kind', () => {
      expect(render('{recordingType}{part:_part}.{ext}')).toBe('shared_screen_with_speaker_view.mp4');
    });
    it('is the 1-based index, zero-padded to the count, after its prefix', () => {
      expect(render('{recordingType}{part:_part}.{ext}', { part: { index: 2, count: 2 } })).toBe('shared_screen_with_speaker_view_part2.mp4');
      expect(render('{recordingType}{part:-}.{ext}', { part: { index: 3, count: 12 } })).toBe('shared_screen_with_speaker_view-03.mp4');
    });
    it('is a digest when the index cannot be known', () => {
      expect(render('{recordingType}{part:_}.{ext}', { part: { digest: 'abcdef12' } })).toBe('shared_screen_with_speaker_view_abcdef12.mp4');
    });
  });

  describe('disambiguator', () => {
    it('goes before the extension, whether {ext} or literal', () => {
      expect(render('a/{recordingType}.{ext}', { disambiguator: '1234abcd' })).toBe('a/shared_screen_with_speaker_view_1234abcd.mp4');
      expect(render('a/{fileType}-{topic}.mp4', { disambiguator: '1234abcd' })).toBe('a/MP4-Maqam Bayati — lesson 3_1234abcd.mp4');
    });
    it('goes at the end when there is no extension', () => {
      expect(render('a/{fileType}', { disambiguator: '1234abcd' })).toBe('a/MP4_1234abcd');
    });
  });

  describe('time zones', () => {
    const tpl = '{start:yyyy-MM-dd_HHmm_ZZ}_{fileType}';
    it('writes UTC, the meeting zone or a fixed zone', () => {
      expect(render(tpl, { zone: 'UTC' })).toBe('2021-07-13_2144_+00-00_MP4');
      expect(render(tpl, { zone: 'America/Los_Angeles' })).toBe('2021-07-13_1444_-07-00_MP4');
      expect(render(tpl, { zone: 'Asia/Tokyo' })).toBe('2021-07-14_0644_+09-00_MP4');
    });
    it('follows daylight saving time in a fixed zone (Europe/Berlin, 2024-03-31)', () => {
      expect(render(tpl, { zone: 'Europe/Berlin', start: '2024-03-31T00:30:00Z' })).toBe('2024-03-31_0130_+01-00_MP4');
      expect(render(tpl, { zone: 'Europe/Berlin', start: '2024-03-31T01:30:00Z' })).toBe('2024-03-31_0330_+02-00_MP4');
      expect(render(tpl, { zone: 'Europe/Berlin', start: '2024-10-27T00:30:00Z' })).toBe('2024-10-27_0230_+02-00_MP4');
      expect(render(tpl, { zone: 'Europe/Berlin', start: '2024-10-27T01:30:00Z' })).toBe('2024-10-27_0230_+01-00_MP4');
    });
  });

  describe('length limits', () => {
    it('shortens the topic first: date, type, part and extension survive a 10,000-character topic', () => {
      const key = render(DEFAULT_KEY_TEMPLATE, { topic: 'ab'.repeat(5000), part: { index: 2, count: 2 } });
      expect(utf8Bytes(key)).toBeLessThanOrEqual(MAX_KEY_BYTES);
      const name = key.split('/').at(-1)!;
      expect(utf8Bytes(name)).toBeLessThanOrEqual(MAX_SEGMENT_BYTES);
      expect(name).toMatch(/^2021-07-13_1444_(ab)+a?_shared_screen_with_speaker_view_part2_[0-9a-f]{8}\.mp4$/);
    });

    it('keeps whole emoji when the cut falls inside one', () => {
      const topic = '🎻'.repeat(300);
      const name = render('{topic}_{recordingType}.{ext}', { topic });
      expect(utf8Bytes(name)).toBeLessThanOrEqual(MAX_SEGMENT_BYTES);
      expect(name).toMatch(/^(🎻)+_shared_screen_with_speaker_view\.mp4$/u);
    });

    it('respects 1024 bytes when the topic fills several folders', () => {
      const key = render('{topic}/{topic}/{topic}/{topic}/{topic}/{recordingType}.{ext}', { topic: 'é'.repeat(5000) });
      expect(utf8Bytes(key)).toBeLessThanOrEqual(MAX_KEY_BYTES);
      expect(key.endsWith('/shared_screen_with_speaker_view.mp4')).toBe(true);
    });
  });

  it('is deterministic and its output is already sanitized, for any topic and course', () => {
    const template = parseKeyTemplate(DEFAULT_KEY_TEMPLATE);
    const anyText = fc.string({ unit: 'binary', maxLength: 300 });
    fc.assert(
      fc.property(anyText, anyText, (topic, course) => {
        const input = fields({ topic, course: course || 'X' });
        const key = renderKey(template, input);
        expect(renderKey(template, input)).toBe(key);
        expect(sanitizeKey(key)).toBe(key);
        expect(key.split('/')).toHaveLength(4);
        expect(key.startsWith('courses/')).toBe(true);
        expect(key.endsWith('.mp4')).toBe(true);
        expect(utf8Bytes(key)).toBeLessThanOrEqual(MAX_KEY_BYTES);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('{ext} comes from the file type, not the payload', () => {
  it.each<[string, string, string | undefined, string]>([
    ['an MP4 that says it is an .exe', 'MP4', 'exe', 'mp4'],
    ['an MP4 with a path in its extension', 'MP4', '../../x', 'mp4'],
    ['a transcript', 'TRANSCRIPT', 'VTT', 'vtt'],
    ['a chat file', 'CHAT', 'TXT', 'txt'],
    ['a type Zoom adds later', 'TB', 'js', 'tb'],
    ['a type with no usable letters', '***', 'exe', 'bin'],
  ])('%s → .%s', (_name, fileType, fileExtension, expected) => {
    expect(render('courses/{course}/{recordingType}.{ext}', { fileType, fileExtension })).toMatch(new RegExp(`\\.${expected}$`));
  });
});
