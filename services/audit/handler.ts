/**
 * Lambda entry point of the audit: a rule sends it every zoom-archiver event. The
 * DynamoDB client is built once per container. A detail that breaks its contract
 * throws (EventEnvelopeError), so EventBridge retries and then dead-letters it.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { EventBridgeEvent } from 'aws-lambda';
import { DynamoDbAuditLog } from '../../shared/adapters/audit-dynamodb';
import { ALL_DETAIL_TYPES, parseEvent } from '../../shared/events';
import { createLogger } from '../../shared/logger';
import { auditEvent } from './use-case';

const tableName = process.env.AUDIT_TABLE_NAME;
if (!tableName) throw new Error('AUDIT_TABLE_NAME is required');
const auditLog = new DynamoDbAuditLog(new DynamoDBClient({}), tableName);
const logger = createLogger('audit');

export async function handler(event: EventBridgeEvent<string, unknown>): Promise<void> {
  const parsed = parseEvent(event, ...ALL_DETAIL_TYPES);
  await auditEvent(parsed, { auditLog, logger });
}
