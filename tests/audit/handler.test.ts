/**
 * The audit's Lambda handler: its bootstrap (createAuditDeps) writes to the table
 * AUDIT_TABLE_NAME names, through the DynamoDB adapter the function uses (dynalite
 * here), given EventBridge envelopes of the events the pipeline really publishes:
 * the webhook's RecordingAvailable (with its sealed download token) and course
 * validation's FileUploadRequested.
 */
import { randomUUID } from 'node:crypto';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { auditTableDefinition, DynamoDbAuditLog } from '../../shared/adapters/audit-dynamodb';
import { MemoryDeliveryGuard } from '../../shared/adapters/delivery-guard-memory';
import { TokenSealer } from '../../shared/crypto/token-seal';
import { ConfigError, EventEnvelopeError } from '../../shared/errors';
import { DetailType, EVENT_SOURCE, type DomainEvent } from '../../shared/events';
import { silentLogger } from '../../shared/logger';
import { createAuditDeps, handler, handleAuditEvent } from '../../services/audit/handler';
import { handleWebhookDelivery } from '../../services/webhook/use-case';
import { startDynalite, type DynaliteHandle } from '../support/dynalite';
import { loadZoomFixture, signedHeaders } from '../support/fixtures';
import { MemoryPublisher } from '../support/memory-publisher';
import { uploadRequestsFor } from '../support/pipeline';

const SECRET = 'audit-handler-test-webhook-secret';

/** The envelope EventBridge hands the function. */
const envelope = (event: DomainEvent, id: string = randomUUID()) => ({
  version: '0',
  id,
  'detail-type': event.detailType,
  source: EVENT_SOURCE,
  account: '123456789012',
  time: '2026-11-27T10:00:00Z',
  region: 'eu-west-1',
  resources: [],
  detail: event.detail as unknown,
});

/** What the webhook publishes for Zoom's sample payload. */
async function webhookEvents(): Promise<DomainEvent[]> {
  const publisher = new MemoryPublisher();
  const body = Buffer.from(JSON.stringify(loadZoomFixture('recording-completed')));
  const headers = signedHeaders(body, SECRET);
  await handleWebhookDelivery(
    { rawBody: body, signature: headers['x-zm-signature'], timestamp: headers['x-zm-request-timestamp'], trackingId: undefined },
    { secretToken: SECRET, maxSkewSeconds: 300, publisher, sealer: new TokenSealer(SECRET), deliveries: new MemoryDeliveryGuard(), logger: silentLogger, now: () => new Date() },
  );
  return publisher.published;
}

describe('audit Lambda handler', () => {
  let dynalite: DynaliteHandle;
  let tableName: string;
  beforeAll(async () => {
    dynalite = await startDynalite();
  });
  afterAll(() => dynalite.stop());
  beforeEach(async () => {
    tableName = await dynalite.createTable(auditTableDefinition(dynalite.uniqueTableName('audit')));
  });
  const deps = () => createAuditDeps({ AUDIT_TABLE_NAME: tableName }, { dynamoDb: dynalite.client, logger: silentLogger });
  const rawItems = async () => (await dynalite.client.send(new ScanCommand({ TableName: tableName }))).Items ?? [];

  it('the exported handler refuses to start without AUDIT_TABLE_NAME, at every invocation', async () => {
    const saved = { ...process.env };
    try {
      delete process.env.AUDIT_TABLE_NAME;
      const [event] = await webhookEvents();
      const error = await handler(envelope(event!), {}).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).message).toBe('AUDIT_TABLE_NAME: is required');
      await expect(handler(envelope(event!), {})).rejects.toThrow('AUDIT_TABLE_NAME: is required');
    } finally {
      process.env = saved;
    }
    // A misspelt log level is named too, rather than logging at a level nobody chose.
    expect(() => createAuditDeps({ LOG_LEVEL: 'verbose' })).toThrow(
      new ConfigError('AUDIT_TABLE_NAME: is required; LOG_LEVEL: must be one of TRACE, DEBUG, INFO, WARN, ERROR, CRITICAL, SILENT'),
    );
    expect(() => createAuditDeps({ AUDIT_TABLE_NAME: tableName, LOG_LEVEL: 'debug' }, { dynamoDb: dynalite.client })).not.toThrow();
  });

  it('writes each event once to the table AUDIT_TABLE_NAME names, keyed by the bus event id, without the download token', async () => {
    const [available] = await webhookEvents();
    const requested = (await uploadRequestsFor(loadZoomFixture('recording-completed'), SECRET)).map((r): DomainEvent => ({ detailType: DetailType.FileUploadRequested, detail: r.detail }));
    const d = deps();
    const redelivered = envelope(available!, 'bus-event-1');

    expect(await handleAuditEvent(redelivered, d)).toBe('written');
    expect(await handleAuditEvent(redelivered, d)).toBe('duplicate');
    for (const event of requested) expect(await handleAuditEvent(envelope(event), d)).toBe('written');

    const recordingId = loadZoomFixture('recording-completed').payload.object.uuid;
    const history = await new DynamoDbAuditLog(dynalite.client, tableName).recordingHistory(recordingId);
    expect(history.map((r) => r.detailType).sort()).toEqual([DetailType.FileUploadRequested, DetailType.FileUploadRequested, DetailType.RecordingAvailable]);
    expect(history.find((r) => r.detailType === DetailType.RecordingAvailable)?.eventId).toBe('bus-event-1');
    const stored = JSON.stringify(await rawItems());
    const sealed = (available!.detail as { downloadAccess?: { sealedToken: string } }).downloadAccess!.sealedToken;
    expect(stored).not.toContain(sealed);
    expect(stored).not.toContain(loadZoomFixture('recording-completed').download_token!);
  });

  it('refuses an event that breaks its contract (EventBridge retries, then dead-letters it), writing nothing', async () => {
    const [available] = await webhookEvents();
    const broken = { ...envelope(available!), detail: { ...(available!.detail as object), recordingId: '' } };

    await expect(handleAuditEvent(broken, deps())).rejects.toBeInstanceOf(EventEnvelopeError);
    await expect(handleAuditEvent({ ...envelope(available!), source: 'aws.s3' }, deps())).rejects.toBeInstanceOf(EventEnvelopeError);
    expect(await rawItems()).toEqual([]);
  });
});
