/**
 * Subscriber delivery in the synthesized stack (infrastructure/constructs/subscriber-delivery.ts;
 * unbundled: the assertions look at resource properties, not at the code): the
 * Subscribers rule (pattern from CONSUMER_RULES.subscribers) feeding its consumer with
 * a retry policy and a DLQ; the outbox queue with its redrive policy to its own DLQ; the
 * dispatcher's event source with partial batch failures and bounded concurrency; least
 * privilege for both functions (the Zoom secret only when a subscriber names a key of
 * it); the alarms; and the synth-time refusal of secrets written in the configuration.
 */
import { CONSUMER_RULES } from '../../shared/events/rules';
import { DetailType } from '../../shared/events';
import { requiredVariables } from '../../shared/lambda/env';
import { SubscriberDispatchLambdaEnv } from '../../services/subscribers/dispatch-handler';
import { DELIVERY_FAILED_MESSAGE, receivesWithinGiveUp } from '../../services/subscribers/dispatch-policy';
import { SubscribersLambdaEnv } from '../../services/subscribers/handler';
import {
  DISPATCH_MAX_CONCURRENCY,
  OUTBOX_MAX_RECEIVE_COUNT,
  OUTBOX_VISIBILITY_TIMEOUT,
  SUBSCRIBER_GIVE_UP_HOURS,
  SUBSCRIBER_RETRY_BASE_SECONDS,
} from '../../infrastructure/constructs/subscriber-delivery';
import { functionOf, grants as grantsOf, referencedIds, synthesize, type Resource, type Service, type Synthesized } from './support';

const ofType = (s: Synthesized, type: string) => Object.entries(s.resources).filter(([, r]) => r.Type === type);
const single = (s: Synthesized, type: string): [string, Resource] => {
  const found = ofType(s, type);
  expect(found).toHaveLength(1);
  return found[0]!;
};
const outboxOf = (s: Synthesized) => {
  const found = ofType(s, 'AWS::SQS::Queue').filter(([, q]) => q.Properties.RedrivePolicy !== undefined);
  expect(found).toHaveLength(1);
  return found[0]!;
};

const SUBSCRIBERS = [
  { id: 'lms', url: 'https://lms.example.edu/hooks/zoom-archiver', secret: 'env:LMS_WEBHOOK_SECRET', events: [DetailType.FileUploaded, DetailType.RecordingArchived] },
  { id: 'ops', url: 'https://ops.example.edu/hooks', secret: 'env:OPS_WEBHOOK_SECRET', events: [DetailType.FileUploadFailed] },
];
const withSubscribers = (subscribers: unknown[]) => ({ courseRules: { json: { subscribers }, source: 'cdk context archiverConfigFile test.json' } });

/** Every grant of the delivery functions is unconditional. */
const grants = (s: Synthesized, service: Service) => grantsOf(s, service, { conditions: 'none' });

