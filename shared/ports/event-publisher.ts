/**
 * Port: publishes domain events to the bus. Every adapter first checks each event
 * against its contract (parseDetail) and, if one breaks it, rejects with
 * EventEnvelopeError before keeping any. Resolves only when every event is kept by
 * the bus; otherwise rejects with PublishError. Either way the caller must not
 * acknowledge its input, so that the sender retries.
 */
import type { DomainEvent } from '../events';

export interface EventPublisher {
  publish(events: readonly DomainEvent[]): Promise<void>;
}
