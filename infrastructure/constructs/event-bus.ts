/**
 * The product's EventBridge bus, with an archive of every zoom-archiver event so that
 * a consumer's outage can be replayed (see README, "Replay").
 */
import { Duration } from 'aws-cdk-lib';
import { Archive, EventBus } from 'aws-cdk-lib/aws-events';
import { Construct } from 'constructs';
import { EVENT_SOURCE } from '../../shared/events/names';

export class ArchiverEventBus extends Construct {
  readonly bus: EventBus;
  readonly archive: Archive;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.bus = new EventBus(this, 'Bus');
    this.archive = new Archive(this, 'Archive', {
      sourceEventBus: this.bus,
      eventPattern: { source: [EVENT_SOURCE] },
      retention: Duration.days(90),
      description: 'zoom-archiver events, for replay after a consumer outage',
    });
  }
}
