/**
 * What one HTTP request that an AWS SDK v3 client sent is, in IAM's terms: who sent it
 * (the SigV4 access key id, which the rehearsal sets to the calling function's logical
 * id), which operation it is, and the IAM calls it makes — action, resource ARN and the
 * condition keys the request itself shows (`s3:prefix`, `dynamodb:LeadingKeys`).
 * Actions and resources are those of the Service Authorization Reference
 * (https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html):
 * e.g. S3's UploadPart and CompleteMultipartUpload are `s3:PutObject`, HeadObject is
 * `s3:GetObject`, ListObjectsV2 is `s3:ListBucket` on the bucket; SQS's batch
 * operations are their single action; a DynamoDB Query on an index is on the index's ARN.
 *
 * Protocols, as SDK v3 sends them: DynamoDB JSON 1.0 (`X-Amz-Target:
 * DynamoDB_20120810.<Op>`), EventBridge JSON 1.1 (`AWSEvents.<Op>`), Secrets Manager
 * JSON 1.1 (`secretsmanager.<Op>`), SQS JSON 1.0 (`AmazonSQS.<Op>`; the older query
 * protocol, a form body with `Action=`, is read too), S3 REST (path-style on an IP
 * endpoint, virtual-hosted by the Host header otherwise). A request that cannot be
 * classified throws: an unknown call must fail the replay, never pass it.
 */

import type { IamCall } from './iam-policy';

export type AwsService = 'dynamodb' | 's3' | 'events' | 'secretsmanager' | 'sqs';

export interface RawRequest {
  method: string;
  /** Path and query, as sent. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  /** The whole body for the JSON and query protocols; absent for S3 payload requests. */
  body?: Buffer;
}

export interface AccountContext {
  partition: string;
  region: string;
  account: string;
  /** Each table's partition key attribute (for `dynamodb:LeadingKeys`); tables not listed give no such key. */
  partitionKeys?: Record<string, string>;
}

export type { IamCall };

const header = (request: Pick<RawRequest, 'headers'>, name: string): string | undefined => {
  const value = request.headers[name] ?? request.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
};

/** The SigV4 access key id (Authorization header, or X-Amz-Credential of a presigned URL). */
export function principalOf(request: Pick<RawRequest, 'headers' | 'url'>): string | undefined {
  const authorization = header(request, 'authorization');
  const fromHeader = authorization ? /Credential=([^/,\s]+)\//.exec(authorization)?.[1] : undefined;
  if (fromHeader) return fromHeader;
  const credential = new URL(request.url, 'http://x').searchParams.get('X-Amz-Credential');
  return credential ? credential.split('/')[0] : undefined;
}

function describeRequest(request: RawRequest): string {
  return `${request.method} ${request.url}${header(request, 'x-amz-target') ? ` (${header(request, 'x-amz-target')})` : ''}`;
}

function jsonBody(request: RawRequest): Record<string, any> {
  if (!request.body || request.body.length === 0) return {};
  try {
    return JSON.parse(request.body.toString('utf8')) as Record<string, any>;
  } catch {
    throw new Error(`not a JSON body: ${describeRequest(request)}`);
  }
}

/** The operation of a JSON-protocol request (X-Amz-Target `<prefix>.<Op>`), or of a query-protocol form body. */
function targetOperation(request: RawRequest, prefix: string): string | undefined {
  const target = header(request, 'x-amz-target');
  if (target) {
    if (!target.startsWith(`${prefix}.`)) throw new Error(`X-Amz-Target ${target} is not a ${prefix} operation`);
    return target.slice(prefix.length + 1);
  }
  return undefined;
}

function formBody(request: RawRequest): URLSearchParams {
  return new URLSearchParams(request.body?.toString('utf8') ?? '');
}

