/**
 * AuditLog on DynamoDB. Single table, on-demand; every query uses a key or a GSI:
 *
 * | access pattern                         | key / index                                      |
 * |----------------------------------------|--------------------------------------------------|
 * | history of one recording               | table: pk `REC#<recordingId>`, sk `<time>#<eventId>` |
 * | a course's events in a time range      | gsi1 (sparse): `COURSE#<course>`, `<time>#<eventId>` |
 * | failures and rejections in a range     | gsi2 (sparse): `PROBLEM#<yyyy-mm>`, `<time>#<eventId>` |
 * | latest N events / last 24 h summary    | gsi3: `DAY#<yyyy-mm-dd>`, `<time>#<eventId>`      |
 * | search: a recording's exact UUID       | table: pk `REC#<text>`, sk in the range, filter detailType |
 * | search: topic or meeting id            | gsi3: the range's days newest first, filter detailType; topic and meeting id matched in code |
 * | latest records of one detail-type      | gsi3: the range's days newest first, filter detailType |
 * | files and bytes archived per day       | gsi3: every day of the range, filter detailType = FileUploaded, projection `data.size` |
 *
 * A filter and a projection cut what a query sends back, not the read capacity: the
 * filtered gsi3 reads pay for every item of the days they read. They are bounded by
 * the range (the last 90 days without `since`); the search and the latest of a type
 * stop at the first days that hold `limit` records, the daily totals read them all.
 *
 * Idempotent by event id: a redelivered event has the same id, time and recording,
 * so the same key, and the conditional put refuses it.
 */
import { ConditionalCheckFailedException, type CreateTableCommandInput, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { SEARCHABLE_DETAIL_TYPES, type AuditLog, type AuditRecord, type DailyTotal, type TimeRange } from '../ports/audit-log';
import type { DetailTypeName } from '../events';

export const AUDIT_INDEX = { byCourse: 'gsi1', byProblemMonth: 'gsi2', byDay: 'gsi3' } as const;
/** How far `latest`, `findRecordings`, `latestOfType` and `dailyTotals` look back when no `since` is given. */
const LATEST_LOOKBACK_DAYS = 90;
const DAY_MS = 86_400_000;
/** At most this many gsi3 day partitions are read at once (the search, the latest of a type, the daily totals). */
const MAX_DAYS_READ_AHEAD = 8;
/** Case folding for topic matching, for every letter (the SQLite adapter folds the same way). */
const fold = (text: string) => text.normalize('NFC').toLowerCase();

export function auditTableDefinition(tableName: string): CreateTableCommandInput {
  const index = (name: string) => ({
    IndexName: name,
    KeySchema: [
      { AttributeName: `${name}pk`, KeyType: 'HASH' as const },
      { AttributeName: `${name}sk`, KeyType: 'RANGE' as const },
    ],
    Projection: { ProjectionType: 'ALL' as const },
  });
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    KeySchema: [
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ],
    AttributeDefinitions: ['pk', 'sk', 'gsi1pk', 'gsi1sk', 'gsi2pk', 'gsi2sk', 'gsi3pk', 'gsi3sk'].map((name) => ({
      AttributeName: name,
      AttributeType: 'S' as const,
    })),
    GlobalSecondaryIndexes: Object.values(AUDIT_INDEX).map(index),
  };
}

export class DynamoDbAuditLog implements AuditLog {
  private readonly doc: DynamoDBDocumentClient;

  constructor(client: DynamoDBClient, private readonly tableName: string) {
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  async record(record: AuditRecord): Promise<'written' | 'duplicate'> {
    const sortKey = `${record.time}#${record.eventId}`;
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...record,
            pk: `REC#${record.recordingId}`,
            sk: sortKey,
            ...(record.course ? { gsi1pk: `COURSE#${record.course}`, gsi1sk: sortKey } : {}),
            ...(record.problem ? { gsi2pk: `PROBLEM#${record.time.slice(0, 7)}`, gsi2sk: sortKey } : {}),
            gsi3pk: `DAY#${record.time.slice(0, 10)}`,
            gsi3sk: sortKey,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return 'written';
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return 'duplicate';
      throw error;
    }
  }

