/**
 * Makes text safe for archive keys (S3 object keys and, in the single-machine
 * runtime, paths on disk, possibly synced to Windows). Peers' users lost files to
 * names built from raw topics: a `/` or `..` in a topic moved files, `:` or `?`
 * broke Windows copies, and invisible bidi controls made two names look alike.
 *
 * Rules (all idempotent: sanitizing a sanitized key changes nothing):
 * - Unicode is kept readable: NFC, no transliteration; only characters that are
 *   unsafe are touched.
 * - Whitespace of any kind (tabs, newlines, NBSP, ideographic space…) becomes one
 *   space; invisible zero-width characters are removed (ZWJ/ZWNJ stay: emoji and
 *   several scripts need them).
 * - Unsafe characters are replaced: the S3 "avoid" set and Windows-reserved ones
 *   `\ : * ? " < > | # % { } ^ ~ [ ] \``, C0/C1 controls (incl. U+0000), bidi
 *   controls (U+202A–202E, U+2066–2069, LRM/RLM/ALM), lone surrogates and
 *   non-characters. A run of them (with adjacent dashes and spaces) becomes one
 *   `-`, or ` - ` when the run touched a space, so "Mechanics: Newton" reads
 *   "Mechanics - Newton" rather than "Mechanics- Newton".
 * - Segments: no empty, `.` or `..` segment, no leading `/`; spaces and dots are
 *   trimmed at both ends (Windows drops trailing ones; leading dots hide files);
 *   Windows device names (CON, NUL, COM1…) get a `_`.
 * - Length: at most 255 UTF-8 bytes per segment (the file-name limit of common
 *   file systems) and 1024 bytes per key (S3's limit), cut between grapheme
 *   clusters (an emoji or an accented letter is never split) and keeping the last
 *   segment's extension.
 */

export const MAX_KEY_BYTES = 1024;
export const MAX_SEGMENT_BYTES = 255;
/** More segments than this are folded into the last one (keeps the length rules satisfiable). */
export const MAX_SEGMENTS = 32;

/** Internal marker for an unsafe character; U+0000 itself is unsafe, so it cannot be mistaken for text. */
const BAD = '\u0000';
const RESERVED_ASCII = new Set('\\:*?"<>|#%{}^~[]`/');
/** Zero-width characters that only hide differences between names. */
const REMOVED = new Set([0x200b, 0x2060, 0xfeff, 0x180e]);
const BIDI_CONTROLS = new Set([0x061c, 0x200e, 0x200f, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069]);
const WHITESPACE = /^\s$/u;
const WINDOWS_DEVICE = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(?=\.|$)/iu;
/** A file extension kept when the last segment is cut: ASCII letters and digits only. */
const EXTENSION = /\.[A-Za-z0-9]{1,10}$/;

const segmenter = new Intl.Segmenter('en', { granularity: 'grapheme' });

export const utf8Bytes = (text: string): number => Buffer.byteLength(text, 'utf8');

function isUnsafe(char: string): boolean {
  if (RESERVED_ASCII.has(char)) return true;
  const cp = char.codePointAt(0) ?? 0;
  if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) return true;
  if (BIDI_CONTROLS.has(cp)) return true;
  if (cp >= 0xd800 && cp <= 0xdfff) return true; // lone surrogate: not encodable as UTF-8
  if ((cp & 0xfffe) === 0xfffe || (cp >= 0xfdd0 && cp <= 0xfdef)) return true; // non-characters
  return false;
}

/**
 * Cleans free text (a token value or a segment): NFC, whitespace folded, unsafe
 * characters replaced. `/` counts as unsafe, so a value can never add a folder.
 */
export function cleanText(input: string): string {
  const chars: string[] = [];
  for (const char of input.normalize('NFC')) {
    const cp = char.codePointAt(0) ?? 0;
    if (REMOVED.has(cp)) continue;
    if (WHITESPACE.test(char)) chars.push(' ');
    else if (isUnsafe(char)) chars.push(BAD);
    else chars.push(char);
  }
  let out = '';
  for (let i = 0; i < chars.length; ) {
    const char = chars[i]!;
    if (char !== BAD && char !== ' ' && char !== '-') {
      out += char;
      i++;
      continue;
    }
    let j = i;
    let bad = false;
    let space = false;
    for (; j < chars.length && (chars[j] === BAD || chars[j] === ' ' || chars[j] === '-'); j++) {
      if (chars[j] === BAD) bad = true;
      if (chars[j] === ' ') space = true;
    }
    const run = chars.slice(i, j).join('');
    out += bad ? (space ? ' - ' : '-') : run.replace(/ {2,}/g, ' ');
    i = j;
  }
  // Removing a zero-width character can join a letter and a combining mark.
  return out.normalize('NFC');
}

