/**
 * The rehearsal's view of the deployed stack: synthesize the real app WITH bundling into
 * a temporary cdk.out (the ArchiverStack as infrastructure/bin/app.ts builds it), read
 * the template and the asset manifest (each function's asset directory, its index.js),
 * and resolve the template's intrinsic functions to the physical names the rehearsal
 * chose, as CloudFormation would to the names it created.
 *
 * Physical names: `ZoomArchiver-<LogicalId>` (tables, queues, functions, roles, the
 * bus), the bucket in lower case, the secret's ARN with CloudFormation's 6-character
 * suffix; queue URLs on the SQS endpoint the functions are given (the SDK sends a
 * request to its QueueUrl's host, so the URL must point at the rehearsal's SQS).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { App } from 'aws-cdk-lib';
import { ArchiverStack, type ArchiverStackProps } from '../../../infrastructure/archiver-stack';

export const STACK_NAME = 'ZoomArchiver';

export interface CfnResource {
  Type: string;
  Properties: Record<string, any>;
  DependsOn?: string | string[];
  Metadata?: Record<string, unknown>;
  Condition?: string;
}

export interface CfnTemplate {
  Resources: Record<string, CfnResource>;
  Outputs?: Record<string, { Value: unknown }>;
  Conditions?: Record<string, unknown>;
  Parameters?: Record<string, unknown>;
}

export interface SynthesizedApp {
  outdir: string;
  /** The template as synthesized (never mutated: tests mutate a copy, see mutate.ts). */
  template: CfnTemplate;
  /** The directory of a function's asset (its Code.S3Key's asset in cdk.out). */
  assetDirOf(fn: CfnResource): string;
  /** Removes the temporary cdk.out. */
  dispose(): void;
}

/** `new App({ outdir })` + the ArchiverStack, bundled by local esbuild as for a deploy. */
export function synthesizeApp(props: ArchiverStackProps): SynthesizedApp {
  const outdir = mkdtempSync(path.join(tmpdir(), 'zoom-archiver-rehearsal-cdk-'));
  const app = new App({ outdir });
  new ArchiverStack(app, STACK_NAME, { description: 'zoom-archiver: Zoom cloud recordings to S3, exactly once', ...props });
  app.synth();
  const template = JSON.parse(readFileSync(path.join(outdir, `${STACK_NAME}.template.json`), 'utf8')) as CfnTemplate;
  const assets = JSON.parse(readFileSync(path.join(outdir, `${STACK_NAME}.assets.json`), 'utf8')) as {
    files: Record<string, { source: { path: string; packaging?: string } }>;
  };
  return {
    outdir,
    template,
    assetDirOf(fn) {
      const key = fn.Properties.Code?.S3Key;
      if (typeof key !== 'string') throw new Error(`function code is not an asset: ${JSON.stringify(fn.Properties.Code)}`);
      const hash = key.replace(/\.zip$/, '');
      const asset = assets.files[hash];
      if (!asset) throw new Error(`no asset ${hash} in the asset manifest`);
      return path.join(outdir, asset.source.path);
    },
    dispose: () => rmSync(outdir, { recursive: true, force: true }),
  };
}

export interface PseudoParameters {
  partition: string;
  region: string;
  account: string;
}

export interface PhysicalResource {
  ref: string;
  attributes: Record<string, string>;
}

/** Where the functions reach each service; queue URLs are built on `sqs`. */
export interface ServiceEndpoints {
  sqs: string;
}

/**
 * The physical name and attributes of every resource (Ref, Fn::GetAtt), as
 * CloudFormation would return them for the types the stack uses. A GetAtt of an
 * attribute not listed here is an error (the rehearsal would not know what to give).
 */
