/**
 * Subscribers: who is told, over HTTP, what the archiver did. Configured in the
 * archiver config (ARCHIVER_CONFIG file or ARCHIVER_CONFIG_JSON) under `subscribers`:
 *
 *   "subscribers": [
 *     { "id": "lms", "url": "https://lms.example/hooks/zoom-archiver", "secret": "env:LMS_WEBHOOK_SECRET",
 *       "events": ["FileUploaded", "RecordingArchived", "FileUploadFailed"] },
 *     { "url": "https://hooks.slack.com/services/…", "format": "slack", "events": ["FileUploadFailed"] }
 *   ]
 *
 * Two steps, so that the same file validates where no secret is at hand (`cdk synth`):
 * - SubscribersSchema (used by services/course-validation/config.ts inside the
 *   archiver config's schema): every rule below, each problem named by its field path
 *   in the one error message of that file;
 * - resolveSubscribers: `env:NAME` secrets read from the environment at start-up (a
 *   missing or malformed variable is named, its value never shown).
 *
 * Rules: `events` ⊆ FileUploaded, RecordingArchived, FileUploadFailed,
 * RecordingRejected, ReconciliationCompleted, RecordingWouldBeTrashed,
 * RecordingTrashedInZoom (RecordingAvailable and
 * FileUploadRequested are internal: they carry download URLs); a `standard-webhooks`
 * subscriber (the default format) needs a secret, `whsec_` + base64 of ≥ 24 bytes or
 * `env:NAME`; a `slack` subscriber takes none (its URL is the secret); the URL is
 * https, or http on a loopback address; an address written in the URL must be public
 * unless `allowPrivateNetwork` (the sender checks every resolved address too); ids are
 * unique, given or derived from the URL; an unknown key is an error.
 *
 * Secrets — resolved `whsec_` values and whole Slack URLs — never appear in a message,
 * a log, an event or the status output: code logs `id` and `origin`, and these objects
 * serialize (JSON.stringify, util.inspect) without them.
 */
import { createHash } from 'node:crypto';
import { inspect } from 'node:util';
import * as z from 'zod/mini';
import { ConfigError } from '../../shared/errors';
import { DetailType, type DetailTypeName } from '../../shared/events/names';
import { ipLiteral, isLoopbackName, judgeAddress } from './address-policy';

/** The detail-types a subscriber may ask for. */
export const SUBSCRIBABLE_EVENTS = [
  DetailType.FileUploaded,
  DetailType.RecordingArchived,
  DetailType.FileUploadFailed,
  DetailType.RecordingRejected,
  DetailType.ReconciliationCompleted,
  DetailType.RecordingWouldBeTrashed,
  DetailType.RecordingTrashedInZoom,
] as const satisfies readonly DetailTypeName[];
export type SubscribableEvent = (typeof SUBSCRIBABLE_EVENTS)[number];

/** Never sent: they carry Zoom's download URLs (and a sealed token). */
const INTERNAL_EVENTS: readonly string[] = [DetailType.RecordingAvailable, DetailType.FileUploadRequested];

export const SUBSCRIBER_FORMATS = ['standard-webhooks', 'slack'] as const;
export type SubscriberFormat = (typeof SUBSCRIBER_FORMATS)[number];

export const DEFAULT_SUBSCRIBER_CONCURRENCY = 2;
export const MAX_SUBSCRIBER_CONCURRENCY = 16;
/** Standard Webhooks: a secret of 24 to 64 bytes. */
export const MIN_SECRET_BYTES = 24;

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const URL_RULE = 'must use https (http only on a loopback address)';
const SECRET_RULE = `must be whsec_ followed by the base64 of at least ${MIN_SECRET_BYTES} random bytes (e.g. whsec_$(openssl rand -base64 32)), or env:NAME to read it from the environment variable NAME`;