  async recordingHistory(recordingId: string): Promise<AuditRecord[]> {
    return this.queryAll({ KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': `REC#${recordingId}` } });
  }

  async courseEvents(course: string, range: TimeRange): Promise<AuditRecord[]> {
    return this.queryAll(this.rangeQuery(AUDIT_INDEX.byCourse, `COURSE#${course}`, range, true));
  }

  async problems(range: TimeRange): Promise<AuditRecord[]> {
    const until = range.until ? new Date(range.until) : new Date();
    const since = range.since ? new Date(range.since) : new Date(until.getTime() - 365 * DAY_MS);
    const results: AuditRecord[] = [];
    for (const month of monthsBetween(since, until).reverse()) {
      results.push(...(await this.queryAll(this.rangeQuery(AUDIT_INDEX.byProblemMonth, `PROBLEM#${month}`, range, false))));
    }
    return results;
  }

  async latest(limit: number, range: TimeRange = {}): Promise<AuditRecord[]> {
    const until = range.until ? new Date(range.until) : new Date();
    const since = range.since ? new Date(range.since) : new Date(until.getTime() - LATEST_LOOKBACK_DAYS * DAY_MS);
    const results: AuditRecord[] = [];
    for (let day = startOfDay(until); day >= startOfDay(since) && results.length < limit; day -= DAY_MS) {
      const query = this.rangeQuery(AUDIT_INDEX.byDay, `DAY#${new Date(day).toISOString().slice(0, 10)}`, range, false);
      results.push(...(await this.queryAll(query, limit - results.length)));
    }
    return results;
  }

  async findRecordings(text: string, range: TimeRange, limit: number): Promise<AuditRecord[]> {
    const query = text.trim();
    if (query === '' || limit <= 0) return [];
    const bounded = lookback(range);
    const types = {
      FilterExpression: `detailType IN (${SEARCHABLE_DETAIL_TYPES.map((_, i) => `:t${i}`).join(', ')})`,
      values: Object.fromEntries(SEARCHABLE_DETAIL_TYPES.map((type, i) => [`:t${i}`, type])),
    };
    // The exact recording id is a table key: one query, whichever days it is on.
    const byId = await this.queryAll({
      KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
      FilterExpression: types.FilterExpression,
      ExpressionAttributeValues: { ':pk': `REC#${query}`, ':from': bounded.since, ':to': bounded.until, ...types.values },
    });
    const meetingId = query.replace(/\s+/g, '');
    const needle = fold(query);
    const matches = (record: AuditRecord) =>
      (meetingId !== '' && record.data.meetingId === meetingId) || (typeof record.data.topic === 'string' && fold(record.data.topic).includes(needle));
    const found = new Map(byId.map((record) => [record.eventId, record]));
    for await (const { day, items } of this.days(bounded, false, { FilterExpression: types.FilterExpression, values: types.values })) {
      for (const record of items.map(fromItem).filter(matches)) found.set(record.eventId, record);
      // Every record from this day on has been read: once `limit` are found there, they are the newest.
      if ([...found.values()].filter((record) => record.time >= day).length >= limit) break;
    }
    return newestFirst([...found.values()]).slice(0, limit);
  }

  async latestOfType(detailType: DetailTypeName, limit: number, range: TimeRange = {}): Promise<AuditRecord[]> {
    if (limit <= 0) return [];
    const results: AuditRecord[] = [];
    for await (const { items } of this.days(lookback(range), false, { FilterExpression: 'detailType = :type', values: { ':type': detailType } })) {
      results.push(...items.map(fromItem));
      if (results.length >= limit) break;
    }
    return results.slice(0, limit);
  }

  async dailyTotals(range: TimeRange): Promise<DailyTotal[]> {
    const totals: DailyTotal[] = [];
    const uploaded = {
      FilterExpression: 'detailType = :type',
      values: { ':type': 'FileUploaded' },
      // Only the size comes back (`data` and `size` are reserved words).
      ProjectionExpression: '#data.#size',
      ExpressionAttributeNames: { '#data': 'data', '#size': 'size' },
    };
    for await (const { day, items } of this.days(lookback(range), true, uploaded)) {
      if (items.length === 0) continue;
      totals.push({ day, files: items.length, bytes: items.reduce((sum, item) => sum + sizeOf(item), 0) });
    }
    return totals;
  }

  /**
   * The range's gsi3 day partitions in order (newest day first unless `ascending`),
   * each read whole with the filter. Days are read ahead in batches that grow (1, 2,
   * 4, 8, 8, ...): a caller that has enough after the first day reads one partition,
   * and a long range is not read one round trip at a time. Stop iterating to stop.
   */
  private async *days(
    range: { since: string; until: string },
    ascending: boolean,
    filter: { FilterExpression: string; values: Record<string, unknown>; ProjectionExpression?: string; ExpressionAttributeNames?: Record<string, string> },
  ): AsyncGenerator<{ day: string; items: Record<string, unknown>[] }> {
    const days = utcDays(range);
    if (ascending) days.reverse();
    const { values, ...expressions } = filter;
    const read = (day: string) => {
      const input = this.rangeQuery(AUDIT_INDEX.byDay, `DAY#${day}`, range, ascending);
      return this.readAll({ ...input, ...expressions, ExpressionAttributeValues: { ...input.ExpressionAttributeValues, ...values } });
    };
    for (let start = 0, size = 1; start < days.length; start += size, size = Math.min(size * 2, MAX_DAYS_READ_AHEAD)) {
      const batch = days.slice(start, start + size);
      const pages = await Promise.all(batch.map(read));
      for (const [i, day] of batch.entries()) yield { day, items: pages[i]! };
    }
  }

  /** Every page of a query, with no Limit: with a filter, Limit counts the items read, not those returned. */
  private async readAll(input: QueryCommandInput): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(new QueryCommand({ ...input, ExclusiveStartKey }));
      items.push(...(page.Items ?? []));
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    return items;
  }

  private rangeQuery(index: string, partition: string, range: TimeRange, ascending: boolean): QueryCommandInput {
    return {
      TableName: this.tableName,
      IndexName: index,
      KeyConditionExpression: `${index}pk = :p AND ${index}sk BETWEEN :from AND :to`,
      // `<until>` sorts before `<until>#...`, so BETWEEN from..until is since <= time < until.
      ExpressionAttributeValues: { ':p': partition, ':from': range.since ?? '0000', ':to': range.until ?? '9999' },
      ScanIndexForward: ascending,
    };
  }

  private async queryAll(input: Omit<QueryCommandInput, 'TableName'> & { TableName?: string }, limit = Infinity): Promise<AuditRecord[]> {
    const records: AuditRecord[] = [];
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand({ TableName: this.tableName, ...input, ExclusiveStartKey, ...(Number.isFinite(limit) ? { Limit: limit - records.length } : {}) }),
      );
      records.push(...(page.Items ?? []).map(fromItem));
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey && records.length < limit);
    return records;
  }
}