describe('subscriber delivery, with two subscribers whose secrets are keys of the Zoom secret', () => {
  let s: Synthesized;
  beforeAll(() => {
    s = synthesize(withSubscribers(SUBSCRIBERS), { bundle: false });
  }, 60_000);

  it('feeds the Subscribers consumer from a rule with the pattern of CONSUMER_RULES.subscribers, retried, with a DLQ', () => {
    const { functionId, fn } = functionOf(s, 'subscribers');
    expect(fn.Properties.Handler).toBe('index.handler');
    const rules = ofType(s, 'AWS::Events::Rule').filter(([, r]) => (r.Properties.Targets as { Arn: unknown }[]).some((t) => referencedIds(t.Arn).includes(functionId)));
    expect(rules).toHaveLength(1);
    const [, rule] = rules[0]!;
    expect(rule.Properties.EventPattern).toStrictEqual(CONSUMER_RULES.subscribers.pattern);
    expect(rule.Properties.EventBusName).toEqual({ Ref: single(s, 'AWS::Events::EventBus')[0] });
    const [target] = rule.Properties.Targets as Record<string, any>[];
    expect(target!.RetryPolicy).toEqual({ MaximumRetryAttempts: 10, MaximumEventAgeInSeconds: 7200 });
    const [dlq] = referencedIds(target!.DeadLetterConfig.Arn);
    expect(s.resources[dlq!]).toMatchObject({ Type: 'AWS::SQS::Queue', Properties: { MessageRetentionPeriod: 14 * 86400, SqsManagedSseEnabled: true } });
    // Lambda's retries of a failed invocation end in the same DLQ.
    const [, config] = ofType(s, 'AWS::Lambda::EventInvokeConfig').find(([, c]) => c.Properties.FunctionName.Ref === functionId)!;
    expect(config.Properties).toMatchObject({ MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 6 * 3600 });
    expect(referencedIds(config.Properties.DestinationConfig.OnFailure.Destination)).toEqual([dlq]);
    s.template.hasOutput('SubscribersDeadLetterQueueUrl', { Value: { Ref: dlq } });
  });

  it('gives both functions the variables their handlers require, the same configuration as course validation, and no secret value', () => {
    const [outboxId] = outboxOf(s);
    const consumer = functionOf(s, 'subscribers').fn.Properties.Environment.Variables as Record<string, unknown>;
    const dispatcher = functionOf(s, 'subscriber-dispatch').fn.Properties.Environment.Variables as Record<string, unknown>;
    const courseValidation = functionOf(s, 'course-validation').fn.Properties.Environment.Variables as Record<string, unknown>;
    expect(requiredVariables(SubscribersLambdaEnv)).toEqual(['OUTBOX_QUEUE_URL']);
    expect(requiredVariables(SubscriberDispatchLambdaEnv)).toEqual(['OUTBOX_QUEUE_URL']);
    expect(consumer.OUTBOX_QUEUE_URL).toEqual({ Ref: outboxId });
    expect(dispatcher.OUTBOX_QUEUE_URL).toEqual({ Ref: outboxId });
    expect(consumer.ARCHIVER_CONFIG_JSON).toBe(courseValidation.ARCHIVER_CONFIG_JSON);
    expect(dispatcher.ARCHIVER_CONFIG_JSON).toBe(courseValidation.ARCHIVER_CONFIG_JSON);
    expect(JSON.parse(String(dispatcher.ARCHIVER_CONFIG_JSON)).subscribers).toEqual(SUBSCRIBERS);
    // The consumer needs no secret; the dispatcher gets the Zoom secret's ARN, never a value.
    expect(consumer.ZOOM_SECRETS_ARN).toBeUndefined();
    expect(dispatcher.ZOOM_SECRETS_ARN).toEqual({ Ref: single(s, 'AWS::SecretsManager::Secret')[0] });
    expect(dispatcher).toMatchObject({
      SUBSCRIBER_RETRY_BASE_SECONDS: String(SUBSCRIBER_RETRY_BASE_SECONDS),
      SUBSCRIBER_GIVE_UP_HOURS: String(SUBSCRIBER_GIVE_UP_HOURS),
      DISPATCH_MAX_CONCURRENCY: String(DISPATCH_MAX_CONCURRENCY),
    });
    expect(JSON.stringify(s.template.toJSON())).not.toContain('whsec_');
  });

  it('keeps the outbox in an encrypted, TLS-only standard queue whose redrive policy leads to its own DLQ, after 24 h of back-off and spare receives', () => {
    const [outboxId, outbox] = outboxOf(s);
    expect(outbox.Properties.FifoQueue).toBeUndefined();
    expect(outbox.Properties).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 4 * 86400, VisibilityTimeout: OUTBOX_VISIBILITY_TIMEOUT.toSeconds() });
    const { deadLetterTargetArn, maxReceiveCount } = outbox.Properties.RedrivePolicy as { deadLetterTargetArn: unknown; maxReceiveCount: number };
    expect(maxReceiveCount).toBe(OUTBOX_MAX_RECEIVE_COUNT);
    expect(maxReceiveCount).toBe(46); // stated here as infrastructure/README.md states it ("Subscribers")
    // Above what 24 h of doubling from SUBSCRIBER_RETRY_BASE_SECONDS takes: SQS never dead-letters a message the dispatcher still means to try.
    expect(maxReceiveCount).toBeGreaterThan(receivesWithinGiveUp({ baseSeconds: SUBSCRIBER_RETRY_BASE_SECONDS, giveUpHours: SUBSCRIBER_GIVE_UP_HOURS }));
    const [dlqId] = referencedIds(deadLetterTargetArn);
    expect(s.resources[dlqId!]).toMatchObject({ Type: 'AWS::SQS::Queue', Properties: { MessageRetentionPeriod: 14 * 86400, SqsManagedSseEnabled: true } });
    for (const queueId of [outboxId, dlqId!]) {
      const [, policy] = ofType(s, 'AWS::SQS::QueuePolicy').find(([, p]) => referencedIds(p.Properties.Queues).includes(queueId))!;
      const statements = policy.Properties.PolicyDocument.Statement as Record<string, any>[];
      expect(statements).toEqual([expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]);
    }
    // Six times the dispatcher's timeout (AWS's advice for a queue behind a Lambda event source).
    expect(outbox.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(6 * functionOf(s, 'subscriber-dispatch').fn.Properties.Timeout);
    s.template.hasOutput('SubscriberOutboxQueueUrl', { Value: { Ref: outboxId } });
    s.template.hasOutput('SubscriberOutboxDeadLetterQueueUrl', { Value: { Ref: dlqId } });
  });

  it('runs the dispatcher from the outbox: batches of 10, partial batch failures reported, at most 2 invocations at a time', () => {
    const [outboxId] = outboxOf(s);
    const [, mapping] = single(s, 'AWS::Lambda::EventSourceMapping');
    expect(mapping.Properties).toMatchObject({
      EventSourceArn: { 'Fn::GetAtt': [outboxId, 'Arn'] },
      FunctionName: { Ref: functionOf(s, 'subscriber-dispatch').functionId },
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 2 },
    });
    expect(mapping.Properties.MaximumBatchingWindowInSeconds).toBeUndefined();
  });

  it('least privilege: the consumer sends to the outbox (and its own DLQ); the dispatcher consumes it and reads the Zoom secret; nothing more', () => {
    const [outboxId] = outboxOf(s);
    const [secretId] = single(s, 'AWS::SecretsManager::Secret');
    const { functionId } = functionOf(s, 'subscribers');
    const [, config] = ofType(s, 'AWS::Lambda::EventInvokeConfig').find(([, c]) => c.Properties.FunctionName.Ref === functionId)!;
    const [consumerDlq] = referencedIds(config.Properties.DestinationConfig.OnFailure.Destination);
    expect(grants(s, 'subscribers')).toEqual({ 'sqs:SendMessage': [consumerDlq!, outboxId].sort() });
    expect(grants(s, 'subscriber-dispatch')).toEqual({
      'sqs:ReceiveMessage': [outboxId],
      'sqs:DeleteMessage': [outboxId],
      'sqs:GetQueueAttributes': [outboxId],
      'sqs:ChangeMessageVisibility': [outboxId],
      'secretsmanager:GetSecretValue': [secretId],
    });
  });

  it('alarms on both DLQs, on dispatcher errors, and on every delivery that will not happen', () => {
    const [topicId] = single(s, 'AWS::SNS::Topic');
    const alarms = ofType(s, 'AWS::CloudWatch::Alarm');
    const [, outbox] = outboxOf(s);
    const [outboxDlq] = referencedIds(outbox.Properties.RedrivePolicy.deadLetterTargetArn);
    const { functionId } = functionOf(s, 'subscribers');
    const [, config] = ofType(s, 'AWS::Lambda::EventInvokeConfig').find(([, c]) => c.Properties.FunctionName.Ref === functionId)!;
    const [consumerDlq] = referencedIds(config.Properties.DestinationConfig.OnFailure.Destination);
    for (const queueId of [outboxDlq!, consumerDlq!]) {
      const watching = alarms.filter(([, a]) => a.Properties.MetricName === 'ApproximateNumberOfMessagesVisible' && referencedIds(a.Properties.Dimensions).includes(queueId));
      expect(watching).toHaveLength(1);
      expect(watching[0]![1].Properties).toMatchObject({ Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', TreatMissingData: 'notBreaching', AlarmActions: [{ Ref: topicId }] });
    }
    const dispatcherId = functionOf(s, 'subscriber-dispatch').functionId;
    const errors = alarms.filter(([, a]) => a.Properties.MetricName === 'Errors' && referencedIds(a.Properties.Dimensions).includes(dispatcherId));
    expect(errors).toHaveLength(1);
    expect(errors[0]![1].Properties).toMatchObject({ Namespace: 'AWS/Lambda', Threshold: 1, AlarmActions: [{ Ref: topicId }] });

    // The dispatcher's "subscriber delivery failed" log lines, counted by a metric filter on its own log group.
    const [, filter] = single(s, 'AWS::Logs::MetricFilter');
    const dispatcher = functionOf(s, 'subscriber-dispatch').fn;
    expect(filter.Properties.LogGroupName).toEqual({ Ref: dispatcher.Properties.LoggingConfig.LogGroup.Ref });
    expect(filter.Properties.FilterPattern).toBe(`"${DELIVERY_FAILED_MESSAGE}"`);
    const [metric] = filter.Properties.MetricTransformations as { MetricName: string; MetricNamespace: string }[];
    const failed = alarms.filter(([, a]) => a.Properties.MetricName === metric!.MetricName && a.Properties.Namespace === metric!.MetricNamespace);
    expect(failed).toHaveLength(1);
    expect(failed[0]![1].Properties).toMatchObject({ Statistic: 'Sum', Threshold: 1, TreatMissingData: 'notBreaching', AlarmActions: [{ Ref: topicId }] });
  });
});

