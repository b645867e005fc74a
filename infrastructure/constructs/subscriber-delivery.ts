/**
 * Subscriber delivery in the cloud: every zoom-archiver event, signed with Standard
 * Webhooks, to each subscriber of the archiver configuration (`subscribers`) that
 * asked for its detail-type. README, "Subscribers".
 *
 *   bus ──rule Subscribers (CONSUMER_RULES.subscribers)──▶ subscribers λ ──SendMessageBatch──▶ outbox queue
 *   outbox queue ──event source (batch 10, partial failures)──▶ dispatch λ ──HTTPS──▶ subscriber
 *                 └─ after OUTBOX_MAX_RECEIVE_COUNT receives ─▶ outbox DLQ (alarm)
 *
 * Why not EventBridge API destinations: a connection adds static credentials only (an
 * API key header, basic auth, OAuth client credentials); it cannot compute a
 * per-message HMAC over `webhook-id.webhook-timestamp.body`, so it cannot sign Standard
 * Webhooks. Hence a Lambda pair with an SQS queue as the outbox:
 *
 * - The consumer (the `Consumer` construct: retry policy, DLQ, alarm, like the others)
 *   only writes one message per (event, subscriber) to the queue. It needs no secret;
 *   SQS refusing a message fails the invocation, so EventBridge/Lambda retry the event.
 *   The rule exists even with no subscribers (the stack matches CONSUMER_RULES): it
 *   then enqueues nothing.
 * - The dispatcher sends each message; a retryable outcome (timeout, 5xx, 429) makes the
 *   message visible again after SUBSCRIBER_RETRY_BASE_SECONDS × 2^(receives − 1) (or the
 *   subscriber's Retry-After when larger; at most 12 h, SQS's maximum) and reports it as
 *   a batch item failure; 24 h after its first receive it is given up (logged,
 *   alarmed). Per batch, messages are grouped by subscriber; with the event source's
 *   maxConcurrency (2) that bounds the deliveries in flight to one subscriber. A message the dispatcher cannot even handle (it crashes, times out) comes
 *   back after the visibility timeout, and after OUTBOX_MAX_RECEIVE_COUNT receives goes
 *   to the outbox DLQ, whose alarm says so.
 * - Signing secrets: never literals in the configuration (they would be in the
 *   synthesized template, in the function's environment and in the deployment
 *   bucket): `env:NAME` names a key of the Zoom secret, which the dispatcher reads at
 *   run time (GetSecretValue, only granted when some subscriber uses `env:`). A `whsec_`
 *   literal stops `cdk synth` with a message saying so, and so does a `slack`
 *   subscriber whose URL (its credential) is written out instead of `env:NAME`.
 *
 * Least privilege: the consumer may sqs:SendMessage to the outbox queue (and to its own
 * DLQ, the on-failure destination); the dispatcher may receive, delete, read the
 * attributes of (what the event source mapping uses) and change the visibility of
 * messages on the outbox queue, and read the Zoom secret when needed. Nothing else.
 */
import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { Grant } from 'aws-cdk-lib/aws-iam';
import { FilterPattern } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ZoomSecretsSchema } from '../../shared/config/secrets';
import { ConfigError } from '../../shared/errors';
import { CONSUMER_RULES } from '../../shared/events/rules';
import type { SubscriberSpec } from '../../services/subscribers/config';
import { DEFAULT_RETRY_POLICY, DELIVERY_FAILED_MESSAGE, receivesWithinGiveUp } from '../../services/subscribers/dispatch-policy';
import type { ArchiverAlarms } from './alarms';
import { ArchiverFunction } from './archiver-function';
import { Consumer } from './consumer';

/** The dispatcher's timeout: a batch of 10 sent one subscriber at a time (each send ≤ 10 s) fits, with room. */
export const DISPATCH_TIMEOUT = Duration.minutes(2);
/** AWS's advice for a queue behind a Lambda event source: at least six times the function's timeout. */
export const OUTBOX_VISIBILITY_TIMEOUT = Duration.seconds(DISPATCH_TIMEOUT.toSeconds() * 6);
/** SUBSCRIBER_RETRY_BASE_SECONDS: the first retry's delay; each further one doubles it. */
export const SUBSCRIBER_RETRY_BASE_SECONDS = DEFAULT_RETRY_POLICY.baseSeconds;
/** SUBSCRIBER_GIVE_UP_HOURS: a message is given up this long after its first receive. */
export const SUBSCRIBER_GIVE_UP_HOURS = DEFAULT_RETRY_POLICY.giveUpHours;
/**
 * Receives beyond the back-off's own: invocations that failed outright (a crash, a
 * timeout, a broken deployment), each one visibility timeout (12 minutes) apart, so
 * about 6 hours of a broken dispatcher before its messages move to the DLQ.
 */
