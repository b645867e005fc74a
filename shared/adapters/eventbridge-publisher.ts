/**
 * EventPublisher on Amazon EventBridge. PutEvents is not all-or-nothing: it answers
 * 200 with `FailedEntryCount` and per-entry errors, so this adapter treats the
 * response as a result, retries only the failed entries with backoff, and throws
 * PublishError if any entry is still failing after the last attempt.
 */
import {
  EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import { PublishError } from '../errors';
import { EVENT_SOURCE, parseDetail, type DomainEvent } from '../events';
import type { EventPublisher } from '../ports/event-publisher';
import { backoffDelay, sleep, type BackoffOptions } from '../retry';

/** EventBridge limits: 10 entries and 256 KB per PutEvents request. */
export const MAX_ENTRIES_PER_REQUEST = 10;
export const MAX_REQUEST_BYTES = 256 * 1024;

export interface EventBridgePublisherOptions {
  client: Pick<EventBridgeClient, 'send'>;
  eventBusName: string;
  /** Attempts per entry, including the first. */
  maxAttempts?: number;
  backoff?: BackoffOptions;
}

/** Size of an entry as EventBridge counts it (UTF-8 bytes of detail, detail-type, source, resources). */
export function entrySize(entry: PutEventsRequestEntry): number {
  let size = 14; // Time, when present, counts as 14 bytes
  for (const value of [entry.Detail, entry.DetailType, entry.Source]) {
    if (value) size += Buffer.byteLength(value, 'utf8');
  }
  for (const resource of entry.Resources ?? []) size += Buffer.byteLength(resource, 'utf8');
  return size;
}

export class EventBridgePublisher implements EventPublisher {
  private readonly maxAttempts: number;
  private readonly backoff: BackoffOptions;

  constructor(private readonly options: EventBridgePublisherOptions) {
    this.maxAttempts = options.maxAttempts ?? 4;
    this.backoff = options.backoff ?? { baseMs: 100, maxMs: 800 };
  }

  async publish(events: readonly DomainEvent[]): Promise<void> {
    const entries = events.map((event) => this.toEntry(event));
    for (const batch of batches(entries)) {
      await this.putWithRetries(batch);
    }
  }

  private toEntry(event: DomainEvent): PutEventsRequestEntry {
    parseDetail(event.detailType, event.detail);
    const entry: PutEventsRequestEntry = {
      EventBusName: this.options.eventBusName,
      Source: EVENT_SOURCE,
      DetailType: event.detailType,
      Detail: JSON.stringify(event.detail),
    };
    if (entrySize(entry) > MAX_REQUEST_BYTES) {
      throw new PublishError(`${event.detailType} entry is ${entrySize(entry)} bytes, over EventBridge's 256 KB limit`, 1);
    }
    return entry;
  }

  private async putWithRetries(batch: PutEventsRequestEntry[]): Promise<void> {
    let pending = batch;
    let lastError: unknown;
    let lastCodes: string[] = [];
    for (let attempt = 1; attempt <= this.maxAttempts && pending.length > 0; attempt++) {
      if (attempt > 1) await sleep(backoffDelay(attempt - 1, this.backoff));
      try {
        const response = await this.options.client.send(new PutEventsCommand({ Entries: pending }));
        const results = response.Entries ?? [];
        if (!response.FailedEntryCount && results.length === pending.length) return;
        // Entries[i] answers pending[i]; a missing or failed result means retry that entry.
        const failed = pending.filter((_, i) => !results[i]?.EventId || results[i]?.ErrorCode);
        lastCodes = pending
          .map((_, i) => results[i]?.ErrorCode)
          .filter((code): code is string => Boolean(code));
        pending = failed;
      } catch (error) {
        lastError = error;
      }
    }
    if (pending.length === 0) return;
    const why = lastCodes.length > 0 ? `entry errors: ${[...new Set(lastCodes)].join(', ')}` : 'request failed';
    throw new PublishError(
      `${pending.length} of ${batch.length} events not accepted by EventBridge after ${this.maxAttempts} attempts (${why})`,
      pending.length,
      { cause: lastError },
    );
  }
}

/** Splits entries into PutEvents requests within the count and size limits. */
export function batches(entries: PutEventsRequestEntry[]): PutEventsRequestEntry[][] {
  const result: PutEventsRequestEntry[][] = [];
  let current: PutEventsRequestEntry[] = [];
  let currentSize = 0;
  for (const entry of entries) {
    const size = entrySize(entry);
    if (current.length === MAX_ENTRIES_PER_REQUEST || (current.length > 0 && currentSize + size > MAX_REQUEST_BYTES)) {
      result.push(current);
      current = [];
      currentSize = 0;
    }
    current.push(entry);
    currentSize += size;
  }
  if (current.length > 0) result.push(current);
  return result;
}
