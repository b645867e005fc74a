/**
 * The dispatcher loop of one machine: runs in the consumers' worker (never on the
 * thread that answers Zoom), one lane per subscriber, each draining that subscriber's
 * due messages (services/subscribers/use-case.ts dispatchDue) with its own
 * concurrency — a slow or dead subscriber holds up neither the others, nor the bus's
 * consumers, nor the uploads. A lane wakes when the subscribers consumer stores a
 * message and every poll interval (retries coming due, `retry --deliveries` from
 * another process). `stop` aborts the attempts in flight: their messages stay pending,
 * uncounted, for the next start.
 */
import { randomUUID } from 'node:crypto';
import type { AppLogger } from '../shared/logger';
import type { SqliteSubscriberOutbox } from '../shared/adapters/outbox-sqlite';
import { HttpSubscriberSender } from '../shared/adapters/subscriber-http';
import type { SubscriberSender } from '../shared/ports/subscriber-outbox';
import type { SubscriberConfig } from '../services/subscribers/config';
import { dispatchDue } from '../services/subscribers/use-case';

export interface SubscriberDispatcherOptions {
  outbox: SqliteSubscriberOutbox;
  subscribers: readonly SubscriberConfig[];
  logger: AppLogger;
  /** SUBSCRIBER_RETRY_BASE_SECONDS in ms. */
  retryBaseMs: number;
  /** Default: HttpSubscriberSender over the subscribers. */
  sender?: SubscriberSender & { close?(): void };
  pollIntervalMs?: number;
  /** Delivered rows older than this are deleted (hourly); default 30 days. */
  retentionMs?: number;
  now?: () => number;
}

export interface SubscriberDispatcher {
  /** Look for due messages now. */
  wake(): void;
  /** Resolves once no lane is running (for tests). */
  settled(): Promise<void>;
  stop(): Promise<void>;
}

export function startSubscriberDispatcher(options: SubscriberDispatcherOptions): SubscriberDispatcher {
  const { outbox, subscribers, logger } = options;
  const now = options.now ?? Date.now;
  const sender = options.sender ?? new HttpSubscriberSender(subscribers, { now });
  const abort = new AbortController();
  const owner = `serve-${process.pid}-${randomUUID().slice(0, 8)}`;
  const retentionMs = options.retentionMs ?? 30 * 86_400_000;
  let stopped = false;
  let lastPrune = 0;

  const lanes = subscribers.map((subscriber) => ({ subscriber, running: undefined as Promise<void> | undefined, again: false }));
  const run = (lane: (typeof lanes)[number]) => {
    if (stopped) return;
    if (lane.running) {
      lane.again = true;
      return;
    }
    lane.again = false;
    lane.running = dispatchDue({ outbox, sender, subscribers: [lane.subscriber], logger, owner, retryBaseMs: options.retryBaseMs, now, signal: abort.signal })
      .then(() => undefined)
      .catch((error: unknown) => logger.warn('subscriber dispatch failed; will try again', { subscriberId: lane.subscriber.id, error: error instanceof Error ? error.message : String(error) }))
      .finally(() => {
        lane.running = undefined;
        if (lane.again) run(lane);
      });
  };
  const wake = () => {
    for (const lane of lanes) run(lane);
  };
  const prune = () => {
    if (now() - lastPrune < 3_600_000) return;
    lastPrune = now();
    try {
      const pruned = outbox.prune(now() - retentionMs);
      if (pruned > 0) logger.info('deleted delivered subscriber messages past their retention', { deleted: pruned });
    } catch (error) {
      logger.warn('could not delete old subscriber messages; will try again', { error: error instanceof Error ? error.message : String(error) });
    }
  };

  // One pipeline runs on a DATA_DIR at a time (host/instance-lock.ts): a lease found now is a killed process's.
  const orphaned = outbox.releaseAllLeases();
  if (orphaned > 0) logger.info('resuming subscriber messages an earlier run was sending when it stopped', { messages: orphaned });
  outbox.onEnqueued(wake);
  const timer = setInterval(() => {
    wake();
    prune();
  }, options.pollIntervalMs ?? 1000);
  timer.unref();
  prune();
  wake();

  const settled = async () => {
    while (lanes.some((lane) => lane.running)) await Promise.all(lanes.map((lane) => lane.running));
  };
  let stopping: Promise<void> | undefined;
  return {
    wake,
    settled,
    stop() {
      stopping ??= (async () => {
        stopped = true;
        clearInterval(timer);
        abort.abort();
        await settled();
        sender.close?.();
      })();
      return stopping;
    },
  };
}
