/**
 * UploadLedger on DynamoDB, for the cloud runtime. Every state change is one
 * PutItem/UpdateItem with a ConditionExpression (no transactions: dynalite has none,
 * and one item per file needs none); a ConditionalCheckFailedException is an
 * answer (lease lost, already uploaded), not an error. No path uses Scan.
 *
 * Table: partition key `pk` only. File entries are `file#<fileId>`; group
 * announcements are separate items `announce#<groupKey>`. Two GSIs: byGroup
 * (keys only; listGroup re-reads the items consistently) and byState (sort key =
 * updatedAt; restart recovery, `retry --failed`, and the failed entries due for an
 * automatic re-drive, filtered on nextAttemptAt). The CDK stack mirrors
 * `ledgerTableDefinition` and the key names exported here.
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { CreateTableCommandInput, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type PutCommandInput,
  type QueryCommandInput,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { ArchiverError } from '../errors';
import {
  LedgerEntryNotFoundError,
  LedgerInputError,
  LedgerRefusedError,
  LedgerStoreError,
  type CheckpointPart,
  type ClaimResult,
  type FailOptions,
  type LedgerEntry,
  type LedgerError,
  type LedgerResult,
  type LedgerState,
  type ListOptions,
  type RecoverySnapshot,
  type RegisterInput,
  type TransferCheckpoint,
  type UploadLedger,
} from '../ports/upload-ledger';
import { assertLeaseMs, storableRequest } from './ledger-rules';
import { backoffDelay, sleep } from '../retry';

/** Key attribute and index names; the CDK table definition uses the same constants. */
export const LEDGER_KEYS = {
  partitionKey: 'pk',
  groupIndex: 'byGroup',
  groupPartitionKey: 'groupPk',
  groupSortKey: 'groupSk',
  stateIndex: 'byState',
  statePartitionKey: 'statePk',
  stateSortKey: 'stateSk',
} as const;

export const ledgerFileKey = (fileId: string): string => `file#${fileId}`;
export const ledgerAnnouncementKey = (groupKey: string): string => `announce#${groupKey}`;
const groupPk = (groupKey: string): string => `group#${groupKey}`;
const statePk = (state: LedgerState): string => `state#${state}`;

/**
 * Largest checkpoint stored, encoded. DynamoDB items stop at 400 KB; S3's maximum of
 * 10,000 parts with MD5 ETags encodes to about 210 KB, which leaves room for the rest.
 */
export const MAX_CHECKPOINT_BYTES = 300 * 1024;

