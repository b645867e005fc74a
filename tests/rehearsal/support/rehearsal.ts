/**
 * The cloud rehearsal: the synthesized stack's functions, each run from its built
 * asset under Node 22 with the environment the template gives it, against servers on
 * loopback that speak the AWS protocols, wired as the template wires them.
 *
 *   function (bundle, SDK unchanged) ──AWS_ENDPOINT_URL_<SERVICE>──▶ recording proxy ──▶ dynalite | s3rver | SQS | Secrets Manager | EventBridge
 *                                                                   (who called what: IAM replay)
 *   EventBridge stand-in ──the template's rules (pattern, targets, retry policy, DLQ)──▶ Lambda async invoke
 *        (EventInvokeConfig: retries, then the on-failure destination) ──▶ function
 *   SQS outbox ──the template's EventSourceMapping (batch size, ReportBatchItemFailures, max concurrency)──▶ dispatcher
 *   schedule rules ── on demand (runSchedule) ──▶ their targets, as a Scheduled Event
 *
 * What AWS itself does with the template is modelled where it decides an outcome:
 * EventBridge invokes a function only if a Lambda::Permission lets the rule do it (else
 * its retries, then the target's DLQ, if the queue's policy lets the rule write);
 * Lambda writes its on-failure record and polls its event source with the function's
 * role, so those calls are checked against that role like the function's own. Waits
 * (Lambda's retry back-off, EventBridge's) are compressed to `retryDelayMs`.
 * Every SDK call of every function is recorded (service, operation, IAM action,
 * resource ARN) and checked against its role's policies by `iamViolations`.
 * tests/rehearsal/README.md lists what is rehearsed and what is not.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { matchesPattern, validatePattern } from '../../../host/bus/event-pattern';
import type { EventPattern } from '../../../shared/events';
import { startDynalite, type DynaliteHandle } from '../../support/dynalite';
import { startEventBridgeStandIn, type EventBridgeStandIn, type StandInEntry } from '../../support/eventbridge-standin';
import type { AccountContext } from './aws-call';
import { evaluate, type IamCall, type PolicyStatement } from './iam-policy';
import { startRecordingProxy, type RecordingProxy } from './recording-proxy';
import { lambdaRuntimeEnv, LambdaFunctionRunner, type InvokeResult } from './lambda-runner';
import { startRehearsalS3rver, type RehearsalS3rver } from './rehearsal-s3rver';
import { startS3Front, type S3Front } from './s3-front';
import { startSecretsStandIn, type SecretsStandIn } from './secrets-standin';
import { startSqsStandIn, type SqsStandIn } from './sqs-standin';
import {
  IntrinsicResolver,
  physicalResources,
  resourcesOfType,
  type CfnResource,
  type CfnTemplate,
  type PseudoParameters,
  type SynthesizedApp,
} from './stack-template';

export const PSEUDO: PseudoParameters = { partition: 'aws', region: 'us-east-1', account: '123456789012' };

/** The services the functions are given endpoints for (recording proxies in front). */
export const REHEARSED_SERVICES = ['dynamodb', 's3', 'events', 'secretsmanager', 'sqs'] as const;
export type RehearsedService = (typeof REHEARSED_SERVICES)[number];

/** The SDK v3 variable per service: AWS_ENDPOINT_URL_ + the service id upper-cased, spaces as '_' (@smithy/core endpoints). */
const ENDPOINT_VARIABLES: Record<RehearsedService, string> = {
  dynamodb: 'AWS_ENDPOINT_URL_DYNAMODB',
  s3: 'AWS_ENDPOINT_URL_S3',
  events: 'AWS_ENDPOINT_URL_EVENTBRIDGE',
  secretsmanager: 'AWS_ENDPOINT_URL_SECRETS_MANAGER',
  sqs: 'AWS_ENDPOINT_URL_SQS',
};

/** Names Lambda reserves: a template setting one is refused at deploy. */
const RESERVED_VARIABLES = new Set([
  '_HANDLER', '_X_AMZN_TRACE_ID', 'AWS_DEFAULT_REGION', 'AWS_REGION', 'AWS_EXECUTION_ENV', 'AWS_LAMBDA_FUNCTION_NAME',
  'AWS_LAMBDA_FUNCTION_MEMORY_SIZE', 'AWS_LAMBDA_FUNCTION_VERSION', 'AWS_LAMBDA_INITIALIZATION_TYPE', 'AWS_LAMBDA_LOG_GROUP_NAME',
  'AWS_LAMBDA_LOG_STREAM_NAME', 'AWS_ACCESS_KEY', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN',
  'AWS_LAMBDA_RUNTIME_API', 'LAMBDA_TASK_ROOT', 'LAMBDA_RUNTIME_DIR',
]);
/** Lambda's limit for all of a function's variables together. */
const MAX_ENVIRONMENT_BYTES = 4096;

/** Loopback endpoints of the test's Zoom (the simulator): the only variables the rehearsal adds to the template's. */
export interface ZoomTestEndpoints {
  oauthTokenUrl: string;
  apiBaseUrl: string;
  /** ZOOM_DOWNLOAD_HOSTS: the simulator's host (127.0.0.1). */
  downloadHosts: string;
}

export interface RehearsalOptions {
  app: SynthesizedApp;
  /** The template to rehearse; default app.template (mutate.ts makes altered copies). */
  template?: CfnTemplate;
  /** The Zoom secret's JSON keys (the template's GenerateSecretString is not run). */
  secretValues: Record<string, string>;
  zoom: ZoomTestEndpoints;
  /** Extra variables for one function (by service name); each use is listed in the README. */
  envOverrides?: Record<string, Record<string, string>>;
  /** context.getRemainingTimeInMillis at the start of an invocation, instead of the Timeout (undefined: the Timeout). */
  remainingTimeMs?: (service: string, event: unknown) => number | undefined;
  /** A function's code from another directory than its asset (by service name): mutate.ts's altered copies. */
  assetDirs?: Record<string, string>;
  /** Lambda's and EventBridge's retry waits, compressed. Default 50 ms. */
  retryDelayMs?: number;
}

