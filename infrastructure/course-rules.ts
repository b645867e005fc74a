/**
 * The course-validation rules a deployment uses (the same JSON as ARCHIVER_CONFIG on
 * one machine), checked at synth time: a bad file fails `cdk synth` with the field
 * named, never a cold start. The stack passes the JSON to the function inline
 * (ARCHIVER_CONFIG_JSON) and derives from its key template the only prefix the
 * uploader may write under.
 */
import { ConfigError } from '../shared/errors';
import { parseArchiverConfig, type ArchiverConfig } from '../services/course-validation/config';
import type { KeyTemplate } from '../services/course-validation/key-template';

/**
 * Lambda allows 4 KB for all of a function's environment variables together; this
 * leaves room for the others. A larger configuration (hundreds of meeting ids) would
 * need bundling as a file instead.
 */
export const MAX_INLINE_CONFIG_BYTES = 3_500;

export interface CourseRulesInput {
  /** The parsed JSON. */
  json: unknown;
  /** Where it came from, for messages (e.g. the file path). */
  source: string;
}

export interface CourseRules {
  config: ArchiverConfig;
  /** The value of ARCHIVER_CONFIG_JSON; undefined = the built-in defaults. */
  inlineJson?: string;
  /** Every archive key starts with this (may be ''). */
  archivePrefix: string;
}

export function resolveCourseRules(input?: CourseRulesInput): CourseRules {
  if (!input) {
    const config = parseArchiverConfig({});
    return { config, archivePrefix: archiveKeyPrefix(config.naming.template) };
  }
  const config = parseArchiverConfig(input.json, input.source);
  const inlineJson = JSON.stringify(input.json);
  const bytes = Buffer.byteLength(inlineJson, 'utf8');
  if (bytes > MAX_INLINE_CONFIG_BYTES) {
    throw new ConfigError(
      `${input.source}: ${bytes} bytes once minified, over the ${MAX_INLINE_CONFIG_BYTES} bytes that fit in the function's ` +
        'environment (Lambda allows 4 KB in all); shorten it, e.g. map hosts rather than many meeting ids',
    );
  }
  return { config, inlineJson, archivePrefix: archiveKeyPrefix(config.naming.template) };
}

/**
 * The folders at the start of a key template that are plain text (no token), with a
 * trailing slash: `courses/{course}/…` gives `courses/`; `{course}/…` gives ''.
 * The key sanitizer leaves such literal segments unchanged (the template parser
 * refuses any it would change), so every rendered key starts with this prefix.
 */
export function archiveKeyPrefix(template: KeyTemplate): string {
  const folders = template.segments.slice(0, -1);
  const literal: string[] = [];
  for (const segment of folders) {
    if (!segment.every((piece) => piece.kind === 'literal')) break;
    literal.push(segment.map((piece) => (piece.kind === 'literal' ? piece.text : '')).join(''));
  }
  return literal.length === 0 ? '' : `${literal.join('/')}/`;
}