/** The table as CreateTable input: used by the tests against dynalite, mirrored by the CDK stack. */
export function ledgerTableDefinition(tableName: string): CreateTableCommandInput {
  const K = LEDGER_KEYS;
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: K.partitionKey, AttributeType: 'S' },
      { AttributeName: K.groupPartitionKey, AttributeType: 'S' },
      { AttributeName: K.groupSortKey, AttributeType: 'S' },
      { AttributeName: K.statePartitionKey, AttributeType: 'S' },
      { AttributeName: K.stateSortKey, AttributeType: 'N' },
    ],
    KeySchema: [{ AttributeName: K.partitionKey, KeyType: 'HASH' }],
    GlobalSecondaryIndexes: [
      {
        IndexName: K.groupIndex,
        KeySchema: [
          { AttributeName: K.groupPartitionKey, KeyType: 'HASH' },
          { AttributeName: K.groupSortKey, KeyType: 'RANGE' },
        ],
        // Index reads are eventually consistent; listGroup re-reads the items, so keys suffice.
        Projection: { ProjectionType: 'KEYS_ONLY' },
      },
      {
        IndexName: K.stateIndex,
        KeySchema: [
          { AttributeName: K.statePartitionKey, KeyType: 'HASH' },
          { AttributeName: K.stateSortKey, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
    ],
  };
}

export interface DynamoDbUploadLedgerOptions {
  client: DynamoDBClient;
  tableName: string;
  /** Items read per Query page; DynamoDB's 1 MB pages when absent. Tests set it low to exercise paging. */
  queryPageSize?: number;
}

/** The checkpoint as stored: parts packed column-wise, JSON, deflated (see encodeCheckpointParts). */
interface StoredCheckpoint {
  uploadId?: string;
  bytesCommitted: number;
  hashState?: string;
  parts: Uint8Array;
}

/** Attributes of a file item; the key and index attributes are added on write. */
interface StoredEntry extends Omit<LedgerEntry, 'checkpoint'> {
  checkpoint?: StoredCheckpoint;
}

const UPLOADING = 'uploading' satisfies LedgerState;
/** Condition of every owner operation: the caller still holds the file. */
const HELD_BY_OWNER = '#state = :uploading AND #leaseOwner = :owner';
/** A claim re-reads and retries this often when the state changes under it. */
const CLAIM_ROUNDS = 4;

export class DynamoDbUploadLedger implements UploadLedger {
  private readonly documents: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly queryPageSize: number | undefined;

  constructor(options: DynamoDbUploadLedgerOptions) {
    this.queryPageSize = options.queryPageSize;
    this.documents = DynamoDBDocumentClient.from(options.client, {
      marshallOptions: { removeUndefinedValues: true },
    });
    this.tableName = options.tableName;
  }

  async register(input: RegisterInput): Promise<LedgerEntry> {
    const entry: LedgerEntry = {
      fileId: input.fileId,
      recordingId: input.recordingId,
      groupKey: input.groupKey,
      groupSize: input.groupSize,
      course: input.course,
      archiveKey: input.archiveKey,
      expectedSize: input.expectedSize,
      request: storableRequest(input.request, input.fileId),
      state: 'requested',
      attempts: 0,
      duplicates: 0,
      redrives: 0,
      autoRetries: 0,
      createdAt: input.now,
      updatedAt: input.now,
    };
    const K = LEDGER_KEYS;
    const created = await this.conditional('register', {
      refusedAs: input.fileId,
      TableName: this.tableName,
      Item: {
        ...entry,
        [K.partitionKey]: ledgerFileKey(input.fileId),
        [K.groupPartitionKey]: groupPk(input.groupKey),
        [K.groupSortKey]: input.fileId,
        [K.statePartitionKey]: statePk('requested'),
        [K.stateSortKey]: input.now,
      },
      ConditionExpression: 'attribute_not_exists(#pk)',
      ExpressionAttributeNames: { '#pk': K.partitionKey },
    });
    if (created) return withoutUndefined(entry);
    const existing = await this.get(input.fileId);
    if (!existing) throw new LedgerStoreError(`ledger entry of file ${input.fileId} exists and cannot be read`, true);
    return existing;
  }

  async claim(fileId: string, owner: string, leaseMs: number, now: number): Promise<ClaimResult> {
    assertLeaseMs(leaseMs);
    for (let round = 1; round <= CLAIM_ROUNDS; round++) {
      const claimed = await this.update('claim', fileId, {
        UpdateExpression:
          'SET #state = :uploading, #leaseOwner = :owner, #leaseExpiresAt = :expires, #updatedAt = :now, ' +
          '#statePk = :statePk, #stateSk = :now ADD #attempts :one REMOVE #interruptedAt, #nextAttemptAt',
        ConditionExpression:
          'attribute_exists(#pk) AND (#state IN (:requested, :failed) OR (#state = :uploading AND #leaseExpiresAt <= :now))',
        ExpressionAttributeValues: {
          ':uploading': 'uploading',
          ':requested': 'requested',
          ':failed': 'failed',
          ':owner': owner,
          ':expires': now + leaseMs,
          ':now': now,
          ':statePk': statePk('uploading'),
          ':one': 1,
        },
      });
      if (claimed?.entry) return { outcome: 'claimed', entry: claimed.entry };

      // ReturnValuesOnConditionCheckFailure would save this read, but dynalite ignores it.
      const current = await this.get(fileId);
      if (!current) throw new LedgerEntryNotFoundError(fileId);
      if (current.state === 'uploaded') {
        // uploaded is final, so this condition only guards against a concurrent delete.
        const counted = await this.update('claim', fileId, {
          UpdateExpression: 'ADD #duplicates :one',
          ConditionExpression: '#state = :uploaded',
          ExpressionAttributeValues: { ':uploaded': 'uploaded', ':one': 1 },
        });
        return { outcome: 'already_uploaded', entry: counted?.entry ?? current };
      }
      if (current.state === UPLOADING && (current.leaseExpiresAt ?? 0) > now) {
        return { outcome: 'leased', entry: current };
      }
      // The state changed between the write and the read (failed, released, lease ran out): claim again.
    }
    throw new LedgerStoreError(`claim of file ${fileId} kept racing with other writers`, true);
  }

  async renew(fileId: string, owner: string, leaseMs: number, now: number): Promise<boolean> {
    assertLeaseMs(leaseMs);
    return this.ownerUpdate('renew', fileId, owner, now, 'SET #leaseExpiresAt = :expires', { ':expires': now + leaseMs });
  }

  async checkpoint(fileId: string, owner: string, checkpoint: TransferCheckpoint | null, now: number): Promise<boolean> {
    if (checkpoint === null) return this.ownerUpdate('checkpoint', fileId, owner, now, 'REMOVE #checkpoint', {});
    return this.ownerUpdate('checkpoint', fileId, owner, now, 'SET #checkpoint = :checkpoint', {
      ':checkpoint': encodeCheckpoint(checkpoint, fileId),
    });
  }

  async complete(fileId: string, owner: string, result: LedgerResult, now: number): Promise<boolean> {
    return this.ownerUpdate(
      'complete',
      fileId,
      owner,
      now,
      'SET #state = :uploaded, #result = :result, #statePk = :statePk REMOVE #leaseOwner, #leaseExpiresAt, #checkpoint, #nextAttemptAt',
      { ':uploaded': 'uploaded', ':result': result, ':statePk': statePk('uploaded') },
    );
  }

  async fail(fileId: string, owner: string, error: LedgerError, now: number, options: FailOptions = {}): Promise<boolean> {
    const next = nextAttemptUpdate(options);
    return this.ownerUpdate(
      'fail',
      fileId,
      owner,
      now,
      `SET #state = :failed, #lastError = :error, #statePk = :statePk${next.set} REMOVE #leaseOwner, #leaseExpiresAt${next.remove}`,
      { ':failed': 'failed', ':error': error, ':statePk': statePk('failed'), ...next.values },
    );
  }

  async release(fileId: string, owner: string, now: number, interruption?: LedgerError): Promise<boolean> {
    if (interruption) {
      return this.ownerUpdate(
        'release',
        fileId,
        owner,
        now,
        'SET #state = :requested, #statePk = :statePk, #lastError = :error, #interruptedAt = :now REMOVE #leaseOwner, #leaseExpiresAt',
        { ':requested': 'requested', ':statePk': statePk('requested'), ':error': interruption },
      );
    }
    return this.ownerUpdate(
      'release',
      fileId,
      owner,
      now,
      'SET #state = :requested, #statePk = :statePk REMOVE #leaseOwner, #leaseExpiresAt',
      { ':requested': 'requested', ':statePk': statePk('requested') },
    );
  }

  async noteRedrive(seen: RecoverySnapshot, counted: boolean, now: number): Promise<boolean> {
    // ADD creates the counter on items written before it existed.
    const updated = await this.update(
      'noteRedrive',
      seen.fileId,
      {
        UpdateExpression:
          'SET #state = :requested, #statePk = :statePk, #updatedAt = :now, #stateSk = :now ' +
          'ADD #redrives :add REMOVE #leaseOwner, #leaseExpiresAt, #interruptedAt',
        ...asSeenAndAbandoned(seen, now, { ':requested': 'requested', ':statePk': statePk('requested'), ':add': counted ? 1 : 0 }),
      },
      'NONE',
    );
    return updated !== undefined;
  }

  async failAbandoned(seen: RecoverySnapshot, error: LedgerError, now: number, options: FailOptions = {}): Promise<boolean> {
    const next = nextAttemptUpdate(options);
    const updated = await this.update(
      'failAbandoned',
      seen.fileId,
      {
        UpdateExpression:
          `SET #state = :failed, #statePk = :statePk, #lastError = :error, #updatedAt = :now, #stateSk = :now${next.set} ` +
          `REMOVE #leaseOwner, #leaseExpiresAt, #interruptedAt${next.remove}`,
        ...asSeenAndAbandoned(seen, now, { ':failed': 'failed', ':statePk': statePk('failed'), ':error': error, ...next.values }),
      },
      'NONE',
    );
    return updated !== undefined;
  }

  async noteAutoRetry(seen: RecoverySnapshot, now: number): Promise<boolean> {
    // Items written before the counters existed lack them: the unchanged-since check accepts that as 0.
    const redrives = seen.redrives === 0 ? '(attribute_not_exists(#redrives) OR #redrives = :seenRedrives)' : '#redrives = :seenRedrives';
    const autoRetries = seen.autoRetries === 0 ? '(attribute_not_exists(#autoRetries) OR #autoRetries = :seenAutoRetries)' : '#autoRetries = :seenAutoRetries';
    const updated = await this.update(
      'noteAutoRetry',
      seen.fileId,
      {
        UpdateExpression:
          'SET #state = :requested, #statePk = :statePk, #updatedAt = :now, #stateSk = :now ' +
          'ADD #autoRetries :one REMOVE #nextAttemptAt, #leaseOwner, #leaseExpiresAt, #interruptedAt',
        ConditionExpression:
          `#state = :failed AND #state = :seenState AND #attempts = :seenAttempts AND ${redrives} AND ${autoRetries} ` +
          'AND #updatedAt = :seenUpdatedAt AND #nextAttemptAt <= :now',
        ExpressionAttributeValues: {
          ':requested': 'requested',
          ':failed': 'failed',
          ':statePk': statePk('requested'),
          ':now': now,
          ':one': 1,
          ':seenState': seen.state,
          ':seenAttempts': seen.attempts,
          ':seenRedrives': seen.redrives,
          ':seenAutoRetries': seen.autoRetries,
          ':seenUpdatedAt': seen.updatedAt,
        },
      },
      'NONE',
    );
    return updated !== undefined;
  }

  async get(fileId: string): Promise<LedgerEntry | undefined> {
    const output = await this.send('get', () =>
      this.documents.send(
        new GetCommand({
          TableName: this.tableName,
          Key: { [LEDGER_KEYS.partitionKey]: ledgerFileKey(fileId) },
          ConsistentRead: true,
        }),
      ),
    );
    return output.Item ? toEntry(output.Item) : undefined;
  }

  async listGroup(groupKey: string): Promise<LedgerEntry[]> {
    const K = LEDGER_KEYS;
    const keys = await this.queryAll('listGroup', {
      TableName: this.tableName,
      IndexName: K.groupIndex,
      KeyConditionExpression: '#groupPk = :groupPk',
      ExpressionAttributeNames: { '#groupPk': K.groupPartitionKey },
      ExpressionAttributeValues: { ':groupPk': groupPk(groupKey) },
    });
    const items = await this.batchGetConsistent(keys.map((key) => ({ [K.partitionKey]: key[K.partitionKey] })));
    return items
      .map(toEntry)
      .filter((entry) => entry.groupKey === groupKey)
      .sort((a, b) => (a.fileId < b.fileId ? -1 : a.fileId > b.fileId ? 1 : 0));
  }

  async claimGroupAnnouncement(groupKey: string, now: number): Promise<boolean> {
    return this.conditional('claimGroupAnnouncement', {
      TableName: this.tableName,
      Item: { [LEDGER_KEYS.partitionKey]: ledgerAnnouncementKey(groupKey), groupKey, announcedAt: now },
      ConditionExpression: 'attribute_not_exists(#pk)',
      ExpressionAttributeNames: { '#pk': LEDGER_KEYS.partitionKey },
    });
  }

  async listByState(state: LedgerState, options: ListOptions = {}): Promise<LedgerEntry[]> {
    const K = LEDGER_KEYS;
    const since = options.updatedSince;
    const items = await this.queryAll(
      'listByState',
      {
        TableName: this.tableName,
        IndexName: K.stateIndex,
        KeyConditionExpression: since === undefined ? '#statePk = :statePk' : '#statePk = :statePk AND #stateSk >= :since',
        ExpressionAttributeNames:
          since === undefined ? { '#statePk': K.statePartitionKey } : { '#statePk': K.statePartitionKey, '#stateSk': K.stateSortKey },
        ExpressionAttributeValues: since === undefined ? { ':statePk': statePk(state) } : { ':statePk': statePk(state), ':since': since },
        ScanIndexForward: true,
      },
      options.limit,
    );
    return items.map(toEntry);
  }

  async listExpiredLeases(now: number, limit?: number): Promise<LedgerEntry[]> {
    // Uploading entries are few (bounded by concurrency), so filtering them is cheap.
    return this.listInStateDueBy('listExpiredLeases', 'uploading', 'leaseExpiresAt', now, limit);
  }

  async listDueRetries(now: number, limit?: number): Promise<LedgerEntry[]> {
    // The failed partition, filtered: every failed item is read (and paid for), only the due ones returned.
    return this.listInStateDueBy('listDueRetries', 'failed', 'nextAttemptAt', now, limit);
  }

  /** Entries of one state (the byState index) whose `attribute` is at or before `now`, earliest first (then by file id). */
  private async listInStateDueBy(operation: string, state: LedgerState, attribute: 'leaseExpiresAt' | 'nextAttemptAt', now: number, limit?: number): Promise<LedgerEntry[]> {
    const K = LEDGER_KEYS;
    const items = await this.queryAll(
      operation,
      {
        TableName: this.tableName,
        IndexName: K.stateIndex,
        KeyConditionExpression: '#statePk = :statePk',
        FilterExpression: '#due <= :now',
        ExpressionAttributeNames: { '#statePk': K.statePartitionKey, '#due': attribute },
        ExpressionAttributeValues: { ':statePk': statePk(state), ':now': now },
      },
      limit,
    );
    return items
      .map(toEntry)
      .sort((a, b) => (a[attribute] ?? 0) - (b[attribute] ?? 0) || (a.fileId < b.fileId ? -1 : a.fileId > b.fileId ? 1 : 0));
  }

  /** An owner operation: SET updatedAt (and the index sort key) plus `expression`, if the caller holds the lease. */
  private async ownerUpdate(
    operation: string,
    fileId: string,
    owner: string,
    now: number,
    expression: string,
    values: Record<string, unknown>,
  ): Promise<boolean> {
    const touch = '#updatedAt = :now, #stateSk = :now';
    const UpdateExpression = expression.startsWith('SET ')
      ? `SET ${touch}, ${expression.slice(4)}`
      : `SET ${touch} ${expression}`;
    const updated = await this.update(
      operation,
      fileId,
      {
        UpdateExpression,
        ConditionExpression: HELD_BY_OWNER,
        ExpressionAttributeValues: { ':uploading': 'uploading', ':owner': owner, ':now': now, ...values },
      },
      // The item may carry a large checkpoint; owner operations only need to know the write happened.
      'NONE',
    );
    return updated !== undefined;
  }

  /** A conditional UpdateItem on a file item: undefined when the condition failed, else the new entry if asked for. */
  private async update(
    operation: string,
    fileId: string,
    input: Pick<UpdateCommandInput, 'UpdateExpression' | 'ConditionExpression' | 'ExpressionAttributeValues'>,
    returnValues: 'ALL_NEW' | 'NONE' = 'ALL_NEW',
  ): Promise<{ entry?: LedgerEntry } | undefined> {
    try {
      const output = await this.documents.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [LEDGER_KEYS.partitionKey]: ledgerFileKey(fileId) },
          ...input,
          ExpressionAttributeNames: attributeNames(input.UpdateExpression, input.ConditionExpression),
          ReturnValues: returnValues,
        }),
      );
      return { entry: output.Attributes ? toEntry(output.Attributes) : undefined };
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw toStoreError(operation, error);
    }
  }

  /**
   * A conditional PutItem: true when written, false when the condition failed. With
   * `refusedAs` (a file id), DynamoDB refusing the item itself is a LedgerRefusedError.
   */
  private async conditional(operation: string, { refusedAs, ...input }: PutCommandInput & { refusedAs?: string }): Promise<boolean> {
    try {
      await this.documents.send(new PutCommand(input));
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      if (refusedAs !== undefined && isValidationFailure(error)) throw refusedItem(refusedAs, error);
      throw toStoreError(operation, error);
    }
  }

  /** Query pages until exhausted or `limit` items are collected. */
  private async queryAll(operation: string, input: QueryCommandInput, limit?: number): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      // Without a filter every item read is returned, so reading more than the rest of `limit` is waste.
      const remaining = limit === undefined || input.FilterExpression ? undefined : Math.max(1, limit - items.length);
      const pageLimit = Math.min(this.queryPageSize ?? Infinity, remaining ?? Infinity);
      const page = await this.send(operation, () =>
        this.documents.send(
          new QueryCommand({ ...input, ExclusiveStartKey: startKey, Limit: Number.isFinite(pageLimit) ? pageLimit : undefined }),
        ),
      );
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey && (limit === undefined || items.length < limit));
    return limit === undefined ? items : items.slice(0, Math.max(0, limit));
  }

  /** BatchGetItem with ConsistentRead, 100 keys a request, unprocessed keys retried with backoff. */
  private async batchGetConsistent(keys: Record<string, unknown>[]): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    for (let start = 0; start < keys.length; start += 100) {
      let pending = keys.slice(start, start + 100);
      for (let attempt = 1; pending.length > 0; attempt++) {
        if (attempt > 8) throw new LedgerStoreError(`listGroup: ${pending.length} items stayed unprocessed`, true);
        if (attempt > 1) await sleep(backoffDelay(attempt - 1, { baseMs: 50, maxMs: 1000 }));
        const output = await this.send('listGroup', () =>
          this.documents.send(
            new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: pending, ConsistentRead: true } } }),
          ),
        );
        items.push(...(output.Responses?.[this.tableName] ?? []));
        pending = output.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
      }
    }
    return items;
  }

  private async send<T>(operation: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw toStoreError(operation, error);
    }
  }
}

