/**
 * Deployment settings: CDK context parsing (errors name the key), the course rules
 * validated at synth time, the archive prefix derived from the key template, and
 * how the stack applies them (one unbundled synthesis).
 */
import { readFileSync } from 'node:fs';
import { loadArchiverConfig, parseArchiverConfig } from '../../services/course-validation/config';
import { MAX_INLINE_CONFIG_BYTES, archiveKeyPrefix, resolveCourseRules } from '../../infrastructure/course-rules';
import { stackSettingsFromContext } from '../../infrastructure/settings';
import { ConfigError } from '../../shared/errors';
import { configFixturePath } from '../course-validation/support';
import { actionsOf, functionOf, statementsOf, synthesize } from './support';

const context = (values: Record<string, unknown>) => (key: string) => values[key];
const noFiles = (path: string): string => {
  throw Object.assign(new Error(`no such file ${path}`), { code: 'ENOENT' });
};
const prefixOf = (template: string) => archiveKeyPrefix(parseArchiverConfig({ naming: { template } }).naming.template);

describe('stackSettingsFromContext', () => {
  it('uses the defaults when no context is set', () => {
    expect(stackSettingsFromContext(context({}), noFiles)).toEqual({});
    expect(stackSettingsFromContext(context({ alarmEmail: '  ', archiverConfigFile: '', uploaderReservedConcurrency: '' }), noFiles)).toEqual({});
    // A blank sweep interval is the default, never 0 (which would turn the schedule off).
    expect(stackSettingsFromContext(context({ sweepIntervalMinutes: ' ', sweepLookbackDays: '', zoomApiRequestsPerSecond: '' }), noFiles)).toEqual({});
    expect(stackSettingsFromContext(context({ cleanupIntervalMinutes: '  ' }), noFiles)).toEqual({});
  });

  it('reads the course rules file and names it as the source', () => {
    const settings = stackSettingsFromContext(context({ archiverConfigFile: 'rules.json' }), () => '\ufeff{"files":{"minDurationSeconds":60}}');
    expect(settings.courseRules).toEqual({ json: { files: { minDurationSeconds: 60 } }, source: 'cdk context archiverConfigFile rules.json' });
  });

  it.each([
    [{ archiverConfigFile: 'missing.json' }, /^cdk context archiverConfigFile missing\.json: cannot read the file \(ENOENT\)/],
    [{ alarmEmail: 'ops-at-school' }, /^cdk context alarmEmail: not an email address/],
    [{ uploaderReservedConcurrency: '0' }, /^cdk context uploaderReservedConcurrency: .*at least 1/],
    [{ uploaderReservedConcurrency: 'lots' }, /^cdk context uploaderReservedConcurrency:/],
    [{ uploaderReservedConcurrency: 2.5 }, /^cdk context uploaderReservedConcurrency: .*whole number/],
    [{ sweepIntervalMinutes: '3' }, /^cdk context sweepIntervalMinutes: must be 0 \(no schedule\) or from 5 to 1440/],
    [{ sweepIntervalMinutes: '2000' }, /^cdk context sweepIntervalMinutes: must be 0 \(no schedule\) or from 5 to 1440/],
    [{ sweepIntervalMinutes: '-60' }, /^cdk context sweepIntervalMinutes:/],
    [{ sweepIntervalMinutes: '7.5' }, /^cdk context sweepIntervalMinutes: must be a whole number of minutes/],
    [{ sweepIntervalMinutes: 'hourly' }, /^cdk context sweepIntervalMinutes: must be a whole number of minutes/],
    [{ sweepLookbackDays: '0' }, /^cdk context sweepLookbackDays: must be at least 1/],
    [{ sweepLookbackDays: '400' }, /^cdk context sweepLookbackDays: must be at most 366/],
    [{ zoomApiRequestsPerSecond: '0' }, /^cdk context zoomApiRequestsPerSecond: must be positive/],
    [{ zoomApiRequestsPerSecond: '500' }, /^cdk context zoomApiRequestsPerSecond: must be at most 100/],
    [{ cleanupIntervalMinutes: '0' }, /^cdk context cleanupIntervalMinutes: must be at least 1 \(to stop the clean-up, set cleanup\.trashInZoom to "off"/],
    [{ cleanupIntervalMinutes: '2000' }, /^cdk context cleanupIntervalMinutes: must be at most 1440/],
    [{ cleanupIntervalMinutes: '7.5' }, /^cdk context cleanupIntervalMinutes: must be a whole number of minutes/],
    [{ cleanupIntervalMinutes: 'often' }, /^cdk context cleanupIntervalMinutes: must be a whole number of minutes/],
  ])('names the context key in errors: %j', (values, message) => {
    expect(() => stackSettingsFromContext(context(values), noFiles)).toThrow(ConfigError);
    expect(() => stackSettingsFromContext(context(values), noFiles)).toThrow(message);
  });

  it('reports a course rules file that is not JSON', () => {
    expect(() => stackSettingsFromContext(context({ archiverConfigFile: 'rules.json' }), () => '{ nope')).toThrow(
      /^cdk context archiverConfigFile rules\.json: not valid JSON/,
    );
  });

  it('accepts a reserved concurrency from the command line (text) or cdk.json (number), or "unreserved"', () => {
    expect(stackSettingsFromContext(context({ uploaderReservedConcurrency: '25' }), noFiles).uploaderReservedConcurrency).toBe(25);
    expect(stackSettingsFromContext(context({ uploaderReservedConcurrency: 3 }), noFiles).uploaderReservedConcurrency).toBe(3);
    expect(stackSettingsFromContext(context({ uploaderReservedConcurrency: 'unreserved' }), noFiles).uploaderReservedConcurrency).toBe('unreserved');
    expect(stackSettingsFromContext(context({ alarmEmail: 'ops@school.example' }), noFiles).alarmEmail).toBe('ops@school.example');
  });

  it('reads the reconciliation sweep\'s interval (0 = no schedule), look-back and Zoom API pace, as text or numbers', () => {
    expect(stackSettingsFromContext(context({ sweepIntervalMinutes: '0', sweepLookbackDays: '10', zoomApiRequestsPerSecond: '2' }), noFiles)).toEqual({
      sweepIntervalMinutes: 0,
      sweepLookbackDays: 10,
      zoomApiRequestsPerSecond: 2,
    });
    expect(stackSettingsFromContext(context({ sweepIntervalMinutes: 120, sweepLookbackDays: 1, zoomApiRequestsPerSecond: 0.5 }), noFiles)).toEqual({
      sweepIntervalMinutes: 120,
      sweepLookbackDays: 1,
      zoomApiRequestsPerSecond: 0.5,
    });
  });

  it('reads the clean-up run\'s interval, as text or a number', () => {
    expect(stackSettingsFromContext(context({ cleanupIntervalMinutes: '30' }), noFiles)).toEqual({ cleanupIntervalMinutes: 30 });
    expect(stackSettingsFromContext(context({ cleanupIntervalMinutes: 1 }), noFiles)).toEqual({ cleanupIntervalMinutes: 1 });
    expect(stackSettingsFromContext(context({ cleanupIntervalMinutes: 1440 }), noFiles)).toEqual({ cleanupIntervalMinutes: 1440 });
  });
});

describe('course rules at synth time', () => {
  it('takes the archive prefix from the literal folders the key template starts with', () => {
    expect(resolveCourseRules().archivePrefix).toBe('courses/');
    expect(prefixOf('archive/{course}/{start:yyyy}/{recordingType}.{ext}')).toBe('archive/');
    expect(prefixOf('zoom/recordings/{course}/{fileId}.{ext}')).toBe('zoom/recordings/');
    expect(prefixOf('zoom/rec-{course}/{fileId}.{ext}')).toBe('zoom/');
    expect(prefixOf('{course}/{fileId}.{ext}')).toBe('');
    expect(prefixOf('{fileId}.{ext}')).toBe('');
  });

  it('fails synthesis on invalid rules, naming the source and the field', () => {
    expect(() => resolveCourseRules({ json: { naming: { timeZone: 'Mars/Base' } }, source: 'cdk context archiverConfigFile x.json' })).toThrow(
      /^cdk context archiverConfigFile x\.json: naming\.timeZone: unknown time zone "Mars\/Base"/,
    );
  });

  it('refuses rules too large for a Lambda environment variable', () => {
    const hosts = Object.fromEntries(Array.from({ length: 120 }, (_, i) => [`teacher${i}@school.example`, `MAQ${100 + i}`]));
    const json = { courses: { hosts } };
    expect(JSON.stringify(json).length).toBeGreaterThan(MAX_INLINE_CONFIG_BYTES);
    expect(() => resolveCourseRules({ json, source: 'big.json' })).toThrow(/^big\.json: \d+ bytes once minified/);
  });
});

describe('the stack with a rules file and no reserved concurrency', () => {
  const fixture = JSON.parse(readFileSync(configFixturePath('full.json'), 'utf8')) as unknown;
  let s: ReturnType<typeof synthesize>;
  beforeAll(() => {
    s = synthesize({ courseRules: { json: fixture, source: 'full.json' }, uploaderReservedConcurrency: 'unreserved' }, { bundle: false });
  }, 120_000);

  it('passes the rules inline to course validation, in a form its loader accepts', () => {
    const value = functionOf(s, 'course-validation').fn.Properties.Environment.Variables.ARCHIVER_CONFIG_JSON as string;
    expect(JSON.parse(value)).toEqual(fixture);
    const loaded = loadArchiverConfig({ ARCHIVER_CONFIG_JSON: value });
    expect(loaded.naming.template.source).toBe(parseArchiverConfig(fixture).naming.template.source);
  });

  it('lets the uploader write under the template\'s prefix only', () => {
    const s3 = statementsOf(functionOf(s, 'uploader').policy).filter((st) => actionsOf(st).some((a) => a.startsWith('s3:')));
    expect(s3).toHaveLength(2);
    expect(JSON.stringify(s3[0]!.Resource)).toMatch(/"\/archive\/\*"/);
    // Listing (to tell a free key from a forbidden one) only under the same prefix.
    expect(s3[1]!.Condition).toEqual({ StringLike: { 's3:prefix': ['archive/*'] } });
    s.template.hasOutput('ArchiveKeyPrefix', { Value: 'archive/' });
  });

  it('leaves the uploader unreserved when asked', () => {
    expect(functionOf(s, 'uploader').fn.Properties.ReservedConcurrentExecutions).toBeUndefined();
  });
});
