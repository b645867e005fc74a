/**
 * `zoom-archiver serve`: the single-machine runtime. Without a Zoom secret it runs a
 * sandbox: a generated secret, and a signed sample recording delivered to its own
 * webhook over HTTP, so a newcomer sees the front door work with no Zoom account.
 */
import { randomBytes } from 'node:crypto';
import { TokenSealer } from '../../shared/crypto/token-seal';
import { ALL_DETAIL_TYPES, DetailType } from '../../shared/events';
import { createLogger } from '../../shared/logger';
import { loadWebhookConfig } from '../webhook/config';
import { WEBHOOK_PATH } from '../webhook/http';
import { InProcessBus, type BusEnvelope } from '../runtime/in-process-bus';
import { createServerApp, startServer } from '../runtime/server';
import { loadSample, sendSignedWebhook } from './simulate';

export interface ServeOptions {
  host: string;
  port: number;
  env: Record<string, string | undefined>;
  print: (line: string) => void;
}

export async function serveCommand(options: ServeOptions): Promise<{ close(): Promise<void> }> {
  const sandbox = !options.env.ZOOM_WEBHOOK_SECRET_TOKEN;
  const env = sandbox ? { ...options.env, ZOOM_WEBHOOK_SECRET_TOKEN: randomBytes(24).toString('base64url') } : options.env;
  const config = loadWebhookConfig(env);

  const bus = new InProcessBus();
  bus.subscribe((type) => ALL_DETAIL_TYPES.includes(type), (event) => options.print(describeEvent(event)));

  const app = createServerApp({
    secretToken: config.secretToken,
    maxSkewSeconds: config.maxSkewSeconds,
    publisher: bus,
    sealer: new TokenSealer(config.sealingSecret),
    logger: createLogger('webhook'),
    now: () => new Date(),
  });
  const server = await startServer(app, options.host, options.port);
  options.print(`zoom-archiver listening on ${server.url} (POST ${WEBHOOK_PATH}, GET /healthz)`);

  if (sandbox) {
    options.print('No ZOOM_WEBHOOK_SECRET_TOKEN is set: running the sandbox with a generated secret.');
    options.print('Delivering a signed sample recording.completed to the webhook...');
    const result = await sendSignedWebhook(`${server.url}${WEBHOOK_PATH}`, config.secretToken, loadSample('recording-completed'));
    options.print(`Webhook answered ${result.status} in ${result.elapsedMs.toFixed(1)} ms: ${result.body}`);
    options.print('Set ZOOM_WEBHOOK_SECRET_TOKEN (see README) to receive real Zoom webhooks. Ctrl-C stops.');
  }
  return server;
}

function describeEvent(event: BusEnvelope): string {
  const detail = event.detail as { recordingId?: string; topic?: string; files?: unknown[] };
  if (event['detail-type'] === DetailType.RecordingAvailable) {
    return `event ${event['detail-type']}: recording ${detail.recordingId} "${detail.topic}" with ${detail.files?.length ?? 0} files`;
  }
  return `event ${event['detail-type']}: recording ${detail.recordingId}`;
}
