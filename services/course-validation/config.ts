/**
 * Course-validation rules: which meetings are courses, which files to keep, how to
 * name them. Operators change them without code through an optional JSON file
 * (path in ARCHIVER_CONFIG), validated once at start-up; every error names the
 * field (`ARCHIVER_CONFIG /etc/archiver.json: naming.timeZone: …`). Unknown fields
 * are errors too, so a typo never silently falls back to a default.
 *
 * ARCHIVER_CONFIG_JSON carries the same JSON inline instead of a path, for runtimes
 * with no file to read (the Lambda function: the CDK stack validates the operator's
 * file at synth time and passes it in this variable, so no file is bundled). Same
 * schema, same messages, prefixed `ARCHIVER_CONFIG_JSON: …`. Setting both variables
 * is an error, so it is never unclear which rules are in force.
 *
 * With no file (or an empty object) the rules are those of the original
 * deployment: a course meeting has a bracketed course code in its topic
 * ("[MAQ101] Maqam Bayati — lesson 3"); eligible files are completed MP4s of at
 * least 2 minutes. Each section or field that is present replaces its default.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { IANAZone } from 'luxon';
import * as z from 'zod/mini';
import { en } from 'zod/locales';
import { ConfigError } from '../../shared/errors';
import { KeyTemplateError, parseKeyTemplate, type KeyTemplate } from './key-template';
import { SubscribersSchema, type SubscriberSpec } from '../subscribers/config';
import { CleanupSchema, DEFAULT_CLEANUP_RULES, type CleanupRules } from '../cleanup/config';

/**
 * Zoom's file types as listed in the Zoom Meeting API reference
 * (https://developers.zoom.us/docs/api/meetings/#tag/cloud-recording), including the older TB.
 */
export const FILE_TYPES = ['MP4', 'M4A', 'TIMELINE', 'TRANSCRIPT', 'CHAT', 'CC', 'CSV', 'SUMMARY', 'TB'] as const;

/**
 * Zoom's recording types as listed in the Zoom Meeting API reference
 * (https://developers.zoom.us/docs/api/meetings/#tag/cloud-recording), including the
 * older host_video and thumbnail.
 */
export const RECORDING_TYPES = [
  'shared_screen_with_speaker_view(CC)',
  'shared_screen_with_speaker_view',
  'shared_screen_with_gallery_view',
  'speaker_view',
  'gallery_view',
  'shared_screen',
  'active_speaker',
  'audio_only',
  'audio_transcript',
  'chat_file',
  'poll',
  'timeline',
  'closed_caption',
  'audio_interpretation',
  'sign_interpretation',
  'summary',
  'summary_next_steps',
  'summary_smart_chapters',
  'production_studio',
  'host_video',
  'thumbnail',
] as const;

/**
 * A course code in brackets: 2–10 capital letters, an optional dash, 2–4 digits,
 * an optional letter ([MAQ101], [PHY-201], [ARB-110]). Strict on purpose: "[Draft]"
 * or "[URGENT]" in a staff meeting's topic must not make it a course.
 */
export const DEFAULT_TOPIC_PATTERN = String.raw`\[(?<course>[A-Z]{2,10}-?[0-9]{2,4}[A-Z]?)\]`;

/**
 * Under courses/{course}/, one folder per day, files that sort by local start
 * time and say what they are; {part} tells the parts of a stopped-and-restarted
 * recording apart, {instance} two meeting instances that started in the same
 * minute (a meeting restarted right away), {recordingType} and {ext} the files of
 * one instance.
 */
export const DEFAULT_KEY_TEMPLATE =
  'courses/{course}/{start:yyyy-MM-dd}/{start:yyyy-MM-dd_HHmm}_{topic}_{recordingType}{part:_part}_{instance}.{ext}';

export const DEFAULT_MIN_DURATION_SECONDS = 120;

export type TimeZoneOption = { kind: 'utc' } | { kind: 'meeting' } | { kind: 'fixed'; zone: string };

export interface TopicPattern {
  /** The pattern as configured, for messages. */
  source: string;
  regex: RegExp;
}

export interface CourseRules {
  /** Tried in order; the named group `course` is the course code. */
  topicPatterns: readonly TopicPattern[];
  /** Numeric meeting id (digits only) → course code. */
  meetings: ReadonlyMap<string, string>;
  /** Host email (lower case) → course code. */
  hosts: ReadonlyMap<string, string>;
}

export interface FileRules {
  fileTypes: ReadonlySet<string>;
  /** When set, files with a recording type outside this set are skipped (files without one are judged by type only). */
  recordingTypes?: ReadonlySet<string>;
  /** When set, per file type only the best-ranked recording type present is kept. */
  bestViewOnly?: readonly string[];
  minDurationSeconds: number;
}

export interface NamingRules {
  template: KeyTemplate;
  timeZone: TimeZoneOption;
}

