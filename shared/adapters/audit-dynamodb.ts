/**
 * AuditLog on DynamoDB. Single table, on-demand; every query uses a key or a GSI:
 *
 * | access pattern                         | key / index                                      |
 * |----------------------------------------|--------------------------------------------------|
 * | history of one recording               | table: pk `REC#<recordingId>`, sk `<time>#<eventId>` |
 * | a course's events in a time range      | gsi1 (sparse): `COURSE#<course>`, `<time>#<eventId>` |
 * | failures and rejections in a range     | gsi2 (sparse): `PROBLEM#<yyyy-mm>`, `<time>#<eventId>` |
 * | latest N events / last 24 h summary    | gsi3: `DAY#<yyyy-mm-dd>`, `<time>#<eventId>`      |
 *
 * Idempotent by event id: a redelivered event has the same id, time and recording,
 * so the same key, and the conditional put refuses it.
 */
import { ConditionalCheckFailedException, type CreateTableCommandInput, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import type { AuditLog, AuditRecord, TimeRange } from '../ports/audit-log';

export const AUDIT_INDEX = { byCourse: 'gsi1', byProblemMonth: 'gsi2', byDay: 'gsi3' } as const;
/** How far `latest` looks back when no `since` is given. */
const LATEST_LOOKBACK_DAYS = 90;
const DAY_MS = 86_400_000;

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

const startOfDay = (date: Date) => Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate());

function monthsBetween(since: Date, until: Date): string[] {
  const months: string[] = [];
  for (let y = since.getUTCFullYear(), m = since.getUTCMonth(); y < until.getUTCFullYear() || (y === until.getUTCFullYear() && m <= until.getUTCMonth()); m === 11 ? (y++, (m = 0)) : m++) {
    months.push(`${y}-${String(m + 1).padStart(2, '0')}`);
  }
  return months;
}
