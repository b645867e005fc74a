/**
 * CDK assertions on the synthesized stack: what matters for security, for Zoom and
 * for not losing events — not resource counts. Bundles the functions with local
 * esbuild (no Docker), once for the whole file.
 */
import { DELIVERY_KEY_PREFIX, DELIVERY_TTL_ATTRIBUTE } from '../../shared/adapters/delivery-guard-dynamodb';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Match } from 'aws-cdk-lib/assertions';
import { auditTableDefinition } from '../../shared/adapters/audit-dynamodb';
import { LEDGER_KEYS, ledgerTableDefinition } from '../../shared/adapters/ledger-dynamodb';
import { ZoomSecretsSchema } from '../../shared/config/secrets';
import { EVENT_SOURCE } from '../../shared/events';
import { CONSUMER_RULES, type ConsumerName } from '../../shared/events/rules';
import {
  SERVICES,
  actionsOf,
  evaluate,
  functionOf,
  grants as grantsOf,
  referencedIds,
  statementsOf,
  synthesize,
  type Resource,
  type Service,
  type Synthesized,
} from './support';

let s: Synthesized;

beforeAll(() => {
  s = synthesize();
}, 180_000); // esbuild bundles eight functions

const ofType = (type: string) => Object.entries(s.resources).filter(([, r]) => r.Type === type);
const single = (type: string): [string, Resource] => {
  const found = ofType(type);
  expect(found).toHaveLength(1);
  return found[0]!;
};

/** The clean-up functions exist only when the archiver config turns it on (zoom-cleanup.test.ts); support.ts's SERVICES are the default stack's. */
type CleanupService = 'cleanup-schedule' | 'cleanup';
const functionFor = (synth: Synthesized, service: Service | CleanupService) => functionOf(synth, service as string as Service);

const CONSUMER_SERVICE: Record<ConsumerName, Service | CleanupService> = {
  courseValidation: 'course-validation',
  uploader: 'uploader',
  subscribers: 'subscribers',
  cleanup: 'cleanup-schedule',
  audit: 'audit',
};
/** The consumers of the default stack: all but Cleanup, which is opt-in (cleanup.trashInZoom). */
const DEFAULT_CONSUMERS = (Object.keys(CONSUMER_RULES) as ConsumerName[]).filter((name) => name !== 'cleanup');
const CLEANUP_ON = { courseRules: { json: { cleanup: { trashInZoom: 'on' } }, source: 'test rules' } } as const;

/** The AWS SDK clients each handler builds. */
const SDK_CLIENTS_OF: Record<Service, string[]> = {
  webhook: ['client-eventbridge', 'client-dynamodb', 'client-secrets-manager'],
  'course-validation': ['client-eventbridge'],
  uploader: ['client-s3', 'client-dynamodb', 'client-eventbridge', 'client-secrets-manager'],
  'uploader-recovery': ['client-dynamodb', 'client-eventbridge'],
  audit: ['client-dynamodb'],
  reconciler: ['client-dynamodb', 'client-eventbridge', 'client-secrets-manager'],
  subscribers: ['client-sqs'],
  'subscriber-dispatch': ['client-sqs', 'client-secrets-manager'],
};

/** The version a client's build embeds (its user agent), read from node_modules. */
function inlinedVersionOf(client: string): string {
  const source = readFileSync(join(__dirname, '..', '..', 'node_modules', '@aws-sdk', client, 'dist-cjs', 'index.js'), 'utf8');
  const version = /var version = "([^"]+)"/.exec(source)?.[1];
  if (!version) throw new Error(`no version in @aws-sdk/${client}`);
  return version;
}