export interface RehearsalFunction {
  logicalId: string;
  service: string;
  name: string;
  arn: string;
  resource: CfnResource;
  /** The template's variables, resolved. */
  templateEnv: Record<string, string>;
  runner: LambdaFunctionRunner;
}

export interface Invocation {
  service: string;
  kind: 'sync' | 'async' | 'event-source';
  event: unknown;
  result: InvokeResult;
  at: number;
}

/** An event as the bus delivered it to targets. */
export interface BusEvent {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: any;
}

/** One call to check against a principal's policies. */
export interface ReplayedCall {
  /** The function's access key id = its logical id. */
  principal: string | undefined;
  service: string;
  operation: string;
  calls: IamCall[];
  status?: number;
  /** Made by AWS on the function's behalf (Lambda's destination write, event source polling). */
  byService?: string;
}

export interface IamViolation {
  service: string;
  functionId: string;
  operation: string;
  action: string;
  resource: string;
  reason: string;
}

export interface UnmodelledCall {
  principal: string;
  target: string;
  path: string;
}

interface Mapping {
  fn: RehearsalFunction;
  queueArn: string;
  batchSize: number;
  reportBatchItemFailures: boolean;
  maxConcurrency: number;
  inFlight: number;
}

export class Rehearsal {
  readonly functions = new Map<string, RehearsalFunction>();
  readonly invocations: Invocation[] = [];
  /** Every event the bus accepted, as delivered. */
  readonly events: BusEvent[] = [];
  /** What the rehearsal saw go wrong outside a function: a rule that could not deliver, an event for an unknown bus, a record nobody could write. */
  readonly problems: string[] = [];
  /** Calls AWS made on the functions' behalf, checked like the functions' own. */
  readonly serviceCalls: ReplayedCall[] = [];
  /** Requests to a service the rehearsal does not model (AWS_ENDPOINT_URL catch-all). */
  readonly unmodelledCalls: UnmodelledCall[];
  /** Allowed calls whose deciding statement had condition keys the request does not show (IAM replay notes; kept across clearRecords). */
  readonly notes = new Set<string>();
  readonly resolver: IntrinsicResolver;
  readonly template: CfnTemplate;
  private readonly pending = new Set<Promise<unknown>>();
  private readonly mappings: Mapping[] = [];
  private readonly retryDelayMs: number;
  private readonly options: RehearsalOptions;

  constructor(
    options: RehearsalOptions,
    readonly servers: {
      dynalite: DynaliteHandle;
      s3rver: RehearsalS3rver;
      s3Front: S3Front;
      eventBridge: EventBridgeStandIn;
      sqs: SqsStandIn;
      secrets: SecretsStandIn;
      proxies: Record<RehearsedService, RecordingProxy>;
      catchAll: Server;
      catchAllEndpoint: string;
      unmodelled: UnmodelledCall[];
      /** Each table's partition key attribute, filled at provisioning; the proxies' AccountContext holds it. */
      partitionKeys: Record<string, string>;
    },
  ) {
    this.unmodelledCalls = servers.unmodelled;
    this.template = options.template ?? options.app.template;
    this.retryDelayMs = options.retryDelayMs ?? 50;
    this.resolver = new IntrinsicResolver(physicalResources(this.template, PSEUDO, { sqs: servers.proxies.sqs.endpoint }), PSEUDO);
    this.options = options;
  }

  // ---------------------------------------------------------------------------------
  // Set-up from the template

  async provision(): Promise<void> {
    const r = this.resolver;
    for (const [id, table] of resourcesOfType(this.template, 'AWS::DynamoDB::Table')) {
      const p = r.resolve(table.Properties) as Record<string, any>;
      const tableName = String(p.TableName ?? r.ref(id));
      // What the IAM replay reads dynamodb:LeadingKeys from (the table's partition key).
      const hashKey = (p.KeySchema as { AttributeName: string; KeyType: string }[]).find((k) => k.KeyType === 'HASH')?.AttributeName;
      if (hashKey) this.servers.partitionKeys[tableName] = hashKey;
      await this.servers.dynalite.createTable({
        TableName: tableName,
        AttributeDefinitions: p.AttributeDefinitions,
        KeySchema: p.KeySchema,
        BillingMode: p.BillingMode ?? 'PROVISIONED',
        ...(p.BillingMode === 'PAY_PER_REQUEST' ? {} : { ProvisionedThroughput: p.ProvisionedThroughput ?? { ReadCapacityUnits: 5, WriteCapacityUnits: 5 } }),
        ...(p.GlobalSecondaryIndexes ? { GlobalSecondaryIndexes: p.GlobalSecondaryIndexes } : {}),
      });
    }
    for (const [id] of resourcesOfType(this.template, 'AWS::S3::Bucket')) {
      await this.servers.s3rver.client.send(new CreateBucketCommand({ Bucket: r.ref(id) }));
    }
    for (const [id, queue] of resourcesOfType(this.template, 'AWS::SQS::Queue')) {
      const p = r.resolve(queue.Properties) as Record<string, any>;
      this.servers.sqs.addQueue({
        url: r.ref(id),
        arn: r.getAtt(id, 'Arn'),
        name: r.getAtt(id, 'QueueName'),
        visibilityTimeoutSeconds: Number(p.VisibilityTimeout ?? 30),
        redrive: p.RedrivePolicy ? { deadLetterTargetArn: p.RedrivePolicy.deadLetterTargetArn, maxReceiveCount: Number(p.RedrivePolicy.maxReceiveCount) } : undefined,
      });
    }
    const secrets = resourcesOfType(this.template, 'AWS::SecretsManager::Secret');
    for (const [id] of secrets) this.servers.secrets.addSecret(r.ref(id), id, JSON.stringify(this.options.secretValues));
    for (const [id, resource] of resourcesOfType(this.template, 'AWS::Lambda::Function')) this.addFunction(id, resource);
    for (const [id, mapping] of resourcesOfType(this.template, 'AWS::Lambda::EventSourceMapping')) this.addMapping(id, mapping);
    for (const [id, rule] of resourcesOfType(this.template, 'AWS::Events::Rule')) {
      if (rule.Properties.EventPattern) {
        try {
          validatePattern(rule.Properties.EventPattern as EventPattern);
        } catch (error) {
          throw new Error(`rule ${id}: ${(error as Error).message}`);
        }
      }
      for (const target of rule.Properties.Targets ?? []) {
        for (const unsupported of ['Input', 'InputPath', 'InputTransformer', 'SqsParameters', 'RoleArn']) {
          if (target[unsupported] !== undefined) throw new Error(`rule ${id} target ${target.Id}: ${unsupported} is not rehearsed`);
        }
      }
    }
    this.servers.eventBridge.onEntry((entry) => this.route(entry));
    this.servers.sqs.onActivity((arn) => {
      for (const mapping of this.mappings) if (mapping.queueArn === arn) this.poll(mapping);
    });
  }

