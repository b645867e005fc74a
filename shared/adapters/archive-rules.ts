/**
 * The rules both archive adapters (folder and S3) enforce identically on a put's key
 * and metadata, in one place so that the adapters cannot drift apart: a key or a
 * metadata set one store accepts, the other accepts too.
 */
import { ArchiveInputError } from '../ports/archive-store';

/** S3's limit, in UTF-8 bytes; the folder store keeps the same bound so both accept the same keys. */
export const MAX_KEY_BYTES = 1024;
/** S3's limit for user metadata, names plus values, in UTF-8 bytes. */
export const MAX_METADATA_BYTES = 2048;

const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const METADATA_NAME = /^[a-z0-9][a-z0-9-]*$/;
/** Where a store records the SHA-256 (lower-case hex) of the bytes it committed. */
export const SHA256_METADATA_NAME = 'sha256';

/**
 * Defense in depth: the key template's sanitizer already prevents all of these. A key
 * that could climb out of a folder, or that S3 and a file system would read
 * differently, is refused rather than repaired.
 */
export function assertArchiveKey(key: string): void {
  const problem = keyProblem(key);
  if (problem) throw new ArchiveInputError(`invalid archive key ${JSON.stringify(key)}: ${problem}`);
}

function keyProblem(key: string): string | undefined {
  if (typeof key !== 'string' || key.length === 0) return 'empty';
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) return `longer than ${MAX_KEY_BYTES} bytes`;
  if (LONE_SURROGATE.test(key)) return 'not well-formed Unicode';
  if (CONTROL_CHARACTERS.test(key)) return 'control character';
  if (key.includes('\\')) return 'backslash (keys are /-separated)';
  if (key.startsWith('/')) return 'absolute';
  for (const segment of key.split('/')) {
    if (segment === '') return 'empty path segment';
    if (segment === '.' || segment === '..') return `'${segment}' segment`;
  }
  return undefined;
}

/** Names must survive as HTTP header names (S3 lower-cases them); the total must fit S3's limit. */
export function assertArchiveMetadata(metadata: Record<string, string>): void {
  let bytes = 0;
  for (const [name, value] of Object.entries(metadata)) {
    if (!METADATA_NAME.test(name)) throw new ArchiveInputError(`invalid metadata name ${JSON.stringify(name)}`);
    if (name === SHA256_METADATA_NAME) throw new ArchiveInputError(`metadata name ${name} is reserved for the store`);
    if (typeof value !== 'string') throw new ArchiveInputError(`metadata ${name} is not a string`);
    bytes += Buffer.byteLength(name, 'utf8') + Buffer.byteLength(value, 'utf8');
  }
  if (bytes > MAX_METADATA_BYTES) throw new ArchiveInputError(`metadata is ${bytes} bytes, over ${MAX_METADATA_BYTES}`);
}
