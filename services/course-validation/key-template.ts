/**
 * Archive key templates: parsed once at start-up (a bad token is a start-up
 * error, not a failed upload) and rendered per file.
 *
 * Syntax: literal text and `/` (folders), plus tokens `{name}` or `{name:arg}`:
 *
 * | token | value |
 * |---|---|
 * | `{course}` | the course code |
 * | `{topic}` | the topic without its course tag (e.g. "[MAQ101] "), since the course has its own token |
 * | `{fullTopic}` | the topic as Zoom sent it |
 * | `{meetingId}` | numeric meeting id (shared by every instance of a recurring meeting) |
 * | `{recordingId}` | meeting instance UUID |
 * | `{instance}` | 8 hex characters of SHA-256(meeting instance UUID): short, stable, different per instance |
 * | `{fileId}` | Zoom's file id (or the derived id of CC/TIMELINE files) |
 * | `{recordingType}` | e.g. `shared_screen_with_speaker_view`; the lower-case file type when Zoom sends none (CC, TIMELINE) |
 * | `{fileType}` | e.g. `MP4`, `TRANSCRIPT` |
 * | `{ext}` | lower-case extension from the file type (`mp4`, `vtt`…), never from the payload |
 * | `{start:<luxon format>}` | meeting start, e.g. `{start:yyyy-MM-dd_HHmm}`; `{start}` = `yyyy-MM-dd_HHmmss` |
 * | `{fileStart:<luxon format>}` | the file's own recording start (else the meeting start) |
 * | `{part}` / `{part:<prefix>}` | empty when the file is the only one of its file type and recording type; otherwise `<prefix>` + its 1-based position by start time, zero-padded to the count's width |
 *
 * Every value is cleaned (key-sanitizer.ts) before it is placed, so it can never
 * add a folder, and the assembled key is cleaned again. When a key is too long,
 * the topic is shortened first, so the date, type, part and extension survive.
 * Dates use a fixed locale (en-US, Latin digits, Gregorian), so Lambda and a
 * laptop render the same key.
 */
import { createHash } from 'node:crypto';
import { DateTime } from 'luxon';
import { ConfigError } from '../../shared/errors';
import {
  MAX_KEY_BYTES,
  MAX_SEGMENT_BYTES,
  cleanSegment,
  cleanText,
  joinedBytes,
  sanitizeKey,
  truncateUtf8,
  utf8Bytes,
} from './key-sanitizer';

/** A template the configuration refused; the message names the problem, the config loader adds the field. */
export class KeyTemplateError extends ConfigError {}

export const DEFAULT_DATE_FORMAT = 'yyyy-MM-dd_HHmmss';
export const MAX_TEMPLATE_SEGMENTS = 16;
const MAX_TEMPLATE_BYTES = 512;
const DATE_LOCALE = { locale: 'en-US', numberingSystem: 'latn', outputCalendar: 'gregory' } as const;
/** A date that exercises every field (two-digit month/day/hour) to check a format's output. */
const SAMPLE_DATE = '2024-11-23T19:45:56.789Z';

const TOKEN_NAMES = [
  'course',
  'topic',
  'fullTopic',
  'meetingId',
  'recordingId',
  'instance',
  'fileId',
  'recordingType',
  'fileType',
  'ext',
  'start',
  'fileStart',
  'part',
] as const;
export type TokenName = (typeof TOKEN_NAMES)[number];
const DATE_TOKENS: ReadonlySet<string> = new Set(['start', 'fileStart']);
/** Free text that may be shortened to fit the length limits, in this order. */
const SHRINKABLE: ReadonlySet<TokenName> = new Set(['topic', 'fullTopic']);

type Piece = { kind: 'literal'; text: string } | { kind: 'token'; name: TokenName; arg?: string } | { kind: 'disambiguator' };

export interface KeyTemplate {
  readonly source: string;
  /** Pieces per `/`-separated segment; the last segment holds a disambiguator slot before its extension. */
  readonly segments: readonly (readonly Piece[])[];
  readonly tokens: ReadonlySet<TokenName>;
}

