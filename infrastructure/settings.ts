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
 * | sweepIntervalMinutes | minutes between reconciliation sweeps (default 60); 0 = no schedule (manual backfills only) |
 * | sweepLookbackDays | days each sweep looks back (default 3) |
 * | zoomApiRequestsPerSecond | the reconciler's (and the clean-up run's) pace of Zoom API calls (default 10; the account's limit is shared) |
 * | cleanupIntervalMinutes | minutes between clean-up runs (default 15), 1 to 1440; only used when the config's cleanup.trashInZoom is not off |
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../shared/errors';
import type { ArchiverStackProps } from './archiver-stack';

export type StackSettings = Pick<
  ArchiverStackProps,
  | 'courseRules'
  | 'alarmEmail'
  | 'uploaderReservedConcurrency'
  | 'sweepIntervalMinutes'
  | 'sweepLookbackDays'
  | 'zoomApiRequestsPerSecond'
  | 'cleanupIntervalMinutes'
>;

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

/** 0 turns the schedule off; a sweep more often than every 5 minutes gains nothing (Zoom retries a webhook for about 85). */
const SweepIntervalMinutes = z.coerce
  .number({ error: 'must be a whole number of minutes' })
  .int('must be a whole number of minutes')
  .refine((minutes) => minutes === 0 || (minutes >= 5 && minutes <= 1440), 'must be 0 (no schedule) or from 5 to 1440 (a day)');

/** The same bounds as the handler's SWEEP_LOOKBACK_DAYS (services/reconciler/config.ts). */
const SweepLookbackDays = z.coerce
  .number({ error: 'must be a whole number of days' })
  .int('must be a whole number of days')
  .min(1, 'must be at least 1 (Zoom can take a day to process a recording)')
  .max(366, 'must be at most 366');

/** The same bounds as the handler's ZOOM_API_REQUESTS_PER_SECOND. */
const ZoomApiRequestsPerSecond = z.coerce
  .number({ error: 'must be a number' })
  .positive('must be positive')
  .max(100, 'must be at most 100 (Zoom allows 80/s at most, in any category)');

/** A due recording waits at most one interval more than its delay; no schedule (0) would never trash at all. */
const CleanupIntervalMinutes = z.coerce
  .number({ error: 'must be a whole number of minutes' })
  .int('must be a whole number of minutes')
  .min(1, 'must be at least 1 (to stop the clean-up, set cleanup.trashInZoom to "off" in the archiver config)')
  .max(1440, 'must be at most 1440 (a day)');

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

  // Unset, or blank on the command line: the default (Number('  ') would be 0, i.e. no schedule).
  const given = (key: string) => {
    const value = context(key);
    return value !== undefined && !(typeof value === 'string' && value.trim() === '');
  };
  if (given('sweepIntervalMinutes')) settings.sweepIntervalMinutes = parse('sweepIntervalMinutes', SweepIntervalMinutes, context);
  if (given('sweepLookbackDays')) settings.sweepLookbackDays = parse('sweepLookbackDays', SweepLookbackDays, context);
  if (given('zoomApiRequestsPerSecond')) settings.zoomApiRequestsPerSecond = parse('zoomApiRequestsPerSecond', ZoomApiRequestsPerSecond, context);
  if (given('cleanupIntervalMinutes')) settings.cleanupIntervalMinutes = parse('cleanupIntervalMinutes', CleanupIntervalMinutes, context);
  return settings;
}

function parse<T extends z.ZodType>(key: string, schema: T, context: (key: string) => unknown): z.output<T> {
  const result = schema.safeParse(context(key));
  if (!result.success) {
    throw new ConfigError(`cdk context ${key}: ${result.error.issues.map((issue) => issue.message).join('; ')}`);
  }
  return result.data;
}
