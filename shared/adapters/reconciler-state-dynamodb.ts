/**
 * ReconcilerState on DynamoDB, for the sweep Lambda. Items live in the ledger table
 * under their own key prefix (`reconcile#rejected#<recordingId>`), so the sweep's
 * role can be limited to that prefix (dynamodb:LeadingKeys on RECONCILER_KEY_PREFIX).
 *
 * Item: pk, recordingId, fingerprint, reason, rememberedAt (epoch ms), keepUntil
 * (epoch ms, rememberedAt + keepMs: the exact expiry reads check) and expiresAt (epoch
 * SECONDS, rounded up: the table's TTL attribute, so TTL never deletes an item before
 * it expired). TTL deletes lazily (up to days late), so a read treats an item whose
 * expiry has passed as absent. Reads are consistent; a write is one PutItem, a forget
 * one DeleteItem: GetItem/PutItem/DeleteItem are all the role needs.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { ReconcilerState, RememberedRejection } from '../ports/reconciler-state';
import { LEDGER_KEYS } from './ledger-dynamodb';

/** Key prefix of every reconciler item; the stack's IAM condition (dynamodb:LeadingKeys) uses it. */
export const RECONCILER_KEY_PREFIX = 'reconcile#';
/** Partition key of a recording's remembered rejection. */
export const reconcilerRejectionKey = (recordingId: string): string => `${RECONCILER_KEY_PREFIX}rejected#${recordingId}`;
/**
 * TTL attribute (epoch seconds). A table has one TTL attribute: this is the ledger
 * table's, the same as the webhook's delivery records (DELIVERY_TTL_ATTRIBUTE).
 */
export const RECONCILER_TTL_ATTRIBUTE = 'expiresAt';

export interface DynamoDbReconcilerStateOptions {
  client: DynamoDBClient;
  /** The ledger table. */
  tableName: string;
}

interface StoredRejection {
  recordingId: string;
  fingerprint: string;
  reason: string;
  rememberedAt: number;
  keepUntil?: number;
  [RECONCILER_TTL_ATTRIBUTE]?: number;
}

export class DynamoDbReconcilerState implements ReconcilerState {
  private readonly documents: DynamoDBDocumentClient;
  private readonly tableName: string;

  constructor(options: DynamoDbReconcilerStateOptions) {
    this.documents = DynamoDBDocumentClient.from(options.client);
    this.tableName = options.tableName;
  }

  async rejection(recordingId: string, now: number = Date.now()): Promise<RememberedRejection | undefined> {
    const output = await this.documents.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { [LEDGER_KEYS.partitionKey]: reconcilerRejectionKey(recordingId) },
        ConsistentRead: true,
      }),
    );
    const item = output.Item as StoredRejection | undefined;
    if (!item || expiredAt(item, now)) return undefined;
    return { recordingId: item.recordingId, fingerprint: item.fingerprint, reason: item.reason, rememberedAt: item.rememberedAt };
  }

  async rememberRejection(entry: RememberedRejection, keepMs: number): Promise<void> {
    assertTimes(entry.rememberedAt, keepMs);
    const keepUntil = entry.rememberedAt + keepMs;
    const item: StoredRejection = {
      recordingId: entry.recordingId,
      fingerprint: entry.fingerprint,
      reason: entry.reason,
      rememberedAt: entry.rememberedAt,
      keepUntil,
      [RECONCILER_TTL_ATTRIBUTE]: Math.ceil(keepUntil / 1000),
    };
    await this.documents.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...item, [LEDGER_KEYS.partitionKey]: reconcilerRejectionKey(entry.recordingId) },
      }),
    );
  }

  async forgetRejection(recordingId: string): Promise<void> {
    await this.documents.send(
      new DeleteCommand({ TableName: this.tableName, Key: { [LEDGER_KEYS.partitionKey]: reconcilerRejectionKey(recordingId) } }),
    );
  }
}

/** Expired once its keep time has passed; an item without keepUntil falls back to the TTL attribute. */
function expiredAt(item: StoredRejection, now: number): boolean {
  if (typeof item.keepUntil === 'number') return item.keepUntil < now;
  const ttl = item[RECONCILER_TTL_ATTRIBUTE];
  return typeof ttl === 'number' && ttl * 1000 < now;
}

/** Times and durations are whole milliseconds; keepMs is not negative. */
function assertTimes(rememberedAt: number, keepMs: number): void {
  if (!Number.isSafeInteger(rememberedAt)) throw new RangeError(`rememberedAt must be epoch milliseconds, not ${rememberedAt}`);
  if (!Number.isSafeInteger(keepMs) || keepMs < 0) throw new RangeError(`keepMs must be a non-negative whole number of milliseconds, not ${keepMs}`);
}
