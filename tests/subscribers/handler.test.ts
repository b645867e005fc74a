/**
 * The Subscribers consumer Lambda (services/subscribers/handler.ts): given the
 * EventBridge envelope of an event, it writes one outbox message per subscriber that
 * asked for its detail-type — checked here through a fake outbox, and through the real
 * SQS outbox over a fake SQS client (what SendMessageBatch receives). An event that
 * breaks its contract, or that SQS does not take, fails the invocation, so that
 * EventBridge and Lambda retry it (then dead-letter it). The bootstrap needs no secret.
 */
import type { SendMessageBatchCommandInput } from '@aws-sdk/client-sqs';
import { OutboxEnqueueError, OutboxMessageTooLargeError, SQS_MAX_MESSAGE_BYTES } from '../../shared/adapters/outbox-sqs';
import { ConfigError, EventEnvelopeError } from '../../shared/errors';
import { DetailType, EVENT_SOURCE, type DetailOf } from '../../shared/events';
import { silentLogger } from '../../shared/logger';
import type { OutboxMessage, SubscriberOutbox } from '../../shared/ports/subscriber-outbox';
import { createSubscribersDeps, handleSubscriberEvent } from '../../services/subscribers/handler';

const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/outbox';
const checksum = { algorithm: 'sha256' as const, value: 'a'.repeat(64) };

const uploaded = (overrides: Partial<DetailOf<typeof DetailType.FileUploaded>> = {}): DetailOf<typeof DetailType.FileUploaded> => ({
  metadata: { schemaVersion: 1, correlationId: 'corr-rec-A', causationId: 'cause', idempotencyKey: 'rec-A:up' },
  recordingId: 'rec-A',
  fileId: 'rec-A-f1',
  course: 'MAQ101',
  fileType: 'MP4',
  location: { kind: 's3', container: 'archive', key: 'courses/MAQ101/2026-11-20/lesson.mp4', uri: 's3://archive/courses/MAQ101/2026-11-20/lesson.mp4' },
  size: 1000,
  checksum,
  transferMs: 1500,
  attempts: 1,
  ...overrides,
});

/** The envelope EventBridge hands the function. */
const envelope = (detailType: string, detail: unknown, id = 'evt-0001') => ({
  version: '0',
  id,
  'detail-type': detailType,
  source: EVENT_SOURCE,
  account: '123456789012',
  time: '2026-11-27T10:00:00Z',
  region: 'eu-west-1',
  resources: [],
  detail,
});

/** Two subscribers: the LMS wants uploads and failures, the other only failures. Secrets by env:NAME, which the consumer never reads. */
const CONFIG = JSON.stringify({
  subscribers: [
    { id: 'lms', url: 'https://lms.example.edu/hooks/zoom-archiver', secret: 'env:LMS_WEBHOOK_SECRET', events: [DetailType.FileUploaded, DetailType.FileUploadFailed] },
    { id: 'ops', url: 'https://ops.example.edu/hooks', secret: 'env:OPS_WEBHOOK_SECRET', events: [DetailType.FileUploadFailed] },
  ],
});

class FakeOutbox implements SubscriberOutbox {
  readonly enqueued: OutboxMessage[][] = [];
  constructor(private readonly refuse?: Error) {}
  async enqueue(messages: readonly OutboxMessage[]): Promise<void> {
    if (this.refuse) throw this.refuse;
    this.enqueued.push([...messages]);
  }
}

/** `config: null` = no configuration at all (the built-in rules, no subscribers). */
const depsWith = (outbox: SubscriberOutbox, config: string | null = CONFIG) =>
  createSubscribersDeps({ OUTBOX_QUEUE_URL: QUEUE_URL, ...(config === null ? {} : { ARCHIVER_CONFIG_JSON: config }) }, { outbox, logger: silentLogger });