export function operationOf(service: AwsService, request: RawRequest): string {
  switch (service) {
    case 'dynamodb':
      return required(targetOperation(request, 'DynamoDB_20120810'), request);
    case 'events':
      return required(targetOperation(request, 'AWSEvents'), request);
    case 'secretsmanager':
      return required(targetOperation(request, 'secretsmanager'), request);
    case 'sqs':
      return required(targetOperation(request, 'AmazonSQS') ?? formBody(request).get('Action') ?? undefined, request);
    case 's3':
      return s3Operation(request).operation;
  }
}

function required(operation: string | undefined, request: RawRequest): string {
  if (!operation) throw new Error(`cannot tell the operation of ${describeRequest(request)}`);
  return operation;
}

export function callsOf(service: AwsService, request: RawRequest, ctx: AccountContext): IamCall[] {
  switch (service) {
    case 'dynamodb':
      return dynamoDbCalls(request, ctx);
    case 'events':
      return eventBridgeCalls(request, ctx);
    case 'secretsmanager':
      return secretsManagerCalls(request, ctx);
    case 'sqs':
      return sqsCalls(request, ctx);
    case 's3':
      return s3Calls(request, ctx);
  }
}

// --- DynamoDB -----------------------------------------------------------------------

const tableArn = (ctx: AccountContext, table: string) => (table.startsWith('arn:') ? table : `arn:${ctx.partition}:dynamodb:${ctx.region}:${ctx.account}:table/${table}`);
const tableNameOf = (table: string) => (table.startsWith('arn:') ? table.slice(table.indexOf(':table/') + ':table/'.length).split('/')[0]! : table);

/** The scalar of a DynamoDB AttributeValue ({S}, {N}, {B}), for a condition key. */
function scalar(value: unknown): string | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const v = value as Record<string, unknown>;
  for (const type of ['S', 'N', 'B']) if (typeof v[type] === 'string') return v[type] as string;
  return undefined;
}

function leadingKeys(ctx: AccountContext, table: string, items: readonly (Record<string, unknown> | undefined)[]): Record<string, string[]> {
  const attribute = ctx.partitionKeys?.[tableNameOf(table)];
  if (!attribute) return {};
  const values = items.map((item) => scalar(item?.[attribute])).filter((v): v is string => v !== undefined);
  return values.length === items.length && values.length > 0 ? { 'dynamodb:LeadingKeys': [...new Set(values)] } : {};
}