export interface ArchiverConfig {
  courses: CourseRules;
  files: FileRules;
  naming: NamingRules;
  /** Where the rules came from ("defaults" or the file path), for logs. */
  source: string;
  /**
   * Who is told what happened (services/subscribers/config.ts), validated with the
   * rest of the file; `env:NAME` secrets are read by resolveSubscribers at start-up.
   */
  subscribers: readonly SubscriberSpec[];
  /** Moving archived recordings to Zoom's trash (services/cleanup/config.ts); off unless configured. */
  cleanup: CleanupRules;
}

/*
 * Written with zod/mini (tree-shakable), like the event schemas: the classic API put
 * ~420 KB of zod into the course-validation bundle. zod/mini registers no locale, so
 * zod's own messages ("Too small: expected number to be >=0") would read "Invalid
 * input"; English is registered here unless a locale is set already, as classic zod
 * does when it loads, so every message stays as operators know it.
 */
if (!z.config().localeError) z.config(en());

const CourseCode = z
  .string()
  .check(z.trim(), z.minLength(1, 'a course code must not be empty'), z.maxLength(64, 'a course code has at most 64 characters'));

const TopicPatternSchema = z.pipe(
  z.strictObject({
    pattern: z.string().check(z.minLength(1), z.maxLength(500)),
    flags: z.optional(z.string().check(z.regex(/^[imsuv]*$/, 'flags may only use i, m, s, u, v (g and y make a pattern stateful)'))),
  }),
  z.transform((value, ctx): TopicPattern => {
    let regex: RegExp;
    try {
      regex = new RegExp(value.pattern, value.flags ?? '');
    } catch (error) {
      ctx.issues.push({ code: 'custom', message: `not a valid regular expression: ${(error as Error).message}`, input: value.pattern, path: ['pattern'] });
      return z.NEVER;
    }
    // An empty alternative always matches, so `groups` lists every named group of the pattern.
    const groups = new RegExp(`(?:${value.pattern})|`, value.flags ?? '').exec('')?.groups ?? {};
    if (!('course' in groups)) {
      ctx.issues.push({
        code: 'custom',
        message: 'must have a named capture group "course", e.g. \\[(?<course>[A-Z]+[0-9]+)\\]',
        input: value.pattern,
        path: ['pattern'],
      });
      return z.NEVER;
    }
    return { source: value.pattern, regex };
  }),
);

const MeetingMapSchema = z.pipe(
  z.record(z.string(), CourseCode),
  z.transform((value, ctx) => {
    const map = new Map<string, string>();
    for (const [key, course] of Object.entries(value)) {
      // Zoom shows ids as "123 4567 8901"; accept that spelling.
      const id = key.replace(/[\s-]/g, '');
      if (!/^\d{1,20}$/.test(id)) {
        ctx.issues.push({ code: 'custom', message: 'a meeting id is a number such as "81234567890"', input: key, path: [key] });
      } else if (map.has(id)) {
        ctx.issues.push({ code: 'custom', message: `meeting id ${id} is listed twice`, input: key, path: [key] });
      } else {
        map.set(id, course);
      }
    }
    return map as ReadonlyMap<string, string>;
  }),
);

const Email = z.email();
const HostMapSchema = z.pipe(
  z.record(z.string(), CourseCode),
  z.transform((value, ctx) => {
    const map = new Map<string, string>();
    for (const [key, course] of Object.entries(value)) {
      const email = key.trim().toLowerCase();
      if (!z.safeParse(Email, email).success) {
        ctx.issues.push({ code: 'custom', message: 'not an email address', input: key, path: [key] });
      } else if (map.has(email)) {
        ctx.issues.push({ code: 'custom', message: `${email} is listed twice (emails are compared without case)`, input: key, path: [key] });
      } else {
        map.set(email, course);
      }
    }
    return map as ReadonlyMap<string, string>;
  }),
);

function uniqueList<T extends z.ZodMiniType<string>>(item: T) {
  return z.array(item).check(
    z.minLength(1, 'must list at least one value'),
    z.superRefine((values, ctx) => {
      values.forEach((value, index) => {
        if (values.indexOf(value) !== index) {
          ctx.addIssue({ code: 'custom', message: `"${value}" is listed twice`, path: [index] });
        }
      });
    }),
  );
}

const FileTypeSchema = z.pipe(
  z.pipe(
    z.string(),
    z.transform((value: string) => value.trim().toUpperCase()),
  ),
  z.enum(FILE_TYPES, { error: `expected one of ${FILE_TYPES.join(', ')}` }),
);
const RecordingTypeSchema = z.enum(RECORDING_TYPES, { error: `expected one of ${RECORDING_TYPES.join(', ')}` });

const TimeZoneSchema = z.pipe(
  z.string(),
  z.transform((value: string, ctx): TimeZoneOption => {
    const trimmed = value.trim();
    if (trimmed.toUpperCase() === 'UTC') return { kind: 'utc' };
    if (trimmed === 'meeting') return { kind: 'meeting' };
    if (IANAZone.isValidZone(trimmed)) return { kind: 'fixed', zone: trimmed };
    ctx.issues.push({
      code: 'custom',
      message: `unknown time zone "${value}"; use "UTC", "meeting" (the meeting's own zone) or an IANA zone such as "Europe/Berlin"`,
      input: value,
    });
    return z.NEVER;
  }),
);