export const OUTBOX_SPARE_RECEIVES = 30;
/** Lambda's event source: up to 10 messages per invocation, at most 2 invocations at a time (Lambda's minimum). */
export const DISPATCH_BATCH_SIZE = 10;
export const DISPATCH_MAX_CONCURRENCY = 2;

/** The outbox queue's maxReceiveCount: every receive of 24 h of doubling back-off, and spare ones. */
export const OUTBOX_MAX_RECEIVE_COUNT = receivesWithinGiveUp({ baseSeconds: SUBSCRIBER_RETRY_BASE_SECONDS, giveUpHours: SUBSCRIBER_GIVE_UP_HOURS }) + OUTBOX_SPARE_RECEIVES;

export interface SubscriberDeliveryProps {
  bus: IEventBus;
  alarms: ArchiverAlarms;
  zoomSecret: ISecret;
  /** The configuration's subscribers, validated at synth (`env:NAME` secrets not read); none when absent. */
  subscribers?: readonly SubscriberSpec[];
  /** Where they came from, for messages (the archiverConfigFile context). */
  source?: string;
  /** ARCHIVER_CONFIG_JSON, the same JSON course validation gets; undefined = no configuration (no subscribers). */
  archiverConfigJson?: string;
}

export class SubscriberDelivery extends Construct {
  /** The Subscribers consumer: rule, function, DLQ. */
  readonly consumer: Consumer;
  readonly outbox: Queue;
  readonly outboxDeadLetters: Queue;
  readonly dispatcher: ArchiverFunction;
  /** Names of the Zoom secret's keys the subscribers' `env:` references name. */
  readonly secretKeys: readonly string[];

