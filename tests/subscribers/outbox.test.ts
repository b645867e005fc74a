/**
 * The SQLite outbox (idempotent enqueue, due rows, claims two loops never share,
 * outcomes, disabling, re-queueing, status) and the dispatcher over it: bounded
 * concurrency per subscriber, a slow subscriber holding up nobody else, back-off and
 * Retry-After, giving up after 24 hours, 410 disabling, a stop that counts nothing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteSubscriberOutbox } from '../../shared/adapters/outbox-sqlite';
import type { OutboxMessage, SendOutcome, SubscriberSender } from '../../shared/ports/subscriber-outbox';
import { silentLogger, type AppLogger } from '../../shared/logger';
import { DetailType } from '../../shared/events';
import type { SubscriberConfig } from '../../services/subscribers/config';
import { dispatchDue, enqueueForSubscribers, GIVE_UP_AFTER_MS, retryDelayMs } from '../../services/subscribers/use-case';
import { fileUploaded, fileUploadFailed, newSecret, subscribers } from './support';

const msg = (id: string, subscriberId = 'lms', type: string = DetailType.FileUploaded): OutboxMessage => ({ id, subscriberId, type, timestamp: '2026-11-26T10:00:00.000Z', data: { n: id } });

function recordingLogger() {
  const warnings: string[] = [];
  const logger: AppLogger = { ...silentLogger, warn: (message: string) => void warnings.push(message) } as AppLogger;
  return { logger, warnings };
}

describe('SqliteSubscriberOutbox', () => {
  let dir: string;
  let clock: number;
  let outbox: SqliteSubscriberOutbox;
  const open = (logger: AppLogger = silentLogger) => new SqliteSubscriberOutbox({ path: join(dir, 'outbox.sqlite'), logger, now: () => clock });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'outbox-'));
    clock = 1_000_000;
    outbox = open();
  });
  afterEach(() => {
    outbox.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('enqueues idempotently and durably: a message already there is kept as it is', async () => {
    await outbox.enqueue([msg('e1'), msg('e2'), msg('e1', 'slack')]);
    const [claimed] = outbox.claim('lms', { owner: 'a', limit: 1, leaseMs: 1000 });
    outbox.markRetry(claimed!, 'a', { attemptedAt: clock, status: 500, reason: 'answered 500', nextAttemptAt: clock + 5000 });
    await outbox.enqueue([msg('e1'), msg('e2')]); // the bus delivered the events again
    outbox.close();
    outbox = open();
    expect(outbox.get({ subscriberId: 'lms', messageId: 'e1' })).toMatchObject({ state: 'pending', attempts: 1, lastStatus: 500, lastError: 'answered 500', nextAttemptAt: clock + 5000, message: msg('e1') });
    expect(outbox.summary().subscribers.map((s) => [s.id, s.counts.pending])).toEqual([['lms', 2], ['slack', 1]]);
  });

  it('lists due rows, and claims each for one owner only until its lease ends', async () => {
    await outbox.enqueue([msg('e1'), msg('e2'), msg('e3'), msg('x1', 'other')]);
    expect(outbox.due(clock, 10).map((r) => r.messageId)).toEqual(['e1', 'e2', 'e3', 'x1']);
    expect(outbox.due(clock, 2, 'lms').map((r) => r.messageId)).toEqual(['e1', 'e2']);
    const second = open(); // another connection, as another loop or process would have
    try {
      const a = outbox.claim('lms', { owner: 'a', limit: 2, leaseMs: 10_000 });
      const b = second.claim('lms', { owner: 'b', limit: 5, leaseMs: 10_000 });
      expect(a.map((r) => r.messageId)).toEqual(['e1', 'e2']);
      expect(b.map((r) => r.messageId)).toEqual(['e3']);
      expect(second.claim('lms', { owner: 'b', limit: 5, leaseMs: 10_000 })).toEqual([]);
      // Only the owner records an outcome.
      expect(second.markDelivered(a[0]!, 'b', { attemptedAt: clock, status: 200 })).toBe(false);
      expect(outbox.markDelivered(a[0]!, 'a', { attemptedAt: clock, status: 200 })).toBe(true);
      // A lease that ran out (its loop died) is claimable again.
      clock += 10_001;
      expect(second.claim('lms', { owner: 'b', limit: 5, leaseMs: 10_000 }).map((r) => r.messageId)).toEqual(['e2', 'e3']);
      expect(outbox.markRetry(a[1]!, 'a', { attemptedAt: clock, reason: 'late', nextAttemptAt: clock })).toBe(false);
    } finally {
      second.close();
    }
  });

  it('records outcomes: a retry is not due before its time, a failure waits for retry --deliveries, a release counts nothing', async () => {
    await outbox.enqueue([msg('e1'), msg('e2'), msg('e3')]);
    const [r1, r2, r3] = outbox.claim('lms', { owner: 'a', limit: 3, leaseMs: 1000 });
    outbox.markRetry(r1!, 'a', { attemptedAt: clock, status: 503, reason: 'answered 503', nextAttemptAt: clock + 5000 });
    outbox.markFailed(r2!, 'a', { attemptedAt: clock, status: 404, reason: 'answered 404' });
    outbox.release(r3!, 'a');
    expect(outbox.due(clock, 10).map((r) => r.messageId)).toEqual(['e3']);
    expect(outbox.get(r3!)).toMatchObject({ attempts: 0, firstAttemptAt: null });
    clock += 5000;
    expect(outbox.due(clock, 10).map((r) => r.messageId)).toEqual(['e3', 'e1']);
    expect(outbox.get(r2!)).toMatchObject({ state: 'failed', attempts: 1, firstAttemptAt: 1_000_000, lastStatus: 404, lastError: 'answered 404' });
    expect(outbox.summary().open.map((r) => [r.messageId, r.state])).toEqual([['e2', 'failed'], ['e3', 'pending'], ['e1', 'pending']]);

    expect(outbox.requeueFailed()).toBe(1);
    expect(outbox.get(r2!)).toMatchObject({ state: 'pending', attempts: 0, firstAttemptAt: null, nextAttemptAt: clock, lastError: 'answered 404' });
    expect(outbox.requeueFailed()).toBe(0);
  });

  it('disables a subscriber: its pending rows, later messages (one warning), across restarts while its URL is the same', async () => {
    outbox.close();
    const { logger, warnings } = recordingLogger();
    outbox = open(logger);
    outbox.registerSubscribers([{ id: 'lms', origin: 'https://lms.example', format: 'standard-webhooks', fingerprint: 'url-1' }]);
    await outbox.enqueue([msg('e1'), msg('e2'), msg('k1', 'keep')]);
    expect(outbox.disable('lms', { reason: 'answered 410 Gone', status: 410, fingerprint: 'url-1' })).toBe(2);
    await outbox.enqueue([msg('e3'), msg('k2', 'keep')]);
    await outbox.enqueue([msg('e4')]);
    expect(warnings.filter((w) => w.startsWith('subscriber is disabled'))).toHaveLength(1);
    expect(outbox.get({ subscriberId: 'lms', messageId: 'e3' })).toBeUndefined();
    expect(outbox.claim('lms', { owner: 'a', limit: 5, leaseMs: 1000 })).toEqual([]);
    expect(outbox.summary().subscribers).toEqual([
      { id: 'keep', origin: '', format: '', disabledAt: null, disabledReason: null, counts: { pending: 2, delivered: 0, failed: 0, disabled: 0 } },
      { id: 'lms', origin: 'https://lms.example', format: 'standard-webhooks', disabledAt: clock, disabledReason: 'answered 410 Gone', counts: { pending: 0, delivered: 0, failed: 0, disabled: 2 } },
    ]);
    // The same URL at the next start: still disabled. Another URL: enabled again.
    expect(outbox.registerSubscribers([{ id: 'lms', origin: 'https://lms.example', format: 'standard-webhooks', fingerprint: 'url-1' }])).toEqual([]);
    expect(outbox.disabled('lms')).toEqual({ at: clock, reason: 'answered 410 Gone' });
    expect(outbox.registerSubscribers([{ id: 'lms', origin: 'https://new.example', format: 'standard-webhooks', fingerprint: 'url-2' }])).toEqual(['lms']);
    expect(outbox.disabled('lms')).toBeUndefined();
    await outbox.enqueue([msg('e5')]);
    expect(outbox.due(clock, 10, 'lms').map((r) => r.messageId)).toEqual(['e5']);
  });

  it('deletes delivered rows past the retention, nothing else', async () => {
    await outbox.enqueue([msg('e1'), msg('e2')]);
    const [r1] = outbox.claim('lms', { owner: 'a', limit: 1, leaseMs: 1000 });
    outbox.markDelivered(r1!, 'a', { attemptedAt: clock, status: 200 });
    clock += 1000;
    expect(outbox.prune(clock)).toBe(1);
    expect(outbox.get({ subscriberId: 'lms', messageId: 'e2' })).toBeDefined();
  });

  it('gets one message per subscriber that asked for the event (enqueueForSubscribers)', async () => {
    const secret = newSecret();
    const subs = subscribers([
      { id: 'lms', url: 'https://lms.example/h', secret, events: ['FileUploaded', 'FileUploadFailed'] },
      { id: 'ops', url: 'https://ops.example/h', secret, events: ['FileUploadFailed'] },
    ]);
    const event = (id: string, type: string, detail: unknown) => ({ id, time: '2026-11-26T10:00:00Z', 'detail-type': type, detail });
    expect(await enqueueForSubscribers(event('u1', DetailType.FileUploaded, fileUploaded()), subs, outbox)).toBe(1);
    expect(await enqueueForSubscribers(event('f1', DetailType.FileUploadFailed, fileUploadFailed()), subs, outbox)).toBe(2);
    expect(await enqueueForSubscribers(event('r1', DetailType.RecordingRejected, {}), subs, outbox)).toBe(0); // nobody asked: not even parsed
    await expect(enqueueForSubscribers(event('bad', DetailType.FileUploaded, { fileId: 1 }), subs, outbox)).rejects.toThrow('invalid FileUploaded detail');
    expect(outbox.due(clock, 10).map((r) => `${r.subscriberId}:${r.messageId}`)).toEqual(['lms:u1', 'lms:f1', 'ops:f1']);
    expect(outbox.get({ subscriberId: 'lms', messageId: 'u1' })!.message).toEqual({ id: 'u1', subscriberId: 'lms', type: 'FileUploaded', timestamp: '2026-11-26T10:00:00.000Z', data: fileUploaded() });
  });
});

describe('dispatchDue', () => {
  let dir: string;
  let outbox: SqliteSubscriberOutbox;
  const secret = newSecret();
  const subs = (concurrency = 2) =>
    subscribers([
      { id: 'slow', url: 'https://slow.example/h', secret, events: ['FileUploaded'], concurrency },
      { id: 'fast', url: 'https://fast.example/h', secret, events: ['FileUploaded'], concurrency },
    ]) as SubscriberConfig[];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'dispatch-'));
    outbox = new SqliteSubscriberOutbox({ path: join(dir, 'outbox.sqlite'), logger: silentLogger });
  });
  afterEach(() => {
    outbox.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A sender answering per subscriber, recording concurrency and completion times. */
  function scriptedSender(answer: (m: OutboxMessage) => { outcome: SendOutcome; ms?: number }) {
    const inFlight = new Map<string, number>();
    const peak = new Map<string, number>();
    const finished: { subscriberId: string; id: string; at: number }[] = [];
    const sender: SubscriberSender = {
      async send(message, options) {
        const { outcome, ms = 0 } = answer(message);
        inFlight.set(message.subscriberId, (inFlight.get(message.subscriberId) ?? 0) + 1);
        peak.set(message.subscriberId, Math.max(peak.get(message.subscriberId) ?? 0, inFlight.get(message.subscriberId)!));
        try {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, ms);
            options?.signal?.addEventListener('abort', () => {
              clearTimeout(timer);
              resolve();
            });
          });
          if (options?.signal?.aborted) return { outcome: 'retry', reason: 'stopped' };
          return outcome;
        } finally {
          inFlight.set(message.subscriberId, inFlight.get(message.subscriberId)! - 1);
          finished.push({ subscriberId: message.subscriberId, id: message.id, at: Date.now() });
        }
      },
    };
    return { sender, peak, finished };
  }

  it('sends each subscriber\'s messages with its own bounded concurrency; a slow one holds up nobody else', async () => {
    await outbox.enqueue([...Array.from({ length: 6 }, (_, i) => msg(`s${i}`, 'slow')), ...Array.from({ length: 6 }, (_, i) => msg(`f${i}`, 'fast'))]);
    const { sender, peak, finished } = scriptedSender((m) => ({ outcome: { outcome: 'delivered', status: 200 }, ms: m.subscriberId === 'slow' ? 150 : 5 }));
    const report = await dispatchDue({ outbox, sender, subscribers: subs(2), logger: silentLogger, owner: 'test' });
    expect(report).toEqual({ delivered: 12, retried: 0, failed: 0, disabled: [], released: 0 });
    expect(peak.get('slow')).toBe(2);
    expect(peak.get('fast')).toBe(2);
    const lastFast = Math.max(...finished.filter((f) => f.subscriberId === 'fast').map((f) => f.at));
    const firstSlow = Math.min(...finished.filter((f) => f.subscriberId === 'slow').map((f) => f.at));
    expect(lastFast).toBeLessThanOrEqual(firstSlow);
    expect(outbox.summary().subscribers.map((s) => s.counts.delivered)).toEqual([6, 6]);
  });

  it('backs off (base doubling, jittered, Retry-After when longer), then gives up 24 hours after the first attempt', async () => {
    expect(retryDelayMs(1, 1000, () => 0)).toBe(500);
    expect(retryDelayMs(1, 1000, () => 1)).toBe(1000);
    expect(retryDelayMs(3, 1000, () => 0.5)).toBe(3000);
    expect(retryDelayMs(1, 1000, () => 0, 30_000)).toBe(30_000);
    expect(retryDelayMs(30, 5000, () => 1)).toBe(3_600_000);

    const start = Date.now() + 1000;
    let clock = start;
    await outbox.enqueue([msg('e1', 'fast')]);
    const { sender } = scriptedSender(() => ({ outcome: { outcome: 'retry', status: 429, reason: 'answered 429', retryAfterMs: 20_000 } }));
    const deps = { outbox, sender, subscribers: subs().filter((s) => s.id === 'fast'), logger: silentLogger, owner: 'test', retryBaseMs: 1000, now: () => clock, random: () => 0 };
    expect(await dispatchDue(deps)).toMatchObject({ retried: 1 });
    expect(outbox.get({ subscriberId: 'fast', messageId: 'e1' })).toMatchObject({ attempts: 1, nextAttemptAt: clock + 20_000, lastStatus: 429, firstAttemptAt: clock });
    expect(await dispatchDue(deps)).toMatchObject({ retried: 0, delivered: 0 }); // not due yet

    clock += GIVE_UP_AFTER_MS - 1000;
    // The last wait ends at the give-up time; the attempt then gives up.
    expect(await dispatchDue(deps)).toMatchObject({ retried: 1 });
    expect(outbox.get({ subscriberId: 'fast', messageId: 'e1' })!.nextAttemptAt).toBe(start + GIVE_UP_AFTER_MS);
    clock += 1000;
    expect(await dispatchDue(deps)).toMatchObject({ failed: 1 });
    expect(outbox.get({ subscriberId: 'fast', messageId: 'e1' })).toMatchObject({ state: 'failed', attempts: 3, lastError: 'gave up 24 h after the first attempt: answered 429' });
  });

  it('fails a 4xx at once, and a 410 disables the subscriber with its other messages', async () => {
    await outbox.enqueue([msg('a1', 'slow'), msg('a2', 'slow'), msg('a3', 'slow'), msg('b1', 'fast')]);
    const { logger, warnings } = recordingLogger();
    const { sender } = scriptedSender((m) => ({ outcome: m.subscriberId === 'slow' ? { outcome: 'gone', status: 410 } : { outcome: 'failed', status: 404, reason: 'answered 404' } }));
    const report = await dispatchDue({ outbox, sender, subscribers: subs(1), logger, owner: 'test' });
    expect(report).toMatchObject({ failed: 1, disabled: ['slow'] });
    expect(outbox.summary().subscribers.map((s) => [s.id, s.counts])).toEqual([
      ['fast', { pending: 0, delivered: 0, failed: 1, disabled: 0 }],
      ['slow', { pending: 0, delivered: 0, failed: 0, disabled: 3 }],
    ]);
    expect(outbox.disabled('slow')?.reason).toContain('answered 410 Gone');
    expect(warnings).toEqual(expect.arrayContaining([expect.stringContaining('subscriber disabled: it answered 410 Gone'), 'subscriber delivery failed']));
  });

  it('stops on the signal: attempts in flight are released uncounted', async () => {
    await outbox.enqueue([msg('e1', 'slow'), msg('e2', 'slow')]);
    const { sender } = scriptedSender(() => ({ outcome: { outcome: 'delivered', status: 200 }, ms: 10_000 }));
    const abort = new AbortController();
    const running = dispatchDue({ outbox, sender, subscribers: subs(2).filter((s) => s.id === 'slow'), logger: silentLogger, owner: 'test', signal: abort.signal });
    setTimeout(() => abort.abort(), 50);
    expect(await running).toMatchObject({ released: 2, delivered: 0 });
    expect(outbox.due(Date.now(), 10).map((r) => [r.messageId, r.attempts])).toEqual([['e1', 0], ['e2', 0]]);
  });
});
