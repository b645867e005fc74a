/**
 * The `subscribers` field of the archiver config: every rule, each problem named by
 * its field path in one message, and no secret — a whsec_ value, an environment
 * variable's value, a Slack URL's path — ever in a message or a serialized config.
 */
import { inspect } from 'node:util';
import { loadRuntimeConfig } from '../../host/config';
import { parseArchiverConfig } from '../../services/course-validation/config';
import { deriveSubscriberId, resolveSubscribers } from '../../services/subscribers/config';
import { ConfigError } from '../../shared/errors';
import { newSecret, subscribers } from './support';

const SECRET = newSecret();
const SLACK = 'https://hooks.slack.com/services/T0SECRET/B0SECRET/XySecretPathToken';

function problem(input: unknown, env: Record<string, string> = {}): string {
  try {
    resolveSubscribers(parseArchiverConfig(input, 'test config'), env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}
const one = (entry: Record<string, unknown>) => ({ subscribers: [entry] });
const lms = (extra: Record<string, unknown> = {}) => ({ url: 'https://lms.example/hooks/zoom-archiver', secret: SECRET, events: ['FileUploaded'], ...extra });

describe('subscribers in the archiver config', () => {
  it('reads a complete configuration, with defaults and a derived id', () => {
    const [a, b, c] = subscribers(
      [
        { id: 'lms', url: 'https://lms.example/hooks/zoom-archiver', secret: 'env:LMS_SECRET', events: ['FileUploaded', 'RecordingArchived', 'FileUploadFailed'], concurrency: 4 },
        { url: SLACK, format: 'slack', events: ['FileUploadFailed'] },
        { url: 'http://127.0.0.1:9000/hook', secret: SECRET, events: ['RecordingRejected', 'ReconciliationCompleted'], allowPrivateNetwork: true },
      ],
      { LMS_SECRET: SECRET },
    );
    expect(a).toMatchObject({ id: 'lms', origin: 'https://lms.example', format: 'standard-webhooks', secret: SECRET, concurrency: 4, allowPrivateNetwork: false });
    expect(b).toMatchObject({ format: 'slack', origin: 'https://hooks.slack.com', concurrency: 2, events: ['FileUploadFailed'] });
    expect(b!.secret).toBeUndefined();
    expect(b!.id).toBe(deriveSubscriberId(new URL(SLACK)));
    expect(b!.id).toMatch(/^hooks\.slack\.com-[0-9a-f]{8}$/);
    expect(b!.id).not.toContain('SECRET');
    expect(c).toMatchObject({ origin: 'http://127.0.0.1:9000', allowPrivateNetwork: true });
    expect(a!.fingerprint).not.toBe(b!.fingerprint);
    // No subscribers: none, and the rest of the config as before.
    expect(parseArchiverConfig({}).subscribers).toEqual([]);
  });

  it('serializes and prints without the secret or the Slack URL\'s path', () => {
    const config = parseArchiverConfig({ subscribers: [lms(), { url: SLACK, format: 'slack', events: ['FileUploaded'] }] });
    const resolved = resolveSubscribers(config, {});
    for (const text of [JSON.stringify(config), JSON.stringify(resolved), inspect(config, { depth: 10 }), inspect(resolved, { depth: 10 })]) {
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain(SECRET.slice(6));
      expect(text).not.toContain('XySecretPathToken');
      expect(text).toContain('https://hooks.slack.com');
    }
  });

  it.each([
    [one({ ...lms(), url: 'http://lms.example/hook' }), 'subscribers[0].url: must use https (http only on a loopback address)'],
    [one({ ...lms(), url: 'ftp://lms.example/hook' }), 'subscribers[0].url: must use https (http only on a loopback address)'],
    [one({ ...lms(), url: 'not a url' }), 'subscribers[0].url: not a URL'],
    [one({ ...lms(), url: 'https://user:pw@lms.example/hook' }), 'subscribers[0].url: must not contain a user name or password'],
    [one({ ...lms(), url: 'https://10.0.0.1/hook' }), 'subscribers[0].url: 10.0.0.1 is a private address; set allowPrivateNetwork: true to allow it'],
    [one({ ...lms(), url: 'https://169.254.169.254/latest' }), 'subscribers[0].url: 169.254.169.254 is the cloud metadata address'],
    [one({ ...lms(), url: 'https://100.64.1.2/hook' }), 'subscribers[0].url: 100.64.1.2 is a carrier-grade NAT address'],
    [one({ ...lms(), url: 'https://[fd00::1]/hook' }), 'subscribers[0].url: fd00::1 is a unique-local address'],
    [one({ ...lms(), url: 'https://0.0.0.0/hook', allowPrivateNetwork: true }), 'subscribers[0].url: 0.0.0.0 is the unspecified address'],
    [one({ ...lms(), events: ['RecordingAvailable'] }), 'subscribers[0].events[0]: RecordingAvailable is internal (it carries Zoom\'s download URLs) and is never sent to subscribers'],
    [one({ ...lms(), events: ['FileUploaded', 'FileUploadRequested'] }), 'subscribers[0].events[1]: FileUploadRequested is internal'],
    [one({ ...lms(), events: ['FileUploded'] }), 'subscribers[0].events[0]: unknown event "FileUploded", expected one of FileUploaded, RecordingArchived, FileUploadFailed, RecordingRejected, ReconciliationCompleted, RecordingWouldBeTrashed, RecordingTrashedInZoom'],
    [one({ ...lms(), events: ['FileUploaded', 'FileUploaded'] }), 'subscribers[0].events[1]: "FileUploaded" is listed twice'],
    [one({ ...lms(), events: [] }), 'subscribers[0].events: must list at least one of'],
    [one({ ...lms(), secret: undefined }), 'subscribers[0].secret: a standard-webhooks subscriber needs a secret'],
    [one({ ...lms(), secret: 'whsec_' + Buffer.alloc(16, 1).toString('base64') }), 'subscribers[0].secret: must be whsec_ followed by the base64 of at least 24 random bytes'],
    [one({ ...lms(), secret: 'whsec_not base64!!' }), 'subscribers[0].secret: must be whsec_'],
    [one({ ...lms(), secret: Buffer.alloc(32, 1).toString('base64') }), 'subscribers[0].secret: must be whsec_'],
    [one({ ...lms(), secret: 'env:' }), 'subscribers[0].secret: env:NAME needs a variable name'],
    [one({ url: SLACK, format: 'slack', secret: SECRET, events: ['FileUploaded'] }), 'subscribers[0].secret: a slack subscriber takes no secret: its url is the secret'],
    [one({ ...lms(), format: 'teams' }), 'subscribers[0].format: expected one of standard-webhooks, slack'],
    [one({ ...lms(), concurrency: 0 }), 'subscribers[0].concurrency: must be a whole number from 1 to 16'],
    [one({ ...lms(), concurrency: 2.5 }), 'subscribers[0].concurrency: must be a whole number from 1 to 16'],
    [one({ ...lms(), allowPrivateNetwork: 'yes' }), 'subscribers[0].allowPrivateNetwork:'],
    [one({ ...lms(), id: 'has space' }), 'subscribers[0].id: must be 1-64 letters, digits'],
    [one({ ...lms(), header: 'x' }), 'subscribers[0].header: unknown field'],
    [{ subscribers: [lms({ id: 'lms' }), lms({ id: 'lms', url: 'https://other.example/x' })] }, 'subscribers[1].id: "lms" is the id of subscribers[0] too'],
    [{ subscribers: [lms(), lms({ events: ['FileUploadFailed'] })] }, 'subscribers[1].id: "lms.example-'],
    [{ subscribers: {} }, 'subscribers:'],
  ])('names the field: %j', (input, expected) => {
    const message = problem(input);
    expect(message).toContain(`test config: `);
    expect(message).toContain(expected);
    expect(message).not.toContain(SECRET.slice(6, 30));
    expect(message).not.toContain('XySecretPathToken');
  });

  it('allows a private address in the URL with allowPrivateNetwork, and http on loopback', () => {
    expect(subscribers([lms({ url: 'https://10.0.0.1/hook', allowPrivateNetwork: true })])[0]!.origin).toBe('https://10.0.0.1');
    expect(subscribers([lms({ url: 'http://localhost:8080/hook' })])[0]!.origin).toBe('http://localhost:8080');
    expect(subscribers([lms({ url: 'http://[::1]:8080/hook' })])[0]!.origin).toBe('http://[::1]:8080');
  });

  it('lists every problem of the field in one message', () => {
    const message = problem({
      subscribers: [
        { url: 'http://lms.example/x', secret: 'hunter2-is-my-secret', events: ['RecordingAvailable'] },
        { url: SLACK, format: 'slack', secret: SECRET, events: ['FileUploaded'], extra: 1 },
      ],
    });
    expect(message.split('; ').map((p) => p.replace(/^test config: /, '').replace(/:.*$/, ''))).toEqual([
      'subscribers[0].url',
      'subscribers[0].secret',
      'subscribers[0].events[0]',
      'subscribers[1].extra',
      'subscribers[1].secret',
    ]);
    expect(message).not.toContain('hunter2-is-my-secret');
  });

  it('reads env:NAME secrets at start-up, naming a missing or malformed variable, never its value', () => {
    const input = { subscribers: [lms({ secret: 'env:LMS_SECRET' }), lms({ id: 'second', secret: 'env:SECOND_SECRET' })] };
    expect(problem(input, { SECOND_SECRET: SECRET })).toBe('test config: subscribers[0].secret: environment variable LMS_SECRET is not set');
    const malformed = problem(input, { LMS_SECRET: 'plain-old-password-value', SECOND_SECRET: SECRET });
    expect(malformed).toContain('subscribers[0].secret: environment variable LMS_SECRET must be whsec_');
    expect(malformed).not.toContain('plain-old-password-value');
    expect(resolveSubscribers(parseArchiverConfig(input), { LMS_SECRET: SECRET, SECOND_SECRET: SECRET }).map((s) => s.secret)).toEqual([SECRET, SECRET]);
  });

  it('stops `serve` at start-up with the field named (ARCHIVER_CONFIG_JSON)', () => {
    const env = { ZOOM_WEBHOOK_SECRET_TOKEN: 'test-secret-token-123', ARCHIVER_CONFIG_JSON: JSON.stringify(one({ ...lms(), url: 'http://lms.example/x', secret: SECRET })) };
    expect(() => loadRuntimeConfig(env)).toThrow('ARCHIVER_CONFIG_JSON: subscribers[0].url: must use https (http only on a loopback address)');
    const missing = { ...env, ARCHIVER_CONFIG_JSON: JSON.stringify(one(lms({ secret: 'env:LMS_SECRET' }))) };
    expect(() => loadRuntimeConfig(missing)).toThrow('ARCHIVER_CONFIG_JSON: subscribers[0].secret: environment variable LMS_SECRET is not set');
    const config = loadRuntimeConfig({ ...missing, LMS_SECRET: SECRET, SUBSCRIBER_RETRY_BASE_SECONDS: '2' });
    expect(config.subscribers.map((s) => s.id)).toEqual(['lms.example-' + deriveSubscriberId(new URL(lms().url)).split('-').pop()]);
    expect(config.subscriberRetryBaseMs).toBe(2000);
    expect(loadRuntimeConfig({ ZOOM_WEBHOOK_SECRET_TOKEN: 'test-secret-token-123' }).subscriberRetryBaseMs).toBe(5000);
    expect(() => loadRuntimeConfig({ ZOOM_WEBHOOK_SECRET_TOKEN: 'test-secret-token-123', SUBSCRIBER_RETRY_BASE_SECONDS: '0.5' })).toThrow('SUBSCRIBER_RETRY_BASE_SECONDS must be at least 1');
  });
});

describe('a slack subscriber whose url is a variable (in the cloud: a key of the Zoom secret)', () => {
  const entry = { id: 'staff', url: 'env:STAFF_SLACK_URL', format: 'slack', events: ['FileUploadFailed'] };

  it('is read at start-up, checked by the url rules, and shown by its origin only', () => {
    const config = parseArchiverConfig({ subscribers: [entry] }, 'test config');
    expect(config.subscribers![0]).toMatchObject({ id: 'staff', urlEnv: 'STAFF_SLACK_URL', origin: 'env:STAFF_SLACK_URL' });
    const [resolved] = resolveSubscribers(config, { STAFF_SLACK_URL: SLACK });
    expect(resolved).toMatchObject({ url: SLACK, origin: 'https://hooks.slack.com', format: 'slack' });
    expect(inspect(resolved)).not.toContain('T0SECRET');
  });

  it('is refused, never quoting the value, when the variable is unset or not an https url', () => {
    const config = parseArchiverConfig({ subscribers: [entry] }, 'test config');
    expect(() => resolveSubscribers(config, {})).toThrow(/subscribers\[0\]\.url: environment variable STAFF_SLACK_URL is not set/);
    let message = '';
    try {
      resolveSubscribers(config, { STAFF_SLACK_URL: 'http://hooks.slack.com/services/T0SECRET/B0SECRET/x' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/STAFF_SLACK_URL holds a url that must use https/);
    expect(message).not.toContain('T0SECRET');
  });

  it('needs an id and the slack format', () => {
    expect(() => parseArchiverConfig({ subscribers: [{ ...entry, id: undefined }] }, 'c')).toThrow(/subscribers\[0\]\.id: a subscriber whose url is env:NAME needs an id/);
    expect(() => parseArchiverConfig({ subscribers: [{ ...entry, format: 'standard-webhooks', secret: 'env:X' }] }, 'c')).toThrow(/subscribers\[0\]\.url: env:NAME is for a slack subscriber/);
  });
});
