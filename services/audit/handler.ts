/**
 * Lambda entry point of the audit: a rule sends it every zoom-archiver event.
 *
 * createAuditDeps is the bootstrap: AUDIT_TABLE_NAME checked, the DynamoDB client
 * built once per container. `handler` builds it at the first invocation. A detail that
 * breaks its contract throws (EventEnvelopeError), so EventBridge retries and then
 * dead-letters it.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { EventBridgeEvent } from 'aws-lambda';
import * as z from 'zod/mini';
import { DynamoDbAuditLog } from '../../shared/adapters/audit-dynamodb';
import { ALL_DETAIL_TYPES, parseEvent } from '../../shared/events';
import { LOGGING_ENV, parseEnv, requiredVar, type Env } from '../../shared/lambda/env';
import { lambdaHandler } from '../../shared/lambda/handler';
import { createLogger, type AppLogger } from '../../shared/logger';
import type { AuditLog } from '../../shared/ports/audit-log';
import { auditEvent } from './use-case';

export const AuditLambdaEnv = z.object({ AUDIT_TABLE_NAME: requiredVar(), ...LOGGING_ENV });

export interface AuditDeps {
  auditLog: AuditLog;
  logger: AppLogger;
}

/** What the bootstrap would otherwise build on AWS; tests pass stand-ins. */
export interface AuditLambdaAdapters {
  dynamoDb?: DynamoDBClient;
  logger?: AppLogger;
}

export function createAuditDeps(env: Env, adapters: AuditLambdaAdapters = {}): AuditDeps {
  const e = parseEnv(AuditLambdaEnv, env);
  return {
    auditLog: new DynamoDbAuditLog(adapters.dynamoDb ?? new DynamoDBClient({}), e.AUDIT_TABLE_NAME),
    logger: adapters.logger ?? createLogger('audit', e.LOG_LEVEL),
  };
}

/** One bus event → one audit record; a redelivery of the same event id is `duplicate`. */
export async function handleAuditEvent(event: EventBridgeEvent<string, unknown>, deps: AuditDeps): Promise<'written' | 'duplicate'> {
  return auditEvent(parseEvent(event, ...ALL_DETAIL_TYPES), deps);
}

export const handler = lambdaHandler(
  () => createAuditDeps(process.env),
  async (event: EventBridgeEvent<string, unknown>, _context: unknown, deps: AuditDeps): Promise<void> => {
    await handleAuditEvent(event, deps);
  },
);
