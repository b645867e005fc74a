import { MemoryDeliveryGuard } from '../../shared/adapters/delivery-guard-memory';
import { SqliteAuditLog } from '../../shared/adapters/audit-sqlite';
import { TokenSealer } from '../../shared/crypto/token-seal';
import { DetailType, EVENT_SOURCE, parseEvent } from '../../shared/events';
import { silentLogger } from '../../shared/logger';
import { auditEvent } from '../../services/audit/use-case';
import { loadZoomFixture, signedHeaders } from '../support/fixtures';
import { MemoryPublisher } from '../support/memory-publisher';
import { handleWebhookDelivery } from '../../services/webhook/use-case';

describe('audit use case', () => {
  it('records the webhook’s real RecordingAvailable once, without its token, sealed or not', async () => {
    // Arrange: the event exactly as the webhook publishes it for Zoom's sample payload.
    const secret = 'audit-test-secret';
    const publisher = new MemoryPublisher();
    const fixture = loadZoomFixture('recording-completed');
    const body = Buffer.from(JSON.stringify(fixture));
    const headers = signedHeaders(body, secret);
    await handleWebhookDelivery(
      { rawBody: body, signature: headers['x-zm-signature'], timestamp: headers['x-zm-request-timestamp'], trackingId: undefined },
      { secretToken: secret, maxSkewSeconds: 300, publisher, sealer: new TokenSealer(secret), deliveries: new MemoryDeliveryGuard(), logger: silentLogger, now: () => new Date() },
    );
    const detail = publisher.ofType(DetailType.RecordingAvailable)[0]!;
    const busEvent = { id: 'bus-1', time: '2026-11-27T10:00:00Z', source: EVENT_SOURCE, 'detail-type': DetailType.RecordingAvailable, detail };
    const auditLog = new SqliteAuditLog(':memory:');

    // Act: delivered twice, as EventBridge may.
    const outcomes = [
      await auditEvent(parseEvent(busEvent, DetailType.RecordingAvailable), { auditLog, logger: silentLogger }),
      await auditEvent(parseEvent(busEvent, DetailType.RecordingAvailable), { auditLog, logger: silentLogger }),
    ];

    // Assert
    expect(outcomes).toEqual(['written', 'duplicate']);
    const [record, ...rest] = await auditLog.recordingHistory(fixture.payload.object.uuid);
    expect(rest).toEqual([]);
    expect(record).toMatchObject({ detailType: DetailType.RecordingAvailable, correlationId: detail.metadata.correlationId, problem: false });
    expect(record!.summary).toBe('received recording.completed "[MAQ101] Maqam Bayati — lesson 3" with 7 file(s)');
    const stored = JSON.stringify(record);
    expect(stored).not.toContain(fixture.download_token!);
    expect(stored).not.toContain(detail.downloadAccess!.sealedToken);
    expect(stored).not.toContain('download');
    expect(stored).not.toContain(secret);
    auditLog.close();
  });
});