describe('functions', () => {
  it.each(SERVICES)('%s runs Node 22 on arm64 with X-Ray, JSON logs kept 30 days and source maps', (service) => {
    const { fn } = functionOf(s, service);
    expect(fn.Properties.Runtime).toBe('nodejs22.x');
    expect(fn.Properties.Architectures).toEqual(['arm64']);
    expect(fn.Properties.TracingConfig).toEqual({ Mode: 'Active' });
    expect(fn.Properties.LoggingConfig.LogFormat).toBe('JSON');
    expect(fn.Properties.Environment.Variables.NODE_OPTIONS).toBe('--enable-source-maps');
    const logGroupId = fn.Properties.LoggingConfig.LogGroup.Ref as string;
    expect(s.resources[logGroupId]).toMatchObject({ Type: 'AWS::Logs::LogGroup', Properties: { RetentionInDays: 30 } });
  });

  it.each(SERVICES)('%s was bundled by local esbuild with a source map and with the AWS SDK clients it was tested with', (service) => {
    const { fn } = functionOf(s, service);
    const assetHash = String(fn.Properties.Code.S3Key).replace(/\.zip$/, '');
    const bundle = join(s.app.outdir, `asset.${assetHash}`);
    expect(existsSync(join(bundle, 'index.js.map'))).toBe(true);
    const code = readFileSync(join(bundle, 'index.js'), 'utf8');
    expect(code).toContain('sourceMappingURL=index.js.map');
    // The SDK is inlined (infrastructure/README.md, "Bundles"): nothing is left to the runtime's older copy...
    expect(code).not.toMatch(/require\("@aws-sdk\/(?:client|lib)-[a-z-]+"\)/);
    // ...and what is inlined is this repository's node_modules copy, the one the tests ran.
    for (const client of SDK_CLIENTS_OF[service]) expect(code).toContain(`"${inlinedVersionOf(client)}"`);
  });

  it("puts hash-wasm's SHA-256 build beside the uploader's bundle, where its hash worker loads it (no node_modules in Lambda)", () => {
    const bundleOf = (service: Service) => join(s.app.outdir, `asset.${String(functionOf(s, service).fn.Properties.Code.S3Key).replace(/\.zip$/, '')}`);
    const copied = join(bundleOf('uploader'), 'sha256.umd.min.js');
    expect(readFileSync(copied)).toEqual(readFileSync(require.resolve('hash-wasm/dist/sha256.umd.min.js')));
    expect(readFileSync(join(bundleOf('uploader'), 'index.js'), 'utf8')).toContain('sha256.umd.min.js');
    // Only where it is used.
    expect(existsSync(join(bundleOf('webhook'), 'sha256.umd.min.js'))).toBe(false);
  });

  it('gives the uploader the timeout, memory, concurrency and part settings infrastructure/README.md documents', () => {
    const { fn } = functionOf(s, 'uploader');
    const variables = fn.Properties.Environment.Variables as Record<string, string>;
    // Stated here, not read from the stack's constants: "The uploader's settings, and why".
    expect(fn.Properties.Timeout).toBe(15 * 60);
    expect(fn.Properties.MemorySize).toBe(1024);
    expect(fn.Properties.ReservedConcurrentExecutions).toBe(10);
    expect(variables).toMatchObject({ ARCHIVE_PART_SIZE_MB: '8', ARCHIVE_QUEUE_SIZE: '4' });
    // Parts in flight (partSize × (queueSize + 1)) take a small share of the memory the function gets.
    expect(Number(variables.ARCHIVE_PART_SIZE_MB) * (Number(variables.ARCHIVE_QUEUE_SIZE) + 1)).toBeLessThan(fn.Properties.MemorySize / 8);
  });

  it('gives every function the environment variables its handler requires', () => {
    const variables = (service: Service) => Object.keys(functionOf(s, service).fn.Properties.Environment.Variables);
    expect(variables('webhook')).toEqual(expect.arrayContaining(['EVENT_BUS_NAME', 'ZOOM_SECRETS_ARN', 'LEDGER_TABLE_NAME']));
    expect(variables('course-validation')).toEqual(expect.arrayContaining(['EVENT_BUS_NAME']));
    expect(variables('uploader')).toEqual(expect.arrayContaining(['ARCHIVE_BUCKET', 'LEDGER_TABLE_NAME', 'EVENT_BUS_NAME', 'ZOOM_SECRETS_ARN']));
    expect(variables('audit')).toEqual(expect.arrayContaining(['AUDIT_TABLE_NAME']));
    expect(variables('uploader-recovery')).toEqual(expect.arrayContaining(['LEDGER_TABLE_NAME', 'EVENT_BUS_NAME']));
    expect(variables('reconciler')).toEqual(expect.arrayContaining(['LEDGER_TABLE_NAME', 'EVENT_BUS_NAME', 'ZOOM_SECRETS_ARN']));
    expect(variables('subscribers')).toEqual(expect.arrayContaining(['OUTBOX_QUEUE_URL']));
    // No subscriber names a key of the Zoom secret in the default stack: the dispatcher gets no ARN (subscriber-delivery.test.ts).
    expect(variables('subscriber-dispatch')).toEqual(expect.arrayContaining(['OUTBOX_QUEUE_URL']));
  });
});

