/**
 * Lambda entry point of the audit: a rule sends it every zoom-archiver event.
 *
 * createAuditDeps is the bootstrap: AUDIT_TABLE_NAME checked, the DynamoDB client
 * built once per container. `handler` builds it at the first invocation. A detail that
 * breaks its contract throws (EventEnvelopeError), so EventBridge retries and then
 * dead-letters it.
 *
 * A record that was `written` (not a redelivery's `duplicate`) is also counted:
 * metrics.ts says what each detail-type counts; they go to stdout as one CloudWatch
 * Embedded Metric Format line per record (Powertools Metrics), which CloudWatch Logs
 * turns into the ZoomArchiver metrics of the operations dashboard. No permission is
 * needed beyond writing the function's own log group. Counting is at most once: a
 * record whose line is lost (the function dies between the write and the line) is not
 * counted again on redelivery; the audit table stays the exact account.
 */
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { EventBridgeEvent } from 'aws-lambda';
import * as z from 'zod/mini';
import { DynamoDbAuditLog } from '../../shared/adapters/audit-dynamodb';
import { ALL_DETAIL_TYPES, parseEvent } from '../../shared/events';
import { LOGGING_ENV, parseEnv, requiredVar, type Env } from '../../shared/lambda/env';
import { lambdaHandler } from '../../shared/lambda/handler';
import { createLogger, type AppLogger } from '../../shared/logger';
import type { AuditLog } from '../../shared/ports/audit-log';
import { auditMetricsOf, METRICS_NAMESPACE, METRICS_SERVICE, type AuditMetric } from './metrics';
import { recordAuditEvent } from './use-case';

export const AuditLambdaEnv = z.object({ AUDIT_TABLE_NAME: requiredVar(), ...LOGGING_ENV });

/** What the handler uses of Powertools Metrics: buffer a record's metrics, then write them as one EMF line. */
export type AuditMetricsSink = Pick<Metrics, 'addMetric' | 'publishStoredMetrics' | 'clearMetrics'>;

export interface AuditDeps {
  auditLog: AuditLog;
  logger: AppLogger;
  metrics: AuditMetricsSink;
}

/** What the bootstrap would otherwise build on AWS; tests pass stand-ins. */
export interface AuditLambdaAdapters {
  dynamoDb?: DynamoDBClient;
  logger?: AppLogger;
  metrics?: AuditMetricsSink;
}

/** Powertools Metrics in namespace ZoomArchiver, with the one dimension service=audit. */
export const createAuditMetrics = (): Metrics => new Metrics({ namespace: METRICS_NAMESPACE, serviceName: METRICS_SERVICE });

export function createAuditDeps(env: Env, adapters: AuditLambdaAdapters = {}): AuditDeps {
  const e = parseEnv(AuditLambdaEnv, env);
  return {
    auditLog: new DynamoDbAuditLog(adapters.dynamoDb ?? new DynamoDBClient({}), e.AUDIT_TABLE_NAME),
    logger: adapters.logger ?? createLogger('audit', e.LOG_LEVEL),
    metrics: adapters.metrics ?? createAuditMetrics(),
  };
}

/**
 * One bus event → one audit record; a redelivery of the same event id is `duplicate`.
 * A `written` record's metrics are emitted (one EMF line), a duplicate's never.
 */
export async function handleAuditEvent(event: EventBridgeEvent<string, unknown>, deps: AuditDeps): Promise<'written' | 'duplicate'> {
  const input = parseEvent(event, ...ALL_DETAIL_TYPES);
  const { outcome, record } = await recordAuditEvent(input, deps);
  if (outcome === 'written') emitMetrics(auditMetricsOf(record), input.id, deps);
  return outcome;
}

/**
 * The record is already written: a metric that cannot be written must not fail the
 * invocation (the retry would be a duplicate, counted by nobody), so it is logged and
 * dropped, and nothing of it stays buffered for the next record.
 */
function emitMetrics(metrics: AuditMetric[], eventId: string, deps: AuditDeps): void {
  if (metrics.length === 0) return;
  try {
    for (const m of metrics) deps.metrics.addMetric(m.name, m.unit, m.value);
    deps.metrics.publishStoredMetrics();
  } catch (error) {
    deps.metrics.clearMetrics();
    deps.logger.warn('audit metrics not emitted', { eventId, metrics: metrics.map((m) => m.name), error: error instanceof Error ? error.message : String(error) });
  }
}

export const handler = lambdaHandler(
  () => createAuditDeps(process.env),
  async (event: EventBridgeEvent<string, unknown>, _context: unknown, deps: AuditDeps): Promise<void> => {
    await handleAuditEvent(event, deps);
  },
);
