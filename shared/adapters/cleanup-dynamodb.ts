/**
 * CleanupSchedule on DynamoDB, for the cloud runtime. Entries live in the LEDGER
 * table (ledgerTableDefinition), one item per recording:
 *
 *   pk       = cleanup#<recordingId>           (CLEANUP_KEY_PREFIX, cleanupKey)
 *   statePk  = cleanup#<state>                 (the byState index's partition key)
 *   stateSk  = dueAt            for scheduled and would_trash,
 *              leaseExpiresAt   for running,
 *              updatedAt        for held, trashed and gone   (the index's sort key, N)
 *   + the CleanupEntry's own attributes.
 *
 * So the due entries are three range Queries on byState (`statePk = :p AND stateSk <=
 * :now`: scheduled, would_trash when asked, running with an expired lease), merged by
 * due time; `list()` queries each state's partition. The ledger's own listings query
 * `state#<ledgerState>` partitions and its items have `file#…` / `announce#…` keys, so
 * neither sees the other's items. Both the item key and the index partition start with
 * `cleanup#`, which an IAM dynamodb:LeadingKeys condition can pin.
 *
 * Every change reads the item (GetItem, ConsistentRead), applies the shared rule
 * (cleanup-rules.ts) and writes the whole item back with PutItem on the condition
 * `attribute_not_exists(pk)` (a new entry) or `#version = :seen` (an update). A
 * ConditionalCheckFailedException means another writer came first: re-read and
 * re-apply, up to TRANSITION_ROUNDS times with a short jittered pause; the rule then
 * gives the port's answer (undefined / false) when the change is no longer allowed.
 * Index reads are eventually consistent; claim re-reads consistently, so a listing a
 * moment stale costs at most a claim that answers undefined.
 *
 * DynamoDB actions used — and all the role needs (the CDK grants are written from it):
 *   dynamodb:GetItem   (ConsistentRead)
 *   dynamodb:PutItem   (always with a ConditionExpression)
 *   dynamodb:Query     (on the byState index only)
 * No Scan, UpdateItem, DeleteItem or BatchGetItem.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type PutCommandInput,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { ArchiverError } from '../errors';
import type {
  CleanupEntry,
  CleanupSchedule,
  CleanupState,
  DueOptions,
  FinishOutcome,
  ScheduleInput,
} from '../ports/cleanup-schedule';
import { backoffDelay, sleep } from '../retry';
import {
  CleanupStoreError,
  DEFAULT_DUE_LIMIT,
  TRANSITION_ROUNDS,
  applyClaim,
  applyFinish,
  applyMarkTrashRequested,
  applyPostpone,
  applySchedule,
  assertFinishOutcome,
  assertLeaseMs,
  assertOwner,
  assertRecordingId,
  assertScheduleInput,
  assertTime,
  checkedLimit,
  checkedStates,
  compareDue,
  compareListed,
  isCleanupState,
  withoutUndefined,
} from './cleanup-rules';
import { LEDGER_KEYS, toStoreError as classifyDynamoDbError } from './ledger-dynamodb';

/** Key prefix of every clean-up item and of its byState partitions. */
export const CLEANUP_KEY_PREFIX = 'cleanup#';
/** Partition key of a recording's clean-up entry. */
export const cleanupKey = (recordingId: string): string => `${CLEANUP_KEY_PREFIX}${recordingId}`;
/** The byState partition of the entries in `state`. */
export const cleanupStatePartition = (state: CleanupState): string => `${CLEANUP_KEY_PREFIX}${state}`;

/** The byState sort key of an entry: when it becomes due (scheduled, would_trash, running) or when it was last changed. */
export function cleanupStateSortKey(entry: CleanupEntry): number {
  switch (entry.state) {
    case 'scheduled':
    case 'would_trash':
      return entry.dueAt;
    case 'running':
      return entry.leaseExpiresAt ?? entry.dueAt;
    default:
      return entry.updatedAt;
  }
}

export interface DynamoDbCleanupScheduleOptions {
  client: DynamoDBClient;
  /** The ledger table. */
  tableName: string;
  /** Items read per Query page; DynamoDB's 1 MB pages when absent. Tests set it low to exercise paging. */
  queryPageSize?: number;
}

const K = LEDGER_KEYS;
/** States whose index sort key is the due time: a listing by due time may stop early there. */
const SORTED_BY_DUE: ReadonlySet<CleanupState> = new Set<CleanupState>(['scheduled', 'would_trash']);

export class DynamoDbCleanupSchedule implements CleanupSchedule {
  private readonly documents: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly queryPageSize: number | undefined;

  constructor(options: DynamoDbCleanupScheduleOptions) {
    if (options.queryPageSize !== undefined && (!Number.isSafeInteger(options.queryPageSize) || options.queryPageSize < 1)) {
      throw new RangeError(`queryPageSize must be a positive whole number, not ${options.queryPageSize}`);
    }
    this.documents = DynamoDBDocumentClient.from(options.client, { marshallOptions: { removeUndefinedValues: true } });
    this.tableName = options.tableName;
    this.queryPageSize = options.queryPageSize;
  }