/** A subscriber as the configuration file gives it, validated; `env:NAME` secrets not read yet. */
export interface SubscriberSpec {
  readonly id: string;
  /** The whole URL. For a Slack subscriber it is the secret: log `origin`, never this. Empty while `urlEnv` is not read. */
  readonly url: string;
  /** scheme://host[:port] — all that is ever shown of the URL (`env:NAME` until it is read). */
  readonly origin: string;
  /** slack only: the variable (in the cloud, the Zoom secret's key) that holds the URL, read by resolveSubscribers. */
  readonly urlEnv?: string;
  readonly format: SubscriberFormat;
  /** standard-webhooks only: the secret itself, or the variable that holds it. */
  readonly secret?: { readonly value: string } | { readonly env: string };
  readonly events: readonly SubscribableEvent[];
  readonly allowPrivateNetwork: boolean;
  /** Deliveries in flight to this subscriber at most. */
  readonly concurrency: number;
}

/** A subscriber ready to deliver to: the secret resolved. */
export interface SubscriberConfig {
  readonly id: string;
  /** The whole URL. For a Slack subscriber it is the secret: log `origin`, never this. */
  readonly url: string;
  readonly origin: string;
  readonly format: SubscriberFormat;
  /** standard-webhooks only: `whsec_…`. Never logged. */
  readonly secret?: string;
  readonly events: readonly SubscribableEvent[];
  readonly allowPrivateNetwork: boolean;
  readonly concurrency: number;
  /**
   * A short hash of the URL: tells the outbox whether a subscriber it disabled (410
   * Gone) is still the same one (a changed URL delivers again).
   */
  readonly fingerprint: string;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** `scheme://host[:port]` of a URL: what logs, messages and `status` show. */
export function urlOrigin(url: string | URL): string {
  try {
    return (typeof url === 'string' ? new URL(url) : url).origin;
  } catch {
    return '(not a URL)';
  }
}

/** The id of a subscriber configured without one: its host, and a hash of host and path. */
export function deriveSubscriberId(url: URL): string {
  const host = url.hostname.toLowerCase().replace(/[^a-z0-9.-]+/g, '-').replace(/^[-.]+|[-.]+$/g, '').slice(0, 40) || 'subscriber';
  return `${host}-${sha256(`${url.host}${url.pathname}${url.search}`).slice(0, 8)}`;
}

/** Keeps what may be shown when the object is logged or printed whole: never the URL's path or the secret. */
function redacted<T extends { id: string; origin: string; format: string }>(value: T): T {
  const shown = () => {
    const { fingerprint: _fingerprint, ...rest } = value as T & { fingerprint?: string };
    return { ...rest, url: `${value.origin}/…`, ...('secret' in value && value.secret !== undefined ? { secret: '(secret)' } : {}) };
  };
  Object.defineProperty(value, 'toJSON', { value: shown, enumerable: false });
  Object.defineProperty(value, inspect.custom, { value: () => shown(), enumerable: false });
  return Object.freeze(value);
}

/** Whether a `whsec_` secret is one Standard Webhooks accepts (and long enough). */
export function isWebhookSecret(value: string): boolean {
  if (!value.startsWith('whsec_')) return false;
  const encoded = value.slice('whsec_'.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) || encoded.length % 4 !== 0) return false;
  return Buffer.from(encoded, 'base64').length >= MIN_SECRET_BYTES;
}

const SubscriberEntrySchema = z.strictObject({
  id: z.optional(z.string()),
  url: z.string(),
  secret: z.optional(z.string()),
  events: z.array(z.string()),
  format: z.optional(z.enum(SUBSCRIBER_FORMATS, { error: `expected one of ${SUBSCRIBER_FORMATS.join(', ')}` })),
  allowPrivateNetwork: z.optional(z.boolean()),
  concurrency: z.optional(z.number()),
});
export type SubscriberEntry = z.input<typeof SubscriberEntrySchema>;

type Issues = { push(issue: { code: 'custom'; message: string; input: unknown; path: PropertyKey[] }): void };