/** Trims spaces and dots at both ends (never `.`/`..`, no hidden files, no Windows-dropped tails). */
function trimSegmentEnds(text: string): string {
  return text.replace(/^[ .]+/, '').replace(/[ .]+$/, '');
}

/**
 * A cleaned segment without length limits, or '' when nothing is left. The key
 * renderer uses this to measure before deciding what to shorten.
 */
export function cleanSegment(segment: string): string {
  const trimmed = trimSegmentEnds(cleanText(segment));
  return trimmed.replace(WINDOWS_DEVICE, '$1_');
}

/**
 * Longest prefix of `text` within `maxBytes` UTF-8 bytes, cut between grapheme
 * clusters; a single cluster larger than the budget is cut between code points.
 */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (utf8Bytes(text) <= maxBytes) return text;
  let out = '';
  let used = 0;
  for (const { segment } of segmenter.segment(text)) {
    const size = utf8Bytes(segment);
    if (used + size > maxBytes) {
      if (out === '') {
        for (const char of segment) {
          const charSize = utf8Bytes(char);
          if (used + charSize > maxBytes) break;
          out += char;
          used += charSize;
        }
      }
      break;
    }
    out += segment;
    used += size;
  }
  return out;
}

/**
 * Cuts a clean segment to `maxBytes`, keeping its extension when `keepExtension`
 * and there is room for it; '' only when nothing fits.
 */
function fitSegment(segment: string, maxBytes: number, keepExtension: boolean): string {
  if (utf8Bytes(segment) <= maxBytes) return segment;
  const extension = keepExtension ? (EXTENSION.exec(segment)?.[0] ?? '') : '';
  const stem = segment.slice(0, segment.length - extension.length);
  // Cleaning a cut can lengthen it by one byte (a device name gets `_`): step down until it fits.
  for (let budget = maxBytes - utf8Bytes(extension); budget > 0; budget--) {
    const cut = trimSegmentEnds(truncateUtf8(stem, budget));
    if (cut === '') break;
    const candidate = cleanSegment(cut + extension);
    if (candidate !== '' && utf8Bytes(candidate) <= maxBytes) return candidate;
  }
  for (let budget = maxBytes; budget > 0; budget--) {
    const candidate = cleanSegment(truncateUtf8(segment, budget));
    if (candidate !== '' && utf8Bytes(candidate) <= maxBytes) return candidate;
  }
  return '';
}

/** One segment, cleaned and within MAX_SEGMENT_BYTES; '' when nothing is left. */
export function sanitizeSegment(segment: string, options: { keepExtension?: boolean } = {}): string {
  return fitSegment(cleanSegment(segment), MAX_SEGMENT_BYTES, options.keepExtension ?? false);
}

/**
 * A whole key: `/`-separated segments, each sanitized; empty, `.` and `..`
 * segments dropped; within MAX_SEGMENT_BYTES per segment and MAX_KEY_BYTES in all
 * (the longest segments are shortened first); never empty (`_`).
 */
export function sanitizeKey(key: string): string {
  let cleaned = key
    .split('/')
    .map(cleanSegment)
    .filter((segment) => segment !== '');
  if (cleaned.length > MAX_SEGMENTS) {
    const tail = cleanSegment(cleaned.slice(MAX_SEGMENTS - 1).join('-'));
    cleaned = [...cleaned.slice(0, MAX_SEGMENTS - 1), tail];
  }
  if (cleaned.length === 0) return '_';
  const segments = cleaned.map((segment, i) => fitSegment(segment, MAX_SEGMENT_BYTES, i === cleaned.length - 1));
  return shortenToFit(segments).join('/');
}

/** Key length in UTF-8 bytes once `segments` are joined with `/`. */
export const joinedBytes = (segments: readonly string[]): number =>
  segments.reduce((sum, segment) => sum + utf8Bytes(segment), 0) + Math.max(0, segments.length - 1);

/**
 * Shortens the longest segments (the last one keeps its extension) until the
 * joined key fits MAX_KEY_BYTES. Always terminates: at most MAX_SEGMENTS segments
 * of one character each are far below the limit.
 */
export function shortenToFit(input: readonly string[]): string[] {
  const segments = [...input];
  while (joinedBytes(segments) > MAX_KEY_BYTES) {
    let longest = 0;
    for (let i = 1; i < segments.length; i++) {
      if (utf8Bytes(segments[i]!) >= utf8Bytes(segments[longest]!)) longest = i;
    }
    const current = segments[longest]!;
    const target = Math.max(1, utf8Bytes(current) - (joinedBytes(segments) - MAX_KEY_BYTES));
    const next = fitSegment(current, target, longest === segments.length - 1) || '_';
    if (utf8Bytes(next) >= utf8Bytes(current)) throw new Error('archive key cannot be shortened to 1024 bytes');
    segments[longest] = next;
  }
  return segments;
}
