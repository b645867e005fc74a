/**
 * The DynamoDB reconciler state against dynalite, in a ledger table made from the
 * ledger adapter's own definition: the shared contract (a fresh table per test), the
 * stored item layout the stack's IAM condition and TTL rely on, items TTL has not
 * removed yet, and that only GetItem / PutItem / DeleteItem are sent.
 */
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import {
  DynamoDbReconcilerState,
  RECONCILER_KEY_PREFIX,
  RECONCILER_TTL_ATTRIBUTE,
  reconcilerRejectionKey,
} from '../../shared/adapters/reconciler-state-dynamodb';
import { DELIVERY_KEY_PREFIX, DELIVERY_TTL_ATTRIBUTE } from '../../shared/adapters/delivery-guard-dynamodb';
import { LEDGER_KEYS, ledgerAnnouncementKey, ledgerFileKey, ledgerTableDefinition } from '../../shared/adapters/ledger-dynamodb';
import { startDynalite, type DynaliteHandle } from '../support/dynalite';
import { ODD_IDS, T0, describeReconcilerStateContract, rejectionOf } from './state-contract';

const DAY = 24 * 60 * 60 * 1000;
let dynalite: DynaliteHandle;
const commandsSent: string[] = [];
const getsConsistent: unknown[] = [];

beforeAll(async () => {
  dynalite = await startDynalite();
  dynalite.client.middlewareStack.add(
    (next, context) => async (args) => {
      commandsSent.push(String(context.commandName));
      if (context.commandName === 'GetItemCommand') getsConsistent.push((args.input as { ConsistentRead?: boolean }).ConsistentRead);
      return next(args);
    },
    { step: 'initialize', name: 'recordCommandNames' },
  );
});
afterAll(async () => {
  await dynalite.stop();
});

async function freshState(): Promise<{ state: DynamoDbReconcilerState; tableName: string }> {
  const tableName = await dynalite.createTable(ledgerTableDefinition(dynalite.uniqueTableName('ledger')));
  return { state: new DynamoDbReconcilerState({ client: dynalite.client, tableName }), tableName };
}

describeReconcilerStateContract('DynamoDB (dynalite)', async () => {
  const { state } = await freshState();
  return { state, dispose: async () => undefined };
});

describe('DynamoDbReconcilerState', () => {
  const rawItem = async (tableName: string, recordingId: string) =>
    (
      await dynalite.client.send(
        new GetItemCommand({ TableName: tableName, Key: { pk: { S: reconcilerRejectionKey(recordingId) } }, ConsistentRead: true }),
      )
    ).Item;

  it('keys items reconcile#rejected#<recordingId>, under a prefix no other item uses', () => {
    expect(RECONCILER_KEY_PREFIX).toBe('reconcile#');
    expect(reconcilerRejectionKey('a1B2/c3+D==')).toBe('reconcile#rejected#a1B2/c3+D==');
    for (const id of ODD_IDS) expect(reconcilerRejectionKey(id).startsWith(RECONCILER_KEY_PREFIX)).toBe(true);
    for (const other of [ledgerFileKey('x'), ledgerAnnouncementKey('x'), DELIVERY_KEY_PREFIX + 'x']) {
      expect(other.startsWith(RECONCILER_KEY_PREFIX)).toBe(false);
    }
  });

  it('uses the ledger table’s one TTL attribute', () => {
    expect(RECONCILER_TTL_ATTRIBUTE).toBe(DELIVERY_TTL_ATTRIBUTE);
    expect(RECONCILER_TTL_ATTRIBUTE).toBe('expiresAt');
  });

  it('stores pk, the fields, the exact keep time in ms and expiresAt in epoch seconds rounded up', async () => {
    const { state, tableName } = await freshState();
    const rememberedAt = T0 + 1_234;

    await state.rememberRejection(rejectionOf('rec/1+', { fingerprint: 'fp', reason: 'no_course_match', rememberedAt }), DAY);

    const item = await rawItem(tableName, 'rec/1+');
    expect(item).toEqual({
      [LEDGER_KEYS.partitionKey]: { S: 'reconcile#rejected#rec/1+' },
      recordingId: { S: 'rec/1+' },
      fingerprint: { S: 'fp' },
      reason: { S: 'no_course_match' },
      rememberedAt: { N: String(rememberedAt) },
      keepUntil: { N: String(rememberedAt + DAY) },
      expiresAt: { N: String(Math.ceil((rememberedAt + DAY) / 1000)) },
    });
    // TTL never removes an item before it expired.
    expect(Number(item?.expiresAt?.N) * 1000).toBeGreaterThanOrEqual(rememberedAt + DAY);
  });

  it('treats an item TTL has not removed yet as absent, and one without keepUntil by its TTL', async () => {
    const { state, tableName } = await freshState();
    await state.rememberRejection(rejectionOf('lazy'), DAY);
    expect(await rawItem(tableName, 'lazy')).toBeDefined();
    expect(await state.rejection('lazy', T0 + 2 * DAY)).toBeUndefined();

    const seconds = Math.floor(T0 / 1000) + 60;
    await dynalite.client.send(
      new PutItemCommand({
        TableName: tableName,
        Item: {
          pk: { S: reconcilerRejectionKey('ttl-only') },
          recordingId: { S: 'ttl-only' },
          fingerprint: { S: 'f' },
          reason: { S: 'r' },
          rememberedAt: { N: String(T0) },
          expiresAt: { N: String(seconds) },
        },
      }),
    );
    expect(await state.rejection('ttl-only', seconds * 1000)).toEqual({ recordingId: 'ttl-only', fingerprint: 'f', reason: 'r', rememberedAt: T0 });
    expect(await state.rejection('ttl-only', seconds * 1000 + 1)).toBeUndefined();
  });

  it('shares the ledger table without touching ledger items', async () => {
    const { state, tableName } = await freshState();
    await dynalite.client.send(new PutItemCommand({ TableName: tableName, Item: { pk: { S: ledgerFileKey('rec-1') }, fileId: { S: 'rec-1' } } }));

    await state.rememberRejection(rejectionOf('rec-1'), DAY);
    await state.forgetRejection('rec-1');

    const ledgerItem = await dynalite.client.send(
      new GetItemCommand({ TableName: tableName, Key: { pk: { S: ledgerFileKey('rec-1') } }, ConsistentRead: true }),
    );
    expect(ledgerItem.Item?.fileId).toEqual({ S: 'rec-1' });
    expect(await rawItem(tableName, 'rec-1')).toBeUndefined();
  });

  it('passes a missing table’s error through', async () => {
    const state = new DynamoDbReconcilerState({ client: dynalite.client, tableName: 'no-such-table' });

    await expect(state.rejection('rec-1', T0)).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });

  // Declared last: Jest runs a file's tests in order, so every path above has been recorded.
  it('sent only GetItem, PutItem and DeleteItem (besides the tests’ table set-up)', () => {
    expect(new Set(commandsSent)).toEqual(
      new Set(['CreateTableCommand', 'DescribeTableCommand', 'GetItemCommand', 'PutItemCommand', 'DeleteItemCommand']),
    );
    expect(getsConsistent.length).toBeGreaterThan(20);
    expect(getsConsistent.every((consistent) => consistent === true)).toBe(true);
  });
});