/** Values of one file, as the key renderer needs them (raw: the renderer cleans them). */
export interface KeyFields {
  course: string;
  topic: string;
  fullTopic: string;
  meetingId: string;
  recordingId: string;
  fileId: string;
  recordingType?: string;
  fileType: string;
  fileExtension?: string;
  /** Meeting start, ISO time. */
  start: string;
  /** The file's recording start, ISO time. */
  fileStart?: string;
  /** IANA zone (or 'UTC') in which dates are written. */
  zone: string;
  /** Position among the files of the same file type and recording type, or a digest when unknown. */
  part: { index: number; count: number } | { digest: string };
  /** Added before the extension when two files would otherwise share a key. */
  disambiguator?: string;
}

/**
 * Extension written for each file type. Derived from the type, never taken from the
 * payload's `file_extension`: an "MP4" must not be archived as `.exe`.
 */
const EXTENSION_BY_FILE_TYPE: Readonly<Record<string, string>> = {
  MP4: 'mp4',
  M4A: 'm4a',
  TRANSCRIPT: 'vtt',
  CC: 'vtt',
  CHAT: 'txt',
  TIMELINE: 'json',
  CSV: 'csv',
  SUMMARY: 'json',
};

export function parseKeyTemplate(source: string): KeyTemplate {
  if (source.trim() === '') throw new KeyTemplateError('must not be empty');
  if (utf8Bytes(source) > MAX_TEMPLATE_BYTES) throw new KeyTemplateError(`must be at most ${MAX_TEMPLATE_BYTES} bytes`);
  if (source.startsWith('/')) throw new KeyTemplateError('must not start with "/" (keys are relative to the archive)');
  if (source.endsWith('/')) throw new KeyTemplateError('must not end with "/" (the last segment is the file name)');

  const rawSegments = splitSegments(source);
  if (rawSegments.length > MAX_TEMPLATE_SEGMENTS) {
    throw new KeyTemplateError(`has ${rawSegments.length} segments; at most ${MAX_TEMPLATE_SEGMENTS} are allowed`);
  }
  const tokens = new Set<TokenName>();
  const segments = rawSegments.map((raw, index) => {
    const pieces = parseSegment(raw, index);
    for (const piece of pieces) if (piece.kind === 'token') tokens.add(piece.name);
    return pieces;
  });
  segments[segments.length - 1] = withDisambiguatorSlot(segments[segments.length - 1]!);
  // Collisions inside one event are caught when keys are assigned; across events
  // (a transcript announced after the video) they can only be prevented here.
  const distinguishesTypes = tokens.has('fileId') || tokens.has('fileType') || (tokens.has('ext') && tokens.has('recordingType'));
  if (!distinguishesTypes) {
    throw new KeyTemplateError(
      'must contain {fileType}, {fileId}, or both {recordingType} and {ext}, so that files of different types ' +
        '(e.g. a transcript announced after the video) never get the same key',
    );
  }
  return { source, segments, tokens };
}