/** The partition key's value in a Query's key condition (`#pk = :v` or `pk = :v`), when it can be read. */
function queryLeadingKey(ctx: AccountContext, body: Record<string, any>): Record<string, string[]> {
  const attribute = ctx.partitionKeys?.[tableNameOf(String(body.TableName))];
  if (!attribute || body.IndexName || typeof body.KeyConditionExpression !== 'string') return {};
  const names = (body.ExpressionAttributeNames ?? {}) as Record<string, string>;
  for (const match of (body.KeyConditionExpression as string).matchAll(/([#\w]+)\s*=\s*(:\w+)/g)) {
    const name = match[1]!.startsWith('#') ? names[match[1]!] : match[1];
    if (name !== attribute) continue;
    const value = scalar(body.ExpressionAttributeValues?.[match[2]!]);
    if (value !== undefined) return { 'dynamodb:LeadingKeys': [value] };
  }
  return {};
}

function withContext(call: IamCall, context: Record<string, string | string[]>): IamCall {
  return Object.keys(context).length ? { ...call, context } : call;
}

function dynamoDbCalls(request: RawRequest, ctx: AccountContext): IamCall[] {
  const operation = operationOf('dynamodb', request);
  const body = jsonBody(request);
  const action = `dynamodb:${operation}`;
  switch (operation) {
    case 'BatchGetItem':
      return Object.entries((body.RequestItems ?? {}) as Record<string, { Keys?: Record<string, unknown>[] }>).map(([table, entry]) =>
        withContext({ action, resource: tableArn(ctx, table) }, leadingKeys(ctx, table, entry.Keys ?? [])),
      );
    case 'BatchWriteItem':
      return Object.entries((body.RequestItems ?? {}) as Record<string, { PutRequest?: { Item: Record<string, unknown> }; DeleteRequest?: { Key: Record<string, unknown> } }[]>).map(
        ([table, writes]) => withContext({ action, resource: tableArn(ctx, table) }, leadingKeys(ctx, table, writes.map((w) => w.PutRequest?.Item ?? w.DeleteRequest?.Key))),
      );
    case 'TransactWriteItems':
      return ((body.TransactItems ?? []) as Record<string, { TableName: string; Item?: Record<string, unknown>; Key?: Record<string, unknown> }>[]).map((item) => {
        const [kind, spec] = Object.entries(item)[0]!;
        const itemAction = { Put: 'PutItem', Update: 'UpdateItem', Delete: 'DeleteItem', ConditionCheck: 'ConditionCheckItem' }[kind];
        if (!itemAction) throw new Error(`TransactWriteItems with an item of kind ${kind}`);
        return withContext({ action: `dynamodb:${itemAction}`, resource: tableArn(ctx, spec.TableName) }, leadingKeys(ctx, spec.TableName, [spec.Item ?? spec.Key]));
      });
    case 'TransactGetItems':
      return ((body.TransactItems ?? []) as { Get: { TableName: string; Key: Record<string, unknown> } }[]).map((item) =>
        withContext({ action: 'dynamodb:GetItem', resource: tableArn(ctx, item.Get.TableName) }, leadingKeys(ctx, item.Get.TableName, [item.Get.Key])),
      );
    case 'Query':
    case 'Scan': {
      if (typeof body.TableName !== 'string') throw new Error(`${operation} without a TableName`);
      const resource = body.IndexName ? `${tableArn(ctx, body.TableName)}/index/${body.IndexName}` : tableArn(ctx, body.TableName);
      return [withContext({ action, resource }, operation === 'Query' ? queryLeadingKey(ctx, body) : {})];
    }
    case 'GetItem':
    case 'DeleteItem':
    case 'UpdateItem':
    case 'PutItem':
      if (typeof body.TableName !== 'string') throw new Error(`${operation} without a TableName`);
      return [withContext({ action, resource: tableArn(ctx, body.TableName) }, leadingKeys(ctx, body.TableName, [body.Item ?? body.Key]))];
    default:
      if (typeof body.TableName === 'string') return [{ action, resource: tableArn(ctx, body.TableName) }];
      throw new Error(`the replay does not know which resource DynamoDB ${operation} touches`);
  }
}

// --- EventBridge --------------------------------------------------------------------

const busArn = (ctx: AccountContext, bus: string | undefined) =>
  bus?.startsWith('arn:') ? bus : `arn:${ctx.partition}:events:${ctx.region}:${ctx.account}:event-bus/${bus ?? 'default'}`;

function eventBridgeCalls(request: RawRequest, ctx: AccountContext): IamCall[] {
  const operation = operationOf('events', request);
  const body = jsonBody(request);
  if (operation === 'PutEvents') {
    const buses = new Set(((body.Entries ?? []) as { EventBusName?: string }[]).map((entry) => busArn(ctx, entry.EventBusName)));
    return [...buses].map((resource) => ({ action: 'events:PutEvents', resource }));
  }
  throw new Error(`the replay does not model EventBridge ${operation}`);
}

// --- Secrets Manager ----------------------------------------------------------------

function secretsManagerCalls(request: RawRequest, ctx: AccountContext): IamCall[] {
  const operation = operationOf('secretsmanager', request);
  const id = jsonBody(request).SecretId;
  if (typeof id !== 'string') throw new Error(`Secrets Manager ${operation} without a SecretId`);
  // A name, not an ARN: IAM matches the secret's ARN, which ends in a 6-character suffix.
  const resource = id.startsWith('arn:') ? id : `arn:${ctx.partition}:secretsmanager:${ctx.region}:${ctx.account}:secret:${id}-??????`;
  return [{ action: `secretsmanager:${operation}`, resource }];
}

// --- SQS ----------------------------------------------------------------------------

const SQS_BATCH_ACTIONS: Record<string, string> = {
  SendMessageBatch: 'SendMessage',
  DeleteMessageBatch: 'DeleteMessage',
  ChangeMessageVisibilityBatch: 'ChangeMessageVisibility',
};

function sqsCalls(request: RawRequest, ctx: AccountContext): IamCall[] {
  const operation = operationOf('sqs', request);
  const json = header(request, 'x-amz-target') !== undefined;
  const body = json ? jsonBody(request) : Object.fromEntries(formBody(request));
  const action = `sqs:${SQS_BATCH_ACTIONS[operation] ?? operation}`;
  if (operation === 'GetQueueUrl') {
    if (typeof body.QueueName !== 'string') throw new Error('GetQueueUrl without a QueueName');
    return [{ action, resource: `arn:${ctx.partition}:sqs:${ctx.region}:${body.QueueOwnerAWSAccountId ?? ctx.account}:${body.QueueName}` }];
  }
  const queueUrl = typeof body.QueueUrl === 'string' ? body.QueueUrl : undefined;
  const fromPath = new URL(request.url, 'http://x').pathname;
  const segments = new URL(queueUrl ?? `http://x${fromPath}`).pathname.split('/').filter(Boolean);
  if (segments.length < 2) throw new Error(`SQS ${operation} names no queue (QueueUrl ${queueUrl ?? 'absent'})`);
  const [account, name] = segments.slice(-2) as [string, string];
  return [{ action, resource: `arn:${ctx.partition}:sqs:${ctx.region}:${account}:${name}` }];
}

// --- S3 -----------------------------------------------------------------------------

interface S3Request {
  operation: string;
  bucket: string;
  key?: string;
  query: URLSearchParams;
}

const isIpOrLocal = (host: string) => /^(\d+\.){3}\d+$/.test(host) || host.startsWith('[') || host === 'localhost';

function s3Target(request: RawRequest): { bucket: string; key?: string; query: URLSearchParams } {
  const url = new URL(request.url, 'http://x');
  const host = (header(request, 'host') ?? '').replace(/:\d+$/, '');
  const path = url.pathname.split('/').slice(1);
  const decode = (text: string) => decodeURIComponent(text);
  if (host && !isIpOrLocal(host) && host.includes('.')) {
    // Virtual-hosted: <bucket>.<endpoint host>.
    const key = path.join('/');
    return { bucket: host.slice(0, host.indexOf('.')), key: key ? decode(key) : undefined, query: url.searchParams };
  }
  const [bucket, ...rest] = path;
  if (!bucket) throw new Error(`an S3 request names no bucket: ${describeRequest(request)}`);
  const key = rest.join('/');
  return { bucket: decode(bucket), key: key ? decode(key) : undefined, query: url.searchParams };
}

function s3Operation(request: RawRequest): S3Request {
  const target = s3Target(request);
  const { key, query } = target;
  const method = request.method.toUpperCase();
  const has = (name: string) => query.has(name);
  const copySource = header(request, 'x-amz-copy-source');
  const op = (operation: string) => ({ ...target, operation });
  if (key === undefined) {
    if (method === 'HEAD') return op('HeadBucket');
    if (method === 'GET' && has('uploads')) return op('ListMultipartUploads');
    if (method === 'GET' && has('location')) return op('GetBucketLocation');
    if (method === 'GET' && (has('list-type') || [...query.keys()].every((k) => ['prefix', 'delimiter', 'max-keys', 'marker', 'encoding-type', 'x-id'].includes(k)))) {
      return op(query.get('list-type') === '2' ? 'ListObjectsV2' : 'ListObjects');
    }
    if (method === 'POST' && has('delete')) return op('DeleteObjects');
    throw new Error(`the replay does not know the S3 bucket operation ${describeRequest(request)}`);
  }
  if (method === 'PUT') {
    if (has('partNumber') && has('uploadId')) return op(copySource ? 'UploadPartCopy' : 'UploadPart');
    if (has('tagging')) return op('PutObjectTagging');
    if (has('acl')) return op('PutObjectAcl');
    return op(copySource ? 'CopyObject' : 'PutObject');
  }
  if (method === 'POST' && has('uploads')) return op('CreateMultipartUpload');
  if (method === 'POST' && has('uploadId')) return op('CompleteMultipartUpload');
  if (method === 'DELETE') return op(has('uploadId') ? 'AbortMultipartUpload' : has('tagging') ? 'DeleteObjectTagging' : 'DeleteObject');
  if (method === 'GET' && has('uploadId')) return op('ListParts');
  if (method === 'GET' && has('attributes')) return op('GetObjectAttributes');
  if (method === 'GET' && has('tagging')) return op('GetObjectTagging');
  if (method === 'GET' || method === 'HEAD') return op(method === 'HEAD' ? 'HeadObject' : 'GetObject');
  throw new Error(`the replay does not know the S3 object operation ${describeRequest(request)}`);
}

const S3_OBJECT_ACTIONS: Record<string, string[]> = {
  PutObject: ['s3:PutObject'],
  UploadPart: ['s3:PutObject'],
  CreateMultipartUpload: ['s3:PutObject'],
  CompleteMultipartUpload: ['s3:PutObject'],
  CopyObject: ['s3:PutObject'],
  UploadPartCopy: ['s3:PutObject'],
  AbortMultipartUpload: ['s3:AbortMultipartUpload'],
  ListParts: ['s3:ListMultipartUploadParts'],
  GetObject: ['s3:GetObject'],
  HeadObject: ['s3:GetObject'],
  GetObjectAttributes: ['s3:GetObject', 's3:GetObjectAttributes'],
  GetObjectTagging: ['s3:GetObjectTagging'],
  PutObjectTagging: ['s3:PutObjectTagging'],
  DeleteObjectTagging: ['s3:DeleteObjectTagging'],
  PutObjectAcl: ['s3:PutObjectAcl'],
  DeleteObject: ['s3:DeleteObject'],
};

function s3Calls(request: RawRequest, ctx: AccountContext): IamCall[] {
  const { operation, bucket, key, query } = s3Operation(request);
  const bucketArn = `arn:${ctx.partition}:s3:::${bucket}`;
  switch (operation) {
    case 'HeadBucket':
    case 'ListObjects':
    case 'ListObjectsV2':
      // An absent prefix is an empty one to a condition on s3:prefix (it does not match "courses/*").
      return [{ action: 's3:ListBucket', resource: bucketArn, context: { 's3:prefix': query.get('prefix') ?? '' } }];
    case 'ListMultipartUploads':
      return [{ action: 's3:ListBucketMultipartUploads', resource: bucketArn }];
    case 'GetBucketLocation':
      return [{ action: 's3:GetBucketLocation', resource: bucketArn }];
    case 'DeleteObjects': {
      const keys = [...(request.body?.toString('utf8') ?? '').matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1]!);
      if (keys.length === 0) throw new Error('DeleteObjects whose body names no key (was the body read?)');
      return keys.map((k) => ({ action: 's3:DeleteObject', resource: `${bucketArn}/${k}` }));
    }
  }
  const actions = S3_OBJECT_ACTIONS[operation];
  if (!actions || key === undefined) throw new Error(`the replay does not map S3 ${operation}`);
  const calls: IamCall[] = actions.map((action) => ({ action, resource: `${bucketArn}/${key}` }));
  const copySource = header(request, 'x-amz-copy-source');
  if (copySource) {
    const source = decodeURIComponent(copySource.replace(/^\//, '').split('?')[0]!);
    calls.push({ action: 's3:GetObject', resource: `arn:${ctx.partition}:s3:::${source}` });
  }
  return calls;
}

/** Whether the proxy must read the whole body to classify the request (everything but S3's payloads). */
export function needsBody(service: AwsService, request: Pick<RawRequest, 'method' | 'url'>): boolean {
  if (service !== 's3') return true;
  return request.method.toUpperCase() === 'POST' && new URL(request.url, 'http://x').searchParams.has('delete');
}