function fromItem(item: Record<string, unknown>): AuditRecord {
  const { eventId, detailType, time, recordingId, course, fileId, correlationId, causationId, problem, summary, data } = item as unknown as AuditRecord;
  return { eventId, detailType, time, recordingId, course, fileId, correlationId, causationId, problem, summary, data: data ?? {} };
}

/** The range with its default `since`: the last LATEST_LOOKBACK_DAYS before `until` (or now). */
function lookback(range: TimeRange): { since: string; until: string } {
  const until = range.until ?? new Date().toISOString();
  return { since: range.since ?? new Date(new Date(until).getTime() - LATEST_LOOKBACK_DAYS * DAY_MS).toISOString(), until };
}

/** The UTC days (yyyy-mm-dd) a range [since, until) touches, newest first. */
function utcDays(range: { since: string; until: string }): string[] {
  const first = startOfDay(new Date(range.since));
  // `until` is excluded and times are in milliseconds: a range ending at midnight does not touch that day.
  const last = startOfDay(new Date(new Date(range.until).getTime() - 1));
  const days: string[] = [];
  for (let day = last; day >= first; day -= DAY_MS) days.push(new Date(day).toISOString().slice(0, 10));
  return days;
}

function sizeOf(item: Record<string, unknown>): number {
  const size = (item.data as { size?: unknown } | undefined)?.size;
  return typeof size === 'number' ? size : 0;
}

const newestFirst = (records: AuditRecord[]) => records.sort((a, b) => (a.time === b.time ? (a.eventId < b.eventId ? 1 : a.eventId > b.eventId ? -1 : 0) : a.time < b.time ? 1 : -1));

const startOfDay = (date: Date) => Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate());

function monthsBetween(since: Date, until: Date): string[] {
  const months: string[] = [];
  for (let y = since.getUTCFullYear(), m = since.getUTCMonth(); y < until.getUTCFullYear() || (y === until.getUTCFullYear() && m <= until.getUTCMonth()); m === 11 ? (y++, (m = 0)) : m++) {
    months.push(`${y}-${String(m + 1).padStart(2, '0')}`);
  }
  return months;
}