/** Splits on `/` outside tokens (a date format may not contain `/`; checked later). */
function splitSegments(source: string): string[] {
  const segments: string[] = [];
  let current = '';
  let depth = 0;
  for (const char of source) {
    if (char === '{') depth++;
    if (char === '}') depth = Math.max(0, depth - 1);
    if (char === '/' && depth === 0) {
      segments.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  segments.push(current);
  return segments;
}

function parseSegment(raw: string, index: number): Piece[] {
  const where = `segment ${index + 1} ("${raw}")`;
  if (raw === '') throw new KeyTemplateError(`has an empty segment ("//")`);
  if (raw === '.' || raw === '..') throw new KeyTemplateError(`${where}: "." and ".." segments are not allowed`);
  const pieces: Piece[] = [];
  let rest = raw;
  while (rest.length > 0) {
    const open = rest.indexOf('{');
    const close = rest.indexOf('}');
    if (close !== -1 && (open === -1 || close < open)) throw new KeyTemplateError(`${where}: "}" without "{"`);
    if (open === -1) {
      pieces.push(literal(rest, where));
      break;
    }
    if (open > 0) pieces.push(literal(rest.slice(0, open), where));
    const end = rest.indexOf('}', open);
    if (end === -1) throw new KeyTemplateError(`${where}: "{" without "}"`);
    pieces.push(parseToken(rest.slice(open + 1, end), where));
    rest = rest.slice(end + 1);
  }
  if (pieces.every((piece) => piece.kind === 'literal') && cleanSegment(raw) !== raw) {
    throw new KeyTemplateError(`${where}: a folder or file name may not start or end with a space or a dot`);
  }
  return pieces;
}

function literal(text: string, where: string): Piece {
  if (cleanText(text) !== text) {
    throw new KeyTemplateError(
      `${where}: literal text "${text}" has characters not allowed in keys (\\ : * ? " < > | # % ^ ~ [ ] \` controls, repeated spaces)`,
    );
  }
  return { kind: 'literal', text };
}

function parseToken(body: string, where: string): Piece {
  if (body.includes('{')) throw new KeyTemplateError(`${where}: nested "{"`);
  const colon = body.indexOf(':');
  const name = colon === -1 ? body : body.slice(0, colon);
  const arg = colon === -1 ? undefined : body.slice(colon + 1);
  if (!(TOKEN_NAMES as readonly string[]).includes(name)) {
    throw new KeyTemplateError(`${where}: unknown token {${body}}; known tokens: ${TOKEN_NAMES.map((t) => `{${t}}`).join(' ')}`);
  }
  const token = name as TokenName;
  if (DATE_TOKENS.has(token)) return { kind: 'token', name: token, arg: checkDateFormat(arg ?? DEFAULT_DATE_FORMAT, body, where) };
  if (token === 'part') {
    if (arg !== undefined && (arg === '' || cleanText(arg) !== arg || arg.length > 20)) {
      throw new KeyTemplateError(`${where}: {part:<prefix>} needs a short prefix of allowed characters, e.g. {part:_part}`);
    }
    return { kind: 'token', name: token, arg };
  }
  if (arg !== undefined) throw new KeyTemplateError(`${where}: {${name}} takes no argument`);
  return { kind: 'token', name: token };
}

function checkDateFormat(format: string, body: string, where: string): string {
  if (format === '') throw new KeyTemplateError(`${where}: {${body}} has an empty date format`);
  if (format.includes('/')) {
    throw new KeyTemplateError(`${where}: the date format in {${body}} contains "/"; write folders outside the token, e.g. {start:yyyy}/{start:MM}`);
  }
  let sample: string;
  try {
    sample = DateTime.fromISO(SAMPLE_DATE, { zone: 'UTC', ...DATE_LOCALE }).toFormat(format);
  } catch (error) {
    throw new KeyTemplateError(`${where}: {${body}} is not a valid luxon date format`, { cause: error });
  }
  if (sample.includes('/')) {
    throw new KeyTemplateError(`${where}: the date format in {${body}} writes "/" (e.g. "D"); use explicit tokens such as yyyy-MM-dd`);
  }
  if (cleanText(sample).trim() === '') throw new KeyTemplateError(`${where}: {${body}} renders an empty date`);
  return format;
}

/** Puts the disambiguator slot just before the extension (`.{ext}` or a literal `.mp4`), else at the end. */
function withDisambiguatorSlot(pieces: readonly Piece[]): Piece[] {
  const result = [...pieces];
  for (let i = result.length - 1; i >= 0; i--) {
    const piece = result[i]!;
    if (piece.kind === 'token' && piece.name === 'ext') continue;
    if (piece.kind === 'literal' && piece.text.includes('.')) {
      const dot = piece.text.lastIndexOf('.');
      const before = piece.text.slice(0, dot);
      const after = piece.text.slice(dot);
      const replacement: Piece[] = [
        ...(before ? [{ kind: 'literal', text: before } as const] : []),
        { kind: 'disambiguator' },
        { kind: 'literal', text: after },
      ];
      result.splice(i, 1, ...replacement);
      return result;
    }
    break;
  }
  result.push({ kind: 'disambiguator' });
  return result;
}

/** Short stable digest of a value (file id or instance UUID). */
export function shortDigest(value: string, length = 8): string {
  return createHash('sha256').update(value, 'utf8').digest('hex').slice(0, length);
}

/** A type Zoom adds later gets its own name as extension (letters and digits only), else `bin`. */
export function extensionOf(fields: Pick<KeyFields, 'fileType'>): string {
  const known = EXTENSION_BY_FILE_TYPE[fields.fileType.toUpperCase()];
  if (known) return known;
  const own = fields.fileType.toLowerCase().replace(/[^a-z0-9]/g, '').slice(0, 16);
  return own || 'bin';
}

export function formatDate(iso: string, zone: string, format: string): string {
  return DateTime.fromISO(iso, { zone, ...DATE_LOCALE }).toFormat(format);
}

function tokenValue(piece: Extract<Piece, { kind: 'token' }>, fields: KeyFields): string {
  switch (piece.name) {
    case 'course':
      return fields.course;
    case 'topic':
      return fields.topic;
    case 'fullTopic':
      return fields.fullTopic;
    case 'meetingId':
      return fields.meetingId;
    case 'recordingId':
      return fields.recordingId;
    case 'instance':
      return shortDigest(fields.recordingId);
    case 'fileId':
      return fields.fileId;
    case 'recordingType':
      return fields.recordingType || fields.fileType.toLowerCase();
    case 'fileType':
      return fields.fileType;
    case 'ext':
      return extensionOf(fields);
    case 'start':
      return formatDate(fields.start, fields.zone, piece.arg ?? DEFAULT_DATE_FORMAT);
    case 'fileStart':
      return formatDate(fields.fileStart ?? fields.start, fields.zone, piece.arg ?? DEFAULT_DATE_FORMAT);
    case 'part':
      return partValue(fields.part, piece.arg ?? '');
  }
}

function partValue(part: KeyFields['part'], prefix: string): string {
  if ('digest' in part) return `${prefix}${part.digest}`;
  if (part.count <= 1) return '';
  return `${prefix}${String(part.index).padStart(String(part.count).length, '0')}`;
}

/** A rendered piece: its text, and whether it may be shortened to fit the limits. */
interface Rendered {
  text: string;
  shrinkable: boolean;
}

function renderPieces(template: KeyTemplate, fields: KeyFields): Rendered[][] {
  return template.segments.map((pieces) =>
    pieces.map((piece): Rendered => {
      if (piece.kind === 'literal') return { text: piece.text, shrinkable: false };
      if (piece.kind === 'disambiguator') return { text: fields.disambiguator ? `_${fields.disambiguator}` : '', shrinkable: false };
      const text = cleanText(tokenValue(piece, fields));
      const shrinkable = SHRINKABLE.has(piece.name);
      // Topics often start or end with separators once their course tag is gone.
      return { text: shrinkable ? trimTopic(text) : text, shrinkable };
    }),
  );
}

const trimTopic = (text: string): string => text.replace(/^[\s\-_.,;]+/u, '').replace(/[\s\-_,;]+$/u, '');

/** Each segment cleaned; an empty one becomes `_` so the folder depth stays what the template says. */
const assemble = (segments: readonly Rendered[][]): string[] =>
  segments.map((pieces) => cleanSegment(pieces.map((piece) => piece.text).join('')) || '_');

/**
 * Renders one key. Over-long keys lose topic text first (the longest shrinkable
 * piece of the offending segment, or of the whole key); whatever is still too long
 * (a custom template with huge literals) is cut by the sanitizer, which keeps the
 * extension. The result is always a fixed point of sanitizeKey.
 */
export function renderKey(template: KeyTemplate, fields: KeyFields): string {
  const segments = renderPieces(template, fields);
  for (let guard = 0; guard < 64; guard++) {
    const texts = assemble(segments);
    const overSegment = texts.findIndex((text) => utf8Bytes(text) > MAX_SEGMENT_BYTES);
    const scope = overSegment !== -1 ? [overSegment] : joinedBytes(texts) > MAX_KEY_BYTES ? texts.map((_, i) => i) : [];
    if (scope.length === 0) break;
    const excess =
      overSegment !== -1 ? utf8Bytes(texts[overSegment]!) - MAX_SEGMENT_BYTES : joinedBytes(texts) - MAX_KEY_BYTES;
    const piece = longestShrinkable(segments, scope);
    if (!piece) break;
    piece.text = trimTopic(truncateUtf8(piece.text, Math.max(0, utf8Bytes(piece.text) - excess)));
  }
  return sanitizeKey(assemble(segments).join('/'));
}

function longestShrinkable(segments: Rendered[][], scope: readonly number[]): Rendered | undefined {
  let best: Rendered | undefined;
  for (const index of scope) {
    for (const piece of segments[index]!) {
      if (piece.shrinkable && piece.text !== '' && (!best || utf8Bytes(piece.text) > utf8Bytes(best.text))) best = piece;
    }
  }
  return best;
}