  constructor(scope: Construct, id: string, props: SubscriberDeliveryProps) {
    super(scope, id);
    this.secretKeys = subscriberSecretReferences(props.subscribers ?? [], props.source ?? 'archiver config');
    const configEnv: Record<string, string> = props.archiverConfigJson === undefined ? {} : { ARCHIVER_CONFIG_JSON: props.archiverConfigJson };

    this.outboxDeadLetters = new Queue(this, 'OutboxDeadLetters', {
      retentionPeriod: Duration.days(14),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    this.outbox = new Queue(this, 'Outbox', {
      // Longer than the 24 h of retries plus the spare receives; a message's age counts from its first send.
      retentionPeriod: Duration.days(4),
      visibilityTimeout: OUTBOX_VISIBILITY_TIMEOUT,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: this.outboxDeadLetters, maxReceiveCount: OUTBOX_MAX_RECEIVE_COUNT },
    });

    this.consumer = new Consumer(this, CONSUMER_RULES.subscribers.id, {
      rule: CONSUMER_RULES.subscribers,
      bus: props.bus,
      alarms: props.alarms,
      function: {
        entry: 'services/subscribers/handler.ts',
        serviceName: 'subscribers',
        description: 'Every zoom-archiver event -> one outbox message (SQS) per subscriber that asked for its detail-type',
        timeout: Duration.seconds(30),
        environment: { OUTBOX_QUEUE_URL: this.outbox.queueUrl, ...configEnv },
      },
    });
    // SendMessage covers SendMessageBatch; nothing else on the queue.
    Grant.addToPrincipal({ grantee: this.consumer.function, actions: ['sqs:SendMessage'], resourceArns: [this.outbox.queueArn] });

    this.dispatcher = new ArchiverFunction(this, 'Dispatcher', {
      entry: 'services/subscribers/dispatch-handler.ts',
      serviceName: 'subscriber-dispatch',
      description: 'Outbox (SQS) -> each subscriber over HTTPS (Standard Webhooks signature or Slack); retries by visibility timeout',
      timeout: DISPATCH_TIMEOUT,
      environment: {
        OUTBOX_QUEUE_URL: this.outbox.queueUrl,
        SUBSCRIBER_RETRY_BASE_SECONDS: String(SUBSCRIBER_RETRY_BASE_SECONDS),
        SUBSCRIBER_GIVE_UP_HOURS: String(SUBSCRIBER_GIVE_UP_HOURS),
        DISPATCH_MAX_CONCURRENCY: String(DISPATCH_MAX_CONCURRENCY),
        ...configEnv,
        // Only where a subscriber names a key of it: the dispatcher reads nothing it does not use.
        ...(this.secretKeys.length > 0 ? { ZOOM_SECRETS_ARN: props.zoomSecret.secretArn } : {}),
      },
    });
    // What the event source mapping needs (receive, delete, queue attributes), and the
    // back-off (ChangeMessageVisibility); CDK's SqsEventSource would add GetQueueUrl too.
    Grant.addToPrincipal({
      grantee: this.dispatcher,
      actions: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ChangeMessageVisibility'],
      resourceArns: [this.outbox.queueArn],
    });
    this.dispatcher.addEventSourceMapping('Outbox', {
      eventSourceArn: this.outbox.queueArn,
      batchSize: DISPATCH_BATCH_SIZE,
      reportBatchItemFailures: true,
      maxConcurrency: DISPATCH_MAX_CONCURRENCY,
    });
    if (this.secretKeys.length > 0) {
      // GetSecretValue only (the loader calls nothing else); the AWS managed key needs no key grant.
      Grant.addToPrincipal({ grantee: this.dispatcher, actions: ['secretsmanager:GetSecretValue'], resourceArns: [props.zoomSecret.secretArn] });
    }

    props.alarms.notify(
      new Alarm(this, 'OutboxDeadLettersAlarm', {
        alarmDescription:
          `Subscriber messages the dispatcher could not handle ${OUTBOX_MAX_RECEIVE_COUNT} times (it failed or timed out on them) are waiting in the ` +
          'outbox dead-letter queue. Fix the cause (see the SubscriberDispatchErrors alarm and its log), then move them back ' +
          '(README, "Subscribers": aws sqs start-message-move-task).',
        metric: this.outboxDeadLetters.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
    );
    props.alarms.onFunctionErrors(
      'SubscriberDispatchErrors',
      this.dispatcher,
      'The subscriber dispatcher failed on a batch (not a subscriber answering an error: its configuration, the secret, or SQS). ' +
        'The messages come back after the visibility timeout; after repeated failures they move to the outbox DLQ.',
    );
    const failed = this.dispatcher.logGroup.addMetricFilter('DeliveriesFailed', {
      filterPattern: FilterPattern.literal(`"${DELIVERY_FAILED_MESSAGE}"`),
      metricNamespace: 'ZoomArchiver',
      metricName: 'SubscriberDeliveriesFailed',
      metricValue: '1',
    });
    props.alarms.notify(
      new Alarm(this, 'DeliveriesFailedAlarm', {
        alarmDescription:
          'A subscriber message will not be delivered: the subscriber answered a 4xx other than 408/429 (a wrong URL or secret), its URL ' +
          `was refused, or it kept failing for ${SUBSCRIBER_GIVE_UP_HOURS} h. The dispatcher's log line "${DELIVERY_FAILED_MESSAGE}" names the event and the ` +
          'subscriber; after fixing, replay the event to the Subscribers rule (README, "Subscribers").',
        metric: failed.metric({ period: Duration.minutes(5), statistic: 'Sum' }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
    );
  }
}

/**
 * The keys of the Zoom secret the subscribers' `env:NAME` secrets name (what the
 * dispatcher must read), or a ConfigError at synth for a secret written in the
 * configuration: it would be in the synthesized template, the functions' environment
 * and the deployment bucket. Never quotes the value.
 */
export function subscriberSecretReferences(subscribers: readonly SubscriberSpec[], source: string): string[] {
  const zoomKeys = new Set(Object.keys(ZoomSecretsSchema.shape));
  const problems: string[] = [];
  const names = new Set<string>();
  subscribers.forEach((subscriber, index) => {
    const where = `subscribers[${index}] (${subscriber.id})`;
    if (subscriber.format === 'slack') {
      if (!subscriber.urlEnv) {
        problems.push(`${where}.url: a slack subscriber's url is its credential and would be written into the template; write env:NAME instead, NAME being a key of the Zoom secret (ZoomSecretArn output) that holds the url`);
      } else if (zoomKeys.has(subscriber.urlEnv)) {
        problems.push(`${where}.url: env:${subscriber.urlEnv} names one of the Zoom secret's own keys; give the subscriber a key of its own in that secret`);
      } else names.add(subscriber.urlEnv);
    } else if (subscriber.secret && 'value' in subscriber.secret) {
      problems.push(`${where}.secret: a whsec_ secret written in the configuration would be in the synthesized template and the functions' environment; write env:NAME instead, NAME being a key of the Zoom secret (ZoomSecretArn output) that holds the whsec_ value`);
    } else if (subscriber.secret && 'env' in subscriber.secret) {
      const name = subscriber.secret.env;
      if (zoomKeys.has(name)) problems.push(`${where}.secret: env:${name} names one of the Zoom secret's own keys; give the subscriber a key of its own in that secret`);
      else names.add(name);
    }
  });
  if (problems.length > 0) throw new ConfigError(`${source}: ${problems.join('; ')}`);
  return [...names].sort();
}