export function physicalResources(template: CfnTemplate, pseudo: PseudoParameters, endpoints: ServiceEndpoints): Record<string, PhysicalResource> {
  const { partition, region, account } = pseudo;
  const out: Record<string, PhysicalResource> = {};
  const arn = (service: string, rest: string, withRegion = true) => `arn:${partition}:${service}:${withRegion ? region : ''}:${withRegion ? account : ''}:${rest}`;
  const name = (id: string) => `${STACK_NAME}-${id}`.slice(0, 64);
  // Buses first: a rule's ARN names its bus.
  for (const [id, r] of Object.entries(template.Resources)) {
    if (r.Type !== 'AWS::Events::EventBus') continue;
    const busName = String(r.Properties.Name ?? name(id));
    out[id] = { ref: busName, attributes: { Arn: arn('events', `event-bus/${busName}`), Name: busName } };
  }
  for (const [id, r] of Object.entries(template.Resources)) {
    const n = name(id);
    switch (r.Type) {
      case 'AWS::Events::EventBus':
        break;
      case 'AWS::DynamoDB::Table': {
        const tableName = String(r.Properties.TableName ?? n);
        out[id] = { ref: tableName, attributes: { Arn: arn('dynamodb', `table/${tableName}`), StreamArn: arn('dynamodb', `table/${tableName}/stream/rehearsal`) } };
        break;
      }
      case 'AWS::S3::Bucket': {
        const bucket = String(r.Properties.BucketName ?? `rehearsal-${id.toLowerCase()}`.slice(0, 63));
        out[id] = {
          ref: bucket,
          attributes: { Arn: `arn:${partition}:s3:::${bucket}`, DomainName: `${bucket}.s3.amazonaws.com`, RegionalDomainName: `${bucket}.s3.${region}.amazonaws.com` },
        };
        break;
      }
      case 'AWS::SQS::Queue': {
        const queueName = String(r.Properties.QueueName ?? n.slice(0, 80));
        const url = `${endpoints.sqs}/${account}/${queueName}`;
        out[id] = { ref: url, attributes: { Arn: arn('sqs', queueName), QueueName: queueName, QueueUrl: url } };
        break;
      }
      case 'AWS::SecretsManager::Secret': {
        const secretArn = arn('secretsmanager', `secret:${String(r.Properties.Name ?? id)}-AbCdEf`);
        out[id] = { ref: secretArn, attributes: { Id: secretArn } };
        break;
      }
      case 'AWS::Events::Rule': {
        const busRef = r.Properties.EventBusName as { Ref?: string } | string | undefined;
        const busName = typeof busRef === 'string' ? busRef : busRef?.Ref ? out[busRef.Ref]?.ref : undefined;
        const ruleName = String(r.Properties.Name ?? n);
        const onCustomBus = busName !== undefined && busName !== 'default';
        out[id] = { ref: onCustomBus ? `${busName}|${ruleName}` : ruleName, attributes: { Arn: arn('events', `rule/${onCustomBus ? `${busName}/` : ''}${ruleName}`) } };
        break;
      }
      case 'AWS::Events::Archive':
        out[id] = { ref: n, attributes: { Arn: arn('events', `archive/${n}`) } };
        break;
      case 'AWS::Lambda::Function': {
        const functionName = String(r.Properties.FunctionName ?? n);
        out[id] = { ref: functionName, attributes: { Arn: arn('lambda', `function:${functionName}`) } };
        break;
      }
      case 'AWS::Lambda::Url':
        out[id] = { ref: n, attributes: { FunctionUrl: `https://${id.toLowerCase().slice(0, 32)}.lambda-url.${region}.on.aws/`, FunctionArn: '' } };
        break;
      case 'AWS::IAM::Role':
        out[id] = { ref: n, attributes: { Arn: `arn:${partition}:iam::${account}:role/${n}`, RoleId: `AROA${id.toUpperCase().slice(0, 16)}` } };
        break;
      case 'AWS::Logs::LogGroup': {
        const group = String(r.Properties.LogGroupName ?? `/aws/lambda/${n}`);
        out[id] = { ref: group, attributes: { Arn: arn('logs', `log-group:${group}:*`) } };
        break;
      }
      case 'AWS::SNS::Topic': {
        const topicArn = arn('sns', n);
        out[id] = { ref: topicArn, attributes: { TopicArn: topicArn, TopicName: n } };
        break;
      }
      case 'AWS::CloudWatch::Alarm':
        out[id] = { ref: n, attributes: { Arn: arn('cloudwatch', `alarm:${n}`) } };
        break;
      default:
        out[id] = { ref: n, attributes: {} };
    }
  }
  return out;
}