function checkEntry(entry: z.output<typeof SubscriberEntrySchema>, issues: Issues): SubscriberSpec | undefined {
  const problem = (path: PropertyKey[], message: string) => issues.push({ code: 'custom', message, input: undefined, path });
  let ok = true;
  const fail = (path: PropertyKey[], message: string) => {
    ok = false;
    problem(path, message);
  };

  const format: SubscriberFormat = entry.format ?? 'standard-webhooks';
  let url: URL | undefined;
  let urlEnv: string | undefined;
  if (entry.url.startsWith('env:')) {
    // A Slack incoming-webhook URL is itself the credential: it may live in a variable (the cloud: a key of the Zoom secret).
    const name = entry.url.slice('env:'.length);
    if (format !== 'slack') fail(['url'], 'env:NAME is for a slack subscriber, whose url is its credential; a standard-webhooks url is written out');
    else if (!ENV_NAME.test(name)) fail(['url'], 'env:NAME needs a variable name (letters, digits and _, not starting with a digit)');
    else if (entry.id === undefined) fail(['id'], 'a subscriber whose url is env:NAME needs an id (it cannot be derived from a url not read yet)');
    else urlEnv = name;
  } else {
    const checked = checkUrl(entry.url, entry.allowPrivateNetwork ?? false);
    if ('problem' in checked) fail(['url'], checked.problem);
    else url = checked.url;
  }

  if (entry.id !== undefined && !ID.test(entry.id)) fail(['id'], 'must be 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit');

  let secret: SubscriberSpec['secret'];
  if (format === 'slack') {
    if (entry.secret !== undefined) fail(['secret'], 'a slack subscriber takes no secret: its url is the secret');
  } else if (entry.secret === undefined) {
    fail(['secret'], `a standard-webhooks subscriber needs a secret: ${SECRET_RULE}`);
  } else if (entry.secret.startsWith('env:')) {
    const name = entry.secret.slice('env:'.length);
    if (ENV_NAME.test(name)) secret = { env: name };
    else fail(['secret'], 'env:NAME needs a variable name (letters, digits and _, not starting with a digit)');
  } else if (isWebhookSecret(entry.secret)) {
    secret = { value: entry.secret };
  } else {
    fail(['secret'], SECRET_RULE);
  }

  const events: SubscribableEvent[] = [];
  if (entry.events.length === 0) fail(['events'], `must list at least one of ${SUBSCRIBABLE_EVENTS.join(', ')}`);
  entry.events.forEach((event, index) => {
    if (INTERNAL_EVENTS.includes(event)) {
      fail(['events', index], `${event} is internal (it carries Zoom's download URLs) and is never sent to subscribers (expected one of ${SUBSCRIBABLE_EVENTS.join(', ')})`);
    } else if (!(SUBSCRIBABLE_EVENTS as readonly string[]).includes(event)) {
      fail(['events', index], `unknown event "${event.slice(0, 60)}", expected one of ${SUBSCRIBABLE_EVENTS.join(', ')}`);
    } else if (events.includes(event as SubscribableEvent)) {
      fail(['events', index], `"${event}" is listed twice`);
    } else {
      events.push(event as SubscribableEvent);
    }
  });

  const concurrency = entry.concurrency ?? DEFAULT_SUBSCRIBER_CONCURRENCY;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > MAX_SUBSCRIBER_CONCURRENCY) {
    fail(['concurrency'], `must be a whole number from 1 to ${MAX_SUBSCRIBER_CONCURRENCY}`);
  }

  if (!ok || (!url && !urlEnv)) return undefined;
  return redacted({
    id: entry.id ?? deriveSubscriberId(url!),
    url: url?.href ?? '',
    origin: url?.origin ?? `env:${urlEnv}`,
    ...(urlEnv ? { urlEnv } : {}),
    format,
    ...(secret ? { secret } : {}),
    events,
    allowPrivateNetwork: entry.allowPrivateNetwork ?? false,
    concurrency,
  });
}