describe('subscriber delivery without subscribers (the default stack)', () => {
  let s: Synthesized;
  beforeAll(() => {
    s = synthesize({}, { bundle: false });
  }, 60_000);

  it('still has the Subscribers rule and both functions (the stack matches CONSUMER_RULES); it enqueues nothing', () => {
    const { functionId } = functionOf(s, 'subscribers');
    const rules = ofType(s, 'AWS::Events::Rule').filter(([, r]) => (r.Properties.Targets as { Arn: unknown }[]).some((t) => referencedIds(t.Arn).includes(functionId)));
    expect(rules.map(([, r]) => r.Properties.EventPattern)).toEqual([CONSUMER_RULES.subscribers.pattern]);
    expect(functionOf(s, 'subscriber-dispatch').fn.Properties.Environment.Variables.ARCHIVER_CONFIG_JSON).toBeUndefined();
  });

  it('gives the dispatcher no access to the Zoom secret, nor its ARN', () => {
    const [outboxId] = outboxOf(s);
    expect(grants(s, 'subscriber-dispatch')).toEqual({
      'sqs:ReceiveMessage': [outboxId],
      'sqs:DeleteMessage': [outboxId],
      'sqs:GetQueueAttributes': [outboxId],
      'sqs:ChangeMessageVisibility': [outboxId],
    });
    expect(functionOf(s, 'subscriber-dispatch').fn.Properties.Environment.Variables.ZOOM_SECRETS_ARN).toBeUndefined();
  });
});

