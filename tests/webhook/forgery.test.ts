/**
 * The signing-oracle attack, end to end: `endpoint.url_validation` answers
 * HMAC(secret, plainToken), which is exactly a delivery's signature when plainToken
 * is `v0:{ts}:{body}`. An attacker without the secret asks for that "validation",
 * then sends the body with the answer as its signature. Tried against the
 * single-machine server (real HTTP) and the Lambda Function URL binding; both must
 * refuse every step and publish nothing.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyResult, Context } from 'aws-lambda';
import { handle } from 'hono/aws-lambda';
import { MemoryDeliveryGuard } from '../../shared/adapters/delivery-guard-memory';
import { TokenSealer } from '../../shared/crypto/token-seal';
import { silentLogger } from '../../shared/logger';
import { createServerApp, startServer, type RunningServer } from '../../host/server';
import { createWebhookApp, WEBHOOK_PATH } from '../../services/webhook/http';
import type { WebhookDeps } from '../../services/webhook/use-case';
import { signedHeaders } from '../support/fixtures';
import { MemoryPublisher } from '../support/memory-publisher';

const SECRET = 'forgery-test-webhook-secret';

function deps(publisher: MemoryPublisher): WebhookDeps {
  return { secretToken: SECRET, maxSkewSeconds: 300, publisher, sealer: new TokenSealer(SECRET), deliveries: new MemoryDeliveryGuard(), logger: silentLogger, now: () => new Date() };
}

type Send = (body: string, headers: Record<string, string>) => Promise<{ status: number; json: Record<string, unknown> }>;

/** The attack as an attacker would run it; returns every answer it got. */
async function attack(send: Send) {
  const ts = String(Math.floor(Date.now() / 1000));
  // Short enough for the plainToken limit of the code this test was written against (1,024 characters).
  const forgedBody = JSON.stringify({
    event: 'recording.completed',
    event_ts: Date.now(),
    payload: {
      object: {
        uuid: 'forged-uuid==',
        id: 1,
        topic: '[MAQ101] forged',
        start_time: '2026-11-27T10:00:00Z',
        recording_files: [{ id: 'f1', file_type: 'MP4', file_size: 10, download_url: 'https://zoom.us/rec/download/forged' }],
      },
    },
  });
  const validation = JSON.stringify({ event: 'endpoint.url_validation', event_ts: Date.now(), payload: { plainToken: `v0:${ts}:${forgedBody}` } });
  const oracle = await send(validation, { 'content-type': 'application/json' });
  const encrypted = typeof oracle.json.encryptedToken === 'string' ? oracle.json.encryptedToken : '0'.repeat(64);
  const forged = await send(forgedBody, { 'content-type': 'application/json', 'x-zm-request-timestamp': ts, 'x-zm-signature': `v0=${encrypted}` });
  // A signed validation request (as Zoom sends it) with that plainToken is refused too: the token is not shaped like Zoom's.
  const signedOracle = await send(validation, signedHeaders(validation, SECRET, Number(ts)));
  return { oracle, forged, signedOracle };
}

describe('url_validation is no signing oracle', () => {
  let server: RunningServer;
  let publisher: MemoryPublisher;

  beforeAll(async () => {
    publisher = new MemoryPublisher();
    server = await startServer(createServerApp(deps(publisher)), '127.0.0.1', 0);
  });
  afterAll(() => server.close());

  it('on the single-machine server: every step refused, nothing published', async () => {
    const send: Send = async (body, headers) => {
      const response = await fetch(`${server.url}${WEBHOOK_PATH}`, { method: 'POST', headers, body });
      return { status: response.status, json: (await response.json()) as Record<string, unknown> };
    };
    const { oracle, forged, signedOracle } = await attack(send);
    expect(oracle.status).toBe(401);
    expect(oracle.json).not.toHaveProperty('encryptedToken');
    expect(forged.status).toBe(401);
    expect(signedOracle.status).toBe(400);
    expect(signedOracle.json).not.toHaveProperty('encryptedToken');
    expect(publisher.published).toHaveLength(0);
  });

  it('on the Lambda Function URL binding: every step refused, nothing published', async () => {
    const lambdaPublisher = new MemoryPublisher();
    const handler = handle(createWebhookApp(deps(lambdaPublisher)));
    const send: Send = async (body, headers) => {
      const event = {
        version: '2.0',
        routeKey: '$default',
        rawPath: WEBHOOK_PATH,
        rawQueryString: '',
        headers: { ...headers, host: 'abc.lambda-url.eu-west-1.on.aws' },
        requestContext: { http: { method: 'POST', path: WEBHOOK_PATH, protocol: 'HTTP/1.1', sourceIp: '203.0.113.9', userAgent: 'curl' }, requestId: 'r', routeKey: '$default', stage: '$default', timeEpoch: Date.now() },
        body: Buffer.from(body).toString('base64'),
        isBase64Encoded: true,
      } as unknown as APIGatewayProxyEventV2;
      const result = (await handler(event as unknown as Parameters<typeof handler>[0], {} as Context)) as APIGatewayProxyResult;
      return { status: result.statusCode, json: JSON.parse(result.body) as Record<string, unknown> };
    };
    const { oracle, forged, signedOracle } = await attack(send);
    expect([oracle.status, forged.status, signedOracle.status]).toEqual([401, 401, 400]);
    expect(lambdaPublisher.published).toHaveLength(0);
  });
});