describe('the Subscribers consumer', () => {
  it('enqueues one message per subscriber that asked for the detail-type: the bus event id, the type, the time and the detail', async () => {
    const outbox = new FakeOutbox();
    const detail = uploaded();
    expect(await handleSubscriberEvent(envelope(DetailType.FileUploaded, detail), depsWith(outbox))).toBe(1);
    expect(outbox.enqueued).toEqual([[{ id: 'evt-0001', subscriberId: 'lms', type: DetailType.FileUploaded, timestamp: '2026-11-27T10:00:00.000Z', data: detail }]]);
  });

  it('enqueues for every interested subscriber in one call', async () => {
    const outbox = new FakeOutbox();
    const failed: DetailOf<typeof DetailType.FileUploadFailed> = {
      metadata: { schemaVersion: 1, correlationId: 'corr-rec-A', causationId: 'cause', idempotencyKey: 'rec-A:failed' },
      recordingId: 'rec-A',
      fileId: 'rec-A-f1',
      course: 'MAQ101',
      code: 'not_found',
      reason: 'Zoom answered 404',
      retryable: false,
      attempts: 3,
    };
    expect(await handleSubscriberEvent(envelope(DetailType.FileUploadFailed, failed, 'evt-0002'), depsWith(outbox))).toBe(2);
    expect(outbox.enqueued).toHaveLength(1);
    expect(outbox.enqueued[0]!.map((m) => [m.id, m.subscriberId])).toEqual([
      ['evt-0002', 'lms'],
      ['evt-0002', 'ops'],
    ]);
  });

  it('enqueues nothing for an event nobody asked for, or when no subscriber is configured', async () => {
    const outbox = new FakeOutbox();
    const rejected = envelope(DetailType.RecordingRejected, {
      metadata: { schemaVersion: 1, correlationId: 'corr-rec-B', causationId: 'cause', idempotencyKey: 'rec-B:rej' },
      recordingId: 'rec-B',
      meetingId: '124',
      topic: 'Staff meeting',
      reason: 'not_course_meeting',
      explanation: 'no course code in the topic',
    });
    expect(await handleSubscriberEvent(rejected, depsWith(outbox))).toBe(0);
    expect(await handleSubscriberEvent(envelope(DetailType.FileUploaded, uploaded()), depsWith(outbox, null))).toBe(0);
    expect(outbox.enqueued).toEqual([]);
  });

  it('fails the invocation on an event that breaks its contract (EventBridge retries, then dead-letters it), even one nobody asked for', async () => {
    const outbox = new FakeOutbox();
    await expect(handleSubscriberEvent(envelope(DetailType.FileUploaded, { recordingId: 'rec-A' }), depsWith(outbox))).rejects.toBeInstanceOf(EventEnvelopeError);
    await expect(handleSubscriberEvent(envelope(DetailType.ReconciliationCompleted, { nonsense: true }), depsWith(outbox))).rejects.toBeInstanceOf(EventEnvelopeError);
    await expect(handleSubscriberEvent({ ...envelope(DetailType.FileUploaded, uploaded()), source: 'someone-else' }, depsWith(outbox))).rejects.toBeInstanceOf(EventEnvelopeError);
    expect(outbox.enqueued).toEqual([]);
  });

  it('fails the invocation when the outbox refuses', async () => {
    const refusal = new OutboxEnqueueError('SQS is down', true, 1);
    await expect(handleSubscriberEvent(envelope(DetailType.FileUploaded, uploaded()), depsWith(new FakeOutbox(refusal)))).rejects.toBe(refusal);
  });
});

