/**
 * The cloud dispatcher (services/subscribers/dispatch-handler.ts) against a REAL HTTP
 * subscriber (node:http on 127.0.0.1, which the address policy allows over plain http)
 * through the real HttpSubscriberSender, with a fake SQS client that records the
 * ChangeMessageVisibility calls: what each outcome does to the message (deleted, or
 * made visible again after its back-off and reported as a batch item failure), the
 * Standard Webhooks signature the subscriber receives, Retry-After, the 24 h give-up,
 * per-batch grouping, and the bootstrap reading `env:NAME` secrets from the Zoom secret.
 */
import { once } from 'node:events';
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ChangeMessageVisibilityCommandInput } from '@aws-sdk/client-sqs';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { Webhook } from 'standardwebhooks';
import { outboxMessageBody } from '../../shared/adapters/outbox-sqs';
import { ConfigError } from '../../shared/errors';
import { DetailType } from '../../shared/events';
import type { AppLogger } from '../../shared/logger';
import type { OutboxMessage } from '../../shared/ports/subscriber-outbox';
import { createSubscriberDispatchLambda, handleOutboxBatch, type DispatchDeps } from '../../services/subscribers/dispatch-handler';
import { DELIVERY_FAILED_MESSAGE, MAX_RETRY_DELAY_SECONDS } from '../../services/subscribers/dispatch-policy';

const SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/outbox';
const HOUR = 3600_000;
const fresh = { getRemainingTimeInMillis: () => 120_000 } as Pick<Context, 'getRemainingTimeInMillis'>;

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A subscriber on 127.0.0.1 answering each request with the next reply (the last one repeats). */
let server: http.Server;
let port: number;
let received: Received[];
let replies: ((response: ServerResponse, path: string) => void)[];

