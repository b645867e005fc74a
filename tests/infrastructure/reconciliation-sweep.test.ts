/**
 * The reconciliation sweep in the synthesized stack (unbundled: the rules look at
 * resource properties, not at the code): an hourly schedule that targets the function
 * with a retry policy and a DLQ, one run at a time, Lambda's longest timeout, an alarm
 * on its errors, and least privilege — ledger file entries read only, its own
 * `reconcile#` items, the bus, the Zoom secret, nothing else. Interval 0 keeps the
 * function (for backfills) and drops the schedule. (The context keys that set these:
 * settings.test.ts.)
 */
import { ledgerFileKey } from '../../shared/adapters/ledger-dynamodb';
import { RECONCILER_KEY_PREFIX } from '../../shared/adapters/reconciler-state-dynamodb';
import { ReconcilerLambdaEnv } from '../../services/reconciler/handler';
import { requiredVariables } from '../../shared/lambda/env';
import { actionsOf, functionOf, referencedIds, statementsOf, synthesize, type Resource, type Synthesized } from './support';

const ofType = (s: Synthesized, type: string) => Object.entries(s.resources).filter(([, r]) => r.Type === type);
const single = (s: Synthesized, type: string): [string, Resource] => {
  const found = ofType(s, type);
  expect(found).toHaveLength(1);
  return found[0]!;
};
const ledgerTableId = (s: Synthesized) => {
  const [id] = ofType(s, 'AWS::DynamoDB::Table').find(([, t]) => t.Properties.TimeToLiveSpecification !== undefined)!;
  return id;
};
const rulesTargeting = (s: Synthesized, functionId: string) =>
  ofType(s, 'AWS::Events::Rule').filter(([, r]) => (r.Properties.Targets as { Arn: unknown }[]).some((t) => referencedIds(t.Arn).includes(functionId)));

describe('reconciliation sweep (default settings)', () => {
  let s: Synthesized;
  beforeAll(() => {
    s = synthesize({}, { bundle: false });
  }, 60_000);

  it('runs services/reconciler/handler.ts for 15 minutes at most, one run at a time', () => {
    const { fn } = functionOf(s, 'reconciler');
    expect(fn.Properties.Timeout).toBe(900);
    expect(fn.Properties.ReservedConcurrentExecutions).toBe(1);
    expect(fn.Properties.Handler).toBe('index.handler');
  });

  it('gives the function every variable its handler requires, the look-back, and the Zoom secret by ARN only', () => {
    const variables = functionOf(s, 'reconciler').fn.Properties.Environment.Variables as Record<string, unknown>;
    const required = requiredVariables(ReconcilerLambdaEnv);
    expect(required.sort()).toEqual(['EVENT_BUS_NAME', 'LEDGER_TABLE_NAME']);
    for (const name of required) expect(variables[name]).toBeDefined();
    expect(variables.LEDGER_TABLE_NAME).toEqual({ Ref: ledgerTableId(s) });
    expect(variables.EVENT_BUS_NAME).toEqual({ Ref: single(s, 'AWS::Events::EventBus')[0] });
    expect(variables.ZOOM_SECRETS_ARN).toEqual({ Ref: single(s, 'AWS::SecretsManager::Secret')[0] });
    expect(variables.SWEEP_LOOKBACK_DAYS).toBe('3');
    // The built-in rules: nothing inlined (as for course validation), and the handler's own API pace.
    expect(variables.ARCHIVER_CONFIG_JSON).toBeUndefined();
    expect(variables.ZOOM_API_REQUESTS_PER_SECOND).toBeUndefined();
  });

  it('is invoked every hour by a schedule rule with retries and a dead-letter queue', () => {
    const { functionId } = functionOf(s, 'reconciler');
    const rules = rulesTargeting(s, functionId);
    expect(rules).toHaveLength(1);
    const [, rule] = rules[0]!;
    expect(rule.Properties.ScheduleExpression).toBe('rate(1 hour)');
    expect(rule.Properties.EventBusName).toBeUndefined(); // the default bus, where schedules live
    const [target] = rule.Properties.Targets as Record<string, any>[];
    expect(target!.RetryPolicy).toEqual({ MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 3600 });
    const [queueId] = referencedIds(target!.DeadLetterConfig.Arn);
    expect(s.resources[queueId!]).toMatchObject({ Type: 'AWS::SQS::Queue', Properties: { MessageRetentionPeriod: 14 * 86400, SqsManagedSseEnabled: true } });
    // The DLQ has its alarm, and its URL is an output.
    const watching = ofType(s, 'AWS::CloudWatch::Alarm').filter(([, a]) => a.Properties.MetricName === 'ApproximateNumberOfMessagesVisible' && referencedIds(a.Properties.Dimensions).includes(queueId!));
    expect(watching).toHaveLength(1);
    s.template.hasOutput('ReconcilerDeadLetterQueueUrl', { Value: { Ref: queueId } });
  });

  it('is not retried by Lambda: the next sweep does the same work, and a sweep older than the interval is dropped', () => {
    const { functionId } = functionOf(s, 'reconciler');
    const configs = ofType(s, 'AWS::Lambda::EventInvokeConfig').filter(([, c]) => c.Properties.FunctionName.Ref === functionId);
    expect(configs).toHaveLength(1);
    expect(configs[0]![1].Properties).toMatchObject({ MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 3600 });
    expect(configs[0]![1].Properties.DestinationConfig).toBeUndefined();
  });

  it('alarms, to the alarm topic, on any error of the function', () => {
    const { functionId } = functionOf(s, 'reconciler');
    const [topicId] = single(s, 'AWS::SNS::Topic');
    const alarms = ofType(s, 'AWS::CloudWatch::Alarm').filter(([, a]) => a.Properties.MetricName === 'Errors' && referencedIds(a.Properties.Dimensions).includes(functionId));
    expect(alarms).toHaveLength(1);
    expect(alarms[0]![1].Properties).toMatchObject({ Namespace: 'AWS/Lambda', Statistic: 'Sum', Threshold: 1, AlarmActions: [{ Ref: topicId }], OKActions: [{ Ref: topicId }] });
  });

  it('may read ledger file entries, keep its own reconcile# items, put events and read the Zoom secret: nothing else', () => {
    const { policy, fn } = functionOf(s, 'reconciler');
    const ledger = ledgerTableId(s);
    const [bus] = single(s, 'AWS::Events::EventBus');
    const [secret] = single(s, 'AWS::SecretsManager::Secret');
    const logGroupId = fn.Properties.LoggingConfig.LogGroup.Ref as string;
    const statements = statementsOf(policy).filter((st) => !actionsOf(st).every((a) => a.startsWith('xray:')));
    const described = statements.map((st) => ({ effect: st.Effect, actions: actionsOf(st).sort(), resources: referencedIds(st.Resource), condition: st.Condition }));
    expect(described).toEqual(
      expect.arrayContaining([
        { effect: 'Allow', actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroupId], condition: undefined },
        {
          effect: 'Allow',
          actions: ['dynamodb:GetItem'],
          resources: [ledger],
          condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${ledgerFileKey('')}*`] } },
        },
        {
          effect: 'Allow',
          actions: ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem'],
          resources: [ledger],
          condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${RECONCILER_KEY_PREFIX}*`] } },
        },
        { effect: 'Allow', actions: ['events:PutEvents'], resources: [bus], condition: undefined },
        { effect: 'Allow', actions: ['secretsmanager:GetSecretValue'], resources: [secret], condition: undefined },
      ]),
    );
    expect(described).toHaveLength(5);
    expect(ledgerFileKey('')).toBe('file#');
    expect(RECONCILER_KEY_PREFIX).toBe('reconcile#');
    // The table itself only: no index, no Scan or Query, no S3, no queue.
    const actions = statements.flatMap(actionsOf);
    expect(actions.filter((a) => /^(s3|sqs):|Scan|Query|Batch|UpdateItem/.test(a))).toEqual([]);
    for (const st of statements.filter((st) => actionsOf(st).some((a) => a.startsWith('dynamodb:')))) {
      expect(st.Resource).toEqual({ 'Fn::GetAtt': [ledger, 'Arn'] });
    }
  });

  it('outputs the function name operators invoke for a backfill', () => {
    s.template.hasOutput('ReconcilerFunctionName', { Value: { Ref: functionOf(s, 'reconciler').functionId } });
  });
});

