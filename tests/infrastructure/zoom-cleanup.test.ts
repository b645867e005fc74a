/**
 * Clean-up in Zoom in the synthesized stack (infrastructure/constructs/zoom-cleanup.ts).
 * Opt-in: with `cleanup.trashInZoom` "off" (or no cleanup section) nothing that could
 * trash is deployed and no function may touch a `cleanup#` item. With "dry-run" and
 * "on": the Cleanup consumer (the shared pattern, its DLQ and alarm), the periodic run
 * (one at a time, 5 minutes, not retried by Lambda, a schedule rule with retries and a
 * DLQ, an alarm on its errors), every variable each handler's env schema needs, and
 * least privilege statement by statement. Unbundled, except one small stack that
 * proves both handlers bundle. (The context key of the interval: settings.test.ts.)
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ArchiverAlarms } from '../../infrastructure/constructs/alarms';
import { ArchiveBucket } from '../../infrastructure/constructs/archive-bucket';
import { DataTable } from '../../infrastructure/constructs/data-table';
import { CLEANUP_TIMEOUT, DEFAULT_CLEANUP_INTERVAL_MINUTES, ZoomCleanup } from '../../infrastructure/constructs/zoom-cleanup';
import { CleanupLambdaEnv, FINISH_MARGIN_MS } from '../../services/cleanup/handler';
import { CleanupScheduleLambdaEnv } from '../../services/cleanup/schedule-handler';
import { CLEANUP_LEASE_MS } from '../../services/cleanup/config';
import { loadArchiverConfig } from '../../services/course-validation/config';
import { CLEANUP_KEY_PREFIX } from '../../shared/adapters/cleanup-dynamodb';
import { LEDGER_KEYS, ledgerFileKey, ledgerTableDefinition } from '../../shared/adapters/ledger-dynamodb';
import { CONSUMER_RULES } from '../../shared/events/rules';
import { parseEnv, requiredVariables } from '../../shared/lambda/env';
import type { ArchiverStackProps } from '../../infrastructure/archiver-stack';
import {
  actionsOf,
  functionOf,
  grants as grantsOf,
  referencedIds,
  statementsOf,
  synthesize,
  type Resource,
  type Service,
  type Synthesized,
} from './support';

type CleanupService = 'cleanup-schedule' | 'cleanup';
/** support.ts's SERVICES are the default stack's functions; these two exist only with the clean-up on. */
const fnOf = (s: Synthesized, service: CleanupService) => functionOf(s, service as string as Service);
const grantsOfCleanup = (s: Synthesized, service: CleanupService) => grantsOf(s, service as string as Service);

const ofType = (s: Synthesized, type: string) => Object.entries(s.resources).filter(([, r]) => r.Type === type);
const single = (s: Synthesized, type: string): [string, Resource] => {
  const found = ofType(s, type);
  expect(found).toHaveLength(1);
  return found[0]!;
};
const ledgerTableId = (s: Synthesized) => ofType(s, 'AWS::DynamoDB::Table').find(([, t]) => t.Properties.TimeToLiveSpecification !== undefined)![0];
const rulesTargeting = (s: Synthesized, functionId: string) =>
  ofType(s, 'AWS::Events::Rule').filter(([, r]) => (r.Properties.Targets as { Arn: unknown }[]).some((t) => referencedIds(t.Arn).includes(functionId)));
const invokeConfigOf = (s: Synthesized, functionId: string) => {
  const configs = ofType(s, 'AWS::Lambda::EventInvokeConfig').filter(([, c]) => c.Properties.FunctionName.Ref === functionId);
  expect(configs).toHaveLength(1);
  return configs[0]![1].Properties;
};
const queueAlarms = (s: Synthesized, queueId: string) =>
  ofType(s, 'AWS::CloudWatch::Alarm').filter(([, a]) => a.Properties.MetricName === 'ApproximateNumberOfMessagesVisible' && referencedIds(a.Properties.Dimensions).includes(queueId));
const allStatements = (s: Synthesized) => ofType(s, 'AWS::IAM::Policy').flatMap(([, p]) => statementsOf(p));