beforeAll(async () => {
  server = http.createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const path = request.url ?? '/';
      received.push({ path, headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      const reply = replies.length > 1 ? replies.shift()! : replies[0];
      (reply ?? status(200))(response, path);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  received = [];
  replies = [status(200)];
});

function status(code: number, headers: Record<string, string> = {}): (response: ServerResponse) => void {
  return (response) => {
    response.writeHead(code, headers);
    response.end(code >= 400 ? 'not now' : 'ok');
  };
}

const config = (subscribers: Record<string, unknown>[]) => JSON.stringify({ subscribers });
const lms = (extra: Record<string, unknown> = {}) => ({
  id: 'lms',
  url: `http://127.0.0.1:${port}/hooks/zoom-archiver`,
  secret: 'env:LMS_WEBHOOK_SECRET',
  events: [DetailType.FileUploaded, DetailType.FileUploadFailed],
  ...extra,
});

/** A recording logger: every line, with its level. */
function recordingLogger(): AppLogger & { lines: { level: string; message: string; fields: Record<string, unknown> }[] } {
  const lines: { level: string; message: string; fields: Record<string, unknown> }[] = [];
  const at = (level: string) => (message: unknown, fields?: unknown) => void lines.push({ level, message: String(message), fields: (fields ?? {}) as Record<string, unknown> });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } as never;
}

/** A fake SQS client: records ChangeMessageVisibility inputs; `refuse` makes it throw. */
function fakeSqs(options: { refuse?: boolean } = {}) {
  const visibility: ChangeMessageVisibilityCommandInput[] = [];
  return {
    visibility,
    send: jest.fn(async (command: { input: unknown; constructor: { name: string } }) => {
      if (command.constructor.name !== 'ChangeMessageVisibilityCommand') throw new Error(`unexpected ${command.constructor.name}`);
      if (options.refuse) throw Object.assign(new Error('refused'), { name: 'ReceiptHandleIsInvalid' });
      visibility.push(command.input as ChangeMessageVisibilityCommandInput);
      return {};
    }),
  };
}

let sequence = 0;
function message(overrides: Partial<OutboxMessage> = {}): OutboxMessage {
  sequence++;
  return {
    id: `evt-${sequence}`,
    subscriberId: 'lms',
    type: DetailType.FileUploaded,
    timestamp: '2026-11-26T10:02:11.123Z',
    data: { recordingId: 'rec-1', fileId: `file-${sequence}`, course: 'MAQ101' },
    ...overrides,
  };
}

function record(body: OutboxMessage | string, attributes: { receiveCount?: number; firstReceiveMs?: number } = {}): SQSRecord {
  const id = `sqs-${++sequence}`;
  return {
    messageId: id,
    receiptHandle: `receipt-${id}`,
    body: typeof body === 'string' ? body : outboxMessageBody(body),
    attributes: {
      ApproximateReceiveCount: String(attributes.receiveCount ?? 1),
      ApproximateFirstReceiveTimestamp: String(attributes.firstReceiveMs ?? Date.now()),
      SentTimestamp: String(Date.now()),
      SenderId: 'AROAEXAMPLE',
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:outbox',
    awsRegion: 'eu-west-1',
  };
}

const batch = (...records: SQSRecord[]): SQSEvent => ({ Records: records });

/** The dispatcher as the stack deploys it, the secret from the environment (no ZOOM_SECRETS_ARN), the HTTP sender real. */
async function dispatcher(subscribers = [lms()], env: Record<string, string> = {}) {
  const sqs = fakeSqs();
  const logger = recordingLogger();
  const deps = await createSubscriberDispatchLambda(
    { OUTBOX_QUEUE_URL: QUEUE_URL, ARCHIVER_CONFIG_JSON: config(subscribers), LMS_WEBHOOK_SECRET: SECRET, SUBSCRIBER_RETRY_BASE_SECONDS: '30', ...env },
    { sqs, logger },
  )();
  return { deps, sqs, logger };
}

describe('a delivered message', () => {
  it('is signed with Standard Webhooks: the subscriber verifies the signature with its secret, and the message is deleted', async () => {
    const { deps, sqs } = await dispatcher();
    const sent = message();
    const answer = await handleOutboxBatch(batch(record(sent)), fresh, deps);

    expect(answer).toEqual({ batchItemFailures: [] });
    expect(sqs.visibility).toEqual([]);
    expect(received).toHaveLength(1);
    const [{ headers, body }] = received as [Received];
    expect(headers['webhook-id']).toBe(sent.id);
    expect(headers['content-type']).toBe('application/json');
    const verified = new Webhook(SECRET).verify(body, {
      'webhook-id': String(headers['webhook-id']),
      'webhook-timestamp': String(headers['webhook-timestamp']),
      'webhook-signature': String(headers['webhook-signature']),
    });
    expect(verified).toEqual({ type: DetailType.FileUploaded, timestamp: sent.timestamp, data: sent.data });
    // Another secret does not verify it.
    expect(() => new Webhook(`whsec_${Buffer.alloc(32, 9).toString('base64')}`).verify(body, headers as Record<string, string>)).toThrow();
  });
});

describe('a subscriber that answers 503', () => {
  it('gets the message again after the back-off: visibility set to base × 2^(receives − 1), reported as a batch item failure', async () => {
    replies = [status(503)];
    const { deps, sqs } = await dispatcher();
    const first = record(message(), { receiveCount: 1 });
    const third = record(message(), { receiveCount: 3 });
    // Two subscribers' worth of grouping is tested below; here, one message per batch.
    expect(await handleOutboxBatch(batch(first), fresh, deps)).toEqual({ batchItemFailures: [{ itemIdentifier: first.messageId }] });
    expect(await handleOutboxBatch(batch(third), fresh, deps)).toEqual({ batchItemFailures: [{ itemIdentifier: third.messageId }] });
    expect(sqs.visibility).toEqual([
      { QueueUrl: QUEUE_URL, ReceiptHandle: first.receiptHandle, VisibilityTimeout: 30 },
      { QueueUrl: QUEUE_URL, ReceiptHandle: third.receiptHandle, VisibilityTimeout: 120 },
    ]);
    expect(received).toHaveLength(2);
  });

  it('honours a Retry-After longer than the back-off, and keeps the back-off when Retry-After is shorter', async () => {
    const { deps, sqs } = await dispatcher();
    replies = [status(503, { 'retry-after': '600' }), status(429, { 'retry-after': '5' })];
    const longer = record(message(), { receiveCount: 2 });
    const shorter = record(message(), { receiveCount: 2 });
    await handleOutboxBatch(batch(longer), fresh, deps);
    await handleOutboxBatch(batch(shorter), fresh, deps);
    expect(sqs.visibility.map((v) => v.VisibilityTimeout)).toEqual([600, 60]);
  });

  it('never asks for more than SQS allows (12 h from the receive, less a margin)', async () => {
    replies = [status(503, { 'retry-after': String(3 * 86400) })];
    const { deps, sqs } = await dispatcher();
    await handleOutboxBatch(batch(record(message(), { receiveCount: 1 })), fresh, deps);
    expect(sqs.visibility[0]!.VisibilityTimeout).toBe(MAX_RETRY_DELAY_SECONDS);
    expect(MAX_RETRY_DELAY_SECONDS).toBeLessThanOrEqual(12 * 3600);
  });

  it('gives up 24 h after the first receive: logged as failed and deleted, no visibility change', async () => {
    replies = [status(503)];
    const { deps, sqs, logger } = await dispatcher();
    const old = record(message(), { receiveCount: 14, firstReceiveMs: Date.now() - 25 * HOUR });
    expect(await handleOutboxBatch(batch(old), fresh, deps)).toEqual({ batchItemFailures: [] });
    expect(sqs.visibility).toEqual([]);
    expect(received).toHaveLength(1); // the last attempt was made
    const failed = logger.lines.filter((l) => l.message === DELIVERY_FAILED_MESSAGE);
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ level: 'error', fields: { subscriberId: 'lms', status: 503, reason: expect.stringMatching(/^given up 24 h after the first attempt/) } });
  });

  it('shortens the last wait so the last attempt is made when the 24 h are over', async () => {
    replies = [status(503)];
    const { deps, sqs } = await dispatcher();
    const late = record(message(), { receiveCount: 12, firstReceiveMs: Date.now() - 24 * HOUR + 90_000 });
    await handleOutboxBatch(batch(late), fresh, deps);
    expect(sqs.visibility[0]!.VisibilityTimeout).toBeGreaterThanOrEqual(85);
    expect(sqs.visibility[0]!.VisibilityTimeout).toBeLessThanOrEqual(90);
  });

  it('still reports the message when SQS refuses the visibility change (it comes back after the visibility timeout)', async () => {
    replies = [status(503)];
    const { deps, logger } = await dispatcher();
    const refusing = fakeSqs({ refuse: true });
    const failing = record(message());
    expect(await handleOutboxBatch(batch(failing), fresh, { ...deps, sqs: refusing })).toEqual({ batchItemFailures: [{ itemIdentifier: failing.messageId }] });
    expect(logger.lines.some((l) => l.level === 'warn' && /could not set the back-off/.test(l.message))).toBe(true);
  });
});