  async schedule(input: ScheduleInput): Promise<CleanupEntry> {
    assertScheduleInput(input);
    const result = await this.transition('schedule', input.recordingId, (current) => applySchedule(current, input));
    // applySchedule always creates a missing entry, so one of the two is there.
    return (result.written ?? result.current)!;
  }

  async claim(
    recordingId: string,
    owner: string,
    leaseMs: number,
    now: number,
    options: Pick<DueOptions, 'includeWouldTrash'> = {},
  ): Promise<CleanupEntry | undefined> {
    assertRecordingId(recordingId);
    assertOwner(owner);
    assertLeaseMs(leaseMs);
    assertTime('now', now);
    const includeWouldTrash = options.includeWouldTrash === true;
    return (await this.transition('claim', recordingId, (current) => applyClaim(current, owner, leaseMs, now, includeWouldTrash))).written;
  }

  async markTrashRequested(recordingId: string, owner: string, now: number): Promise<boolean> {
    assertRecordingId(recordingId);
    assertOwner(owner);
    assertTime('now', now);
    const result = await this.transition('markTrashRequested', recordingId, (current) => applyMarkTrashRequested(current, owner, now));
    return result.written !== undefined;
  }

  async finish(recordingId: string, owner: string, outcome: FinishOutcome, now: number): Promise<boolean> {
    assertRecordingId(recordingId);
    assertOwner(owner);
    assertFinishOutcome(outcome);
    assertTime('now', now);
    return (await this.transition('finish', recordingId, (current) => applyFinish(current, owner, outcome, now))).written !== undefined;
  }

  async postpone(recordingId: string, owner: string, dueAt: number, note: string, now: number): Promise<boolean> {
    assertRecordingId(recordingId);
    assertOwner(owner);
    assertTime('dueAt', dueAt);
    assertTime('now', now);
    return (await this.transition('postpone', recordingId, (current) => applyPostpone(current, owner, dueAt, note, now))).written !== undefined;
  }

  async get(recordingId: string): Promise<CleanupEntry | undefined> {
    assertRecordingId(recordingId);
    return this.read('get', recordingId);
  }

  async listDue(now: number, options: DueOptions = {}): Promise<CleanupEntry[]> {
    assertTime('now', now);
    const limit = checkedLimit(options.limit, DEFAULT_DUE_LIMIT)!;
    if (limit === 0) return [];
    const states: CleanupState[] = options.includeWouldTrash === true ? ['scheduled', 'would_trash', 'running'] : ['scheduled', 'running'];
    // Each partition is read in due order (its sort key), so `limit` of each (ties included) is enough for the merge.
    const parts = await Promise.all(states.map((state) => this.queryState('listDue', state, { dueBy: now, stopAfter: limit })));
    return parts.flat().sort(compareDue).slice(0, limit);
  }

  async list(options: { states?: readonly CleanupState[]; limit?: number } = {}): Promise<CleanupEntry[]> {
    const states = checkedStates(options.states);
    const limit = checkedLimit(options.limit);
    if (limit === 0) return [];
    const entries: CleanupEntry[] = [];
    // In state order, so a limit met early leaves the later states unread.
    for (const state of states) {
      const remaining = limit === undefined ? undefined : limit - entries.length;
      if (remaining !== undefined && remaining <= 0) break;
      // Only scheduled and would_trash are indexed by due time; the others are read whole and sorted.
      const part = await this.queryState('list', state, { stopAfter: SORTED_BY_DUE.has(state) ? remaining : undefined });
      entries.push(...part.sort(compareListed));
    }
    return limit === undefined ? entries : entries.slice(0, limit);
  }

  /**
   * Read → rule → conditional PutItem; a lost race re-reads and re-applies. `written` is
   * the stored result, undefined when the rule allowed no change; `current` is the
   * entry the rule last saw.
   */
  private async transition(
    operation: string,
    recordingId: string,
    rule: (current: CleanupEntry | undefined) => CleanupEntry | undefined,
  ): Promise<{ current: CleanupEntry | undefined; written: CleanupEntry | undefined }> {
    for (let round = 1; round <= TRANSITION_ROUNDS; round++) {
      if (round > 1) await sleep(backoffDelay(round - 1, { baseMs: 10, maxMs: 200 }));
      const current = await this.read(operation, recordingId);
      const next = rule(current);
      if (!next) return { current, written: undefined };
      if (await this.put(operation, next, current?.version)) return { current, written: next };
    }
    throw new CleanupStoreError(`clean-up entry of recording ${recordingId} kept changing under ${operation}`, true);
  }

  private async read(operation: string, recordingId: string): Promise<CleanupEntry | undefined> {
    const output = await this.send(operation, () =>
      this.documents.send(
        new GetCommand({ TableName: this.tableName, Key: { [K.partitionKey]: cleanupKey(recordingId) }, ConsistentRead: true }),
      ),
    );
    return output.Item ? toEntry(output.Item) : undefined;
  }

