/**
 * The DynamoDB clean-up schedule against dynalite, in a ledger table made from the
 * ledger adapter's own definition: the shared contract (a fresh table per test, once
 * with DynamoDB's own pages and once with two-item pages), the stored item layout
 * (key, byState partition and sort key per state), that ledger items and clean-up
 * items in the one table never show up in each other's listings, lost races, store
 * errors, and that only GetItem (consistent), conditional PutItem and Query on byState
 * are sent — the list the CDK grants are written from.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import {
  CLEANUP_KEY_PREFIX,
  DynamoDbCleanupSchedule,
  cleanupKey,
  cleanupStatePartition,
} from '../../shared/adapters/cleanup-dynamodb';
import { CleanupStoreError } from '../../shared/adapters/cleanup-rules';
import { RECONCILER_KEY_PREFIX } from '../../shared/adapters/reconciler-state-dynamodb';
import { DynamoDbUploadLedger, LEDGER_KEYS, ledgerAnnouncementKey, ledgerFileKey, ledgerTableDefinition } from '../../shared/adapters/ledger-dynamodb';
import { ledgerGroupKey } from '../../shared/ledger-group';
import { startDynalite, type DynaliteHandle } from '../support/dynalite';
import { DAY, HOUR, LEASE, ODD_IDS, T0, describeCleanupScheduleContract, scheduleInput } from './schedule-contract';

let dynalite: DynaliteHandle;
/** The schedule's own client: every command it sends is recorded here, the tests' set-up is not. */
let scheduleClient: DynamoDBClient;
const sent: { command: string; input: Record<string, unknown> }[] = [];

beforeAll(async () => {
  dynalite = await startDynalite();
  scheduleClient = new DynamoDBClient({
    endpoint: dynalite.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'dynalite', secretAccessKey: 'dynalite' },
  });
  scheduleClient.middlewareStack.add(
    (next, context) => async (args) => {
      sent.push({ command: String(context.commandName), input: args.input as Record<string, unknown> });
      return next(args);
    },
    { step: 'initialize', name: 'recordCleanupCommands' },
  );
});
afterAll(async () => {
  scheduleClient.destroy();
  await dynalite.stop();
});

async function freshTable(): Promise<string> {
  return dynalite.createTable(ledgerTableDefinition(dynalite.uniqueTableName('ledger')));
}

async function freshSchedule(queryPageSize?: number): Promise<{ schedule: DynamoDbCleanupSchedule; tableName: string }> {
  const tableName = await freshTable();
  return { schedule: new DynamoDbCleanupSchedule({ client: scheduleClient, tableName, queryPageSize }), tableName };
}

describeCleanupScheduleContract('DynamoDB (dynalite)', async () => {
  const { schedule } = await freshSchedule();
  return { schedule, dispose: async () => undefined };
});

describeCleanupScheduleContract('DynamoDB (dynalite), two-item query pages', async () => {
  const { schedule } = await freshSchedule(2);
  return { schedule, dispose: async () => undefined };
});

