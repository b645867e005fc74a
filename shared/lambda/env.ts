/**
 * The one way configuration is read from the environment: a handler (or a settings
 * module both runtimes share) declares its variables as a zod/mini object schema, and
 * parseEnv returns them typed or throws one ConfigError naming every variable that is
 * missing or invalid, `EVENT_BUS_NAME: is required; UPLOAD_LEASE_SECONDS: must be a
 * whole number`. All problems at once, so a misconfigured function is fixed in one
 * deploy rather than one variable per cold start.
 *
 * Messages describe the rule a value broke, never the value: the same parser reads
 * secrets (shared/config/secrets.ts), and an error lands in logs.
 */
import * as z from 'zod/mini';
import { ConfigError } from '../errors';

export type Env = Readonly<Record<string, string | undefined>>;

/** A variable that must be set. An empty value counts as unset (a template left blank). */
export const requiredVar = () => z.string();
/** A variable that may be absent. */
export const optionalVar = () => z.optional(z.string());

/**
 * The logger's level, spread into every handler's schema: a misspelt level is named
 * at the cold start instead of silently logging at another level. Any case, as the
 * logger upper-cases it.
 */
export const LOGGING_ENV = {
  LOG_LEVEL: z.optional(z.string().check(z.regex(/^(trace|debug|info|warn|error|critical|silent)$/i, 'must be one of TRACE, DEBUG, INFO, WARN, ERROR, CRITICAL, SILENT'))),
};

/**
 * The variables of `schema`, typed as the schema outputs them (coerced, defaulted).
 * Only the schema's own variables are read; one set to '' is treated as unset, so
 * that it gets its default or is reported as required.
 */
export function parseEnv<S extends z.ZodMiniObject>(schema: S, env: Env): z.output<S> {
  const present: Record<string, string> = {};
  for (const name of Object.keys(schema.shape)) {
    const value = env[name];
    if (value !== undefined && value !== '') present[name] = value;
  }
  return parseSettings(schema, present);
}

/**
 * The same check and the same errors for settings that are not the environment (a
 * secret's JSON): `input` is taken as it is. `prefix` says where the values came from.
 */
export function parseSettings<S extends z.ZodMiniObject>(schema: S, input: unknown, prefix = ''): z.output<S> {
  const result = schema.safeParse(input, { error: describeIssue });
  if (result.success) return result.data;
  throw configErrorFrom(result.error.issues, prefix);
}

/**
 * The variables a deployment must set for `schema`: neither optional nor defaulted.
 * For checks that compare a handler's needs with what the stack gives it.
 */
export function requiredVariables(schema: z.ZodMiniObject): string[] {
  return Object.entries(schema.shape)
    // zod marks a field that accepts an absent value (optional, defaulted) with `optin`.
    .filter(([, field]) => (field as z.ZodMiniType)._zod.optin === undefined)
    .map(([name]) => name);
}

/** One ConfigError for a list of issues, grouped by variable, in the schema's order. */
function configErrorFrom(issues: readonly z.core.$ZodIssue[], prefix: string): ConfigError {
  const problems = new Map<string, string[]>();
  for (const issue of issues) {
    const name = issue.path.length > 0 ? issue.path.map(String).join('.') : '(all)';
    problems.set(name, [...(problems.get(name) ?? []), issue.message]);
  }
  const message = [...problems].map(([name, messages]) => `${name}: ${[...new Set(messages)].join(', ')}`).join('; ');
  return new ConfigError(`${prefix}${message}`, { variables: [...problems.keys()] });
}

/**
 * Wording for zod's own issues (zod/mini, without its locales, would say "Invalid
 * input"). A message a schema sets itself takes precedence. Built from the schema's
 * limits only: `issue.input` is looked at to tell "absent", never quoted.
 */
function describeIssue(issue: z.core.$ZodRawIssue): string | undefined {
  if (issue.input === undefined) return 'is required';
  switch (issue.code) {
    case 'invalid_type':
      if (issue.expected === 'int') return 'must be a whole number';
      return `must be a ${issue.expected}`;
    case 'invalid_format':
      return issue.format === 'url' ? 'must be a URL' : `must be a valid ${issue.format}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map(String).join(', ')}`;
    case 'too_small':
      if (issue.origin === 'string') return Number(issue.minimum) === 1 ? 'must not be empty' : `must have at least ${String(issue.minimum)} characters`;
      if (Number(issue.minimum) === 0 && !issue.inclusive) return 'must be positive';
      return issue.inclusive ? `must be at least ${String(issue.minimum)}` : `must be greater than ${String(issue.minimum)}`;
    case 'too_big':
      if (issue.origin === 'string') return `must have at most ${String(issue.maximum)} characters`;
      return issue.inclusive ? `must be at most ${String(issue.maximum)}` : `must be less than ${String(issue.maximum)}`;
    default:
      return undefined;
  }
}
