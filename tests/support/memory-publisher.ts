/**
 * In-memory EventPublisher for use-case tests: records what was published and can be
 * told to fail, to check that nothing is acknowledged when the bus did not keep it.
 */
import { PublishError } from '../../shared/errors';
import { parseDetail, type DetailOf, type DomainEvent } from '../../shared/events';
import type { EventPublisher } from '../../shared/ports/event-publisher';

export class MemoryPublisher implements EventPublisher {
  readonly published: DomainEvent[] = [];
  failNext = 0;

  async publish(events: readonly DomainEvent[]): Promise<void> {
    // Like every EventPublisher: an event that breaks its contract is refused, nothing kept.
    for (const event of events) parseDetail(event.detailType, event.detail);
    if (this.failNext > 0) {
      this.failNext--;
      throw new PublishError('bus unavailable (test)', events.length);
    }
    this.published.push(...events);
  }

  ofType<T extends DomainEvent['detailType']>(detailType: T): DetailOf<T>[] {
    return this.published.filter((event) => event.detailType === detailType).map((event) => event.detail as DetailOf<T>);
  }
}