  private addFunction(id: string, resource: CfnResource): void {
    const r = this.resolver;
    const p = resource.Properties;
    if (p.Runtime !== 'nodejs22.x') throw new Error(`${id}: runtime ${p.Runtime}; the rehearsal runs Node 22 (nodejs22.x) only`);
    const templateEnv = Object.fromEntries(Object.entries((r.resolve(p.Environment?.Variables ?? {}) as Record<string, unknown>)).map(([k, v]) => [k, String(v)]));
    const reserved = Object.keys(templateEnv).filter((name) => RESERVED_VARIABLES.has(name));
    if (reserved.length > 0) throw new Error(`${id}: the template sets reserved variables ${reserved.join(', ')} (Lambda refuses them)`);
    const envBytes = Object.entries(templateEnv).reduce((sum, [k, v]) => sum + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
    if (envBytes > MAX_ENVIRONMENT_BYTES) throw new Error(`${id}: ${envBytes} bytes of environment variables, over Lambda's ${MAX_ENVIRONMENT_BYTES}`);
    const service = templateEnv.POWERTOOLS_SERVICE_NAME ?? id;
    const name = r.ref(id);
    const arn = r.getAtt(id, 'Arn');
    const assetDir = this.options.assetDirs?.[service] ?? this.options.app.assetDirOf(resource);
    const logGroupName = p.LoggingConfig?.LogGroup ? r.string(p.LoggingConfig.LogGroup) : `/aws/lambda/${name}`;
    const wiring: Record<string, string> = {
      AWS_ACCESS_KEY_ID: id,
      AWS_SECRET_ACCESS_KEY: 'rehearsal-secret',
      AWS_SESSION_TOKEN: `rehearsal-session-${id}`,
      // Any service without its own variable lands on the catch-all, which records it: nothing reaches the internet.
      AWS_ENDPOINT_URL: this.servers.catchAllEndpoint,
      ...Object.fromEntries(REHEARSED_SERVICES.map((s) => [ENDPOINT_VARIABLES[s], this.servers.proxies[s].endpoint])),
    };
    // The test's Zoom: only for functions that talk to Zoom (those given the Zoom secret); README says why.
    const zoomEnv: Record<string, string> =
      templateEnv.ZOOM_SECRETS_ARN !== undefined
        ? { ZOOM_OAUTH_TOKEN_URL: this.options.zoom.oauthTokenUrl, ZOOM_API_BASE_URL: this.options.zoom.apiBaseUrl, ZOOM_DOWNLOAD_HOSTS: this.options.zoom.downloadHosts }
        : {};
    const env = {
      ...lambdaRuntimeEnv({
        functionName: name,
        memoryMb: Number(p.MemorySize ?? 128),
        assetDir,
        handler: String(p.Handler),
        region: PSEUDO.region,
        logGroupName,
        logFormat: p.LoggingConfig?.LogFormat,
      }),
      ...zoomEnv,
      ...templateEnv,
      ...(this.options.envOverrides?.[service] ?? {}),
      ...wiring,
    };
    const runner = new LambdaFunctionRunner({
      logicalId: id,
      functionName: name,
      functionArn: arn,
      assetDir,
      handler: String(p.Handler),
      env,
      timeoutSeconds: Number(p.Timeout ?? 3),
      memoryMb: Number(p.MemorySize ?? 128),
      concurrency: p.ReservedConcurrentExecutions === undefined ? 10 : Number(p.ReservedConcurrentExecutions),
    });
    this.functions.set(id, { logicalId: id, service, name, arn, resource, templateEnv, runner });
  }

  private addMapping(id: string, resource: CfnResource): void {
    const p = this.resolver.resolve(resource.Properties) as Record<string, any>;
    const fn = this.functionByNameOrArn(String(p.FunctionName));
    if (!fn) throw new Error(`event source mapping ${id}: no function ${p.FunctionName}`);
    if (!String(p.EventSourceArn).startsWith(`arn:${PSEUDO.partition}:sqs:`)) throw new Error(`event source mapping ${id}: only SQS sources are rehearsed`);
    if (p.Enabled === false) return;
    this.mappings.push({
      fn,
      queueArn: String(p.EventSourceArn),
      batchSize: Number(p.BatchSize ?? 10),
      reportBatchItemFailures: (p.FunctionResponseTypes ?? []).includes('ReportBatchItemFailures'),
      maxConcurrency: Number(p.ScalingConfig?.MaximumConcurrency ?? 5),
      inFlight: 0,
    });
  }

  // ---------------------------------------------------------------------------------
  // Looking things up

  fn(service: string): RehearsalFunction {
    const found = [...this.functions.values()].filter((f) => f.service === service);
    if (found.length !== 1) throw new Error(`expected one function of service ${service}, found ${found.length}`);
    return found[0]!;
  }

  functionByNameOrArn(nameOrArn: string): RehearsalFunction | undefined {
    const bare = nameOrArn.replace(/:\$LATEST$/, '');
    return [...this.functions.values()].find((f) => f.name === bare || f.arn === bare);
  }

  /** The physical name / ARN / URL of a resource. */
  ref(logicalId: string): string {
    return this.resolver.ref(logicalId);
  }

  /** The logical id of the only resource of `type` (optionally whose id starts with `prefix`). */
  onlyResource(type: string, prefix = ''): string {
    const found = resourcesOfType(this.template, type).filter(([id]) => id.startsWith(prefix));
    if (found.length !== 1) throw new Error(`expected one ${type}${prefix ? ` ${prefix}*` : ''}, found ${found.length}`);
    return found[0]![0];
  }

  /** The ARN of the only resource of `type` whose logical id starts with `prefix` and passes `filter`. */
  onlyResourceArn(type: string, prefix: string, filter: (id: string) => boolean = () => true): string {
    const found = resourcesOfType(this.template, type).filter(([id]) => id.startsWith(prefix) && filter(id));
    if (found.length !== 1) throw new Error(`expected one ${type} ${prefix}*, found ${found.map(([id]) => id).join(', ') || 'none'}`);
    return this.resolver.getAtt(found[0]![0], 'Arn');
  }

  get bucket(): string {
    return this.ref(this.onlyResource('AWS::S3::Bucket'));
  }

  tableName(prefix: string): string {
    return this.ref(this.onlyResource('AWS::DynamoDB::Table', prefix));
  }

  get s3(): S3Client {
    return this.servers.s3rver.client;
  }

  get dynamoDb(): DynamoDBClient {
    return this.servers.dynalite.client;
  }

  /** The dead-letter queue of a consumer function: its EventInvokeConfig's on-failure destination. */
  deadLetterQueueArnOf(service: string): string {
    const fn = this.fn(service);
    const config = this.invokeConfig(fn);
    const destination = config?.DestinationConfig?.OnFailure?.Destination;
    if (typeof destination !== 'string') throw new Error(`${service} has no on-failure destination`);
    return destination;
  }

  queueMessages(arn: string) {
    return this.servers.sqs.messages(arn);
  }

  eventsOf(detailType: string): BusEvent[] {
    return this.events.filter((e) => e['detail-type'] === detailType);
  }

  invocationsOf(service: string): Invocation[] {
    return this.invocations.filter((i) => i.service === service);
  }

  // ---------------------------------------------------------------------------------
  // Invoking

  /** A synchronous invocation (RequestResponse), e.g. the Function URL's. */
  async invoke(service: string, event: unknown): Promise<InvokeResult> {
    return this.run(this.fn(service), event, 'sync');
  }

  /**
   * A request to the stack's Function URL: refused with 403 (as Lambda answers) unless the URL's
   * AuthType is NONE and resource policies let anyone invoke it through the URL
   * (lambda:InvokeFunctionUrl, and lambda:InvokeFunction with InvokedViaFunctionUrl); else the
   * target function is invoked synchronously with the event.
   */
  async invokeFunctionUrl(event: unknown): Promise<InvokeResult> {
    const urls = resourcesOfType(this.template, 'AWS::Lambda::Url');
    if (urls.length !== 1) throw new Error(`expected one Function URL, found ${urls.length}`);
    const [, url] = urls[0]!;
    const fn = this.functionByNameOrArn(this.resolver.string(url.Properties.TargetFunctionArn));
    if (!fn) throw new Error('the Function URL targets no function of the stack');
    const permitted = (action: string, extra: (p: Record<string, any>) => boolean) =>
      resourcesOfType(this.template, 'AWS::Lambda::Permission').some(([, permission]) => {
        const p = this.resolver.resolve(permission.Properties) as Record<string, any>;
        return this.functionByNameOrArn(String(p.FunctionName)) === fn && p.Action === action && p.Principal === '*' && extra(p);
      });
    const problems = [
      url.Properties.AuthType === 'NONE' ? '' : `AuthType ${url.Properties.AuthType}: Zoom cannot sign AWS requests`,
      permitted('lambda:InvokeFunctionUrl', (p) => p.FunctionUrlAuthType === 'NONE') ? '' : 'no permission lets anyone lambda:InvokeFunctionUrl',
      permitted('lambda:InvokeFunction', (p) => p.InvokedViaFunctionUrl === true) ? '' : 'no permission lets anyone lambda:InvokeFunction via the URL',
    ].filter(Boolean);
    if (problems.length > 0) {
      const result: InvokeResult = { ok: true, result: { statusCode: 403, body: JSON.stringify({ Message: 'Forbidden' }), problems }, durationMs: 0 };
      this.invocations.push({ service: fn.service, kind: 'sync', event, result, at: Date.now() });
      return result;
    }
    return this.run(fn, event, 'sync');
  }

  /** What a schedule rule does when it fires: a Scheduled Event to each of its targets (retry policy and DLQ as for any rule). */
  runSchedule(service: string): BusEvent {
    const fn = this.fn(service);
    const rules = resourcesOfType(this.template, 'AWS::Events::Rule').filter(
      ([, rule]) => rule.Properties.ScheduleExpression && (rule.Properties.Targets ?? []).some((t: { Arn: unknown }) => this.resolver.string(t.Arn) === fn.arn),
    );
    if (rules.length !== 1) throw new Error(`expected one schedule rule targeting ${service}, found ${rules.length}`);
    const [ruleId, rule] = rules[0]!;
    const ruleArn = this.resolver.getAtt(ruleId, 'Arn');
    const event: BusEvent = {
      version: '0',
      id: randomUUID(),
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: PSEUDO.account,
      time: isoSeconds(new Date()),
      region: PSEUDO.region,
      resources: [ruleArn],
      detail: {},
    };
    for (const target of rule.Properties.Targets) this.track(this.deliverToTarget(ruleId, target, event));
    return event;
  }

  /** Resolves once nothing is in flight: no routing, no invocation (with its retries), no visible message on a polled queue. */
  async settle(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let quietChecks = 0;
    while (quietChecks < 2) {
      if (Date.now() > deadline) throw new Error(`the rehearsal did not settle within ${timeoutMs} ms (${this.pending.size} in flight)`);
      if (this.pending.size > 0) {
        quietChecks = 0;
        await Promise.race([Promise.allSettled([...this.pending]), sleep(200)]);
        continue;
      }
      const now = Date.now();
      const visible = this.mappings.some((m) => this.servers.sqs.messages(m.queueArn).some((msg) => msg.visibleAt <= now));
      if (visible) {
        quietChecks = 0;
        for (const mapping of this.mappings) this.poll(mapping);
      } else quietChecks++;
      await sleep(100);
    }
  }

  private track<T>(promise: Promise<T>): Promise<T> {
    const tracked = promise.catch((error: unknown) => {
      this.problems.push(`internal: ${(error as Error).stack ?? String(error)}`);
    }) as Promise<unknown>;
    this.pending.add(tracked);
    void tracked.finally(() => this.pending.delete(tracked));
    return promise;
  }

  private async run(fn: RehearsalFunction, event: unknown, kind: Invocation['kind']): Promise<InvokeResult> {
    const remainingTimeMs = this.options.remainingTimeMs?.(fn.service, event);
    const result = await fn.runner.invoke(event, { remainingTimeMs });
    this.invocations.push({ service: fn.service, kind, event, result, at: Date.now() });
    return result;
  }

  // ---------------------------------------------------------------------------------
  // EventBridge

  private busOf(entry: StandInEntry): string | undefined {
    const given = entry.EventBusName ?? 'default';
    for (const [id] of resourcesOfType(this.template, 'AWS::Events::EventBus')) {
      if (given === this.ref(id) || given === this.resolver.getAtt(id, 'Arn')) return id;
    }
    return undefined;
  }

  private route(entry: StandInEntry): void {
    const busId = this.busOf(entry);
    const event: BusEvent = {
      version: '0',
      id: entry.eventId,
      'detail-type': String(entry.DetailType),
      source: String(entry.Source),
      account: PSEUDO.account,
      time: isoSeconds(entry.Time === undefined ? new Date() : new Date(typeof entry.Time === 'number' ? entry.Time * 1000 : entry.Time)),
      region: PSEUDO.region,
      resources: entry.Resources ?? [],
      detail: entry.detail,
    };
    this.events.push(event);
    if (!busId) {
      this.problems.push(`PutEvents to bus ${entry.EventBusName ?? '(default)'}, not the stack's: ${event['detail-type']} reaches no rule`);
      return;
    }
    if (entry.detail === undefined) this.problems.push(`PutEvents entry ${event['detail-type']} has a Detail that is not JSON`);
    for (const [ruleId, rule] of resourcesOfType(this.template, 'AWS::Events::Rule')) {
      const p = rule.Properties;
      if (!p.EventPattern || p.State === 'DISABLED') continue;
      const ruleBus = p.EventBusName === undefined ? undefined : this.resolver.string(p.EventBusName);
      if (ruleBus !== this.ref(busId) && ruleBus !== this.resolver.getAtt(busId, 'Arn')) continue;
      if (!matchesPattern(p.EventPattern as EventPattern, event)) continue;
      for (const target of p.Targets ?? []) this.track(this.deliverToTarget(ruleId, target, event));
    }
  }

  /** EventBridge → a Lambda target: invoked asynchronously if a permission allows the rule; else retries, then the target's DLQ. */
  private async deliverToTarget(ruleId: string, target: Record<string, any>, event: BusEvent): Promise<void> {
    const ruleArn = this.resolver.getAtt(ruleId, 'Arn');
    const targetArn = this.resolver.string(target.Arn);
    const retries = Number(target.RetryPolicy?.MaximumRetryAttempts ?? 185);
    let refusal = '';
    for (let attempt = 0; attempt <= Math.min(retries, 20); attempt++) {
      if (attempt > 0) await sleep(Math.min(this.retryDelayMs, 10));
      const fn = this.functionByNameOrArn(targetArn);
      refusal = !fn ? `no function ${targetArn}` : this.invokePermissionProblem(fn, ruleArn);
      if (!refusal) {
        this.asyncInvoke(fn!, event);
        return;
      }
    }
    const dlq = target.DeadLetterConfig?.Arn ? this.resolver.string(target.DeadLetterConfig.Arn) : undefined;
    if (!dlq) {
      this.problems.push(`rule ${ruleId} could not invoke ${targetArn} (${refusal}) and has no DLQ: event ${event.id} lost`);
      return;
    }
    const denied = this.queuePolicyProblem(dlq, 'events.amazonaws.com', ruleArn);
    if (denied) {
      this.problems.push(`rule ${ruleId} could not invoke ${targetArn} (${refusal}) nor write to its DLQ (${denied}): event ${event.id} lost`);
      return;
    }
    this.servers.sqs.send(dlq, JSON.stringify(event), {
      senderId: 'AIDAEVENTBRIDGE',
      messageAttributes: {
        RULE_ARN: { DataType: 'String', StringValue: ruleArn },
        TARGET_ARN: { DataType: 'String', StringValue: targetArn },
        ERROR_CODE: { DataType: 'String', StringValue: 'NO_PERMISSIONS' },
        ERROR_MESSAGE: { DataType: 'String', StringValue: refusal },
      },
    });
  }

  /** Whether a Lambda::Permission lets this rule (events.amazonaws.com) invoke the function; '' when it does. */
  private invokePermissionProblem(fn: RehearsalFunction, ruleArn: string): string {
    const allowed = resourcesOfType(this.template, 'AWS::Lambda::Permission').some(([, permission]) => {
      const p = this.resolver.resolve(permission.Properties) as Record<string, any>;
      const target = String(p.FunctionName).replace(/:\$LATEST$/, '');
      return (
        (target === fn.arn || target === fn.name) &&
        (p.Action === 'lambda:InvokeFunction' || p.Action === 'lambda:*') &&
        p.Principal === 'events.amazonaws.com' &&
        (p.SourceArn === undefined || p.SourceArn === ruleArn)
      );
    });
    return allowed ? '' : `no Lambda::Permission lets events.amazonaws.com invoke ${fn.name} from ${ruleArn}`;
  }

  /** Whether the queue's policy lets `servicePrincipal` (from `sourceArn`) send to it; '' when it does. */
  private queuePolicyProblem(queueArn: string, servicePrincipal: string, sourceArn: string): string {
    const statements = resourcesOfType(this.template, 'AWS::SQS::QueuePolicy')
      .map(([, policy]) => this.resolver.resolve(policy.Properties) as Record<string, any>)
      .filter((p) => (p.Queues as string[]).some((url) => this.servers.sqs.queueByArn(queueArn).url === url))
      .flatMap((p) => p.PolicyDocument.Statement as Record<string, any>[])
      .filter((s) => principalMatches(s.Principal, servicePrincipal));
    const verdict = evaluate(statements as PolicyStatement[], {
      action: 'sqs:SendMessage',
      resource: queueArn,
      context: { 'aws:SourceArn': sourceArn, 'aws:SecureTransport': 'true', 'aws:PrincipalServiceName': servicePrincipal },
    });
    return verdict.allowed ? '' : `the queue policy does not let ${servicePrincipal} send (${verdict.reason})`;
  }

  // ---------------------------------------------------------------------------------
  // Lambda's asynchronous invocation and event source mapping

  private invokeConfig(fn: RehearsalFunction): Record<string, any> | undefined {
    const found = resourcesOfType(this.template, 'AWS::Lambda::EventInvokeConfig')
      .map(([, c]) => this.resolver.resolve(c.Properties) as Record<string, any>)
      .filter((c) => this.functionByNameOrArn(String(c.FunctionName)) === fn);
    return found[0];
  }

  /** Lambda's async queue: the invocation, its retries (EventInvokeConfig), then the on-failure destination. */
  private asyncInvoke(fn: RehearsalFunction, event: unknown): void {
    this.track(
      (async () => {
        const config = this.invokeConfig(fn);
        const retries = Number(config?.MaximumRetryAttempts ?? 2);
        let last: InvokeResult | undefined;
        for (let attempt = 0; attempt <= retries; attempt++) {
          if (attempt > 0) await sleep(this.retryDelayMs * attempt);
          last = await this.run(fn, event, 'async');
          if (last.ok) return;
        }
        const destination = config?.DestinationConfig?.OnFailure?.Destination as string | undefined;
        if (!destination) return; // dropped, as Lambda drops it: the function's Errors metric and log say so
        if (!destination.startsWith(`arn:${PSEUDO.partition}:sqs:`)) throw new Error(`${fn.service}: on-failure destination ${destination} is not a queue; not rehearsed`);
        const record = {
          version: '1.0',
          timestamp: new Date().toISOString(),
          requestContext: { requestId: randomUUID(), functionArn: `${fn.arn}:$LATEST`, condition: 'RetriesExhausted', approximateInvokeCount: retries + 1 },
          requestPayload: event,
          responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
          responsePayload: last && !last.ok ? last.error : null,
        };
        // Lambda writes the record with the function's execution role.
        const call: ReplayedCall = {
          principal: fn.logicalId,
          service: 'sqs',
          operation: 'SendMessage (on-failure destination)',
          byService: 'lambda.amazonaws.com',
          calls: [{ action: 'sqs:SendMessage', resource: destination }],
        };
        this.serviceCalls.push(call);
        if (this.denialsOf(call).length > 0) {
          this.problems.push(`${fn.service}: Lambda could not write the on-failure record to ${destination} (the role may not sqs:SendMessage): the event is lost`);
          return;
        }
        this.servers.sqs.send(destination, JSON.stringify(record), { senderId: 'AIDALAMBDA' });
      })(),
    );
  }

  private poll(mapping: Mapping): void {
    while (mapping.inFlight < mapping.maxConcurrency) {
      const batch = this.servers.sqs.receive(mapping.queueArn, mapping.batchSize);
      if (batch.length === 0) return;
      mapping.inFlight++;
      const { fn, queueArn } = mapping;
      this.serviceCalls.push({
        principal: fn.logicalId,
        service: 'sqs',
        operation: 'ReceiveMessage (event source mapping)',
        byService: 'lambda.amazonaws.com',
        calls: [
          { action: 'sqs:ReceiveMessage', resource: queueArn },
          { action: 'sqs:GetQueueAttributes', resource: queueArn },
        ],
      });
      const event = {
        Records: batch.map((m) => ({
          messageId: m.messageId,
          receiptHandle: m.receiptHandle,
          body: m.body,
          attributes: {
            ApproximateReceiveCount: String(m.receiveCount),
            SentTimestamp: String(m.sentTimestamp),
            SenderId: m.senderId,
            ApproximateFirstReceiveTimestamp: String(m.firstReceiveTimestamp ?? m.sentTimestamp),
          },
          messageAttributes: {},
          md5OfBody: m.md5OfBody,
          eventSource: 'aws:sqs',
          eventSourceARN: queueArn,
          awsRegion: PSEUDO.region,
        })),
      };
      this.track(
        (async () => {
          try {
            const result = await this.run(fn, event, 'event-source');
            if (!result.ok) return; // the whole batch comes back after the visibility timeout
            let failed = new Set<string>();
            if (mapping.reportBatchItemFailures) {
              const failures = (result.result as { batchItemFailures?: { itemIdentifier?: string }[] } | null)?.batchItemFailures;
              if (failures !== undefined && !Array.isArray(failures)) return; // an invalid response fails the batch
              failed = new Set((failures ?? []).map((f) => String(f.itemIdentifier)));
            }
            const deleted = batch.filter((m) => !failed.has(m.messageId));
            if (deleted.length > 0) {
              this.serviceCalls.push({
                principal: fn.logicalId,
                service: 'sqs',
                operation: 'DeleteMessageBatch (event source mapping)',
                byService: 'lambda.amazonaws.com',
                calls: [{ action: 'sqs:DeleteMessage', resource: queueArn }],
              });
            }
            for (const m of deleted) if (m.receiptHandle) this.servers.sqs.deleteByReceipt(queueArn, m.receiptHandle);
          } finally {
            mapping.inFlight--;
            this.poll(mapping);
          }
        })(),
      );
    }
  }

  // ---------------------------------------------------------------------------------
  // IAM replay

  /** The identity-policy statements of a function's role (AWS::IAM::Policy on it and the role's inline policies), resolved. */
  roleStatements(fn: RehearsalFunction): PolicyStatement[] {
    const roleRef = fn.resource.Properties.Role;
    const roleId = roleRef?.['Fn::GetAtt']?.[0] as string | undefined;
    if (!roleId || !this.template.Resources[roleId]) throw new Error(`${fn.logicalId}: its role is not a resource of the stack`);
    const role = this.template.Resources[roleId]!;
    if ((role.Properties.ManagedPolicyArns ?? []).length > 0) throw new Error(`${fn.logicalId}: managed policies are not rehearsed (${JSON.stringify(role.Properties.ManagedPolicyArns)})`);
    const inline = (role.Properties.Policies ?? []).flatMap((p: { PolicyDocument: { Statement: unknown[] } }) => p.PolicyDocument.Statement);
    const attached = resourcesOfType(this.template, 'AWS::IAM::Policy')
      .filter(([, policy]) => (policy.Properties.Roles ?? []).some((ref: { Ref?: string }) => ref.Ref === roleId))
      .flatMap(([, policy]) => policy.Properties.PolicyDocument.Statement as unknown[]);
    return this.resolver.resolve([...inline, ...attached]) as PolicyStatement[];
  }

  /** Deny statements of the bucket's policy (resource-based; its Allow statements grant nothing the role does not). */
  private bucketDenyStatements(): (PolicyStatement & { Principal?: unknown })[] {
    return resourcesOfType(this.template, 'AWS::S3::BucketPolicy')
      .flatMap(([, policy]) => (this.resolver.resolve(policy.Properties.PolicyDocument) as { Statement: (PolicyStatement & { Principal?: unknown })[] }).Statement)
      .filter((s) => s.Effect === 'Deny');
  }

  private denialsOf(call: ReplayedCall): IamViolation[] {
    const fn = call.principal === undefined ? undefined : this.functions.get(call.principal);
    const out: IamViolation[] = [];
    for (const c of call.calls) {
      const principal = call.principal ?? '(unsigned)';
      const base = { service: fn?.service ?? principal, functionId: principal, operation: call.operation, action: c.action, resource: c.resource };
      if (!fn) {
        out.push({ ...base, reason: `principal ${principal} is no function of the stack` });
        continue;
      }
      // What the SDK's connection shows: TLS (1.3) to every AWS endpoint.
      const context = { 'aws:SecureTransport': 'true', 's3:TlsVersion': '1.3', ...(c.context ?? {}) };
      const verdict = evaluate(this.roleStatements(fn), { action: c.action, resource: c.resource, context });
      if (!verdict.allowed) {
        out.push({ ...base, reason: verdict.reason });
        continue;
      }
      if (verdict.unevaluatedConditions?.length) this.notes.add(`${fn.service} ${c.action}: allowed with condition keys the request does not show (${verdict.unevaluatedConditions.join(', ')})`);
      if (call.service === 's3') {
        // The bucket policy is a resource policy: its explicit Deny statements apply to every principal.
        const denies = this.bucketDenyStatements().filter((s) => principalMatches(s.Principal, '*'));
        const verdictOfBucket = evaluate(denies, { action: c.action, resource: c.resource, context });
        if (!verdictOfBucket.allowed && verdictOfBucket.statement) out.push({ ...base, reason: `the bucket policy: ${verdictOfBucket.reason}` });
      }
    }
    return out;
  }

  /** Every recorded call that the caller's role (or a resource policy) would deny, and every call the rehearsal could not check. */
  iamViolations(): IamViolation[] {
    const out: IamViolation[] = [];
    for (const service of REHEARSED_SERVICES) {
      const proxy = this.servers.proxies[service];
      for (const recorded of proxy.recorded) {
        if (recorded.calls.length === 0) {
          const principal = recorded.principal ?? '(unsigned)';
          out.push({ service: principal, functionId: principal, operation: `${service}:${recorded.operation}`, action: '?', resource: '?', reason: 'the call was recorded without an IAM action' });
        }
        out.push(...this.denialsOf(recorded));
      }
      for (const error of proxy.errors) {
        out.push({ service: '?', functionId: '?', operation: service, action: '?', resource: '?', reason: `the recording proxy could not read a request: ${error.message}` });
      }
    }
    for (const call of this.serviceCalls) out.push(...this.denialsOf(call));
    for (const call of this.unmodelledCalls) {
      out.push({ service: call.principal, functionId: call.principal, operation: call.target, action: '?', resource: call.path, reason: 'a call to a service the rehearsal does not model (AWS_ENDPOINT_URL catch-all)' });
    }
    return out;
  }

  /** Every recorded call, for reports. */
  recordedCalls(): ReplayedCall[] {
    return [...REHEARSED_SERVICES.flatMap((s) => this.servers.proxies[s].recorded), ...this.serviceCalls];
  }

  /** Forgets recorded calls, invocations, events and problems (between scenarios). */
  clearRecords(): void {
    for (const s of REHEARSED_SERVICES) this.servers.proxies[s].clear();
    this.serviceCalls.length = 0;
    this.unmodelledCalls.length = 0;
    this.invocations.length = 0;
    this.events.length = 0;
    this.problems.length = 0;
  }

  async stop(): Promise<void> {
    await Promise.allSettled([...this.functions.values()].map((f) => f.runner.stop()));
    const { proxies, dynalite, s3rver, s3Front, eventBridge, sqs, secrets, catchAll } = this.servers;
    await Promise.allSettled(REHEARSED_SERVICES.map((s) => proxies[s].stop()));
    await Promise.allSettled([
      dynalite.stop(),
      s3rver.stop(),
      s3Front.stop(),
      eventBridge.stop(),
      sqs.stop(),
      secrets.stop(),
      new Promise<void>((resolve) => {
        catchAll.close(() => resolve());
        catchAll.closeAllConnections();
      }),
    ]);
  }
}

function principalMatches(principal: unknown, wanted: string): boolean {
  if (principal === '*') return true;
  if (!principal || typeof principal !== 'object') return false;
  const values = Object.values(principal as Record<string, unknown>).flatMap((v) => [v].flat().map(String));
  return values.includes('*') || values.includes(wanted);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const isoSeconds = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Starts every server, the proxies in front, provisions the template's resources and the functions (not yet started: cold at first use). */
export async function startRehearsal(options: RehearsalOptions): Promise<Rehearsal> {
  const template = options.template ?? options.app.template;
  const functionIds = resourcesOfType(template, 'AWS::Lambda::Function').map(([id]) => id);
  const started: { stop(): Promise<void> }[] = [];
  try {
    const dynalite = await startDynalite();
    started.push(dynalite);
    const s3rver = await startRehearsalS3rver(functionIds);
    started.push(s3rver);
    const s3Front = await startS3Front(s3rver.endpoint);
    started.push(s3Front);
    const eventBridge = await startEventBridgeStandIn();
    started.push(eventBridge);
    const sqs = await startSqsStandIn();
    started.push(sqs);
    const secrets = await startSecretsStandIn();
    started.push(secrets);
    const upstreams: Record<RehearsedService, string> = {
      dynamodb: dynalite.endpoint,
      s3: s3Front.endpoint,
      events: eventBridge.endpoint,
      secretsmanager: secrets.endpoint,
      sqs: sqs.endpoint,
    };
    const proxies = {} as Record<RehearsedService, RecordingProxy>;
    const partitionKeys: Record<string, string> = {};
    for (const service of REHEARSED_SERVICES) {
      proxies[service] = await startRecordingProxy({ service, upstream: upstreams[service], ctx: { ...PSEUDO, partitionKeys } });
      started.push(proxies[service]);
    }
    const unmodelled: UnmodelledCall[] = [];
    const catchAll = createServer((req, res) => {
      req.resume();
      const credential = /Credential=([^/]+)\//.exec(String(req.headers.authorization ?? ''))?.[1] ?? '?';
      unmodelled.push({ principal: credential, target: String(req.headers['x-amz-target'] ?? req.headers.host ?? '?'), path: String(req.url) });
      const body = JSON.stringify({ __type: 'NotRehearsed', message: 'the rehearsal does not model this service' });
      res.writeHead(400, { 'content-type': 'application/x-amz-json-1.1', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
    await new Promise<void>((resolve) => catchAll.listen(0, '127.0.0.1', resolve));
    started.push({ stop: () => new Promise<void>((resolve) => catchAll.close(() => resolve())) });
    const catchAllEndpoint = `http://127.0.0.1:${(catchAll.address() as AddressInfo).port}`;
    const rehearsal = new Rehearsal(options, { dynalite, s3rver, s3Front, eventBridge, sqs, secrets, proxies, catchAll, catchAllEndpoint, unmodelled, partitionKeys });
    await rehearsal.provision();
    return rehearsal;
  } catch (error) {
    await Promise.allSettled(started.map((s) => s.stop()));
    throw error;
  }
}

/** A random value of `length` letters and digits, as the template's GenerateSecretString (ExcludePunctuation) makes. */
export function generatedSecret(length = 48): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return [...randomBytes(length)].map((b) => alphabet[b % alphabet.length]).join('');
}