describe('secrets', () => {
  it('keeps Zoom credentials out of every environment: only the secret ARN is passed', () => {
    const [secretId, secret] = single('AWS::SecretsManager::Secret');
    const secretKeys = Object.keys(ZoomSecretsSchema.shape);
    for (const service of SERVICES) {
      const variables = functionOf(s, service).fn.Properties.Environment.Variables as Record<string, unknown>;
      expect(Object.keys(variables).filter((name) => secretKeys.includes(name))).toEqual([]);
      for (const [name, value] of Object.entries(variables)) {
        if (name === 'ZOOM_SECRETS_ARN') expect(value).toEqual({ Ref: secretId });
      }
    }
    // The secret is created with a random sealing key only; the Zoom values are set by the operator.
    expect(JSON.parse(secret.Properties.GenerateSecretString.SecretStringTemplate)).toEqual({});
    expect(secret.Properties.GenerateSecretString.GenerateStringKey).toBe('TOKEN_SEALING_SECRET');
    expect(secret.Properties.SecretString).toBeUndefined();
  });
});

describe('webhook endpoint', () => {
  it('is a public Function URL (Zoom signs requests; the handler verifies the HMAC itself)', () => {
    const [, url] = single('AWS::Lambda::Url');
    expect(url.Properties.AuthType).toBe('NONE');
    expect(url.Properties.TargetFunctionArn).toEqual({ 'Fn::GetAtt': [functionOf(s, 'webhook').functionId, 'Arn'] });
    expect(url.Properties.Cors).toBeUndefined();
  });

  it('outputs the URL to give Zoom: the Function URL host plus /webhooks/zoom, without a double slash', () => {
    const [urlId] = single('AWS::Lambda::Url');
    const output = s.template.toJSON().Outputs.WebhookUrl.Value;
    expect(evaluate(output, { [`${urlId}.FunctionUrl`]: 'https://abc123.lambda-url.eu-west-1.on.aws/' })).toBe(
      'https://abc123.lambda-url.eu-west-1.on.aws/webhooks/zoom',
    );
  });
});