describe('outcomes that are not retried', () => {
  it('a 4xx: logged as failed (the alarm counts it) and deleted', async () => {
    replies = [status(401)];
    const { deps, sqs, logger } = await dispatcher();
    expect(await handleOutboxBatch(batch(record(message())), fresh, deps)).toEqual({ batchItemFailures: [] });
    expect(sqs.visibility).toEqual([]);
    const failed = logger.lines.find((l) => l.message === DELIVERY_FAILED_MESSAGE)!;
    expect(failed).toMatchObject({ level: 'error', fields: { subscriberId: 'lms', status: 401 } });
    // The log names the origin, never the URL's path or the secret.
    expect(JSON.stringify(logger.lines)).not.toContain('/hooks/zoom-archiver');
    expect(JSON.stringify(logger.lines)).not.toContain(SECRET.slice(6));
  });

  it('410 Gone: a warning, deleted; the subscriber stays configured, so the next message ends the same way', async () => {
    replies = [status(410)];
    const { deps, logger } = await dispatcher();
    expect(await handleOutboxBatch(batch(record(message())), fresh, deps)).toEqual({ batchItemFailures: [] });
    expect(await handleOutboxBatch(batch(record(message())), fresh, deps)).toEqual({ batchItemFailures: [] });
    expect(received).toHaveLength(2);
    expect(logger.lines.filter((l) => l.level === 'warn' && /410 Gone/.test(l.message))).toHaveLength(2);
  });

  it('a message for a subscriber no longer configured, or not an outbox message at all: failed, deleted', async () => {
    const { deps, logger } = await dispatcher();
    const unknown = record(message({ subscriberId: 'removed' }));
    const garbage = record('{"not":"a message"}');
    expect(await handleOutboxBatch(batch(unknown, garbage), fresh, deps)).toEqual({ batchItemFailures: [] });
    expect(received).toHaveLength(0);
    expect(logger.lines.filter((l) => l.message === DELIVERY_FAILED_MESSAGE)).toHaveLength(2);
  });
});

