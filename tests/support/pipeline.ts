/**
 * Runs a Zoom recording payload through the real front of the pipeline — the signed
 * webhook use case, then course validation with the default rules — and returns the
 * FileUploadRequested events the uploader would receive. Used by uploader tests and
 * benchmarks, so they start from what production would hand the uploader.
 */
import { MemoryDeliveryGuard } from '../../shared/adapters/delivery-guard-memory';
import { TokenSealer } from '../../shared/crypto/token-seal';
import { DetailType, EVENT_SOURCE, parseEvent, type ParsedEvent } from '../../shared/events';
import { silentLogger } from '../../shared/logger';
import { loadArchiverConfig } from '../../services/course-validation/config';
import { validateRecording } from '../../services/course-validation/use-case';
import { handleWebhookDelivery } from '../../services/webhook/use-case';
import { signedHeaders } from './fixtures';
import { MemoryPublisher } from './memory-publisher';

export type Requested = ParsedEvent<typeof DetailType.FileUploadRequested>;

let busIds = 0;
export const busEvent = (detailType: string, detail: unknown) => ({
  id: `bus-${++busIds}`,
  time: new Date().toISOString(),
  source: EVENT_SOURCE,
  'detail-type': detailType,
  detail,
});

export async function uploadRequestsFor(payload: unknown, webhookSecret: string): Promise<Requested[]> {
  const body = Buffer.from(JSON.stringify(payload));
  const headers = signedHeaders(body, webhookSecret);
  const webhookBus = new MemoryPublisher();
  const answer = await handleWebhookDelivery(
    { rawBody: body, signature: headers['x-zm-signature'], timestamp: headers['x-zm-request-timestamp'], trackingId: undefined },
    { secretToken: webhookSecret, maxSkewSeconds: 300, publisher: webhookBus, sealer: new TokenSealer(webhookSecret), deliveries: new MemoryDeliveryGuard(), logger: silentLogger, now: () => new Date() },
  );
  if (answer.status !== 200) throw new Error(`webhook answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  const validationBus = new MemoryPublisher();
  for (const event of webhookBus.published) {
    const available = parseEvent(busEvent(DetailType.RecordingAvailable, event.detail), DetailType.RecordingAvailable);
    await validateRecording(available, { config: loadArchiverConfig({}), publisher: validationBus, logger: silentLogger });
  }
  return validationBus
    .ofType(DetailType.FileUploadRequested)
    .map((detail) => parseEvent(busEvent(DetailType.FileUploadRequested, detail), DetailType.FileUploadRequested));
}