describe('event bus and rules', () => {
  it('archives every zoom-archiver event for replay', () => {
    const [busId] = single('AWS::Events::EventBus');
    s.template.hasResourceProperties('AWS::Events::Archive', {
      SourceArn: { 'Fn::GetAtt': [busId, 'Arn'] },
      EventPattern: { source: [EVENT_SOURCE] },
      RetentionDays: 90,
    });
  });

  it('has exactly one rule per consumer on the bus, each with the pattern from shared/events/rules.ts; none for the clean-up, which is off', () => {
    expectOneRulePerConsumer(s, DEFAULT_CONSUMERS);
    const functions = ofType('AWS::Lambda::Function').map(([, f]) => String(f.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME));
    expect(functions.filter((service) => service.startsWith('cleanup'))).toEqual([]);
  });

  it('with cleanup.trashInZoom "on", has the Cleanup consumer too, and every rule target keeps its retry policy and DLQ', () => {
    const on = synthesize(CLEANUP_ON, { bundle: false });
    expectOneRulePerConsumer(on, Object.keys(CONSUMER_RULES) as ConsumerName[]);
    const rules = Object.values(on.resources).filter((r) => r.Type === 'AWS::Events::Rule');
    // The consumers, and three schedules: recovery, reconciliation, the clean-up run.
    expect(rules).toHaveLength(Object.keys(CONSUMER_RULES).length + 3);
    for (const rule of rules) expectRetryAndDeadLetters(on, rule);
  }, 60_000);

  it('gives every rule target (consumers, the recovery and reconciliation schedules) a retry policy and an SQS dead-letter queue', () => {
    const rules = ofType('AWS::Events::Rule');
    expect(rules).toHaveLength(DEFAULT_CONSUMERS.length + 2);
    for (const [, rule] of rules) expectRetryAndDeadLetters(s, rule);
  });

  it('runs the recovery sweep every 5 minutes and the reconciliation sweep every hour', () => {
    const scheduled = ofType('AWS::Events::Rule').filter(([, r]) => r.Properties.ScheduleExpression);
    const schedules = scheduled.map(([, r]) => [r.Properties.ScheduleExpression, referencedIds(r.Properties.Targets[0].Arn)]);
    expect(schedules).toEqual(
      expect.arrayContaining([
        ['rate(5 minutes)', [functionOf(s, 'uploader-recovery').functionId]],
        ['rate(1 hour)', [functionOf(s, 'reconciler').functionId]],
      ]),
    );
    expect(scheduled).toHaveLength(2);
  });

  it.each(DEFAULT_CONSUMERS)(
    '%s: failed invocations go to the same DLQ as failed deliveries, after Lambda retries',
    (name) => {
      const { functionId } = functionFor(s, CONSUMER_SERVICE[name]);
      const configs = ofType('AWS::Lambda::EventInvokeConfig').filter(([, c]) => c.Properties.FunctionName.Ref === functionId);
      expect(configs).toHaveLength(1);
      const config = configs[0]![1].Properties;
      expect(config.MaximumRetryAttempts).toBe(2);
      expect(config.MaximumEventAgeInSeconds).toBe(6 * 3600);
      const [rule] = ofType('AWS::Events::Rule').filter(([, r]) => referencedIds(r.Properties.Targets[0].Arn).includes(functionId));
      expect(referencedIds(config.DestinationConfig.OnFailure.Destination)).toEqual(referencedIds(rule![1].Properties.Targets[0].DeadLetterConfig.Arn));
    },
  );
});