/** `#name` placeholders map to the attribute of the same name (unused names are a DynamoDB error). */
function attributeNames(...expressions: (string | undefined)[]): Record<string, string> {
  const names: Record<string, string> = {};
  for (const expression of expressions) {
    for (const match of expression?.matchAll(/#(\w+)/g) ?? []) {
      const name = match[1]!;
      names[`#${name}`] = name === 'pk' ? LEDGER_KEYS.partitionKey : name;
    }
  }
  return names;
}

function toEntry(item: Record<string, unknown>): LedgerEntry {
  const stored = item as unknown as StoredEntry;
  const entry: LedgerEntry = {
    fileId: stored.fileId,
    recordingId: stored.recordingId,
    groupKey: stored.groupKey,
    groupSize: stored.groupSize,
    course: stored.course,
    archiveKey: stored.archiveKey,
    expectedSize: stored.expectedSize,
    request: stored.request,
    state: stored.state,
    attempts: stored.attempts ?? 0,
    duplicates: stored.duplicates ?? 0,
    redrives: stored.redrives ?? 0,
    autoRetries: stored.autoRetries ?? 0,
    interruptedAt: stored.interruptedAt,
    nextAttemptAt: stored.nextAttemptAt,
    leaseOwner: stored.leaseOwner,
    leaseExpiresAt: stored.leaseExpiresAt,
    lastError: stored.lastError,
    checkpoint: stored.checkpoint ? decodeCheckpoint(stored.checkpoint) : undefined,
    result: stored.result,
    createdAt: stored.createdAt,
    updatedAt: stored.updatedAt,
  };
  return withoutUndefined(entry);
}

/** Entries compare equal across adapters: absent fields are absent, not `undefined`. */
function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function encodeCheckpoint(checkpoint: TransferCheckpoint, fileId: string): StoredCheckpoint {
  const stored = withoutUndefined<StoredCheckpoint>({
    uploadId: checkpoint.uploadId,
    bytesCommitted: checkpoint.bytesCommitted,
    hashState: checkpoint.hashState,
    parts: encodeCheckpointParts(checkpoint.parts),
  });
  const size =
    stored.parts.byteLength + Buffer.byteLength(stored.uploadId ?? '', 'utf8') + Buffer.byteLength(stored.hashState ?? '', 'utf8');
  if (size > MAX_CHECKPOINT_BYTES) {
    throw new LedgerInputError(
      `checkpoint of file ${fileId} (${checkpoint.parts.length} parts) encodes to ${size} bytes, over ${MAX_CHECKPOINT_BYTES}: use larger parts`,
    );
  }
  return stored;
}

function decodeCheckpoint(stored: StoredCheckpoint): TransferCheckpoint {
  return withoutUndefined<TransferCheckpoint>({
    uploadId: stored.uploadId,
    bytesCommitted: stored.bytesCommitted,
    parts: decodeCheckpointParts(stored.parts),
    hashState: stored.hashState,
  });
}

/**
 * Parts as columns (numbers, sizes, ETags), JSON, raw deflate: equal sizes and
 * consecutive numbers compress to almost nothing, leaving ~21 bytes per MD5 ETag.
 */
export function encodeCheckpointParts(parts: readonly CheckpointPart[]): Uint8Array {
  const columns = { v: 1, n: parts.map((p) => p.partNumber), s: parts.map((p) => p.size), e: parts.map((p) => p.etag) };
  return deflateRawSync(Buffer.from(JSON.stringify(columns), 'utf8'));
}

export function decodeCheckpointParts(bytes: Uint8Array): CheckpointPart[] {
  const columns = JSON.parse(inflateRawSync(bytes).toString('utf8')) as { v: number; n: number[]; s: number[]; e: string[] };
  if (columns.v !== 1 || columns.n.length !== columns.s.length || columns.n.length !== columns.e.length) {
    throw new LedgerStoreError('stored checkpoint parts are in an unknown format', false);
  }
  return columns.n.map((partNumber, i) => ({ partNumber, size: columns.s[i]!, etag: columns.e[i]! }));
}

/** The parts of a failure's UpdateExpression that set `nextAttemptAt`, or remove an earlier one. */
function nextAttemptUpdate(options: FailOptions): { set: string; remove: string; values: Record<string, unknown> } {
  return options.nextAttemptAt === undefined
    ? { set: '', remove: ', #nextAttemptAt', values: {} }
    : { set: ', #nextAttemptAt = :nextAttemptAt', remove: '', values: { ':nextAttemptAt': options.nextAttemptAt } };
}

function isConditionFailure(error: unknown): boolean {
  return (error as { name?: unknown } | null)?.name === 'ConditionalCheckFailedException';
}

/**
 * The recovery sweep's condition: the item is as the sweep read it (a claim, renew,
 * release or another sweep would have changed state, attempts, redrives or
 * updatedAt) and still abandoned. Items written before `redrives` existed lack it.
 */
function asSeenAndAbandoned(
  seen: RecoverySnapshot,
  now: number,
  values: Record<string, unknown>,
): Pick<UpdateCommandInput, 'ConditionExpression' | 'ExpressionAttributeValues'> {
  const redrives = seen.redrives === 0 ? '(attribute_not_exists(#redrives) OR #redrives = :seenRedrives)' : '#redrives = :seenRedrives';
  return {
    ConditionExpression:
      `#state = :seenState AND #attempts = :seenAttempts AND ${redrives} AND #updatedAt = :seenUpdatedAt ` +
      'AND (#state = :requestedState OR (#state = :uploadingState AND #leaseExpiresAt <= :now))',
    ExpressionAttributeValues: {
      ...values,
      ':seenState': seen.state,
      ':seenAttempts': seen.attempts,
      ':seenRedrives': seen.redrives,
      ':seenUpdatedAt': seen.updatedAt,
      ':requestedState': 'requested',
      ':uploadingState': 'uploading',
      ':now': now,
    },
  };
}

/** DynamoDB's answer to an item it will not store: over 400 KB, or an attribute value it does not accept. */
function isValidationFailure(error: unknown): boolean {
  return (error as { name?: unknown } | null)?.name === 'ValidationException';
}

/**
 * DynamoDB's validation messages name the rule ("Item size has exceeded the maximum
 * allowed size"), not the item; a query string is cut anyway, as in every reason.
 */
function refusedItem(fileId: string, error: unknown): LedgerRefusedError {
  const message = error instanceof Error ? error.message.replace(/\?\S*/g, '?…').slice(0, 300) : 'no message';
  return new LedgerRefusedError(fileId, `the ledger refused file ${fileId}: DynamoDB answered ValidationException: ${message}`, { cause: error });
}

const RETRYABLE_ERROR_NAMES = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
  'TransactionConflictException',
  'TimeoutError',
  'RequestTimeout',
  'AbortError',
]);
const RETRYABLE_NETWORK_CODES = ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH'];
const NETWORK_MESSAGE = new RegExp(`\\b(${RETRYABLE_NETWORK_CODES.join('|')})\\b|socket hang up`);

/** Throttling, server faults and network failures pass with time; validation and missing tables do not. */
export function toStoreError(operation: string, error: unknown): ArchiverError {
  if (error instanceof ArchiverError) return error;
  const e = (error ?? {}) as { name?: unknown; code?: unknown; $fault?: unknown; $retryable?: unknown; message?: unknown };
  const name = typeof e.name === 'string' ? e.name : 'Error';
  const code = typeof e.code === 'string' ? e.code : undefined;
  const message = typeof e.message === 'string' ? e.message : String(error);
  const retryable =
    RETRYABLE_ERROR_NAMES.has(name) ||
    (code !== undefined && RETRYABLE_NETWORK_CODES.includes(code)) ||
    e.$fault === 'server' ||
    Boolean(e.$retryable) ||
    // The SDK re-wraps errors it does not recognise as Error (e.g. from another realm) into a bare message.
    NETWORK_MESSAGE.test(message);
  return new LedgerStoreError(`DynamoDB ledger could not ${operation} (${code ?? name}): ${message}`, retryable, {
    cause: error,
  });
}