/** Resolves Ref, Fn::GetAtt, Fn::Join, Fn::Select, Fn::Split, Fn::Sub and the pseudo parameters, deeply. */
export class IntrinsicResolver {
  constructor(
    private readonly physical: Record<string, PhysicalResource>,
    private readonly pseudo: PseudoParameters,
  ) {}

  resolve(value: unknown): any {
    if (Array.isArray(value)) return value.map((item) => this.resolve(item));
    if (value === null || typeof value !== 'object') return value;
    const object = value as Record<string, unknown>;
    const keys = Object.keys(object);
    if (keys.length === 1 && (keys[0] === 'Ref' || keys[0]!.startsWith('Fn::'))) return this.intrinsic(keys[0]!, object[keys[0]!]);
    return Object.fromEntries(keys.map((key) => [key, this.resolve(object[key])]));
  }

  /** A value that must come out as a string. */
  string(value: unknown): string {
    const resolved = this.resolve(value);
    if (typeof resolved !== 'string' && typeof resolved !== 'number' && typeof resolved !== 'boolean') throw new Error(`expected a string, got ${JSON.stringify(resolved)}`);
    return String(resolved);
  }

  ref(name: string): string {
    switch (name) {
      case 'AWS::Region':
        return this.pseudo.region;
      case 'AWS::AccountId':
        return this.pseudo.account;
      case 'AWS::Partition':
        return this.pseudo.partition;
      case 'AWS::StackName':
        return STACK_NAME;
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      case 'AWS::StackId':
        return `arn:${this.pseudo.partition}:cloudformation:${this.pseudo.region}:${this.pseudo.account}:stack/${STACK_NAME}/rehearsal`;
    }
    const found = this.physical[name];
    if (!found) throw new Error(`Ref to ${name}: no such resource or parameter`);
    return found.ref;
  }

  getAtt(id: string, attribute: string): string {
    const found = this.physical[id];
    if (!found) throw new Error(`Fn::GetAtt of ${id}: no such resource`);
    const value = found.attributes[attribute];
    if (value === undefined) throw new Error(`Fn::GetAtt ${id}.${attribute}: the rehearsal does not model this attribute`);
    return value;
  }

  private intrinsic(name: string, argument: unknown): any {
    switch (name) {
      case 'Ref':
        return this.ref(String(argument));
      case 'Fn::GetAtt': {
        const [id, attribute] = Array.isArray(argument) ? argument : String(argument).split('.');
        return this.getAtt(String(id), String(attribute));
      }
      case 'Fn::Join': {
        const [separator, parts] = argument as [string, unknown];
        return (this.resolve(parts) as unknown[]).map(String).join(separator);
      }
      case 'Fn::Select': {
        const [index, list] = argument as [unknown, unknown];
        const items = this.resolve(list) as unknown[];
        const at = Number(this.resolve(index));
        if (!Array.isArray(items) || at < 0 || at >= items.length) throw new Error(`Fn::Select ${at} out of range`);
        return items[at];
      }
      case 'Fn::Split': {
        const [separator, source] = argument as [string, unknown];
        return this.string(source).split(separator);
      }
      case 'Fn::Sub': {
        const [text, variables] = Array.isArray(argument) ? (argument as [string, Record<string, unknown>]) : [String(argument), {}];
        return text.replace(/\$\{([^}!][^}]*)\}/g, (_match, expression: string) => {
          if (Object.hasOwn(variables, expression)) return this.string(variables[expression]);
          if (expression.includes('.')) {
            const [id, attribute] = expression.split('.', 2) as [string, string];
            return this.getAtt(id, attribute);
          }
          return this.ref(expression);
        });
      }
      default:
        throw new Error(`${name}: an intrinsic function the rehearsal does not resolve`);
    }
  }
}

export const resourcesOfType = (template: CfnTemplate, type: string): [string, CfnResource][] =>
  Object.entries(template.Resources).filter(([, r]) => r.Type === type);
