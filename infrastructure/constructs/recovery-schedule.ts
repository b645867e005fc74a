/**
 * The uploader's recovery sweep (services/uploader/recover-handler.ts) every 5
 * minutes: re-publishes FileUploadRequested for uploads whose Lambda died (expired
 * lease) or that were registered but never claimed. It reads one ledger index and
 * publishes to the bus, nothing else.
 *
 * A failed sweep is not retried by Lambda (the next one, 5 minutes later, does the
 * same work); its errors raise an alarm. If EventBridge cannot invoke it at all, the
 * scheduled event goes to a DLQ whose alarm says so.
 */
import { Duration } from 'aws-cdk-lib';
import { Rule, Schedule, type IEventBus } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Construct } from 'constructs';
import { LEDGER_KEYS, ledgerFileKey } from '../../shared/adapters/ledger-dynamodb';
import type { ArchiverAlarms } from './alarms';
import { ArchiverFunction } from './archiver-function';
import type { DataTable } from './data-table';
import { DeadLetterQueue } from './dead-letter-queue';

export const RECOVERY_INTERVAL = Duration.minutes(5);

export interface RecoveryScheduleProps {
  bus: IEventBus;
  ledger: DataTable;
  alarms: ArchiverAlarms;
}

export class RecoverySchedule extends Construct {
  readonly function: ArchiverFunction;
  readonly rule: Rule;
  readonly deadLetters: DeadLetterQueue;

  constructor(scope: Construct, id: string, props: RecoveryScheduleProps) {
    super(scope, id);
    this.deadLetters = new DeadLetterQueue(this, 'DeadLetters', { consumer: 'the uploader recovery sweep', alarms: props.alarms });
    this.function = new ArchiverFunction(this, 'Function', {
      entry: 'services/uploader/recover-handler.ts',
      serviceName: 'uploader-recovery',
      description: 'Re-drives uploads whose Lambda died or that were never claimed',
      timeout: Duration.minutes(1),
      environment: {
        LEDGER_TABLE_NAME: props.ledger.tableName,
        EVENT_BUS_NAME: props.bus.eventBusName,
      },
    });
    this.function.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: Duration.minutes(4) });
    props.ledger.grantIndexQuery(this.function, LEDGER_KEYS.stateIndex);
    // It counts each re-drive on the file's ledger entry (and ends one re-driven too often): file entries only.
    props.ledger.grantItemActionsOnKeyPrefix(this.function, ledgerFileKey(''), 'UpdateItem');
    props.bus.grantPutEventsTo(this.function);
    props.alarms.onFunctionErrors('RecoveryErrors', this.function, 'The uploader recovery sweep failed; stalled uploads wait until it succeeds.');

    this.rule = new Rule(this, 'Rule', {
      description: `Every ${RECOVERY_INTERVAL.toMinutes()} minutes: re-drive stalled uploads`,
      schedule: Schedule.rate(RECOVERY_INTERVAL),
      targets: [
        new LambdaFunction(this.function, {
          retryAttempts: 2,
          // A sweep older than the interval is pointless: the next one is already due.
          maxEventAge: Duration.minutes(4),
          deadLetterQueue: this.deadLetters.queue,
        }),
      ],
    });
  }
}
