/**
 * `zoom-archiver dashboard --audit-table NAME --ledger-table NAME`: the operator
 * dashboard of a deployed stack, served on this machine against its DynamoDB tables
 * with the operator's AWS credentials (the SDK's default chain: profile, SSO, role).
 * With `--event-bus NAME` (the stack's EventBusName output) Retry publishes the
 * file's FileUploadRequested to that bus, where the uploader's rule takes it; without
 * it Retry is disabled and says so.
 *
 * What the tables cannot tell — the bus's backlog, dead-letter depths, the sweep's
 * schedule — is on the stack's CloudWatch dashboard (OperationsDashboardName output).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { DynamoDbAuditLog } from '../../shared/adapters/audit-dynamodb';
import { EventBridgePublisher } from '../../shared/adapters/eventbridge-publisher';
import { DynamoDbUploadLedger } from '../../shared/adapters/ledger-dynamodb';
import { createLogger } from '../../shared/logger';
import { retryFailed } from '../../services/uploader/redrive';
import { createDashboardApp } from '../dashboard/app';
import { loadDashboardSettings } from '../dashboard/config';
import { DashboardReadModel } from '../dashboard/read-model';
import { startDashboardServer, type RunningDashboard } from '../dashboard/server';

export interface CloudDashboardOptions {
  auditTable: string;
  ledgerTable: string;
  eventBus?: string;
  env: Record<string, string | undefined>;
}

/** The default port when DASHBOARD_PORT is not set (as `serve`'s default PORT + 1). */
export const CLOUD_DASHBOARD_PORT = 8081;

export async function cloudDashboardCommand(options: CloudDashboardOptions): Promise<RunningDashboard & { retry: boolean }> {
  const settings = loadDashboardSettings(options.env, undefined);
  const port = options.env.DASHBOARD_PORT ? settings.port : CLOUD_DASHBOARD_PORT;
  const logger = createLogger('zoom-archiver-dashboard', options.env.LOG_LEVEL ?? 'WARN');
  const dynamodb = new DynamoDBClient({});
  const audit = new DynamoDbAuditLog(dynamodb, options.auditTable);
  const ledger = new DynamoDbUploadLedger({ client: dynamodb, tableName: options.ledgerTable });
  const eventBridge = options.eventBus ? new EventBridgeClient({}) : undefined;
  const publisher = eventBridge && options.eventBus ? new EventBridgePublisher({ client: eventBridge, eventBusName: options.eventBus }) : undefined;
  const readModel = new DashboardReadModel({
    audit,
    ledger,
    now: () => new Date(),
    health: {
      bus: () => undefined,
      subscribers: () => undefined,
      sweepIntervalMs: () => undefined,
      note: "The bus's backlog, the dead-letter queues' depths and the sweep's schedule are on the stack's CloudWatch dashboard (output OperationsDashboardName).",
    },
  });
  const stopLive = new AbortController();
  const app = createDashboardApp({
    readModel,
    retry: publisher ? (fileId) => retryFailed({ ledger, publisher, logger, now: Date.now }, { fileId }) : undefined,
    retryUnavailable: 'Retry needs --event-bus NAME (the stack output EventBusName) to publish to',
    token: settings.token,
    where: `DynamoDB ${options.auditTable} + ${options.ledgerTable}${options.eventBus ? `, bus ${options.eventBus}` : ''}`,
    logger,
    signal: stopLive.signal,
  });
  const server = await startDashboardServer(app, settings.host, port, () => stopLive.abort());
  return {
    ...server,
    retry: publisher !== undefined,
    async close() {
      await server.close();
      dynamodb.destroy();
      eventBridge?.destroy();
    },
  };
}