  /** PutItem of the whole item: true when written, false when its condition (no item yet / version as seen) failed. */
  private async put(operation: string, entry: CleanupEntry, seenVersion: number | undefined): Promise<boolean> {
    const item = {
      ...entry,
      [K.partitionKey]: cleanupKey(entry.recordingId),
      [K.statePartitionKey]: cleanupStatePartition(entry.state),
      [K.stateSortKey]: cleanupStateSortKey(entry),
    };
    const condition: Pick<PutCommandInput, 'ConditionExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'> =
      seenVersion === undefined
        ? { ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': K.partitionKey } }
        : {
            ConditionExpression: '#version = :seen',
            ExpressionAttributeNames: { '#version': 'version' },
            ExpressionAttributeValues: { ':seen': seenVersion },
          };
    try {
      await this.documents.send(new PutCommand({ TableName: this.tableName, Item: item, ...condition }));
      return true;
    } catch (error) {
      if ((error as { name?: unknown } | null)?.name === 'ConditionalCheckFailedException') return false;
      throw toStoreError(operation, error);
    }
  }

  /**
   * The entries of one state's byState partition in sort-key order, those with
   * `stateSk <= dueBy` when given. With `stopAfter`, paging stops once that many are
   * read and the last one read sorts after the stopAfter-th (so its ties are all in).
   */
  private async queryState(
    operation: string,
    state: CleanupState,
    options: { dueBy?: number; stopAfter?: number },
  ): Promise<CleanupEntry[]> {
    const input: QueryCommandInput = {
      TableName: this.tableName,
      IndexName: K.stateIndex,
      KeyConditionExpression: options.dueBy === undefined ? '#statePk = :statePk' : '#statePk = :statePk AND #stateSk <= :dueBy',
      ExpressionAttributeNames:
        options.dueBy === undefined ? { '#statePk': K.statePartitionKey } : { '#statePk': K.statePartitionKey, '#stateSk': K.stateSortKey },
      ExpressionAttributeValues:
        options.dueBy === undefined ? { ':statePk': cleanupStatePartition(state) } : { ':statePk': cleanupStatePartition(state), ':dueBy': options.dueBy },
      ScanIndexForward: true,
    };
    const items: Record<string, unknown>[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.send(operation, () =>
        this.documents.send(new QueryCommand({ ...input, ExclusiveStartKey: startKey, Limit: this.queryPageSize })),
      );
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey && !enough(items, options.stopAfter));
    return items.filter(isCleanupItem).map(toEntry);
  }

  private async send<T>(operation: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw toStoreError(operation, error);
    }
  }
}

/** Read far enough: `stopAfter` items, and past every tie of the stopAfter-th item's sort key. */
function enough(items: readonly Record<string, unknown>[], stopAfter: number | undefined): boolean {
  if (stopAfter === undefined || items.length < stopAfter) return false;
  const boundary = items[Math.max(0, stopAfter - 1)]?.[K.stateSortKey];
  const last = items[items.length - 1]?.[K.stateSortKey];
  return typeof boundary === 'number' && typeof last === 'number' && last > boundary;
}

/** Only clean-up items are in `cleanup#…` partitions; anything else there is ignored, not misread. */
function isCleanupItem(item: Record<string, unknown>): boolean {
  const pk = item[K.partitionKey];
  return typeof pk === 'string' && pk.startsWith(CLEANUP_KEY_PREFIX) && isCleanupState(item.state);
}

function toEntry(item: Record<string, unknown>): CleanupEntry {
  const stored = item as unknown as CleanupEntry;
  return withoutUndefined<CleanupEntry>({
    recordingId: stored.recordingId,
    course: stored.course,
    state: stored.state,
    dueAt: stored.dueAt,
    attempts: stored.attempts ?? 0,
    leaseOwner: stored.leaseOwner,
    leaseExpiresAt: stored.leaseExpiresAt,
    trashRequestedAt: stored.trashRequestedAt,
    rescheduleAt: stored.rescheduleAt,
    outcome: stored.outcome,
    decidedAt: stored.decidedAt,
    note: stored.note,
    version: stored.version,
    createdAt: stored.createdAt,
    updatedAt: stored.updatedAt,
  });
}

/** Like the ledger: throttling, server faults and network failures are retryable; validation and missing tables are not. */
function toStoreError(operation: string, error: unknown): ArchiverError {
  if (error instanceof ArchiverError) return error;
  const { retryable } = classifyDynamoDbError(operation, error);
  const e = (error ?? {}) as { name?: unknown; code?: unknown; message?: unknown };
  const name = typeof e.name === 'string' ? e.name : 'Error';
  const code = typeof e.code === 'string' ? e.code : undefined;
  const message = typeof e.message === 'string' ? e.message : String(error);
  return new CleanupStoreError(`DynamoDB clean-up schedule could not ${operation} (${code ?? name}): ${message}`, retryable, {
    cause: error,
  });
}
