/**
 * The IAM replay's recorder (support/recording-proxy.ts + support/aws-call.ts) against
 * what the real SDK clients send: DynamoDB to dynalite, S3 (a multipart upload by
 * lib-storage) to s3rver, and EventBridge, SQS and Secrets Manager to a small answering
 * server — each through the proxy, each call attributed to its access key id and
 * mapped to the IAM action and resource ARN.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BatchGetItemCommand, DynamoDBClient, GetItemCommand, PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ChangeMessageVisibilityCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { Upload } from '@aws-sdk/lib-storage';
import { startDynalite, type DynaliteHandle } from '../support/dynalite';
import { createS3rverClient, startS3rver, type S3rverHandle } from '../support/s3rver';
import { startRecordingProxy, type RecordingProxy } from './support/recording-proxy';

const CTX = { partition: 'aws', region: 'us-east-1', account: '123456789012', partitionKeys: { ledger: 'pk' } };
const credentials = (id: string) => ({ accessKeyId: id, secretAccessKey: 'x' });
const ARN = 'arn:aws:dynamodb:us-east-1:123456789012:table/ledger';

describe('DynamoDB through the proxy to dynalite', () => {
  let dynalite: DynaliteHandle;
  let proxy: RecordingProxy;
  let client: DynamoDBClient;
  beforeAll(async () => {
    dynalite = await startDynalite();
    await dynalite.createTable({
      TableName: 'ledger',
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }, { AttributeName: 'group', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      GlobalSecondaryIndexes: [{ IndexName: 'byGroup', KeySchema: [{ AttributeName: 'group', KeyType: 'HASH' }], Projection: { ProjectionType: 'ALL' }, ProvisionedThroughput: { ReadCapacityUnits: 1, WriteCapacityUnits: 1 } }],
      ProvisionedThroughput: { ReadCapacityUnits: 1, WriteCapacityUnits: 1 },
    });
    proxy = await startRecordingProxy({ service: 'dynamodb', upstream: dynalite.endpoint, ctx: CTX });
    client = new DynamoDBClient({ endpoint: proxy.endpoint, region: 'us-east-1', credentials: credentials('UploaderFunction') });
  });
  afterAll(async () => {
    client.destroy();
    await proxy.stop();
    await dynalite.stop();
  });

  it('records each call with its principal, action, table or index ARN and leading keys, and passes the answers through', async () => {
    await client.send(new PutItemCommand({ TableName: 'ledger', Item: { pk: { S: 'file#1' }, group: { S: 'g' } } }));
    const got = await client.send(new GetItemCommand({ TableName: 'ledger', Key: { pk: { S: 'file#1' } } }));
    expect(got.Item?.group?.S).toBe('g');
    await client.send(new QueryCommand({ TableName: 'ledger', IndexName: 'byGroup', KeyConditionExpression: '#g = :g', ExpressionAttributeNames: { '#g': 'group' }, ExpressionAttributeValues: { ':g': { S: 'g' } } }));
    await client.send(new QueryCommand({ TableName: 'ledger', KeyConditionExpression: '#p = :p', ExpressionAttributeNames: { '#p': 'pk' }, ExpressionAttributeValues: { ':p': { S: 'file#1' } } }));
    const batch = await client.send(new BatchGetItemCommand({ RequestItems: { ledger: { Keys: [{ pk: { S: 'file#1' } }, { pk: { S: 'file#2' } }] } } }));
    expect(batch.Responses?.ledger).toHaveLength(1);
    expect(proxy.errors).toEqual([]);
    expect(proxy.recorded.map(({ principal, operation, calls, status }) => ({ principal, operation, calls, status }))).toEqual([
      { principal: 'UploaderFunction', operation: 'PutItem', calls: [{ action: 'dynamodb:PutItem', resource: ARN, context: { 'dynamodb:LeadingKeys': ['file#1'] } }], status: 200 },
      { principal: 'UploaderFunction', operation: 'GetItem', calls: [{ action: 'dynamodb:GetItem', resource: ARN, context: { 'dynamodb:LeadingKeys': ['file#1'] } }], status: 200 },
      { principal: 'UploaderFunction', operation: 'Query', calls: [{ action: 'dynamodb:Query', resource: `${ARN}/index/byGroup` }], status: 200 },
      { principal: 'UploaderFunction', operation: 'Query', calls: [{ action: 'dynamodb:Query', resource: ARN, context: { 'dynamodb:LeadingKeys': ['file#1'] } }], status: 200 },
      { principal: 'UploaderFunction', operation: 'BatchGetItem', calls: [{ action: 'dynamodb:BatchGetItem', resource: ARN, context: { 'dynamodb:LeadingKeys': ['file#1', 'file#2'] } }], status: 200 },
    ]);
  });
});

describe('S3 through the proxy to s3rver', () => {
  let s3rver: S3rverHandle;
  let proxy: RecordingProxy;
  beforeAll(async () => {
    s3rver = await startS3rver({ bucket: 'archive' });
    proxy = await startRecordingProxy({ service: 's3', upstream: s3rver.endpoint, ctx: CTX });
  });
  afterAll(async () => {
    await proxy.stop();
    await s3rver.stop();
  });

  it('streams a multipart upload through unchanged, recorded as s3:PutObject on the object', async () => {
    const client = createS3rverClient(proxy.endpoint);
    const body = Buffer.alloc(11 * 1024 * 1024);
    for (let i = 0; i < body.length; i += 4096) body.writeUInt32BE(i, i);
    await new Upload({ client, params: { Bucket: 'archive', Key: 'courses/BIO 101/a+b.mp4', Body: body }, partSize: 5 * 1024 * 1024, queueSize: 2 }).done();
    const head = await client.send(new HeadObjectCommand({ Bucket: 'archive', Key: 'courses/BIO 101/a+b.mp4' }));
    expect(head.ContentLength).toBe(body.length);
    await client.send(new ListObjectsV2Command({ Bucket: 'archive', Prefix: 'courses/' }));
    const object = await s3rver.client.send(new GetObjectCommand({ Bucket: 'archive', Key: 'courses/BIO 101/a+b.mp4' }));
    const stored = Buffer.from(await object.Body!.transformToByteArray());
    expect(createHash('sha256').update(stored).digest('hex')).toBe(createHash('sha256').update(body).digest('hex'));
    client.destroy();

    const object_ = 'arn:aws:s3:::archive/courses/BIO 101/a+b.mp4';
    expect(proxy.errors).toEqual([]);
    expect(proxy.recorded.map((r) => r.operation)).toEqual(['CreateMultipartUpload', 'UploadPart', 'UploadPart', 'UploadPart', 'CompleteMultipartUpload', 'HeadObject', 'ListObjectsV2']);
    expect(proxy.recorded.every((r) => r.principal === 'S3RVER' && r.status === 200)).toBe(true);
    expect(proxy.recorded.slice(0, 5).flatMap((r) => r.calls)).toEqual(Array(5).fill({ action: 's3:PutObject', resource: object_ }));
    expect(proxy.recorded[5]!.calls).toEqual([{ action: 's3:GetObject', resource: object_ }]);
    expect(proxy.recorded[6]!.calls).toEqual([{ action: 's3:ListBucket', resource: 'arn:aws:s3:::archive', context: { 's3:prefix': 'courses/' } }]);
  });
});

describe('EventBridge, SQS and Secrets Manager through the proxy', () => {
  let answering: Server;
  let upstream: string;
  const proxies: RecordingProxy[] = [];
  beforeAll(async () => {
    // Minimal valid answers for the operations used below.
    answering = createServer((request, response) => {
      request.resume();
      const target = String(request.headers['x-amz-target']);
      const answers: Record<string, unknown> = {
        'AWSEvents.PutEvents': { FailedEntryCount: 0, Entries: [{ EventId: '1' }, { EventId: '2' }, { EventId: '3' }] },
        'AmazonSQS.SendMessageBatch': { Successful: [{ Id: 'a', MessageId: 'm', MD5OfMessageBody: '0cc175b9c0f1b6a831c399e269772661' }], Failed: [] },
        'AmazonSQS.ChangeMessageVisibility': {},
        'secretsmanager.GetSecretValue': { ARN: 'arn', Name: 'zoom', SecretString: '{}' },
      };
      const body = JSON.stringify(answers[target] ?? { __type: 'Unknown' });
      request.once('end', () => response.writeHead(target in answers ? 200 : 400, { 'content-type': 'application/x-amz-json-1.1' }).end(body));
    });
    await new Promise<void>((resolve) => answering.listen(0, '127.0.0.1', resolve));
    upstream = `http://127.0.0.1:${(answering.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await Promise.all(proxies.map((p) => p.stop()));
    await new Promise<void>((resolve) => answering.close(() => resolve()));
  });
  const proxyFor = async (service: 'events' | 'sqs' | 'secretsmanager') => {
    const proxy = await startRecordingProxy({ service, upstream, ctx: CTX });
    proxies.push(proxy);
    return proxy;
  };

  it('PutEvents is one events:PutEvents per bus named (absent = default)', async () => {
    const proxy = await proxyFor('events');
    const client = new EventBridgeClient({ endpoint: proxy.endpoint, region: 'us-east-1', credentials: credentials('WebhookFunction') });
    await client.send(new PutEventsCommand({ Entries: [{ EventBusName: 'archiver', Source: 's', DetailType: 'd', Detail: '{}' }, { EventBusName: 'archiver', Source: 's', DetailType: 'd', Detail: '{}' }, { Source: 's', DetailType: 'd', Detail: '{}' }] }));
    client.destroy();
    expect(proxy.recorded).toEqual([
      {
        principal: 'WebhookFunction',
        service: 'events',
        operation: 'PutEvents',
        calls: [
          { action: 'events:PutEvents', resource: 'arn:aws:events:us-east-1:123456789012:event-bus/archiver' },
          { action: 'events:PutEvents', resource: 'arn:aws:events:us-east-1:123456789012:event-bus/default' },
        ],
        status: 200,
      },
    ]);
  });

  it('SQS batch operations are their single action, on the queue of the QueueUrl', async () => {
    const proxy = await proxyFor('sqs');
    const client = new SQSClient({ endpoint: proxy.endpoint, region: 'us-east-1', credentials: credentials('SubscribersFunction') });
    const queueUrl = `${proxy.endpoint}/123456789012/outbox`;
    await client.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: [{ Id: 'a', MessageBody: 'a' }] }));
    await client.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: 'r', VisibilityTimeout: 5 }));
    client.destroy();
    const queue = 'arn:aws:sqs:us-east-1:123456789012:outbox';
    expect(proxy.recorded.map((r) => [r.principal, r.operation, r.calls])).toEqual([
      ['SubscribersFunction', 'SendMessageBatch', [{ action: 'sqs:SendMessage', resource: queue }]],
      ['SubscribersFunction', 'ChangeMessageVisibility', [{ action: 'sqs:ChangeMessageVisibility', resource: queue }]],
    ]);
  });

  it('GetSecretValue is on the secret\'s ARN (a name gets the 6-character suffix wildcard)', async () => {
    const proxy = await proxyFor('secretsmanager');
    const client = new SecretsManagerClient({ endpoint: proxy.endpoint, region: 'us-east-1', credentials: credentials('UploaderFunction') });
    const arn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:zoom-AbC123';
    await client.send(new GetSecretValueCommand({ SecretId: arn }));
    await client.send(new GetSecretValueCommand({ SecretId: 'zoom' }));
    client.destroy();
    expect(proxy.recorded.map((r) => r.calls)).toEqual([
      [{ action: 'secretsmanager:GetSecretValue', resource: arn }],
      [{ action: 'secretsmanager:GetSecretValue', resource: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:zoom-??????' }],
    ]);
  });

  it('a request it cannot classify is answered 500 with the reason and kept as an error, never passed on', async () => {
    const proxy = await proxyFor('events');
    const answer = await fetch(`${proxy.endpoint}/`, { method: 'POST', headers: { 'x-amz-target': 'AWSEvents.ListRules', 'content-type': 'application/x-amz-json-1.1' }, body: '{}' });
    expect(answer.status).toBe(500);
    expect(await answer.text()).toMatch(/does not model EventBridge ListRules/);
    expect(proxy.errors.map((e) => e.message)).toEqual(['the replay does not model EventBridge ListRules']);
    expect(proxy.recorded).toEqual([]);
  });
});
