/**
 * The single-machine bus on a real SQLite file: it routes by the stack's rules
 * whether or not this process runs the consumers, gives up at once on an error that
 * says retrying cannot help, keeps dead deliveries for `retry --dead`, and deletes
 * delivered history past its retention.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../shared/errors';
import { CONSUMER_RULES, DetailType, type DomainEvent } from '../../shared/events';
import { silentLogger } from '../../shared/logger';
import { DurableBus, type BusEnvelope, type Consumer } from '../../host/bus/durable-bus';
import { BusInbox, InboxReader } from '../../host/bus/inbox';
import { retryDeadCommand } from '../../host/cli/retry';
import { dataPaths } from '../../host/paths';
import { waitFor } from '../support/wait-for';

const rejected = (id: string): DomainEvent => ({
  detailType: DetailType.RecordingRejected,
  detail: {
    metadata: { schemaVersion: 1, correlationId: `corr-${id}`, causationId: 'cause', idempotencyKey: `rejected:${id}` },
    recordingId: id,
    meetingId: '1',
    topic: 'Staff meeting',
    reason: 'not_course_meeting',
    explanation: 'no course code',
  },
});

function recorder(name: string, handle: (event: BusEnvelope) => Promise<'done' | 'later'> = async () => 'done', maxAttempts = 3) {
  const seen: BusEnvelope[] = [];
  const consumer: Consumer = {
    name,
    concurrency: 1,
    maxAttempts,
    handle: async (event) => {
      seen.push(event);
      return handle(event);
    },
  };
  return { consumer, seen };
}

describe('durable bus', () => {
  let dir: string;
  let path: string;
  const buses: DurableBus[] = [];
  const open = (options: Partial<ConstructorParameters<typeof DurableBus>[0]> = {}) => {
    const bus = new DurableBus({ path, logger: silentLogger, pollIntervalMs: 20, backoff: { baseMs: 5, maxMs: 10 }, ...options });
    // The subscribers rule takes every event, as the audit's does; the runtime always runs its consumer (here: no subscriber, done at once).
    bus.subscribe(recorder(CONSUMER_RULES.subscribers.id).consumer);
    buses.push(bus);
    return bus;
  };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'bus-'));
    path = dataPaths(dir).bus;
  });
  afterEach(async () => {
    for (const bus of buses.splice(0)) {
      await bus.stop();
      bus.close();
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('routes by the rules when the publisher runs no consumer, and another bus on the file delivers', async () => {
    const publisher = open();
    await publisher.publish([rejected('r1')]);
    const dispatcher = open();
    const audit = recorder(CONSUMER_RULES.audit.id);
    const validation = recorder(CONSUMER_RULES.courseValidation.id);
    dispatcher.subscribe(audit.consumer);
    dispatcher.subscribe(validation.consumer);
    dispatcher.start();
    await dispatcher.idle();
    // The audit rule takes every event; course validation only RecordingAvailable.
    expect(audit.seen.map((e) => e['detail-type'])).toEqual([DetailType.RecordingRejected]);
    expect(validation.seen).toEqual([]);
    expect(dispatcher.stats()).toMatchObject({ pending: 0, dead: 0 });
  });

  it('refuses a consumer that is no rule', () => {
    expect(() => open().subscribe(recorder('Nobody').consumer)).toThrow(/no bus rule named Nobody/);
  });

  it('dead-letters at once an error that says retrying cannot help, and retries one that can', async () => {
    const bus = open();
    let calls = 0;
    const hopeless = recorder(CONSUMER_RULES.audit.id, async (event) => {
      calls++;
      if ((event.detail as { recordingId: string }).recordingId === 'bad') throw new ConfigError('cannot be helped');
      if (calls < 3) throw new Error('passing trouble');
      return 'done';
    }, 5);
    bus.subscribe(hopeless.consumer);
    bus.start();
    await bus.publish([rejected('bad')]);
    await bus.idle();
    await bus.publish([rejected('good')]);
    // idle() does not wait for a retry due later: wait for the delivery itself.
    await waitFor('the retried delivery', () => (bus.stats().pending === 0 ? true : undefined), 5_000, { intervalMs: 10 });
    const byId = (id: string) => hopeless.seen.filter((e) => (e.detail as { recordingId: string }).recordingId === id).length;
    expect(byId('bad')).toBe(1);
    expect(byId('good')).toBe(2);
    expect(bus.listDead()).toEqual([expect.objectContaining({ consumer: 'Audit', detailType: DetailType.RecordingRejected, attempts: 1, lastError: 'ConfigError: cannot be helped' })]);
  });

  it('re-drives dead deliveries (retry --dead) and delivers them again', async () => {
    const first = open();
    const failing = recorder(CONSUMER_RULES.audit.id, async () => {
      throw new ConfigError('broken for now');
    });
    first.subscribe(failing.consumer);
    first.start();
    await first.publish([rejected('r2')]);
    await first.idle();
    expect(first.stats().dead).toBe(1);
    await first.stop();

    const { redriven } = retryDeadCommand(dataPaths(dir));
    expect(redriven.map((d) => d.eventId)).toEqual([failing.seen[0]!.id]);

    const second = open();
    const healed = recorder(CONSUMER_RULES.audit.id);
    second.subscribe(healed.consumer);
    second.start();
    await second.idle();
    expect(healed.seen.map((e) => e.id)).toEqual([failing.seen[0]!.id]);
    expect(second.stats()).toMatchObject({ pending: 0, dead: 0 });
  });

  it('deletes delivered history past the retention, and keeps dead and recent deliveries', async () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const bus = open({ now: () => now, retentionMs: 30 * 86_400_000 });
    const audit = recorder(CONSUMER_RULES.audit.id, async (event) => {
      if ((event.detail as { recordingId: string }).recordingId === 'dead') throw new ConfigError('no');
      return 'done';
    });
    bus.subscribe(audit.consumer);
    bus.start();
    await bus.publish([rejected('old'), rejected('dead')]);
    await bus.idle();
    now += 31 * 86_400_000;
    await bus.publish([rejected('recent')]);
    await bus.idle();

    // Old: its audit and subscribers deliveries and the event; dead: only its subscribers delivery (the dead one is kept, so is the event).
    expect(bus.prune()).toEqual({ deliveries: 3, events: 1 });
    expect(bus.listDead().map((d) => d.eventId)).toHaveLength(1);
    expect(bus.prune()).toEqual({ deliveries: 0, events: 0 });
    now += 31 * 86_400_000;
    expect(bus.prune()).toEqual({ deliveries: 2, events: 1 });
    expect(bus.stats()).toMatchObject({ dead: 1 });
  });

  it('imports the webhook inbox (its own file, one writer) and delivers each event once, even if an import is repeated', async () => {
    const inboxPath = dataPaths(dir).inbox;
    const bus = open({ inboxPath });
    const inbox = new BusInbox({ path: inboxPath, importedUpTo: () => bus.importedUpTo() });
    await inbox.publish([rejected('i1'), rejected('i2')]);
    expect(bus.stats().pending).toBe(2); // not imported yet: counted as pending
    const audit = recorder(CONSUMER_RULES.audit.id);
    bus.subscribe(audit.consumer);
    bus.start();
    await bus.idle();
    expect(audit.seen.map((e) => (e.detail as { recordingId: string }).recordingId)).toEqual(['i1', 'i2']);

    // A crash after the events were written but before the cursor moved: the import runs again, nothing doubles.
    const raw = (bus as unknown as { db: { prepare(sql: string): { run(...args: unknown[]): unknown } } }).db;
    raw.prepare('UPDATE inbox_cursor SET seq = 0').run();
    expect(bus.importInbox()).toBe(2);
    await bus.idle();
    expect(audit.seen).toHaveLength(2);

    // The inbox's owner deletes what the bus imported, and only that.
    await inbox.publish([rejected('i3')]);
    inbox.cleanUp();
    const reader = new InboxReader(inboxPath);
    expect(reader.countAfter(0)).toBe(1);
    reader.close();
    await bus.idle();
    expect(audit.seen).toHaveLength(3);
    inbox.close();
  });
});