describe('dead-letter queues and alarms', () => {
  /** Every queue but the subscriber outbox, the one queue that has a dead-letter queue itself (subscriber-delivery.test.ts). */
  const deadLetterQueues = () => ofType('AWS::SQS::Queue').filter(([, q]) => q.Properties.RedrivePolicy === undefined);
  /** The dead-letter queues of rule targets: the ones EventBridge writes to. */
  const ruleDeadLetterIds = () =>
    new Set(ofType('AWS::Events::Rule').flatMap(([, r]) => (r.Properties.Targets as Record<string, any>[]).flatMap((t) => referencedIds(t.DeadLetterConfig?.Arn))));

  it('keeps dead letters 14 days, encrypted, TLS only, and lets only its rule deliver there', () => {
    // One per rule target (four consumers, two schedules), the subscriber outbox and its DLQ.
    expect(ofType('AWS::SQS::Queue')).toHaveLength(8);
    const queues = deadLetterQueues();
    expect(queues).toHaveLength(7);
    const fromRules = ruleDeadLetterIds();
    expect(fromRules.size).toBe(6);
    for (const [queueId, queue] of queues) {
      expect(queue.Properties).toMatchObject({ MessageRetentionPeriod: 14 * 86400, SqsManagedSseEnabled: true });
      const [, policy] = ofType('AWS::SQS::QueuePolicy').find(([, p]) => referencedIds(p.Properties.Queues).includes(queueId))!;
      const statements = policy.Properties.PolicyDocument.Statement as Record<string, any>[];
      expect(statements).toContainEqual(expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }));
      const eventBridge = statements.filter((st) => st.Principal?.Service === 'events.amazonaws.com');
      if (!fromRules.has(queueId)) {
        // The outbox's DLQ: SQS itself moves messages there (its redrive policy); nobody is granted to send.
        expect(eventBridge).toEqual([]);
        continue;
      }
      expect(eventBridge).toHaveLength(1);
      expect(eventBridge[0]).toMatchObject({ Effect: 'Allow', Action: 'sqs:SendMessage', Condition: { ArnEquals: { 'aws:SourceArn': expect.anything() } } });
    }
  });

  it('raises an alarm, sent to the alarm topic, as soon as any dead-letter queue holds a message', () => {
    const [topicId] = single('AWS::SNS::Topic');
    const alarms = ofType('AWS::CloudWatch::Alarm');
    for (const [queueId] of deadLetterQueues()) {
      const watching = alarms.filter(
        ([, a]) => a.Properties.MetricName === 'ApproximateNumberOfMessagesVisible' && referencedIds(a.Properties.Dimensions).includes(queueId),
      );
      expect(watching).toHaveLength(1);
      expect(watching[0]![1].Properties).toMatchObject({
        Namespace: 'AWS/SQS',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
        AlarmActions: [{ Ref: topicId }],
      });
    }
  });

  it.each(['uploader', 'webhook', 'uploader-recovery', 'reconciler', 'subscriber-dispatch'] as const)('alarms on any %s error', (service) => {
    const { functionId } = functionOf(s, service);
    const [topicId] = single('AWS::SNS::Topic');
    const alarms = ofType('AWS::CloudWatch::Alarm').filter(
      ([, a]) => a.Properties.MetricName === 'Errors' && referencedIds(a.Properties.Dimensions).includes(functionId),
    );
    expect(alarms).toHaveLength(1);
    expect(alarms[0]![1].Properties).toMatchObject({ Namespace: 'AWS/Lambda', Statistic: 'Sum', Threshold: 1, AlarmActions: [{ Ref: topicId }] });
  });

  it('lets CloudWatch (this account\'s alarms only) publish to the TLS-only alarm topic', () => {
    const [, policy] = single('AWS::SNS::TopicPolicy');
    const statements = policy.Properties.PolicyDocument.Statement as Record<string, any>[];
    expect(statements).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Action: 'sns:Publish', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Allow',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: 'sns:Publish',
        Condition: { ArnLike: { 'aws:SourceArn': expect.anything() }, StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
      }),
    );
  });
});

