/**
 * The DynamoDB ledger against dynalite: the shared contract (a fresh table per test,
 * small query pages so paging is exercised), the stored item layout the CDK table
 * mirrors, the compact checkpoint encoding, error mapping, and that no path scans.
 */
import { createServer } from 'node:net';
import { DescribeTableCommand, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import {
  DynamoDbUploadLedger,
  LEDGER_KEYS,
  MAX_CHECKPOINT_BYTES,
  decodeCheckpointParts,
  encodeCheckpointParts,
  ledgerTableDefinition,
  toStoreError,
} from '../../shared/adapters/ledger-dynamodb';
import { LedgerInputError, LedgerRefusedError, LedgerStoreError } from '../../shared/ports/upload-ledger';
import { MAX_LEDGER_REQUEST_BYTES } from '../../shared/adapters/ledger-rules';
import { startDynalite, type DynaliteHandle } from '../support/dynalite';
import { describeLedgerContract, requestOfBytes } from './ledger-contract';

const T0 = Date.UTC(2026, 2, 2, 9, 0, 0);
let dynalite: DynaliteHandle;
const commandsSent: string[] = [];

beforeAll(async () => {
  dynalite = await startDynalite();
  dynalite.client.middlewareStack.add(
    (next, context) => async (args) => {
      commandsSent.push(String(context.commandName));
      return next(args);
    },
    { step: 'initialize', name: 'recordCommandNames' },
  );
});
afterAll(async () => {
  await dynalite.stop();
});

async function freshLedger(): Promise<{ ledger: DynamoDbUploadLedger; tableName: string }> {
  const tableName = await dynalite.createTable(ledgerTableDefinition(dynalite.uniqueTableName('ledger')));
  return { ledger: new DynamoDbUploadLedger({ client: dynalite.client, tableName, queryPageSize: 7 }), tableName };
}

describeLedgerContract('DynamoDB (dynalite)', async () => {
  const { ledger } = await freshLedger();
  return { ledger, dispose: async () => undefined };
});

describe('DynamoDbUploadLedger', () => {
  const register = (ledger: DynamoDbUploadLedger, fileId: string) =>
    ledger.register({ fileId, recordingId: 'rec', groupKey: 'rec#0', archiveKey: `k/${fileId}`, now: T0 });

  it('defines the table with pk and the byGroup / byState indexes', async () => {
    const { tableName } = await freshLedger();

    const { Table } = await dynalite.client.send(new DescribeTableCommand({ TableName: tableName }));

    expect(Table?.KeySchema).toEqual([{ AttributeName: 'pk', KeyType: 'HASH' }]);
    const indexes = Object.fromEntries((Table?.GlobalSecondaryIndexes ?? []).map((i) => [i.IndexName, i]));
    expect(indexes[LEDGER_KEYS.groupIndex]?.KeySchema).toEqual([
      { AttributeName: 'groupPk', KeyType: 'HASH' },
      { AttributeName: 'groupSk', KeyType: 'RANGE' },
    ]);
    expect(indexes[LEDGER_KEYS.groupIndex]?.Projection?.ProjectionType).toBe('KEYS_ONLY');
    expect(indexes[LEDGER_KEYS.stateIndex]?.KeySchema).toEqual([
      { AttributeName: 'statePk', KeyType: 'HASH' },
      { AttributeName: 'stateSk', KeyType: 'RANGE' },
    ]);
  });

  it('stores a file as one item keyed file#<id>, with index keys that follow its state', async () => {
    const { ledger, tableName } = await freshLedger();
    await register(ledger, 'f1');
    await ledger.claim('f1', 'a', 60_000, T0 + 5);
    await ledger.checkpoint('f1', 'a', { bytesCommitted: 10, parts: [{ partNumber: 1, etag: '"x"', size: 10 }] }, T0 + 7);

    const { Item } = await dynalite.client.send(
      new GetItemCommand({ TableName: tableName, Key: { pk: { S: 'file#f1' } }, ConsistentRead: true }),
    );

    expect(Item).toMatchObject({
      pk: { S: 'file#f1' },
      groupPk: { S: 'group#rec#0' },
      groupSk: { S: 'f1' },
      statePk: { S: 'state#uploading' },
      stateSk: { N: String(T0 + 7) },
      updatedAt: { N: String(T0 + 7) },
      attempts: { N: '1' },
    });
    expect(Item?.checkpoint?.M?.parts?.B).toBeInstanceOf(Uint8Array);
  });

  it('announces with a separate announce#<group> item', async () => {
    const { ledger, tableName } = await freshLedger();

    await ledger.claimGroupAnnouncement('rec#0', T0);

    const { Item } = await dynalite.client.send(
      new GetItemCommand({ TableName: tableName, Key: { pk: { S: 'announce#rec#0' } }, ConsistentRead: true }),
    );
    expect(Item?.announcedAt).toEqual({ N: String(T0) });
  });

  describe('checkpoint encoding', () => {
    const md5Etags = (count: number) =>
      Array.from({ length: count }, (_, i) => ({
        partNumber: i + 1,
        etag: `"${require('node:crypto').createHash('md5').update(String(i)).digest('hex')}"`,
        size: 16 * 1024 * 1024,
      }));

    it('packs 10,000 parts far under the 400 KB item limit, and decodes them unchanged', () => {
      const parts = md5Etags(10_000);

      const encoded = encodeCheckpointParts(parts);

      expect(encoded.byteLength).toBeLessThan(250 * 1024);
      expect(decodeCheckpointParts(encoded)).toEqual(parts);
    });

    it('refuses a checkpoint that would not fit, as a non-retryable input error', async () => {
      const { ledger } = await freshLedger();
      await register(ledger, 'f1');
      await ledger.claim('f1', 'a', 60_000, T0);
      const random = require('node:crypto').randomBytes as (n: number) => Buffer;
      const parts = Array.from({ length: 10_000 }, (_, i) => ({ partNumber: i + 1, etag: random(32).toString('base64'), size: 1 }));
      expect(encodeCheckpointParts(parts).byteLength).toBeGreaterThan(MAX_CHECKPOINT_BYTES);

      await expect(ledger.checkpoint('f1', 'a', { bytesCommitted: 10_000, parts }, T0 + 1)).rejects.toBeInstanceOf(
        LedgerInputError,
      );
      expect((await ledger.get('f1'))?.checkpoint).toBeUndefined();
    });
  });

  describe('size limits', () => {
    it('holds the largest entry the port allows under the 400 KB item limit: a 16 KB request and a checkpoint at its cap', async () => {
      const { ledger } = await freshLedger();
      const request = requestOfBytes('f1', MAX_LEDGER_REQUEST_BYTES);
      await ledger.register({ fileId: 'f1', recordingId: request.recordingId, groupKey: 'g', archiveKey: request.archiveKey, request, now: T0 });
      await ledger.claim('f1', 'a', 60_000, T0);
      // Random ETags barely compress: add parts until the encoding is within 4 KB of the cap.
      const random = require('node:crypto').randomBytes as (n: number) => Buffer;
      const parts: { partNumber: number; etag: string; size: number }[] = [];
      while (encodeCheckpointParts(parts).byteLength < MAX_CHECKPOINT_BYTES - 4096) {
        for (let i = 0; i < 50; i++) parts.push({ partNumber: parts.length + 1, etag: random(32).toString('base64'), size: 8 * 1024 * 1024 });
      }
      expect(encodeCheckpointParts(parts).byteLength).toBeLessThanOrEqual(MAX_CHECKPOINT_BYTES);

      expect(await ledger.checkpoint('f1', 'a', { uploadId: 'u'.repeat(200), bytesCommitted: 1, parts, hashState: 'h'.repeat(200) }, T0 + 1)).toBe(true);
      expect(await ledger.fail('f1', 'a', { code: 'timeout', message: 'm'.repeat(1_000), retryable: true }, T0 + 2)).toBe(true);

      const stored = await ledger.get('f1');
      expect(stored?.checkpoint?.parts).toHaveLength(parts.length);
      expect(stored?.request?.topic).toBe(request.topic);
    });

    it('turns DynamoDB refusing the item (ValidationException) into LedgerRefusedError, naming no contents', async () => {
      // A server with a small item limit stands in for an entry over DynamoDB's 400 KB.
      const small = await startDynalite({ maxItemSizeKb: 4 });
      try {
        const tableName = await small.createTable(ledgerTableDefinition(small.uniqueTableName('ledger')));
        const ledger = new DynamoDbUploadLedger({ client: small.client, tableName });
        const request = requestOfBytes('f1', 8 * 1024);

        const error = await ledger
          .register({ fileId: 'f1', recordingId: request.recordingId, groupKey: 'g', archiveKey: request.archiveKey, request, now: T0 })
          .catch((e: unknown) => e);

        expect(error).toBeInstanceOf(LedgerRefusedError);
        expect(error).toMatchObject({ fileId: 'f1', retryable: false });
        expect((error as Error).message).toContain('ValidationException');
        expect((error as Error).message).not.toContain('xxxxxxxx');
        expect(await ledger.get('f1')).toBeUndefined();
      } finally {
        await small.stop();
      }
    });
  });

  it('reads an item written before the re-drive counter existed as 0, and counts on it', async () => {
    const { ledger, tableName } = await freshLedger();
    await dynalite.client.send(
      new PutItemCommand({
        TableName: tableName,
        Item: {
          pk: { S: 'file#old' },
          fileId: { S: 'old' },
          recordingId: { S: 'rec' },
          groupKey: { S: 'rec#0' },
          archiveKey: { S: 'k/old' },
          state: { S: 'requested' },
          attempts: { N: '1' },
          duplicates: { N: '0' },
          createdAt: { N: String(T0) },
          updatedAt: { N: String(T0) },
          groupPk: { S: 'group#rec#0' },
          groupSk: { S: 'old' },
          statePk: { S: 'state#requested' },
          stateSk: { N: String(T0) },
        },
      }),
    );
    const seen = (await ledger.get('old'))!;
    expect(seen.redrives).toBe(0);

    expect(await ledger.noteRedrive(seen, true, T0 + 10)).toBe(true);

    expect(await ledger.get('old')).toMatchObject({ state: 'requested', redrives: 1, updatedAt: T0 + 10 });
  });

  it('reads an item written before the automatic re-drive counter existed as 0, and re-drives it when due', async () => {
    const { ledger, tableName } = await freshLedger();
    await dynalite.client.send(
      new PutItemCommand({
        TableName: tableName,
        Item: {
          pk: { S: 'file#old' },
          fileId: { S: 'old' },
          recordingId: { S: 'rec' },
          groupKey: { S: 'rec#0' },
          archiveKey: { S: 'k/old' },
          state: { S: 'failed' },
          attempts: { N: '1' },
          duplicates: { N: '0' },
          nextAttemptAt: { N: String(T0 + 5) },
          createdAt: { N: String(T0) },
          updatedAt: { N: String(T0) },
          groupPk: { S: 'group#rec#0' },
          groupSk: { S: 'old' },
          statePk: { S: 'state#failed' },
          stateSk: { N: String(T0) },
        },
      }),
    );
    const [seen] = await ledger.listDueRetries(T0 + 5);
    expect(seen).toMatchObject({ fileId: 'old', autoRetries: 0, redrives: 0, nextAttemptAt: T0 + 5 });

    expect(await ledger.noteAutoRetry(seen!, T0 + 10)).toBe(true);

    const entry = await ledger.get('old');
    expect(entry).toMatchObject({ state: 'requested', autoRetries: 1, updatedAt: T0 + 10 });
    expect(entry?.nextAttemptAt).toBeUndefined();
  });

  describe('errors', () => {
    it('reports a missing table as a non-retryable LedgerStoreError', async () => {
      const ledger = new DynamoDbUploadLedger({ client: dynalite.client, tableName: 'no-such-table' });

      const error = await ledger.get('f1').catch((e: unknown) => e);

      expect(error).toBeInstanceOf(LedgerStoreError);
      expect(error).toMatchObject({ name: 'LedgerStoreError', retryable: false });
      expect((error as Error).message).toContain('ResourceNotFoundException');
    });

    it('reports an unreachable endpoint as a retryable LedgerStoreError', async () => {
      const port = await closedPort();
      const client = new DynamoDBClient({
        endpoint: `http://127.0.0.1:${port}`,
        region: 'us-east-1',
        credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
        maxAttempts: 1,
      });
      try {
        const ledger = new DynamoDbUploadLedger({ client, tableName: 'ledger' });

        await expect(ledger.claim('f1', 'a', 1_000, T0)).rejects.toMatchObject({ name: 'LedgerStoreError', retryable: true });
      } finally {
        client.destroy();
      }
    });

    it('treats throttling and server faults as retryable, validation errors as not', () => {
      const throttled = Object.assign(new Error('slow down'), { name: 'ProvisionedThroughputExceededException', $fault: 'client' });
      const serverFault = Object.assign(new Error('oops'), { name: 'SomethingNew', $fault: 'server' });
      const invalid = Object.assign(new Error('bad expression'), { name: 'ValidationException', $fault: 'client' });

      expect(toStoreError('claim', throttled)).toMatchObject({ name: 'LedgerStoreError', retryable: true, cause: throttled });
      expect(toStoreError('claim', serverFault).retryable).toBe(true);
      expect(toStoreError('claim', invalid).retryable).toBe(false);
    });
  });

  // Declared last: Jest runs a file's tests in order, so every path above has been recorded.
  it('used no Scan on any path, only single-item writes and index queries', () => {
    expect(commandsSent.length).toBeGreaterThan(100);
    expect(commandsSent).not.toContain('ScanCommand');
    expect(commandsSent).not.toContain('TransactWriteItemsCommand');
    expect(new Set(commandsSent)).toEqual(
      new Set([
        'CreateTableCommand',
        'DescribeTableCommand',
        'PutItemCommand',
        'UpdateItemCommand',
        'GetItemCommand',
        'QueryCommand',
        'BatchGetItemCommand',
      ]),
    );
  });
});

/** A loopback port nobody listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === 'string') throw new Error('no port');
  return address.port;
}