/** The function's environment as the handler sees it at a cold start: CloudFormation references become dummy strings. */
function environmentOf(s: Synthesized, service: CleanupService): Record<string, string> {
  const variables = fnOf(s, service).fn.Properties.Environment.Variables as Record<string, unknown>;
  return Object.fromEntries(Object.entries(variables).map(([name, value]) => [name, typeof value === 'string' ? value : `dummy-${name.toLowerCase()}`]));
}

/** Every statement but X-Ray's, as comparable data. */
function described(s: Synthesized, service: CleanupService) {
  return statementsOf(fnOf(s, service).policy)
    .filter((st) => !actionsOf(st).every((a) => a.startsWith('xray:')))
    .map((st) => ({ effect: st.Effect, actions: actionsOf(st).sort(), resource: st.Resource, condition: st.Condition }))
    .sort(byActions);
}

const leadingKeys = (prefix: string) => ({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${prefix}*`] } });
const rulesWith = (cleanup: unknown, extra: Record<string, unknown> = {}): ArchiverStackProps['courseRules'] => ({ json: { ...extra, ...(cleanup === undefined ? {} : { cleanup }) }, source: 'test rules' });
const CLEANUP_OUTPUTS = ['CleanupRunFunctionName', 'CleanupRunDeadLetterQueueUrl', 'CleanupDeadLetterQueueUrl', 'CleanupFunctionName', 'CleanupRuleArn'];

describe.each([
  ['no cleanup section', rulesWith(undefined, { files: { minDurationSeconds: 60 } })],
  ['trashInZoom "off"', rulesWith({ trashInZoom: 'off', delayHours: 1 })],
  ['the built-in rules', undefined],
])('clean-up in Zoom with %s', (_name, courseRules) => {
  let s: Synthesized;
  beforeAll(() => {
    s = synthesize({ courseRules, cleanupIntervalMinutes: 30 }, { bundle: false });
  }, 60_000);

  it('deploys no clean-up function, no Cleanup rule and no clean-up schedule', () => {
    const services = ofType(s, 'AWS::Lambda::Function').map(([, f]) => String(f.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME));
    expect(services.filter((service) => service.startsWith('cleanup'))).toEqual([]);
    const patterns = ofType(s, 'AWS::Events::Rule').map(([, r]) => JSON.stringify(r.Properties.EventPattern ?? null));
    expect(patterns).not.toContain(JSON.stringify(CONSUMER_RULES.cleanup.pattern));
    expect(ofType(s, 'AWS::Events::Rule').filter(([, r]) => r.Properties.ScheduleExpression === 'rate(30 minutes)')).toEqual([]);
    expect(Object.keys(s.template.toJSON().Outputs).filter((name) => name.startsWith('Cleanup'))).toEqual([]);
  });

  it('gives no function any permission on cleanup# items', () => {
    expect(JSON.stringify(allStatements(s))).not.toContain(CLEANUP_KEY_PREFIX);
  });
});

describe.each([
  ['on', 'on'],
  ['dry-run', 'dry-run'],
] as const)('clean-up in Zoom with trashInZoom "%s"', (_name, mode) => {
  const config = { trashInZoom: mode, delayHours: 12, exceptCourses: ['LAW200'] };
  let s: Synthesized;
  beforeAll(() => {
    s = synthesize({ courseRules: rulesWith(config) }, { bundle: false });
  }, 60_000);

  describe('the Cleanup consumer (RecordingArchived -> due time)', () => {
    it('is fed by one rule on the archiver bus with the pattern of CONSUMER_RULES.cleanup, with retries and its DLQ', () => {
      const { functionId, fn } = fnOf(s, 'cleanup-schedule');
      expect(fn.Properties.Handler).toBe('index.handler');
      const [busId] = single(s, 'AWS::Events::EventBus');
      const rules = rulesTargeting(s, functionId);
      expect(rules).toHaveLength(1);
      const [, rule] = rules[0]!;
      expect(rule.Properties.EventBusName).toEqual({ Ref: busId });
      expect(rule.Properties.EventPattern).toStrictEqual(CONSUMER_RULES.cleanup.pattern);
      const [target] = rule.Properties.Targets as Record<string, any>[];
      expect(target!.RetryPolicy.MaximumRetryAttempts).toBeGreaterThan(0);
      const [queueId] = referencedIds(target!.DeadLetterConfig.Arn);
      expect(s.resources[queueId!]).toMatchObject({ Type: 'AWS::SQS::Queue', Properties: { MessageRetentionPeriod: 14 * 86400, SqsManagedSseEnabled: true } });
      expect(queueAlarms(s, queueId!)).toHaveLength(1);
      // Lambda's retries end in the same DLQ; its URL, the function and the rule are the <Consumer> outputs.
      const config = invokeConfigOf(s, functionId);
      expect(config).toMatchObject({ MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 6 * 3600 });
      expect(referencedIds(config.DestinationConfig.OnFailure.Destination)).toEqual([queueId]);
      s.template.hasOutput('CleanupDeadLetterQueueUrl', { Value: { Ref: queueId } });
      s.template.hasOutput('CleanupFunctionName', { Value: { Ref: functionId } });
      s.template.hasOutput('CleanupRuleArn', { Value: { 'Fn::GetAtt': [rules[0]![0], 'Arn'] } });
    });

    it('gets every variable its env schema requires, under the names the handler reads, and the same rules as course validation', () => {
      const env = environmentOf(s, 'cleanup-schedule');
      expect(requiredVariables(CleanupScheduleLambdaEnv).sort()).toEqual(['LEDGER_TABLE_NAME']);
      const parsed = parseEnv(CleanupScheduleLambdaEnv, env);
      expect(parsed.LEDGER_TABLE_NAME).toBe('dummy-ledger_table_name');
      const variables = fnOf(s, 'cleanup-schedule').fn.Properties.Environment.Variables as Record<string, unknown>;
      expect(variables.LEDGER_TABLE_NAME).toEqual({ Ref: ledgerTableId(s) });
      // Nothing it would not read (a misspelt optional variable would otherwise go unnoticed).
      const known = new Set([...Object.keys(CleanupScheduleLambdaEnv.shape), 'POWERTOOLS_SERVICE_NAME', 'NODE_OPTIONS']);
      expect(Object.keys(env).filter((name) => !known.has(name))).toEqual([]);
      expect(env.ARCHIVER_CONFIG_JSON).toBe(fnOf(s, 'cleanup').fn.Properties.Environment.Variables.ARCHIVER_CONFIG_JSON);
      expect(loadArchiverConfig({ ARCHIVER_CONFIG_JSON: env.ARCHIVER_CONFIG_JSON }).cleanup).toEqual({ trashInZoom: mode, delayMs: 12 * 3_600_000, exceptCourses: new Set(['LAW200']) });
    });

    it('may read and write cleanup# items only, and send its failures to its DLQ: nothing else', () => {
      const ledger = ledgerTableId(s);
      const { functionId, fn } = fnOf(s, 'cleanup-schedule');
      const dlq = referencedIds(invokeConfigOf(s, functionId).DestinationConfig.OnFailure.Destination)[0]!;
      expect(grantsOfCleanup(s, 'cleanup-schedule')).toEqual({ 'dynamodb:GetItem': [ledger], 'dynamodb:PutItem': [ledger], 'sqs:SendMessage': [dlq] });
      const logGroup = fn.Properties.LoggingConfig.LogGroup.Ref as string;
      expect(described(s, 'cleanup-schedule')).toEqual([
        { effect: 'Allow', actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resource: { 'Fn::GetAtt': [logGroup, 'Arn'] }, condition: undefined },
        { effect: 'Allow', actions: ['sqs:SendMessage'], resource: { 'Fn::GetAtt': [dlq, 'Arn'] }, condition: undefined },
        { effect: 'Allow', actions: ['dynamodb:GetItem', 'dynamodb:PutItem'], resource: { 'Fn::GetAtt': [ledger, 'Arn'] }, condition: leadingKeys(CLEANUP_KEY_PREFIX) },
      ].sort(byActions));
    });
  });

  describe('the clean-up run', () => {
    it('runs services/cleanup/handler.ts for 5 minutes at most, one run at a time', () => {
      const { fn } = fnOf(s, 'cleanup');
      expect(fn.Properties.Timeout).toBe(300);
      expect(CLEANUP_TIMEOUT.toSeconds()).toBe(300);
      expect(fn.Properties.ReservedConcurrentExecutions).toBe(1);
      expect(fn.Properties.Handler).toBe('index.handler');
      // The handler stops taking recordings a minute before the deadline; one in hand finishes within its lease.
      expect(FINISH_MARGIN_MS).toBeLessThan(fn.Properties.Timeout * 1000);
      expect(CLEANUP_LEASE_MS).toBeGreaterThanOrEqual(FINISH_MARGIN_MS);
    });

    it('gets every variable its env schema requires, under the names the handler reads, the Zoom secret by ARN only', () => {
      const env = environmentOf(s, 'cleanup');
      expect(requiredVariables(CleanupLambdaEnv).sort()).toEqual(['ARCHIVE_BUCKET', 'EVENT_BUS_NAME', 'LEDGER_TABLE_NAME']);
      const parsed = parseEnv(CleanupLambdaEnv, env);
      expect(parsed).toMatchObject({
        LEDGER_TABLE_NAME: 'dummy-ledger_table_name',
        EVENT_BUS_NAME: 'dummy-event_bus_name',
        ARCHIVE_BUCKET: 'dummy-archive_bucket',
        ZOOM_SECRETS_ARN: 'dummy-zoom_secrets_arn',
        ZOOM_API_REQUESTS_PER_SECOND: 10,
      });
      const known = new Set([...Object.keys(CleanupLambdaEnv.shape), 'POWERTOOLS_SERVICE_NAME', 'NODE_OPTIONS']);
      expect(Object.keys(env).filter((name) => !known.has(name))).toEqual([]);
      const variables = fnOf(s, 'cleanup').fn.Properties.Environment.Variables as Record<string, unknown>;
      expect(variables).toMatchObject({
        LEDGER_TABLE_NAME: { Ref: ledgerTableId(s) },
        EVENT_BUS_NAME: { Ref: single(s, 'AWS::Events::EventBus')[0] },
        ARCHIVE_BUCKET: { Ref: single(s, 'AWS::S3::Bucket')[0] },
        ZOOM_SECRETS_ARN: { Ref: single(s, 'AWS::SecretsManager::Secret')[0] },
      });
      expect(loadArchiverConfig({ ARCHIVER_CONFIG_JSON: env.ARCHIVER_CONFIG_JSON }).cleanup.trashInZoom).toBe(mode);
    });

    it('is invoked every 15 minutes by a schedule rule with retries and a dead-letter queue with its alarm', () => {
      const { functionId } = fnOf(s, 'cleanup');
      const rules = rulesTargeting(s, functionId);
      expect(rules).toHaveLength(1);
      const [, rule] = rules[0]!;
      expect(DEFAULT_CLEANUP_INTERVAL_MINUTES).toBe(15);
      expect(rule.Properties.ScheduleExpression).toBe('rate(15 minutes)');
      expect(rule.Properties.EventBusName).toBeUndefined(); // the default bus, where schedules live
      const [target] = rule.Properties.Targets as Record<string, any>[];
      expect(target!.RetryPolicy).toEqual({ MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 900 });
      const [queueId] = referencedIds(target!.DeadLetterConfig.Arn);
      expect(s.resources[queueId!]).toMatchObject({ Type: 'AWS::SQS::Queue', Properties: { MessageRetentionPeriod: 14 * 86400, SqsManagedSseEnabled: true } });
      expect(queueAlarms(s, queueId!)).toHaveLength(1);
      s.template.hasOutput('CleanupRunDeadLetterQueueUrl', { Value: { Ref: queueId } });
      s.template.hasOutput('CleanupRunFunctionName', { Value: { Ref: functionId } });
    });

    it('is not retried by Lambda (the next run does the same work), and a run older than the interval is dropped', () => {
      const config = invokeConfigOf(s, fnOf(s, 'cleanup').functionId);
      expect(config).toMatchObject({ MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 900 });
      expect(config.DestinationConfig).toBeUndefined();
    });

    it('alarms, to the alarm topic, on any error of the run, saying what it means for the recordings', () => {
      const { functionId } = fnOf(s, 'cleanup');
      const [topicId] = single(s, 'AWS::SNS::Topic');
      const alarms = ofType(s, 'AWS::CloudWatch::Alarm').filter(([, a]) => a.Properties.MetricName === 'Errors' && referencedIds(a.Properties.Dimensions).includes(functionId));
      expect(alarms).toHaveLength(1);
      expect(alarms[0]![1].Properties).toMatchObject({ Namespace: 'AWS/Lambda', Statistic: 'Sum', Threshold: 1, AlarmActions: [{ Ref: topicId }], OKActions: [{ Ref: topicId }] });
      expect(alarms[0]![1].Properties.AlarmDescription).toMatch(/stay in Zoom/);
    });

    it('may use its cleanup# items, the byState index, read file entries and archive objects, put events and read the Zoom secret: nothing else', () => {
      const { fn } = fnOf(s, 'cleanup');
      const ledger = ledgerTableId(s);
      const [bus] = single(s, 'AWS::Events::EventBus');
      const [secret] = single(s, 'AWS::SecretsManager::Secret');
      const [bucket] = single(s, 'AWS::S3::Bucket');
      const logGroup = fn.Properties.LoggingConfig.LogGroup.Ref as string;
      expect(grantsOfCleanup(s, 'cleanup')).toEqual({
        'dynamodb:GetItem': [ledger, ledger],
        'dynamodb:PutItem': [ledger],
        'dynamodb:Query': [ledger],
        's3:GetObject': [bucket],
        'events:PutEvents': [bus],
        'secretsmanager:GetSecretValue': [secret],
      });
      expect(described(s, 'cleanup')).toEqual(
        [
          { effect: 'Allow', actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resource: { 'Fn::GetAtt': [logGroup, 'Arn'] }, condition: undefined },
          { effect: 'Allow', actions: ['dynamodb:GetItem', 'dynamodb:PutItem'], resource: { 'Fn::GetAtt': [ledger, 'Arn'] }, condition: leadingKeys(CLEANUP_KEY_PREFIX) },
          {
            effect: 'Allow',
            actions: ['dynamodb:Query'],
            resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [ledger, 'Arn'] }, `/index/${LEDGER_KEYS.stateIndex}`]] },
            condition: undefined,
          },
          { effect: 'Allow', actions: ['dynamodb:GetItem'], resource: { 'Fn::GetAtt': [ledger, 'Arn'] }, condition: leadingKeys(ledgerFileKey('')) },
          { effect: 'Allow', actions: ['s3:GetObject'], resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucket, 'Arn'] }, '/courses/*']] }, condition: undefined },
          { effect: 'Allow', actions: ['events:PutEvents'], resource: { 'Fn::GetAtt': [bus, 'Arn'] }, condition: undefined },
          { effect: 'Allow', actions: ['secretsmanager:GetSecretValue'], resource: { Ref: secret }, condition: undefined },
        ].sort(byActions),
      );
      expect(CLEANUP_KEY_PREFIX).toBe('cleanup#');
      expect(ledgerFileKey('')).toBe('file#');
    });
  });

  it('gives neither clean-up function a way to write or delete archive objects, scan, update or delete items, or query another index', () => {
    const ledger = ledgerTableId(s);
    for (const service of ['cleanup', 'cleanup-schedule'] as const) {
      const statements = statementsOf(fnOf(s, service).policy);
      const actions = statements.flatMap(actionsOf);
      expect(actions.filter((a) => /^s3:(?!GetObject$)|^dynamodb:(Scan|DeleteItem|UpdateItem|Batch)|\*/.test(a))).toEqual([]);
      const queries = statements.filter((st) => actionsOf(st).includes('dynamodb:Query')).map((st) => st.Resource);
      expect(queries).toEqual(service === 'cleanup' ? [{ 'Fn::Join': ['', [{ 'Fn::GetAtt': [ledger, 'Arn'] }, `/index/${LEDGER_KEYS.stateIndex}`]] }] : []);
    }
    // Only these two functions may touch cleanup# items.
    const touching = ofType(s, 'AWS::IAM::Policy').filter(([, p]) => JSON.stringify(statementsOf(p)).includes(CLEANUP_KEY_PREFIX)).map(([id]) => id);
    expect(touching.sort()).toEqual([fnOf(s, 'cleanup').policyId, fnOf(s, 'cleanup-schedule').policyId].sort());
  });

  it('adds the two DLQs to the stack\'s queues, each with an alarm and an output', () => {
    const queues = ofType(s, 'AWS::SQS::Queue');
    expect(queues).toHaveLength(10);
    const outputs = s.template.toJSON().Outputs as Record<string, { Value: unknown }>;
    for (const name of CLEANUP_OUTPUTS) expect(outputs[name]).toBeDefined();
    const values = Object.values(outputs).map((o) => JSON.stringify(o.Value));
    for (const [queueId, queue] of queues) {
      expect(values).toContain(JSON.stringify({ Ref: queueId }));
      if (queue.Properties.RedrivePolicy === undefined) expect(queueAlarms(s, queueId)).toHaveLength(1);
    }
  });
});

describe('clean-up settings', () => {
  it('takes the interval, the API pace and the archive prefix from the stack props and the rules', () => {
    const courseRules = rulesWith({ trashInZoom: 'dry-run' }, { naming: { template: 'archive/{course}/{fileId}.{ext}' } });
    const s = synthesize({ courseRules, cleanupIntervalMinutes: 60, zoomApiRequestsPerSecond: 2 }, { bundle: false });
    const { functionId, fn } = fnOf(s, 'cleanup');
    const [[, rule]] = rulesTargeting(s, functionId) as [[string, Resource]];
    expect(rule.Properties.ScheduleExpression).toBe('rate(1 hour)');
    expect(rule.Properties.Targets[0].RetryPolicy.MaximumEventAgeInSeconds).toBe(3600);
    expect(invokeConfigOf(s, functionId).MaximumEventAgeInSeconds).toBe(3600);
    expect(fn.Properties.Environment.Variables.ZOOM_API_REQUESTS_PER_SECOND).toBe('2');
    const s3 = statementsOf(fnOf(s, 'cleanup').policy).filter((st) => actionsOf(st).some((a) => a.startsWith('s3:')));
    expect(s3.map((st) => [actionsOf(st), JSON.stringify(st.Resource)])).toEqual([[['s3:GetObject'], expect.stringMatching(/"\/archive\/\*"\]\]\}$/)]]);
  }, 60_000);

  it('refuses an interval that is not a whole number of minutes, at least 1', () => {
    const courseRules = rulesWith({ trashInZoom: 'on' });
    expect(() => synthesize({ courseRules, cleanupIntervalMinutes: 0 }, { bundle: false })).toThrow(/ZoomCleanup: intervalMinutes must be a whole number of minutes, at least 1/);
    expect(() => synthesize({ courseRules, cleanupIntervalMinutes: 2.5 }, { bundle: false })).toThrow(/intervalMinutes/);
  }, 60_000);
});

describe('the clean-up handlers, bundled', () => {
  it('bundle with local esbuild, with source maps and the AWS SDK inside', () => {
    const app = new App();
    const stack = new Stack(app, 'CleanupBundles');
    const alarms = new ArchiverAlarms(stack, 'Alarms');
    const cleanup = new ZoomCleanup(stack, 'ZoomCleanup', {
      bus: new EventBus(stack, 'Bus'),
      ledger: new DataTable(stack, 'Ledger', { definition: ledgerTableDefinition('ledger') }),
      archive: new ArchiveBucket(stack, 'Archive'),
      archivePrefix: 'courses/',
      zoomSecret: new Secret(stack, 'Secret'),
      alarms,
      mode: 'on',
      archiverConfigJson: JSON.stringify({ cleanup: { trashInZoom: 'on' } }),
    });
    const resources = Template.fromStack(stack).toJSON().Resources as Record<string, Resource>;
    const assembly = app.synth();
    for (const fn of [cleanup.function, cleanup.consumer.function]) {
      const id = stack.getLogicalId(fn.node.defaultChild as never);
      const assetHash = String(resources[id]!.Properties.Code.S3Key).replace(/\.zip$/, '');
      const bundle = join(assembly.directory, `asset.${assetHash}`);
      expect(existsSync(join(bundle, 'index.js.map'))).toBe(true);
      const code = readFileSync(join(bundle, 'index.js'), 'utf8');
      expect(code).not.toMatch(/require\("@aws-sdk\/(?:client|lib)-[a-z-]+"\)/);
    }
  }, 180_000);
});

function byActions(a: { actions: string[] }, b: { actions: string[] }): number {
  return a.actions.join().localeCompare(b.actions.join());
}