describe('DynamoDbCleanupSchedule', () => {
  /** The item as stored (read with the tests' own client, so not recorded as the schedule's). */
  const rawItem = async (tableName: string, recordingId: string) => {
    const { Item } = await DynamoDBDocumentClient.from(dynalite.client).send(
      new GetCommand({ TableName: tableName, Key: { pk: cleanupKey(recordingId) }, ConsistentRead: true }),
    );
    return Item;
  };

  it('keys items cleanup#<recordingId>, under a prefix no other item of the table uses', () => {
    expect(CLEANUP_KEY_PREFIX).toBe('cleanup#');
    expect(cleanupKey('a1B2/c3+D==')).toBe('cleanup#a1B2/c3+D==');
    expect(cleanupStatePartition('would_trash')).toBe('cleanup#would_trash');
    for (const id of ODD_IDS) expect(cleanupKey(id).startsWith(CLEANUP_KEY_PREFIX)).toBe(true);
    for (const other of [ledgerFileKey('x'), ledgerAnnouncementKey('x'), RECONCILER_KEY_PREFIX + 'x']) {
      expect(other.startsWith(CLEANUP_KEY_PREFIX)).toBe(false);
    }
  });

  it('stores the entry with its byState partition and sort key: dueAt, then leaseExpiresAt, then updatedAt', async () => {
    const { schedule, tableName } = await freshSchedule();
    const K = LEDGER_KEYS;

    await schedule.schedule(scheduleInput('rec/1+', { dueAt: T0 + DAY, now: T0 }));
    expect(await rawItem(tableName, 'rec/1+')).toEqual({
      [K.partitionKey]: 'cleanup#rec/1+',
      [K.statePartitionKey]: 'cleanup#scheduled',
      [K.stateSortKey]: T0 + DAY,
      recordingId: 'rec/1+',
      course: 'MAQ101',
      state: 'scheduled',
      dueAt: T0 + DAY,
      attempts: 0,
      version: 1,
      createdAt: T0,
      updatedAt: T0,
    });

    await schedule.claim('rec/1+', 'runner-a', LEASE, T0 + DAY);
    expect(await rawItem(tableName, 'rec/1+')).toMatchObject({ statePk: 'cleanup#running', stateSk: T0 + DAY + LEASE });

    await schedule.finish('rec/1+', 'runner-a', { state: 'would_trash' }, T0 + DAY + 7);
    expect(await rawItem(tableName, 'rec/1+')).toMatchObject({ statePk: 'cleanup#would_trash', stateSk: T0 + DAY });

    await schedule.claim('rec/1+', 'runner-a', LEASE, T0 + 2 * DAY, { includeWouldTrash: true });
    await schedule.finish('rec/1+', 'runner-a', { state: 'trashed', outcome: 'trashed' }, T0 + 2 * DAY + 9);
    const trashed = await rawItem(tableName, 'rec/1+');
    expect(trashed).toMatchObject({ statePk: 'cleanup#trashed', stateSk: T0 + 2 * DAY + 9, outcome: 'trashed' });
    // Cleared fields are gone from the item, not stored empty.
    expect(trashed).not.toHaveProperty('leaseOwner');
    expect(trashed).not.toHaveProperty('leaseExpiresAt');
  });

  it('keeps ledger items and clean-up items in one table out of each other’s listings', async () => {
    const tableName = await freshTable();
    const ledger = new DynamoDbUploadLedger({ client: dynalite.client, tableName });
    const schedule = new DynamoDbCleanupSchedule({ client: scheduleClient, tableName, queryPageSize: 1 });
    // The same id on both sides: a recording id that is also a file id must not collide.
    const recordingId = 'a1B2c3D4e5F6g7H8i9J0kA==';
    await ledger.register({
      fileId: recordingId,
      recordingId,
      groupKey: ledgerGroupKey(recordingId, 0),
      groupSize: 1,
      course: 'MAQ101',
      archiveKey: 'courses/MAQ101/x.mp4',
      now: T0,
    });
    await schedule.schedule(scheduleInput(recordingId, { dueAt: T0 }));
    await schedule.schedule(scheduleInput('requested', { dueAt: T0 }));
    await schedule.schedule(scheduleInput('other', { dueAt: T0 + 1 }));
    await schedule.claim('other', 'runner-a', LEASE, T0 + 1);

    const requested = await ledger.listByState('requested');
    expect(requested.map((entry) => entry.fileId)).toEqual([recordingId]);
    for (const state of ['uploading', 'uploaded', 'failed'] as const) expect(await ledger.listByState(state)).toEqual([]);
    expect(await ledger.listExpiredLeases(T0 + 10 * DAY)).toEqual([]);
    expect(await ledger.get(recordingId)).toMatchObject({ state: 'requested', fileId: recordingId });

    expect((await schedule.list()).map((entry) => entry.recordingId)).toEqual([recordingId, 'requested', 'other']);
    expect((await schedule.listDue(T0 + 10 * DAY, { includeWouldTrash: true })).map((entry) => entry.recordingId)).toEqual([
      recordingId,
      'requested',
      'other',
    ]);
    expect(await schedule.get(recordingId)).toMatchObject({ state: 'scheduled', course: 'MAQ101' });
    expect(await schedule.get('never')).toBeUndefined();
  });

  it('re-reads and re-applies after a lost race, and gives up (retryable) when it keeps losing', async () => {
    const { schedule, tableName } = await freshSchedule();
    await schedule.schedule(scheduleInput('rec-1'));

    // A client whose PutItem always finds the version changed (as if another writer always came first).
    const losing = new DynamoDBClient({
      endpoint: dynalite.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'dynalite', secretAccessKey: 'dynalite' },
    });
    let puts = 0;
    losing.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'PutItemCommand') {
          puts += 1;
          const error = new Error('The conditional request failed');
          error.name = 'ConditionalCheckFailedException';
          throw error;
        }
        return next(args);
      },
      { step: 'initialize', name: 'alwaysLose' },
    );
    const unlucky = new DynamoDbCleanupSchedule({ client: losing, tableName });
    try {
      const failure = unlucky.claim('rec-1', 'runner-a', LEASE, T0 + DAY);
      await expect(failure).rejects.toBeInstanceOf(CleanupStoreError);
      await expect(failure).rejects.toMatchObject({ retryable: true });
      expect(puts).toBeGreaterThan(1);
      // A rule that allows nothing answers without a write, race or not.
      expect(await unlucky.claim('rec-1', 'runner-a', LEASE, T0)).toBeUndefined();
    } finally {
      losing.destroy();
    }
    expect((await schedule.get('rec-1'))?.state).toBe('scheduled');
  });

  it('wraps a missing table as a CleanupStoreError that is not retryable, and an unreachable endpoint as retryable', async () => {
    const missing = new DynamoDbCleanupSchedule({ client: scheduleClient, tableName: 'no-such-table' });
    await expect(missing.get('rec-1')).rejects.toMatchObject({ name: 'CleanupStoreError', retryable: false });
    await expect(missing.schedule(scheduleInput('rec-1'))).rejects.toMatchObject({ name: 'CleanupStoreError', retryable: false });
    await expect(missing.listDue(T0)).rejects.toBeInstanceOf(CleanupStoreError);

    const nowhere = new DynamoDBClient({
      endpoint: 'http://127.0.0.1:9',
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
      maxAttempts: 1,
    });
    try {
      const unreachable = new DynamoDbCleanupSchedule({ client: nowhere, tableName: 'ledger' });
      await expect(unreachable.get('rec-1')).rejects.toMatchObject({ name: 'CleanupStoreError', retryable: true });
    } finally {
      nowhere.destroy();
    }
  });

  it('pages through many entries with small pages, in order', async () => {
    const { schedule } = await freshSchedule(3);
    const ids = Array.from({ length: 25 }, (_, i) => `rec-${String(i).padStart(2, '0')}`);
    await Promise.all(ids.map((id, i) => schedule.schedule(scheduleInput(id, { dueAt: T0 + (i % 5) * HOUR }))));

    const expected = [...ids].sort((a, b) => (Number(a.slice(4)) % 5) - (Number(b.slice(4)) % 5) || (a < b ? -1 : 1));
    expect((await schedule.list()).map((e) => e.recordingId)).toEqual(expected);
    expect((await schedule.listDue(T0 + DAY)).map((e) => e.recordingId)).toEqual(expected);
    expect((await schedule.listDue(T0 + DAY, { limit: 7 })).map((e) => e.recordingId)).toEqual(expected.slice(0, 7));
    expect((await schedule.list({ limit: 11 })).map((e) => e.recordingId)).toEqual(expected.slice(0, 11));
    expect((await schedule.listDue(T0 + 2 * HOUR)).map((e) => e.recordingId)).toEqual(expected.slice(0, 15));
  });

  it('refuses a queryPageSize that is not a positive whole number', () => {
    expect(() => new DynamoDbCleanupSchedule({ client: scheduleClient, tableName: 't', queryPageSize: 0 })).toThrow(RangeError);
  });

  // Declared last: Jest runs a file's tests in order, so every path above has been recorded.
  it('sent only GetItem (consistent), conditional PutItem and Query on byState', () => {
    const commands = new Set(sent.map((s) => s.command));
    expect(commands).toEqual(new Set(['GetItemCommand', 'PutItemCommand', 'QueryCommand']));
    for (const { command, input } of sent) {
      if (command === 'GetItemCommand') expect(input.ConsistentRead).toBe(true);
      if (command === 'PutItemCommand') expect(['attribute_not_exists(#pk)', '#version = :seen']).toContain(input.ConditionExpression);
      if (command === 'QueryCommand') {
        expect(input.IndexName).toBe(LEDGER_KEYS.stateIndex);
        expect(String((input.ExpressionAttributeValues as Record<string, unknown>)[':statePk'])).toMatch(/^cleanup#/);
      }
    }
    expect(sent.filter((s) => s.command === 'QueryCommand').length).toBeGreaterThan(50);
  });
});
