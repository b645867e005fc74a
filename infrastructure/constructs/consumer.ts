/**
 * One consumer of the bus: a function, the rule that feeds it (pattern taken from
 * shared/events/rules.ts, never written here), and a dead-letter queue with its alarm.
 *
 * How an event can fail, and where it then goes (nothing is dropped silently):
 * 1. EventBridge cannot invoke the function (throttled API, permissions, service
 *    error): the rule target retries with backoff (retryAttempts, maxEventAge), then
 *    sends the event to the DLQ (message body = the event; attributes ERROR_CODE,
 *    ERROR_MESSAGE, RULE_ARN, TARGET_ARN).
 * 2. The invocation is accepted (asynchronous) but the function throws, times out or
 *    is throttled for too long: Lambda retries (asyncRetryAttempts, with its own
 *    backoff; throttled events wait in Lambda's queue up to asyncMaxEventAge), then
 *    the on-failure destination sends a record to the same DLQ (body has
 *    requestPayload = the event, plus the error in responsePayload).
 * Re-drive = invoke the function again with the event (README). Every consumer is
 * idempotent (ledger, audit event id), so a re-driven event cannot do harm.
 */
import { Duration } from 'aws-cdk-lib';
import type { EventPattern as CdkEventPattern, IEventBus } from 'aws-cdk-lib/aws-events';
import { Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Grant } from 'aws-cdk-lib/aws-iam';
import type { DestinationConfig, IDestination, IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { ConsumerRule, EventPattern } from '../../shared/events/rules';
import type { ArchiverAlarms } from './alarms';
import { ArchiverFunction, type ArchiverFunctionProps } from './archiver-function';
import { DeadLetterQueue } from './dead-letter-queue';

export interface ConsumerProps {
  rule: ConsumerRule;
  bus: IEventBus;
  function: ArchiverFunctionProps;
  alarms: ArchiverAlarms;
  /** EventBridge's attempts to invoke the function. Default 10. */
  deliveryRetryAttempts?: number;
  /** How long EventBridge keeps trying to invoke. Default 2 hours. */
  deliveryMaxEventAge?: Duration;
  /** Lambda's retries of a failed invocation. Default 2 (Lambda's maximum). */
  asyncRetryAttempts?: number;
  /** How long an accepted event may wait in Lambda's queue (throttling, retries). Default 6 hours (Lambda's maximum). */
  asyncMaxEventAge?: Duration;
}

export class Consumer extends Construct {
  readonly function: ArchiverFunction;
  readonly rule: Rule;
  readonly deadLetters: DeadLetterQueue;

  constructor(scope: Construct, id: string, props: ConsumerProps) {
    super(scope, id);
    this.deadLetters = new DeadLetterQueue(this, 'DeadLetters', { consumer: props.rule.id, alarms: props.alarms });
    this.function = new ArchiverFunction(this, 'Function', props.function);
    this.function.configureAsyncInvoke({
      retryAttempts: props.asyncRetryAttempts ?? 2,
      maxEventAge: props.asyncMaxEventAge ?? Duration.hours(6),
      onFailure: new SendOnlyQueueDestination(this.deadLetters.queue),
    });
    this.rule = new Rule(this, 'Rule', {
      eventBus: props.bus,
      description: props.rule.description,
      eventPattern: toCdkEventPattern(props.rule.pattern),
      targets: [
        new LambdaFunction(this.function, {
          retryAttempts: props.deliveryRetryAttempts ?? 10,
          // Long enough for a regional blip, short enough that a broken deployment
          // shows up in the DLQ (and its alarm) within hours, not after EventBridge's 24 h.
          maxEventAge: props.deliveryMaxEventAge ?? Duration.hours(2),
          deadLetterQueue: this.deadLetters.queue,
        }),
      ],
    });
  }
}

/**
 * An SQS on-failure destination that grants sqs:SendMessage only (CDK's SqsDestination
 * also grants GetQueueAttributes and GetQueueUrl, which Lambda does not use).
 */
export class SendOnlyQueueDestination implements IDestination {
  constructor(private readonly queue: IQueue) {}

  bind(_scope: Construct, fn: IFunction): DestinationConfig {
    Grant.addToPrincipal({ grantee: fn, actions: ['sqs:SendMessage'], resourceArns: [this.queue.queueArn] });
    return { destination: this.queue.queueArn };
  }
}

/**
 * The shared pattern in CDK's spelling: CDK names `detail-type` `detailType` and
 * renders it back; every other field (and every operator) passes through unchanged.
 * tests/infrastructure compares the synthesized pattern with the shared one.
 */
export function toCdkEventPattern(pattern: EventPattern): CdkEventPattern {
  const { 'detail-type': detailType, ...rest } = pattern;
  return { ...rest, ...(detailType === undefined ? {} : { detailType }) } as CdkEventPattern;
}
