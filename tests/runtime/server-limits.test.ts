/**
 * The public listener bounds what an unauthenticated client can hold: a request
 * without signature headers is answered before its body is read, a sender that
 * stalls is cut off at the request timeout, and connections are capped.
 */
import { connect, type Socket } from 'node:net';
import { MemoryDeliveryGuard } from '../../shared/adapters/delivery-guard-memory';
import { TokenSealer } from '../../shared/crypto/token-seal';
import { silentLogger } from '../../shared/logger';
import { createServerApp, startServer, type RunningServer } from '../../host/server';
import { WEBHOOK_PATH } from '../../services/webhook/http';
import { signedHeaders } from '../support/fixtures';
import { MemoryPublisher } from '../support/memory-publisher';

const SECRET = 'server-limits-test-secret';
const LIMITS = { headersTimeoutMs: 1_000, requestTimeoutMs: 1_500, keepAliveTimeoutMs: 1_000, maxConnections: 5 };

/** Opens a raw connection, writes `head`, and collects what the server sends until it closes. */
function rawRequest(url: string, head: string): { socket: Socket; closed: Promise<{ data: string; afterMs: number }> } {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  const started = Date.now();
  let data = '';
  socket.on('data', (chunk) => (data += chunk.toString('latin1')));
  socket.write(head);
  const closed = new Promise<{ data: string; afterMs: number }>((resolve) => {
    socket.on('close', () => resolve({ data, afterMs: Date.now() - started }));
    socket.on('error', () => undefined);
  });
  return { socket, closed };
}

describe('single-machine server limits', () => {
  let server: RunningServer;
  const publisher = new MemoryPublisher();

  beforeAll(async () => {
    const app = createServerApp({ secretToken: SECRET, maxSkewSeconds: 300, publisher, sealer: new TokenSealer(SECRET), deliveries: new MemoryDeliveryGuard(), logger: silentLogger, now: () => new Date() });
    server = await startServer(app, '127.0.0.1', 0, LIMITS);
  });
  afterAll(() => server.close());

  it('answers 401 to an unsigned 1 MiB request before its body arrives, and closes the connection', async () => {
    const { closed } = rawRequest(server.url, `POST ${WEBHOOK_PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1048576\r\n\r\n`);
    const { data, afterMs } = await closed;
    expect(data).toMatch(/^HTTP\/1\.1 401/);
    // Closed by the answer, not by the request timeout.
    expect(afterMs).toBeLessThan(LIMITS.requestTimeoutMs);
  });

  it('cuts off a signed-looking request whose body stalls at the request timeout', async () => {
    const headers = signedHeaders('{}', SECRET);
    const head = `POST ${WEBHOOK_PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1048576\r\nx-zm-signature: ${headers['x-zm-signature']}\r\nx-zm-request-timestamp: ${headers['x-zm-request-timestamp']}\r\n\r\n{`;
    const { closed } = rawRequest(server.url, head);
    const { data, afterMs } = await closed;
    expect(data).toMatch(/^HTTP\/1\.1 408/);
    expect(afterMs).toBeGreaterThanOrEqual(LIMITS.requestTimeoutMs - 100);
    expect(afterMs).toBeLessThan(LIMITS.requestTimeoutMs + 5_000);
    expect(publisher.published).toHaveLength(0);
  });

  it('refuses connections beyond the cap while others are held open', async () => {
    const held = Array.from({ length: LIMITS.maxConnections }, () => rawRequest(server.url, 'POST /webhooks/zoom HTTP/1.1\r\nHost: x\r\n'));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const extra = rawRequest(server.url, `GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    const { data } = await extra.closed;
    expect(data).toBe('');
    for (const connection of held) connection.socket.destroy();
    await Promise.all(held.map((connection) => connection.closed));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const after = await rawRequest(server.url, `GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`).closed;
    expect(after.data).toMatch(/^HTTP\/1\.1 200/);
  });
});
