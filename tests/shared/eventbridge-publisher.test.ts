/**
 * The EventBridge publisher against a local HTTP server speaking PutEvents (AWS JSON
 * 1.1), driven by the real AWS SDK client: partial failures are retried entry by
 * entry, and a final failure is an error, never a silent success.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { EventBridgePublisher, batches, entrySize } from '../../shared/adapters/eventbridge-publisher';
import { EventEnvelopeError, PublishError } from '../../shared/errors';
import { DetailType, EVENT_SOURCE, type DomainEvent } from '../../shared/events';

interface PutEntry { Source: string; DetailType: string; Detail: string; EventBusName: string }
type Answer = (entries: PutEntry[], call: number) => { status?: number; body: unknown };

class FakeEventBridge {
  readonly calls: PutEntry[][] = [];
  answer: Answer = (entries) => ({ body: { FailedEntryCount: 0, Entries: entries.map((_, i) => ({ EventId: `id-${i}` })) } });
  private server!: Server;
  endpoint = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        expect(req.headers['x-amz-target']).toBe('AWSEvents.PutEvents');
        const entries = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { Entries: PutEntry[] }).Entries;
        this.calls.push(entries);
        const { status = 200, body } = this.answer(entries, this.calls.length);
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify(body));
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.endpoint = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

function rejectedEvent(n: number): DomainEvent {
  return {
    detailType: DetailType.RecordingRejected,
    detail: {
      metadata: { schemaVersion: 1, correlationId: 'corr', causationId: 'cause', idempotencyKey: `key-${n}` },
      recordingId: `rec-${n}`,
      meetingId: '1',
      topic: 'Staff meeting',
      reason: 'not_course_meeting',
      explanation: 'no course code',
    },
  };
}

describe('EventBridgePublisher', () => {
  const fake = new FakeEventBridge();
  let client: EventBridgeClient;
  const publisher = (maxAttempts = 3) =>
    new EventBridgePublisher({ client, eventBusName: 'archiver-bus', maxAttempts, backoff: { baseMs: 1, maxMs: 2 } });

  beforeAll(async () => {
    await fake.start();
    client = new EventBridgeClient({
      endpoint: fake.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
    });
  });
  afterAll(async () => {
    client.destroy();
    await fake.stop();
  });
  beforeEach(() => {
    fake.calls.splice(0);
    fake.answer = (entries) => ({ body: { FailedEntryCount: 0, Entries: entries.map((_, i) => ({ EventId: `id-${i}` })) } });
  });

  it('sends source, detail-type, bus and the JSON detail', async () => {
    await publisher().publish([rejectedEvent(1)]);
    expect(fake.calls).toHaveLength(1);
    const [entry] = fake.calls[0]!;
    expect(entry).toMatchObject({ Source: EVENT_SOURCE, DetailType: DetailType.RecordingRejected, EventBusName: 'archiver-bus' });
    expect(JSON.parse(entry!.Detail)).toEqual(rejectedEvent(1).detail);
  });

  it('retries only the failed entries of a partial failure', async () => {
    fake.answer = (entries, call) =>
      call === 1
        ? { body: { FailedEntryCount: 1, Entries: entries.map((_, i) => (i === 1 ? { ErrorCode: 'InternalFailure', ErrorMessage: 'try again' } : { EventId: `a${i}` })) } }
        : { body: { FailedEntryCount: 0, Entries: entries.map((_, i) => ({ EventId: `b${i}` })) } };

    await publisher().publish([rejectedEvent(0), rejectedEvent(1), rejectedEvent(2)]);

    expect(fake.calls).toHaveLength(2);
    expect(fake.calls[1]!.map((e) => JSON.parse(e.Detail).recordingId)).toEqual(['rec-1']);
  });

  it('throws PublishError naming the entry errors when entries keep failing', async () => {
    fake.answer = (entries) => ({ body: { FailedEntryCount: 1, Entries: entries.map(() => ({ ErrorCode: 'ThrottlingException', ErrorMessage: 'slow down' })) } });

    const attempt = publisher(3).publish([rejectedEvent(0)]);

    await expect(attempt).rejects.toBeInstanceOf(PublishError);
    await expect(attempt).rejects.toThrow(/1 of 1 events not accepted .* ThrottlingException/);
    expect(fake.calls).toHaveLength(3);
  });

  it('retries a request that failed as a whole (HTTP 500) and then succeeds', async () => {
    fake.answer = (entries, call) =>
      call === 1
        ? { status: 500, body: { __type: 'InternalException', message: 'boom' } }
        : { body: { FailedEntryCount: 0, Entries: entries.map((_, i) => ({ EventId: `c${i}` })) } };
    await publisher().publish([rejectedEvent(0)]);
    expect(fake.calls).toHaveLength(2);
  });

  it('refuses an event that breaks its contract before sending any of the batch', async () => {
    const broken = rejectedEvent(1);
    (broken.detail as { metadata: { causationId: string } }).metadata.causationId = 'c'.repeat(201);

    const attempt = publisher().publish([rejectedEvent(0), broken]);

    await expect(attempt).rejects.toBeInstanceOf(EventEnvelopeError);
    await expect(attempt).rejects.toThrow(/causationId/);
    expect(fake.calls).toHaveLength(0);
  });

  it('splits more than 10 events into several requests', async () => {
    await publisher().publish(Array.from({ length: 23 }, (_, i) => rejectedEvent(i)));
    expect(fake.calls.map((c) => c.length)).toEqual([10, 10, 3]);
  });
});

describe('PutEvents batching', () => {
  it('keeps each request under 256 KB', () => {
    const big = { Source: EVENT_SOURCE, DetailType: 'X', Detail: 'y'.repeat(100 * 1024) };
    const result = batches([big, big, big, big]);
    expect(result.map((b) => b.length)).toEqual([2, 2]);
    for (const batch of result) expect(batch.reduce((n, e) => n + entrySize(e), 0)).toBeLessThanOrEqual(256 * 1024);
  });
});