describe('secrets written in the configuration', () => {
  const secret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;

  it('refuses a literal whsec_ secret at synth, saying to use env:NAME (a key of the Zoom secret), never quoting it', () => {
    let message = '';
    try {
      synthesize(withSubscribers([{ ...SUBSCRIBERS[0], secret }]), { bundle: false });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^cdk context archiverConfigFile test\.json: subscribers\[0\] \(lms\)\.secret: a whsec_ secret written in the configuration/);
    expect(message).toMatch(/write env:NAME instead, NAME being a key of the Zoom secret \(ZoomSecretArn output\)/);
    expect(message).not.toContain(secret.slice(6));
  });

  it('refuses a slack subscriber whose URL (its credential) is written out, and takes one whose URL is a key of the Zoom secret', () => {
    expect(() => synthesize(withSubscribers([{ url: 'https://hooks.slack.com/services/T000/B000/XXXX', format: 'slack', events: [DetailType.FileUploadFailed] }]), { bundle: false })).toThrow(
      /a slack subscriber's url is its credential and would be written into the template; write env:NAME instead/,
    );
    const slack = synthesize(withSubscribers([{ id: 'staff-slack', url: 'env:STAFF_SLACK_URL', format: 'slack', events: [DetailType.FileUploadFailed] }]), { bundle: false });
    expect(JSON.stringify(slack.resources)).not.toContain('hooks.slack.com');
    // The dispatcher reads the URL from the Zoom secret at run time: it is granted that secret.
    expect(Object.keys(grants(slack, 'subscriber-dispatch'))).toContain('secretsmanager:GetSecretValue');
  });

  it('refuses env:NAME naming one of the Zoom secret\'s own keys', () => {
    expect(() => synthesize(withSubscribers([{ ...SUBSCRIBERS[0], secret: 'env:ZOOM_CLIENT_SECRET' }]), { bundle: false })).toThrow(/env:ZOOM_CLIENT_SECRET names one of the Zoom secret's own keys/);
  });
});
