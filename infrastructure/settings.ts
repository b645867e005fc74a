/**
 * Deployment settings from CDK context (`npx cdk deploy -c alarmEmail=ops@school.example`
 * or the "context" of cdk.json), validated before anything is built; each error
 * names its context key. Nothing here is a secret: secrets go to Secrets Manager.
 *
 * | key | meaning |
 * |---|---|
 * | archiverConfigFile | path of the course-validation rules (ARCHIVER_CONFIG JSON); built-in defaults when unset |
 * | alarmEmail | subscribed to the alarm topic |
 * | uploaderReservedConcurrency | a number (default 10), or `unreserved` for accounts with a small concurrency quota |
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../shared/errors';
import type { ArchiverStackProps } from './archiver-stack';

export type StackSettings = Pick<ArchiverStackProps, 'courseRules' | 'alarmEmail' | 'uploaderReservedConcurrency'>;

const optionalText = z
  .string()
  .trim()
  .transform((value) => value || undefined)
  .optional();

const ReservedConcurrency = z.coerce
  .number({ error: 'must be a whole number or "unreserved"' })
  .int('must be a whole number or "unreserved"')
  .min(1, 'must be at least 1, or "unreserved"')
  .max(1000, 'must be at most 1000');

export function stackSettingsFromContext(
  context: (key: string) => unknown,
  readText: (path: string) => string = (path) => readFileSync(path, 'utf8'),
): StackSettings {
  const settings: StackSettings = {};

  const configFile = parse('archiverConfigFile', optionalText, context);
  if (configFile) {
    const path = resolve(configFile);
    const where = `cdk context archiverConfigFile ${configFile}`;
    let text: string;
    try {
      text = readText(path);
    } catch (error) {
      throw new ConfigError(`${where}: cannot read the file (${(error as NodeJS.ErrnoException).code ?? 'unknown error'})`, { cause: error });
    }
    let json: unknown;
    try {
      json = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
    } catch (error) {
      throw new ConfigError(`${where}: not valid JSON (${(error as Error).message})`, { cause: error });
    }
    settings.courseRules = { json, source: where };
  }

  const email = parse('alarmEmail', optionalText.pipe(z.email('not an email address').optional()), context);
  if (email) settings.alarmEmail = email;

  const reserved = context('uploaderReservedConcurrency');
  if (reserved === 'unreserved') settings.uploaderReservedConcurrency = 'unreserved';
  else if (reserved !== undefined && reserved !== '') {
    settings.uploaderReservedConcurrency = parse('uploaderReservedConcurrency', ReservedConcurrency, context);
  }
  return settings;
}

function parse<T extends z.ZodType>(key: string, schema: T, context: (key: string) => unknown): z.output<T> {
  const result = schema.safeParse(context(key));
  if (!result.success) {
    throw new ConfigError(`cdk context ${key}: ${result.error.issues.map((issue) => issue.message).join('; ')}`);
  }
  return result.data;
}