describe('a batch', () => {
  it('groups messages by subscriber: once one ends retry, the rest of that subscriber\'s are deferred unsent; others are delivered', async () => {
    const other = { id: 'archive-index', url: `http://127.0.0.1:${port}/other`, secret: 'env:LMS_WEBHOOK_SECRET', events: [DetailType.FileUploaded] };
    const { deps, sqs } = await dispatcher([lms(), other]);
    // The LMS answers 503; the other subscriber answers 200.
    replies = [(response, path) => status(path === '/other' ? 200 : 503)(response)];
    const lmsRecords = [record(message(), { receiveCount: 1 }), record(message(), { receiveCount: 2 }), record(message(), { receiveCount: 3 })];
    const otherRecords = [record(message({ id: 'other-1', subscriberId: 'archive-index' })), record(message({ id: 'other-2', subscriberId: 'archive-index' }))];
    const answer = await handleOutboxBatch(batch(lmsRecords[0]!, otherRecords[0]!, lmsRecords[1]!, otherRecords[1]!, lmsRecords[2]!), fresh, deps);

    expect(answer.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(lmsRecords.map((r) => r.messageId).sort());
    // One request to the LMS (the others deferred), both to the other subscriber.
    expect(received.filter((r) => r.path === '/other').map((r) => r.headers['webhook-id'])).toEqual(['other-1', 'other-2']);
    expect(received.filter((r) => r.path !== '/other')).toHaveLength(1);
    // Each deferred message gets its own back-off.
    expect(sqs.visibility.map((v) => [v.ReceiptHandle, v.VisibilityTimeout]).sort()).toEqual(
      [
        [lmsRecords[0]!.receiptHandle, 30],
        [lmsRecords[1]!.receiptHandle, 60],
        [lmsRecords[2]!.receiptHandle, 120],
      ].sort(),
    );
  });

  it('starts no send when the invocation is about to time out: those messages are reported as they are', async () => {
    const { deps, sqs } = await dispatcher();
    const late = record(message());
    const answer = await handleOutboxBatch(batch(late), { getRemainingTimeInMillis: () => 5_000 }, deps);
    expect(answer).toEqual({ batchItemFailures: [{ itemIdentifier: late.messageId }] });
    expect(received).toHaveLength(0);
    expect(sqs.visibility).toEqual([]);
  });
});

describe('the bootstrap', () => {
  const zoomSecretArn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:zoom-archiver-abc';
  const secretsManager = (value: Record<string, string>) => ({ send: jest.fn(async () => ({ SecretString: JSON.stringify(value) })) });

  it('reads env:NAME secrets from the Zoom secret when ZOOM_SECRETS_ARN is set, not from the environment', async () => {
    const client = secretsManager({ TOKEN_SEALING_SECRET: 'x'.repeat(48), LMS_WEBHOOK_SECRET: SECRET });
    const load = createSubscriberDispatchLambda(
      { OUTBOX_QUEUE_URL: QUEUE_URL, ARCHIVER_CONFIG_JSON: config([lms()]), ZOOM_SECRETS_ARN: zoomSecretArn, LMS_WEBHOOK_SECRET: 'whsec_not-this-one' },
      { sqs: fakeSqs(), secretsManager: client, logger: recordingLogger() },
    );
    const deps: DispatchDeps = await load();
    await handleOutboxBatch(batch(record(message())), fresh, deps);
    expect(client.send).toHaveBeenCalledTimes(1);
    const [{ headers, body }] = received as [Received];
    expect(() => new Webhook(SECRET).verify(body, headers as Record<string, string>)).not.toThrow();
  });

  it('refuses a Zoom secret without the key a subscriber names (named, never a value), and keeps nothing', async () => {
    const client = secretsManager({ TOKEN_SEALING_SECRET: 'x'.repeat(48) });
    const load = createSubscriberDispatchLambda(
      { OUTBOX_QUEUE_URL: QUEUE_URL, ARCHIVER_CONFIG_JSON: config([lms()]), ZOOM_SECRETS_ARN: zoomSecretArn },
      { sqs: fakeSqs(), secretsManager: client, logger: recordingLogger() },
    );
    const refusal = await load().catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(ConfigError);
    expect((refusal as ConfigError).message).toMatch(/LMS_WEBHOOK_SECRET is not set/);
    expect((refusal as ConfigError).message).not.toContain('x'.repeat(16));
    await load().catch(() => undefined);
    expect(client.send).toHaveBeenCalledTimes(2); // read again: a refused secret is not kept
  });

  it('names every bad variable at once', () => {
    expect(() => createSubscriberDispatchLambda({ SUBSCRIBER_RETRY_BASE_SECONDS: '0' })).toThrow(/OUTBOX_QUEUE_URL: is required; SUBSCRIBER_RETRY_BASE_SECONDS: must be at least 1/);
  });
});
