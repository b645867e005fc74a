/**
 * In-process latency of the webhook use case for a 150-file recording.completed
 * (Zoom's maximum per session), publisher stubbed out, against a baseline in the same
 * process: the irreducible work (HMAC over the raw body + JSON.parse).
 */
import { createHmac } from 'node:crypto';
import { TokenSealer } from '../shared/crypto/token-seal';
import { silentLogger } from '../shared/logger';
import { handleWebhookDelivery } from '../services/webhook/use-case';
import { recordingWithFiles, signedHeaders } from '../tests/support/fixtures';
import { summarize, type Summary } from './stats';

const SECRET = 'bench-webhook-secret-token';

export interface HandlerBench {
  files: number;
  bodyBytes: number;
  ours: Summary;
  baseline: Summary;
}

export async function benchWebhookHandler(files = 150, iterations = 2000): Promise<HandlerBench> {
  const body = Buffer.from(JSON.stringify(recordingWithFiles(files)));
  const headers = signedHeaders(body, SECRET);
  const deps = {
    secretToken: SECRET,
    maxSkewSeconds: 300,
    publisher: { publish: async () => undefined },
    sealer: new TokenSealer(SECRET),
    // The same signed bytes every iteration would be a replay after the first: admit each, so every one takes the full path.
    deliveries: { claim: async () => true, release: async () => undefined },
    logger: silentLogger,
    now: () => new Date(),
  };
  const delivery = { rawBody: body, signature: headers['x-zm-signature'], timestamp: headers['x-zm-request-timestamp'], trackingId: undefined };

  const run = async (fn: () => Promise<unknown> | unknown) => {
    for (let i = 0; i < 200; i++) await fn(); // warm-up (JIT)
    const samples: number[] = [];
    for (let i = 0; i < iterations; i++) {
      const start = process.hrtime.bigint();
      await fn();
      samples.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
    return summarize(samples);
  };

  const baseline = await run(() => {
    createHmac('sha256', SECRET).update(`v0:${headers['x-zm-request-timestamp']}:`).update(body).digest('hex');
    return JSON.parse(body.toString('utf8'));
  });
  const ours = await run(async () => {
    const answer = await handleWebhookDelivery(delivery, deps);
    if (answer.status !== 200) throw new Error(`unexpected answer ${answer.status}`);
  });
  return { files, bodyBytes: body.length, ours, baseline };
}
