/**
 * Port: publishes domain events to the bus. Resolves only when every event is kept
 * by the bus; otherwise rejects with PublishError (the caller then must not
 * acknowledge its input, so that the sender retries).
 */
import type { DomainEvent } from '../events';

export interface EventPublisher {
  publish(events: readonly DomainEvent[]): Promise<void>;
}