describe('over the SQS outbox', () => {
  /** A fake SQS client: answers SendMessageBatch with `answer(entries, call)`. */
  function fakeSqs(answer: (input: SendMessageBatchCommandInput, call: number) => { Successful?: { Id: string }[]; Failed?: Record<string, unknown>[] }) {
    const calls: SendMessageBatchCommandInput[] = [];
    return {
      calls,
      send: jest.fn(async (command: { input: unknown; constructor: { name: string } }) => {
        if (command.constructor.name !== 'SendMessageBatchCommand') throw new Error(`unexpected ${command.constructor.name}`);
        const input = command.input as SendMessageBatchCommandInput;
        calls.push(structuredClone(input));
        return answer(input, calls.length);
      }),
    };
  }
  const allAccepted = (input: SendMessageBatchCommandInput) => ({ Successful: input.Entries!.map((e) => ({ Id: e.Id! })), Failed: [] });
  const sqsDeps = (sqs: ReturnType<typeof fakeSqs>) => createSubscribersDeps({ OUTBOX_QUEUE_URL: QUEUE_URL, ARCHIVER_CONFIG_JSON: CONFIG }, { sqs, logger: silentLogger });

  it('sends the messages to the queue OUTBOX_QUEUE_URL names, each body the outbox message as JSON', async () => {
    const sqs = fakeSqs(allAccepted);
    const detail = uploaded();
    await handleSubscriberEvent(envelope(DetailType.FileUploaded, detail), sqsDeps(sqs));
    expect(sqs.calls).toHaveLength(1);
    expect(sqs.calls[0]!.QueueUrl).toBe(QUEUE_URL);
    expect(sqs.calls[0]!.Entries!.map((e) => JSON.parse(e.MessageBody!))).toEqual([
      { id: 'evt-0001', subscriberId: 'lms', type: DetailType.FileUploaded, timestamp: '2026-11-27T10:00:00.000Z', data: detail },
    ]);
    // No deduplication id: a standard queue (the subscriber dedupes on webhook-id = the event id).
    expect(sqs.calls[0]!.Entries![0]!.MessageDeduplicationId).toBeUndefined();
  });

  it('sends again only the entries SQS failed, then succeeds', async () => {
    const sqs = fakeSqs((input, call) => (call === 1 ? { Successful: [], Failed: input.Entries!.map((e) => ({ Id: e.Id, Code: 'InternalError', SenderFault: false })) } : allAccepted(input)));
    await handleSubscriberEvent(envelope(DetailType.FileUploaded, uploaded()), sqsDeps(sqs));
    expect(sqs.calls).toHaveLength(2);
    expect(sqs.calls[1]!.Entries).toEqual(sqs.calls[0]!.Entries);
  });

  it('fails the invocation when SQS keeps refusing (after the retries), and at once when it blames the message', async () => {
    const down = fakeSqs((input) => ({ Successful: [], Failed: input.Entries!.map((e) => ({ Id: e.Id, Code: 'ServiceUnavailable', SenderFault: false })) }));
    const refusal = await handleSubscriberEvent(envelope(DetailType.FileUploaded, uploaded()), sqsDeps(down)).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(OutboxEnqueueError);
    expect((refusal as OutboxEnqueueError).message).toMatch(/1 of 1 subscriber messages not accepted by SQS after 4 attempts \(entry errors: ServiceUnavailable\)/);
    expect(down.calls).toHaveLength(4);

    const invalid = fakeSqs((input) => ({ Successful: [], Failed: input.Entries!.map((e) => ({ Id: e.Id, Code: 'InvalidMessageContents', SenderFault: true })) }));
    await expect(handleSubscriberEvent(envelope(DetailType.FileUploaded, uploaded()), sqsDeps(invalid))).rejects.toMatchObject({ retryable: false });
    expect(invalid.calls).toHaveLength(1);
  });

  it('fails loudly on a message over SQS\'s 256 KiB, sending nothing', async () => {
    const sqs = fakeSqs(allAccepted);
    const huge = uploaded({ recordingType: 'x'.repeat(SQS_MAX_MESSAGE_BYTES) });
    const refusal = await handleSubscriberEvent(envelope(DetailType.FileUploaded, huge), sqsDeps(sqs)).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(OutboxMessageTooLargeError);
    expect((refusal as Error).message).toMatch(/event evt-0001 for subscriber lms is \d+ bytes, over SQS's 262144 bytes per message/);
    expect(sqs.calls).toEqual([]);
  });
});

describe('the bootstrap', () => {
  it('needs no secret: env:NAME secrets are the dispatcher\'s business', () => {
    expect(() => createSubscribersDeps({ OUTBOX_QUEUE_URL: QUEUE_URL, ARCHIVER_CONFIG_JSON: CONFIG }, { logger: silentLogger })).not.toThrow();
  });

  it('names what is missing or wrong', () => {
    expect(() => createSubscribersDeps({ ARCHIVER_CONFIG_JSON: CONFIG })).toThrow(/OUTBOX_QUEUE_URL: is required/);
    expect(() => createSubscribersDeps({ OUTBOX_QUEUE_URL: QUEUE_URL, ARCHIVER_CONFIG_JSON: JSON.stringify({ subscribers: [{ url: 'http://lms.example.edu/hooks', secret: 'env:X', events: ['FileUploaded'] }] }) })).toThrow(
      ConfigError,
    );
  });
});