/** A subscriber URL by the rules: https (http on loopback only), no user info or fragment, no private address literal unless allowed. */
function checkUrl(text: string, allowPrivateNetwork: boolean): { url: URL } | { problem: string } {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { problem: `not a URL; ${URL_RULE}` };
  }
  const loopback = isLoopbackName(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) return { problem: URL_RULE };
  if (url.username || url.password) return { problem: 'must not contain a user name or password' };
  if (url.hash) return { problem: 'must not have a #fragment' };
  const literal = ipLiteral(url.hostname);
  const verdict = literal ? judgeAddress(literal, allowPrivateNetwork) : { allowed: true as const };
  return verdict.allowed ? { url } : { problem: verdict.reason };
}

/** The `subscribers` field of the archiver config: every problem reported with its path. */
export const SubscribersSchema = z.pipe(
  z.array(
    z.pipe(
      SubscriberEntrySchema,
      z.transform((entry, ctx) => checkEntry(entry, ctx.issues) ?? z.NEVER),
    ),
  ).check(z.maxLength(50, 'at most 50 subscribers')),
  z.transform((specs: SubscriberSpec[], ctx): readonly SubscriberSpec[] => {
    const seen = new Map<string, number>();
    specs.forEach((spec, index) => {
      const first = seen.get(spec.id);
      if (first === undefined) seen.set(spec.id, index);
      else {
        ctx.issues.push({
          code: 'custom',
          input: undefined,
          path: [index, 'id'],
          message: `"${spec.id}" is the id of subscribers[${first}] too; give each subscriber its own id (one left out is derived from the url's host and path)`,
        });
      }
    });
    return specs;
  }),
);

/**
 * Reads the `env:NAME` secrets of the configured subscribers from `env`. Throws one
 * ConfigError naming every variable that is missing or holds no `whsec_` secret
 * (prefixed with where the configuration came from); never a value.
 */
export function resolveSubscribers(config: { subscribers?: readonly SubscriberSpec[]; source: string }, env: Record<string, string | undefined>): readonly SubscriberConfig[] {
  const problems: string[] = [];
  const variables: string[] = [];
  const resolved = (config.subscribers ?? []).map((spec, index): SubscriberConfig | undefined => {
    let url = spec.url;
    let origin = spec.origin;
    if (spec.urlEnv) {
      const name = spec.urlEnv;
      const value = env[name]?.trim();
      variables.push(name);
      const checked = value ? checkUrl(value, spec.allowPrivateNetwork) : undefined;
      if (!checked || 'problem' in checked) {
        // Never the value: it is the credential.
        problems.push(`subscribers[${index}].url: environment variable ${name} ${checked ? `holds a url that ${checked.problem.replace(/^not a URL; /, 'is not a URL and ')}` : 'is not set'}`);
        return undefined;
      }
      url = checked.url.href;
      origin = checked.url.origin;
    }
    let secret: string | undefined;
    if (spec.secret && 'env' in spec.secret) {
      const name = spec.secret.env;
      const value = env[name]?.trim();
      variables.push(name);
      if (!value) {
        problems.push(`subscribers[${index}].secret: environment variable ${name} is not set`);
        return undefined;
      }
      if (!isWebhookSecret(value)) {
        problems.push(`subscribers[${index}].secret: environment variable ${name} ${SECRET_RULE.replace(/, or env:NAME.*$/, '')}`);
        return undefined;
      }
      secret = value;
    } else if (spec.secret) {
      secret = spec.secret.value;
    }
    return redacted({
      id: spec.id,
      url,
      origin,
      format: spec.format,
      ...(secret ? { secret } : {}),
      events: spec.events,
      allowPrivateNetwork: spec.allowPrivateNetwork,
      concurrency: spec.concurrency,
      fingerprint: sha256(url).slice(0, 16),
    });
  });
  if (problems.length > 0) throw new ConfigError(`${config.source}: ${problems.join('; ')}`, { variables });
  return resolved as SubscriberConfig[];
}