describe('least privilege', () => {
  const allStatements = () => ofType('AWS::IAM::Policy').flatMap(([, p]) => statementsOf(p));

  it('has no wildcard action, and no "*" action on S3 or DynamoDB', () => {
    const actions = allStatements().flatMap(actionsOf);
    expect(actions.length).toBeGreaterThan(0);
    expect(actions.filter((a) => a === '*' || /^(s3|dynamodb):\*$/.test(a) || /\*/.test(a))).toEqual([]);
  });

  it('uses Resource "*" only for X-Ray, which has no resource-level permissions', () => {
    const star = allStatements().filter((st) => [st.Resource].flat().includes('*'));
    expect(star.length).toBe(SERVICES.length);
    for (const st of star) expect(actionsOf(st).every((a) => a.startsWith('xray:'))).toBe(true);
  });

  it('gives functions their own roles, with no AWS managed policy', () => {
    const roleIds = SERVICES.map((service) => functionOf(s, service).roleId);
    expect(new Set(roleIds).size).toBe(SERVICES.length);
    for (const [, role] of ofType('AWS::IAM::Role')) {
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
      expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
        expect.objectContaining({ Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }),
      ]);
    }
  });

  const grants = (service: Service) => grantsOf(s, service);

  const ids = () => ({
    bus: single('AWS::Events::EventBus')[0],
    secret: single('AWS::SecretsManager::Secret')[0],
    bucket: single('AWS::S3::Bucket')[0],
    ledger: ledgerTableId(),
    audit: auditTableId(),
    dlq: (service: Service) => {
      const { functionId } = functionOf(s, service);
      const [, config] = ofType('AWS::Lambda::EventInvokeConfig').find(([, c]) => c.Properties.FunctionName.Ref === functionId)!;
      return referencedIds(config.Properties.DestinationConfig.OnFailure.Destination)[0]!;
    },
  });

  it('webhook: put events on the bus, read the Zoom secret, write and delete only its own replay records', () => {
    const { bus, secret, ledger } = ids();
    expect(grants('webhook')).toEqual({
      'events:PutEvents': [bus],
      'secretsmanager:GetSecretValue': [secret],
      'secretsmanager:DescribeSecret': [secret],
      'dynamodb:PutItem': [ledger],
      'dynamodb:DeleteItem': [ledger],
    });
    const dynamo = statementsOf(functionOf(s, 'webhook').policy).filter((st) => actionsOf(st).some((a) => a.startsWith('dynamodb:')));
    expect(dynamo.map((st) => st.Condition)).toEqual([{ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${DELIVERY_KEY_PREFIX}*`] } }]);
  });

  it('course validation: put events, and send its own failures to its DLQ', () => {
    const { bus, dlq } = ids();
    expect(grants('course-validation')).toEqual({ 'events:PutEvents': [bus], 'sqs:SendMessage': [dlq('course-validation')] });
  });

  it('uploader: put objects under the archive prefix, update the ledger, put events, read the secret', () => {
    const { bus, secret, bucket, ledger, dlq } = ids();
    expect(grants('uploader')).toEqual({
      's3:PutObject': [bucket],
      's3:AbortMultipartUpload': [bucket],
      's3:ListMultipartUploadParts': [bucket],
      's3:GetObject': [bucket],
      's3:ListBucket': [bucket],
      'dynamodb:GetItem': [ledger],
      'dynamodb:PutItem': [ledger],
      'dynamodb:UpdateItem': [ledger],
      'dynamodb:BatchGetItem': [ledger],
      'dynamodb:Query': [ledger],
      'events:PutEvents': [bus],
      'secretsmanager:GetSecretValue': [secret],
      'secretsmanager:DescribeSecret': [secret],
      'sqs:SendMessage': [dlq('uploader')],
    });
    const statements = statementsOf(functionOf(s, 'uploader').policy);
    const s3 = statements.filter((st) => actionsOf(st).some((a) => a.startsWith('s3:')));
    expect(s3.map((st) => [st.Resource, st.Condition])).toEqual([
      [{ 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucket, 'Arn'] }, '/courses/*']] }, undefined],
      [{ 'Fn::GetAtt': [bucket, 'Arn'] }, { StringLike: { 's3:prefix': ['courses/*'] } }],
    ]);
    const query = statements.filter((st) => actionsOf(st).includes('dynamodb:Query'));
    expect(query.map((st) => st.Resource)).toEqual([{ 'Fn::Join': ['', [{ 'Fn::GetAtt': [ledger, 'Arn'] }, `/index/${LEDGER_KEYS.groupIndex}`]] }]);
  });

  it('subscribers: send messages to the outbox queue, and its own failures to its DLQ', () => {
    const { dlq } = ids();
    const [outbox] = ofType('AWS::SQS::Queue').find(([, q]) => q.Properties.RedrivePolicy !== undefined)!;
    expect(grants('subscribers')).toEqual({ 'sqs:SendMessage': [dlq('subscribers'), outbox].sort() });
  });

  it('subscriber dispatcher: consume the outbox queue and set its messages\' visibility; no secret without env: subscribers', () => {
    const [outbox] = ofType('AWS::SQS::Queue').find(([, q]) => q.Properties.RedrivePolicy !== undefined)!;
    expect(grants('subscriber-dispatch')).toEqual({
      'sqs:ReceiveMessage': [outbox],
      'sqs:DeleteMessage': [outbox],
      'sqs:GetQueueAttributes': [outbox],
      'sqs:ChangeMessageVisibility': [outbox],
    });
  });

  it('audit: put items in the audit table, nothing else', () => {
    const { audit, dlq } = ids();
    expect(grants('audit')).toEqual({ 'dynamodb:PutItem': [audit], 'sqs:SendMessage': [dlq('audit')] });
  });

  it('recovery sweep: query the ledger by state, count re-drives on file entries only, put events', () => {
    const { bus, ledger } = ids();
    expect(grants('uploader-recovery')).toEqual({ 'dynamodb:Query': [ledger], 'dynamodb:UpdateItem': [ledger], 'events:PutEvents': [bus] });
    const update = statementsOf(functionOf(s, 'uploader-recovery').policy).filter((st) => actionsOf(st).includes('dynamodb:UpdateItem'));
    expect(update.map((st) => st.Condition)).toEqual([{ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['file#*'] } }]);
    const query = statementsOf(functionOf(s, 'uploader-recovery').policy).filter((st) => actionsOf(st).includes('dynamodb:Query'));
    expect(query.map((st) => st.Resource)).toEqual([{ 'Fn::Join': ['', [{ 'Fn::GetAtt': [ledger, 'Arn'] }, `/index/${LEDGER_KEYS.stateIndex}`]] }]);
  });
});

describe('archive bucket', () => {
  it('is private, encrypted, TLS only, versioned, and aborts incomplete multipart uploads', () => {
    const [bucketId, bucket] = single('AWS::S3::Bucket');
    expect(bucket.DeletionPolicy).toBe('Retain');
    expect(bucket.Properties.BucketEncryption).toEqual({
      ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
    });
    expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(bucket.Properties.OwnershipControls).toEqual({ Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
    expect(bucket.Properties.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    expect(bucket.Properties.LifecycleConfiguration.Rules).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Status: 'Enabled', AbortIncompleteMultipartUpload: { DaysAfterInitiation: 2 } }),
        expect.objectContaining({ Status: 'Enabled', NoncurrentVersionExpiration: { NoncurrentDays: 30 }, ExpiredObjectDeleteMarker: true }),
      ]),
    );
    s.template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: bucketId },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } } }),
        ]),
      },
    });
  });
});

/** The rules on the archiver bus: exactly one per deployed consumer, found by target, with the shared pattern and one target. */
function expectOneRulePerConsumer(synth: Synthesized, consumers: readonly ConsumerName[]): void {
  const resources = Object.entries(synth.resources);
  const [busId] = resources.find(([, r]) => r.Type === 'AWS::Events::EventBus')!;
  const busRules = resources.filter(([, r]) => r.Type === 'AWS::Events::Rule' && r.Properties.EventBusName?.Ref === busId);
  expect(busRules.map(([, r]) => r.Properties.EventPattern)).toEqual(expect.arrayContaining(consumers.map((name) => CONSUMER_RULES[name].pattern)));
  expect(busRules).toHaveLength(consumers.length);
  // Found by target, not by pattern: two consumers (Subscribers, Audit) take every event.
  for (const name of consumers) {
    const target = { 'Fn::GetAtt': [functionFor(synth, CONSUMER_SERVICE[name]).functionId, 'Arn'] };
    const feeding = busRules.filter(([, r]) => (r.Properties.Targets as { Arn: unknown }[]).some((t) => JSON.stringify(t.Arn) === JSON.stringify(target)));
    expect(feeding).toHaveLength(1);
    const [, synthesized] = feeding[0]!;
    expect(synthesized.Properties.EventPattern).toStrictEqual(CONSUMER_RULES[name].pattern);
    expect(synthesized.Properties.Targets).toHaveLength(1);
  }
}

function expectRetryAndDeadLetters(synth: Synthesized, rule: Resource): void {
  for (const target of rule.Properties.Targets as Record<string, any>[]) {
    expect(target.RetryPolicy).toEqual({ MaximumRetryAttempts: expect.any(Number), MaximumEventAgeInSeconds: expect.any(Number) });
    expect(target.RetryPolicy.MaximumRetryAttempts).toBeGreaterThan(0);
    const [queueId] = referencedIds(target.DeadLetterConfig?.Arn);
    expect(synth.resources[queueId!]?.Type).toBe('AWS::SQS::Queue');
  }
}

function ledgerTableId(): string {
  return tableFor(LEDGER_KEYS.groupIndex)[0];
}
function auditTableId(): string {
  return tableFor(auditTableDefinition('x').GlobalSecondaryIndexes![0]!.IndexName!)[0];
}
function tableFor(indexName: string): [string, Resource] {
  const found = ofType('AWS::DynamoDB::Table').filter(([, t]) =>
    (t.Properties.GlobalSecondaryIndexes as { IndexName: string }[]).some((i) => i.IndexName === indexName),
  );
  expect(found).toHaveLength(1);
  return found[0]!;
}

describe('tables', () => {
  const sortByName = <T extends { AttributeName?: string; IndexName?: string }>(list: T[]) =>
    [...list].sort((a, b) => String(a.AttributeName ?? a.IndexName).localeCompare(String(b.AttributeName ?? b.IndexName)));

  it.each([
    ['ledger', ledgerTableDefinition('x'), ledgerTableId],
    ['audit', auditTableDefinition('x'), auditTableId],
  ] as const)('%s mirrors the adapter definition, on demand, with point-in-time recovery, retained', (_name, definition, id) => {
    const table = s.resources[id()]!;
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.Properties.BillingMode).toBe('PAY_PER_REQUEST');
    expect(table.Properties.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    // The webhook's replay records expire on their own in the ledger table.
    expect(table.Properties.TimeToLiveSpecification).toEqual(_name === 'ledger' ? { AttributeName: DELIVERY_TTL_ATTRIBUTE, Enabled: true } : undefined);
    expect(table.Properties.KeySchema).toEqual(definition.KeySchema);
    expect(sortByName(table.Properties.AttributeDefinitions)).toEqual(sortByName(definition.AttributeDefinitions!));
    expect(sortByName(table.Properties.GlobalSecondaryIndexes)).toEqual(
      sortByName(definition.GlobalSecondaryIndexes!.map((i) => ({ IndexName: i.IndexName, KeySchema: i.KeySchema, Projection: i.Projection }))),
    );
  });
});

describe('outputs', () => {
  it('names everything an operator needs after deploy', () => {
    const outputs = Object.keys(s.template.toJSON().Outputs);
    expect(outputs).toEqual(
      expect.arrayContaining(['WebhookUrl', 'EventBusName', 'ArchiveBucketName', 'LedgerTableName', 'AuditTableName', 'ZoomSecretArn']),
    );
    s.template.hasOutput('EventBusName', { Value: { Ref: single('AWS::Events::EventBus')[0] } });
    s.template.hasOutput('ArchiveBucketName', { Value: { Ref: single('AWS::S3::Bucket')[0] } });
    s.template.hasOutput('LedgerTableName', { Value: { Ref: ledgerTableId() } });
    s.template.hasOutput('AuditTableName', { Value: { Ref: auditTableId() } });
    s.template.hasOutput('ZoomSecretArn', { Value: { Ref: single('AWS::SecretsManager::Secret')[0] } });
    s.template.hasOutput('ArchiveKeyPrefix', { Value: 'courses/' });
  });
});