describe('reconciliation sweep settings', () => {
  it('without a schedule (interval 0): the function and its grants stay for backfills, no rule invokes it', () => {
    const s = synthesize({ sweepIntervalMinutes: 0 }, { bundle: false });
    const { functionId, fn } = functionOf(s, 'reconciler');
    expect(rulesTargeting(s, functionId)).toEqual([]);
    expect(ofType(s, 'AWS::Events::Rule').filter(([, r]) => r.Properties.ScheduleExpression === 'rate(1 hour)')).toEqual([]);
    expect(fn.Properties.ReservedConcurrentExecutions).toBe(1);
    s.template.hasOutput('ReconcilerFunctionName', { Value: { Ref: functionId } });
  }, 60_000);

  it('takes the interval, the look-back, the API pace and the course rules from the stack props', () => {
    const rules = { json: { naming: { template: 'archive/{course}/{fileId}.{ext}' } }, source: 'test rules' };
    const s = synthesize({ sweepIntervalMinutes: 30, sweepLookbackDays: 7, zoomApiRequestsPerSecond: 2, courseRules: rules }, { bundle: false });
    const { functionId, fn } = functionOf(s, 'reconciler');
    const [[, rule]] = rulesTargeting(s, functionId) as [[string, Resource]];
    expect(rule.Properties.ScheduleExpression).toBe('rate(30 minutes)');
    expect(rule.Properties.Targets[0].RetryPolicy.MaximumEventAgeInSeconds).toBe(1800);
    const variables = fn.Properties.Environment.Variables as Record<string, string>;
    expect(variables).toMatchObject({ SWEEP_LOOKBACK_DAYS: '7', ZOOM_API_REQUESTS_PER_SECOND: '2' });
    // The same rules as course validation, so that the reconciler asks for the files it will accept.
    expect(variables.ARCHIVER_CONFIG_JSON).toBe(functionOf(s, 'course-validation').fn.Properties.Environment.Variables.ARCHIVER_CONFIG_JSON);
    expect(JSON.parse(variables.ARCHIVER_CONFIG_JSON!)).toEqual(rules.json);
  }, 60_000);
});
