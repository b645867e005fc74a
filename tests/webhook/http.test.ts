/**
 * The webhook's HTTP binding, through a real HTTP server (@hono/node-server, as the
 * single-machine runtime serves it) and through the Lambda Function URL adapter,
 * checking that the raw body reaches the signature check unchanged.
 */
import { MemoryDeliveryGuard } from '../../shared/adapters/delivery-guard-memory';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { handle } from 'hono/aws-lambda';
import { TokenSealer } from '../../shared/crypto/token-seal';
import { silentLogger } from '../../shared/logger';
import { createWebhookApp, MAX_BODY_BYTES, WEBHOOK_PATH } from '../../services/webhook/http';
import { loadZoomFixture, signedHeaders } from '../support/fixtures';
import { MemoryPublisher } from '../support/memory-publisher';

const SECRET = 'http-test-secret';

function makeApp() {
  const publisher = new MemoryPublisher();
  const app = createWebhookApp({
    secretToken: SECRET,
    maxSkewSeconds: 300,
    publisher,
    sealer: new TokenSealer(SECRET), deliveries: new MemoryDeliveryGuard(),
    logger: silentLogger,
    now: () => new Date(),
  });
  return { app, publisher };
}

describe('webhook over a real HTTP server', () => {
  let server: Server;
  let url: string;
  let publisher: MemoryPublisher;

  beforeAll(async () => {
    const made = makeApp();
    publisher = made.publisher;
    await new Promise<void>((resolve) => {
      server = serve({ fetch: made.app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve()) as Server;
    });
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${WEBHOOK_PATH}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => publisher.published.splice(0));

  it('accepts a signed recording.completed, whitespace and key order as sent', async () => {
    // Pretty-printed on purpose: a handler that re-serialized the JSON would fail the signature.
    const body = JSON.stringify(loadZoomFixture('recording-completed'), null, 3);
    const response = await fetch(url, { method: 'POST', headers: signedHeaders(body, SECRET), body });
    expect(response.status).toBe(200);
    expect(publisher.published).toHaveLength(1);
  });

  it.each(['GET', 'PUT', 'DELETE'])('answers 405 to %s', async (method) => {
    const response = await fetch(url, { method });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
  });

  it('answers 401 with a short reason to a wrong signature', async () => {
    const body = JSON.stringify(loadZoomFixture('recording-completed'));
    const response = await fetch(url, { method: 'POST', headers: { ...signedHeaders(body, 'not-the-secret') }, body });
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ error: 'unauthorized', message: 'signature does not match' });
    expect(publisher.published).toHaveLength(0);
  });

  // Last: the server closes a connection whose oversize body it did not read.
  it('answers 413 to a body over 1 MiB and publishes nothing', async () => {
    const body = JSON.stringify({ event: 'recording.completed', padding: 'x'.repeat(MAX_BODY_BYTES) });
    const response = await fetch(url, { method: 'POST', headers: signedHeaders(body, SECRET), body });
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ error: 'payload_too_large' });
    expect(publisher.published).toHaveLength(0);
  });

  it('answers 413 to an oversize chunked body without Content-Length', async () => {
    const chunk = new Uint8Array(256 * 1024).fill(0x20);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 5; i++) controller.enqueue(chunk);
        controller.close();
      },
    });
    // Signature headers that pass the checks made before the body is read.
    const headers = { ...signedHeaders('whatever', SECRET), 'content-type': 'application/json' };
    const response = await fetch(url, { method: 'POST', headers, body: stream, duplex: 'half' } as RequestInit);
    expect(response.status).toBe(413);
  });
});

describe('webhook through the Lambda Function URL adapter', () => {
  const context = {} as Context;
  const urlEvent = (body: string, headers: Record<string, string>, isBase64Encoded: boolean): APIGatewayProxyEventV2 => ({
    version: '2.0',
    routeKey: '$default',
    rawPath: WEBHOOK_PATH,
    rawQueryString: '',
    headers: { ...headers, host: 'abc.lambda-url.eu-west-1.on.aws' },
    requestContext: {
      accountId: 'anonymous',
      apiId: 'abc',
      domainName: 'abc.lambda-url.eu-west-1.on.aws',
      domainPrefix: 'abc',
      http: { method: 'POST', path: WEBHOOK_PATH, protocol: 'HTTP/1.1', sourceIp: '203.0.113.7', userAgent: 'Zoom Marketplace/1.0a' },
      requestId: 'req-1',
      routeKey: '$default',
      stage: '$default',
      time: '27/Nov/2026:10:00:00 +0000',
      timeEpoch: Date.now(),
    },
    body: isBase64Encoded ? Buffer.from(body).toString('base64') : body,
    isBase64Encoded,
  });

  it.each([false, true])('verifies the raw body (base64-encoded: %s) and publishes', async (isBase64Encoded) => {
    const { app, publisher } = makeApp();
    const handler = handle(app);
    const body = JSON.stringify(loadZoomFixture('recording-completed-unicode'), null, 1);

    const result = (await handler(urlEvent(body, signedHeaders(body, SECRET), isBase64Encoded) as unknown as Parameters<typeof handler>[0], context)) as { statusCode: number };

    expect(result.statusCode).toBe(200);
    expect(publisher.published).toHaveLength(1);
  });
});
