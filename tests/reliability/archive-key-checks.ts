/**
 * What makes an archive key safe (README "Which recordings, which files, which
 * names"), checked independently of the sanitizer's own code: used by the bad-input
 * suite on keys produced from hostile webhook deliveries and by the fuzz tests.
 */
import { sanitizeKey } from '../../services/course-validation/key-sanitizer';

const MAX_KEY_BYTES = 1024;
const MAX_SEGMENT_BYTES = 255;
/** C0/C1 controls (NUL included), DEL, bidi controls and marks, reserved characters. */
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\\:*?"<>|#%{}^~[\]`]/u;
const LONE_SURROGATE = /\p{Cs}/u;

/** Every reason `key` is unsafe; empty when it is safe. */
export function archiveKeyProblems(key: string): string[] {
  const problems: string[] = [];
  if (key.length === 0) return ['empty key'];
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) problems.push(`longer than ${MAX_KEY_BYTES} UTF-8 bytes`);
  if (key.startsWith('/')) problems.push('starts with "/"');
  const segments = key.split('/');
  if (segments.some((segment) => segment === '' || segment === '.' || segment === '..')) problems.push('has an empty, "." or ".." segment');
  if (segments.some((segment) => Buffer.byteLength(segment, 'utf8') > MAX_SEGMENT_BYTES)) problems.push(`a segment is over ${MAX_SEGMENT_BYTES} bytes`);
  if (segments.some((segment) => /^[ .]|[ .]$/.test(segment))) problems.push('a segment starts or ends with a space or a dot');
  const forbidden = FORBIDDEN.exec(key);
  if (forbidden) problems.push(`contains U+${forbidden[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`);
  if (LONE_SURROGATE.test(key)) problems.push('contains a lone surrogate');
  if (key.normalize('NFC') !== key) problems.push('is not NFC');
  if (sanitizeKey(key) !== key) problems.push('is not a fixed point of sanitizeKey');
  return problems;
}
