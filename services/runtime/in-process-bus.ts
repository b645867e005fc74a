/**
 * In-process EventPublisher for the single-machine runtime: delivers each published
 * event to the subscribers of its detail-type, after validating it against its
 * contract (the same check the cloud consumers make on EventBridge events).
 */
import { randomUUID } from 'node:crypto';
import { EVENT_SOURCE, parseDetail, type DomainEvent, type DetailTypeName } from '../../shared/events';
import type { EventPublisher } from '../../shared/ports/event-publisher';

export interface BusEnvelope {
  id: string;
  time: string;
  source: typeof EVENT_SOURCE;
  'detail-type': DetailTypeName;
  detail: unknown;
}

export type Subscriber = (event: BusEnvelope) => Promise<void> | void;

export class InProcessBus implements EventPublisher {
  private readonly subscribers: { accepts: (detailType: DetailTypeName) => boolean; handle: Subscriber }[] = [];

  subscribe(accepts: (detailType: DetailTypeName) => boolean, handle: Subscriber): void {
    this.subscribers.push({ accepts, handle });
  }

  async publish(events: readonly DomainEvent[]): Promise<void> {
    const envelopes = events.map((event): BusEnvelope => {
      parseDetail(event.detailType, event.detail);
      return { id: randomUUID(), time: new Date().toISOString(), source: EVENT_SOURCE, 'detail-type': event.detailType, detail: event.detail };
    });
    for (const envelope of envelopes) {
      for (const subscriber of this.subscribers) {
        if (subscriber.accepts(envelope['detail-type'])) await subscriber.handle(envelope);
      }
    }
  }
}
