import fc from 'fast-check';
import {
  MAX_KEY_BYTES,
  MAX_SEGMENT_BYTES,
  cleanText,
  sanitizeKey,
  sanitizeSegment,
  truncateUtf8,
} from '../../services/course-validation/key-sanitizer';
import { utf8Bytes } from './support';

const UNSAFE = /[\\:*?"<>|#%{}^~[\]`\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;
const LONE_SURROGATE = /\p{Cs}/u;

describe('sanitizeKey', () => {
  it.each([
    ['parent-directory segments are dropped', 'courses/../../etc/passwd', 'courses/etc/passwd'],
    ['a leading slash is dropped', '/courses/MAQ101/a.mp4', 'courses/MAQ101/a.mp4'],
    ['repeated slashes collapse', 'courses//MAQ101///a.mp4', 'courses/MAQ101/a.mp4'],
    ['"." segments are dropped', './courses/./a.mp4', 'courses/a.mp4'],
    ['a backslash is not a separator', 'courses\\..\\a.mp4', 'courses-..-a.mp4'],
    ['NUL is replaced', 'a\u0000b.mp4', 'a-b.mp4'],
    ['an RTL override cannot reverse the extension', 'lesson\u202Egpj.mp4', 'lesson-gpj.mp4'],
    ['dots and spaces are trimmed at segment ends', ' .hidden. / name .mp4. ', 'hidden/name .mp4'],
    ['Windows device names get a suffix', 'courses/CON/nul.txt', 'courses/CON_/nul_.txt'],
    ['reserved characters become one dash', 'Q&A?*|<x>.mp4', 'Q&A-x-.mp4'],
    ['a reserved character next to a space reads as " - "', 'Mechanics: Newton.mp4', 'Mechanics - Newton.mp4'],
    ['whitespace folds to one space', 'a \t\n\u00a0 b.mp4', 'a b.mp4'],
    ['zero-width spaces vanish', 'Maqam\u200BBayati.mp4', 'MaqamBayati.mp4'],
    ['a letter and its accent joined by removing a zero-width space compose (NFC)', 'e\u200B\u0301te\u0301.vtt', '\u00e9t\u00e9.vtt'],
    ['an empty key becomes "_"', '/../.', '_'],
  ])('%s', (_case, input, expected) => {
    expect(sanitizeKey(input)).toBe(expected);
  });

  it('keeps Unicode readable and NFC', () => {
    const decomposed = 'Cours d\u2019e\u0301te\u0301 — العربية ٣ 日本語 👨‍👩‍👧.mp4';
    const key = sanitizeKey(`courses/${decomposed}`);
    expect(key).toBe(`courses/${decomposed.normalize('NFC')}`);
    expect(key).toContain('été');
    expect(key).toBe(key.normalize('NFC'));
  });

  it('bounds a 10,000-character topic to 1024 bytes and keeps the extension', () => {
    const key = sanitizeKey(`courses/MAQ101/${'é'.repeat(10_000)}/${'x'.repeat(10_000)}.mp4`);
    expect(utf8Bytes(key)).toBeLessThanOrEqual(MAX_KEY_BYTES);
    for (const segment of key.split('/')) expect(utf8Bytes(segment)).toBeLessThanOrEqual(MAX_SEGMENT_BYTES);
    expect(key.endsWith('.mp4')).toBe(true);
    expect(key.startsWith('courses/MAQ101/')).toBe(true);
  });

  it('never splits an emoji at the cut', () => {
    const family = '👨‍👩‍👧';
    const segment = sanitizeSegment(`${'a'.repeat(250)}${family}${family}.mp4`, { keepExtension: true });
    expect(utf8Bytes(segment)).toBeLessThanOrEqual(MAX_SEGMENT_BYTES);
    expect(segment).toBe(`${'a'.repeat(250)}.mp4`);
    const wide = sanitizeSegment(family.repeat(40));
    expect(utf8Bytes(wide)).toBeLessThanOrEqual(MAX_SEGMENT_BYTES);
    expect(wide.length % family.length).toBe(0);
    expect(wide).toBe(family.repeat(wide.length / family.length));
  });

  it('folds more than 32 segments into the last', () => {
    const key = sanitizeKey(Array.from({ length: 40 }, (_, i) => `s${i}`).join('/'));
    expect(key.split('/')).toHaveLength(32);
    expect(key.endsWith('s31-s32-s33-s34-s35-s36-s37-s38-s39')).toBe(true);
  });
});

describe('truncateUtf8', () => {
  it('cuts between grapheme clusters, within the byte budget', () => {
    expect(truncateUtf8('e\u0301e\u0301', 3)).toBe('e\u0301');
    expect(truncateUtf8('ab👍🏽c', 9)).toBe('ab');
    expect(truncateUtf8('ab👍🏽c', 10)).toBe('ab👍🏽');
  });
});

describe('cleanText', () => {
  it('turns "/" into a dash so a value cannot add a folder', () => {
    expect(cleanText('a/b//c')).toBe('a-b-c');
    expect(cleanText('العربية / Cours')).toBe('العربية - Cours');
  });
});

describe('sanitizeKey properties', () => {
  const dangerous = fc.constantFrom(
    '/', '//', '.', '..', '../', '\\', '\u0000', '\u202E', '\u2066', '\u200B', '\uFEFF', ' ', '\t', '\n', '~', ':', '?',
    '\uD800', '\uDFFF', '\uFFFF', '👨‍👩‍👧', 'e\u0301', '\u0301', 'e', 'A', '\u030A', 'CON', 'nul.', '.mp4', 'é', '٣', '-', '_',
  );
  const text = fc
    .array(fc.oneof({ weight: 3, arbitrary: dangerous }, { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) }), {
      maxLength: 120,
    })
    .map((parts) => parts.join(''));
  const long = fc.tuple(text, fc.integer({ min: 0, max: 3000 })).map(([t, n]) => `${t}${'ä'.repeat(n)}${t}`);

  it('always yields a safe, bounded, NFC key and is idempotent', () => {
    fc.assert(
      fc.property(fc.oneof(text, long), (input) => {
        const key = sanitizeKey(input);
        expect(key.length).toBeGreaterThan(0);
        expect(key.startsWith('/')).toBe(false);
        for (const segment of key.split('/')) {
          expect(['', '.', '..']).not.toContain(segment);
          expect(utf8Bytes(segment)).toBeLessThanOrEqual(MAX_SEGMENT_BYTES);
        }
        expect(UNSAFE.test(key)).toBe(false);
        expect(LONE_SURROGATE.test(key)).toBe(false);
        expect(utf8Bytes(key)).toBeLessThanOrEqual(MAX_KEY_BYTES);
        expect(key.normalize('NFC')).toBe(key);
        expect(sanitizeKey(key)).toBe(key);
      }),
      { numRuns: 3000 },
    );
  });
});
