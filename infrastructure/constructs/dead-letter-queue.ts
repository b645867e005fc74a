/**
 * An SQS dead-letter queue with its alarm: where an event ends when a consumer could
 * not take it (EventBridge could not invoke the function) or failed on it after
 * Lambda's retries. Messages are kept 14 days (SQS's maximum) so that an outage over a
 * long weekend can still be re-driven (README, "Dead-letter queues and re-drive").
 */
import { Duration, Validations } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { ArchiverAlarms } from './alarms';

export interface DeadLetterQueueProps {
  /** Whose failures land here, for the alarm description. */
  consumer: string;
  alarms: ArchiverAlarms;
}

export class DeadLetterQueue extends Construct {
  readonly queue: Queue;
  readonly alarm: Alarm;

  constructor(scope: Construct, id: string, props: DeadLetterQueueProps) {
    super(scope, id);
    this.queue = new Queue(this, 'Queue', {
      retentionPeriod: Duration.days(14),
      // SQS-managed keys: EventBridge and Lambda can send without a KMS key policy.
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    Validations.of(this.queue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue IS a dead-letter queue: of an EventBridge rule target and of a Lambda function (on-failure ' +
        'destination). The rule only recognises queues named in another queue\'s RedrivePolicy.',
    });
    this.alarm = props.alarms.notify(
      new Alarm(this, 'Alarm', {
        alarmDescription:
          `Events that ${props.consumer} could not process are waiting in its dead-letter queue. ` +
          'Read a message to see why, fix the cause, then re-drive (README, "Dead-letter queues and re-drive").',
        metric: this.queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
    );
  }
}