const TemplateSchema = z.pipe(
  z.string(),
  z.transform((value: string, ctx): KeyTemplate => {
    try {
      return parseKeyTemplate(value);
    } catch (error) {
      if (!(error instanceof KeyTemplateError)) throw error;
      ctx.issues.push({ code: 'custom', message: error.message, input: value });
      return z.NEVER;
    }
  }),
);

/** The JSON file's schema. Every field is optional; a missing one takes its default. */
export const ArchiverConfigFileSchema = z.strictObject({
  /** Lets editors find a JSON schema; ignored. */
  $schema: z.optional(z.string()),
  courses: z.optional(
    z.strictObject({
      topicPatterns: z.optional(z.array(TopicPatternSchema).check(z.maxLength(20))),
      meetings: z.optional(MeetingMapSchema),
      hosts: z.optional(HostMapSchema),
    }),
  ),
  files: z.optional(
    z.strictObject({
      fileTypes: z.optional(uniqueList(FileTypeSchema)),
      recordingTypes: z.optional(uniqueList(RecordingTypeSchema)),
      bestViewOnly: z.optional(uniqueList(RecordingTypeSchema)),
      minDurationSeconds: z.optional(z.number().check(z.int(), z.gte(0), z.lte(86_400))),
    }),
  ),
  naming: z.optional(
    z.strictObject({
      template: z.optional(TemplateSchema),
      timeZone: z.optional(TimeZoneSchema),
    }),
  ),
  /** Outbound webhooks and Slack notifications: services/subscribers/config.ts. */
  subscribers: z.optional(SubscribersSchema),
  /** Moving verified recordings to Zoom's trash: services/cleanup/config.ts. */
  cleanup: z.optional(CleanupSchema),
});
export type ArchiverConfigFile = z.input<typeof ArchiverConfigFileSchema>;

/** Validates a parsed JSON config (`{}` = defaults). `source` prefixes error messages. */
export function parseArchiverConfig(input: unknown, source = 'archiver config'): ArchiverConfig {
  const result = z.safeParse(ArchiverConfigFileSchema, input);
  if (!result.success) {
    throw new ConfigError(`${source}: ${result.error.issues.map(describeIssue).join('; ')}`, { cause: result.error });
  }
  const { courses = {}, files = {}, naming = {}, subscribers = [], cleanup = DEFAULT_CLEANUP_RULES } = result.data;
  return {
    courses: {
      topicPatterns: courses.topicPatterns ?? [{ source: DEFAULT_TOPIC_PATTERN, regex: new RegExp(DEFAULT_TOPIC_PATTERN) }],
      meetings: courses.meetings ?? new Map(),
      hosts: courses.hosts ?? new Map(),
    },
    files: {
      fileTypes: new Set(files.fileTypes ?? ['MP4']),
      recordingTypes: files.recordingTypes ? new Set(files.recordingTypes) : undefined,
      bestViewOnly: files.bestViewOnly,
      minDurationSeconds: files.minDurationSeconds ?? DEFAULT_MIN_DURATION_SECONDS,
    },
    naming: {
      template: naming.template ?? parseKeyTemplate(DEFAULT_KEY_TEMPLATE),
      timeZone: naming.timeZone ?? { kind: 'meeting' },
    },
    subscribers,
    cleanup,
    source,
  };
}

/**
 * Reads ARCHIVER_CONFIG (a JSON file path) or ARCHIVER_CONFIG_JSON (the JSON itself)
 * if set; the defaults otherwise. Throws ConfigError at start-up.
 */
export function loadArchiverConfig(env: Record<string, string | undefined>): ArchiverConfig {
  const path = env.ARCHIVER_CONFIG?.trim();
  const inline = env.ARCHIVER_CONFIG_JSON?.trim();
  if (path && inline) {
    throw new ConfigError('ARCHIVER_CONFIG and ARCHIVER_CONFIG_JSON are both set; set one of them (a file path or the JSON itself)');
  }
  if (inline) return parseArchiverConfig(parseJsonText(inline, 'ARCHIVER_CONFIG_JSON'), 'ARCHIVER_CONFIG_JSON');
  if (!path) return { ...parseArchiverConfig({}), source: 'defaults' };
  const where = `ARCHIVER_CONFIG ${path}`;
  let text: string;
  try {
    text = readFileSync(resolve(path), 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new ConfigError(`${where}: cannot read the file (${code})`, { cause: error });
  }
  return parseArchiverConfig(parseJsonText(text, where), where);
}

function parseJsonText(text: string, where: string): unknown {
  try {
    return JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (error) {
    throw new ConfigError(`${where}: not valid JSON (${(error as Error).message})`, { cause: error });
  }
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (typeof part === 'string' && /^[A-Za-z_$][\w$]*$/.test(part)) out += out ? `.${part}` : part;
    else out += `[${JSON.stringify(String(part))}]`;
  }
  return out || '(top level)';
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => `${formatPath([...issue.path, key])}: unknown field`).join('; ');
  }
  return `${formatPath(issue.path)}: ${issue.message}`;
}
