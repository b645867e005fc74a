/**
 * The single-machine HTTP server: the same webhook app as the Lambda, plus a health
 * check, served by @hono/node-server on HOST:PORT. The listener is open to the
 * internet (Zoom must reach it), so it bounds what an unauthenticated client can
 * hold: a request must arrive whole within seconds (Zoom sends < 1 MiB at once), and
 * connections are capped. Webhooks take turns with the loop (host/turn-taking.ts), so
 * a sender opening a new connection is not kept waiting behind busy keep-alive ones.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { createWebhookApp, WEBHOOK_PATH } from '../services/webhook/http';
import { TurnTaking } from './turn-taking';
import type { WebhookDeps } from '../services/webhook/use-case';

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

export function createServerApp(webhook: WebhookDeps): Hono {
  const app = new Hono({ strict: false });
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  // A few webhooks per loop iteration, so that new connections are accepted between them (host/turn-taking.ts).
  const turns = new TurnTaking();
  app.use(WEBHOOK_PATH, async (_c, next) => {
    await turns.take();
    await next();
  });
  app.route('/', createWebhookApp(webhook));
  return app;
}

export interface ServerLimits {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxConnections: number;
}

/** Limits of the public listener; Node's defaults (300 s per request, no connection cap) let stalled senders pile up. */
export const SERVER_LIMITS: ServerLimits = {
  /** Headers must be complete this soon after the connection opens. */
  headersTimeoutMs: 5_000,
  /** The whole request, body included. */
  requestTimeoutMs: 10_000,
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: 5_000,
  /** Connections open at once; more are refused until some close. */
  maxConnections: 1_000,
};

export function startServer(app: Hono, host: string, port: number, limits: ServerLimits = SERVER_LIMITS): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    const serverOptions = {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // Timeouts are checked this often (Node's default is every 30 s).
      connectionsCheckingInterval: 1_000,
    };
    const server = serve({ fetch: app.fetch, hostname: host, port, serverOptions }, (info: AddressInfo) => {
      const shownHost = info.family === 'IPv6' ? `[${info.address}]` : info.address;
      resolve({
        url: `http://${shownHost}:${info.port}`,
        close: () => new Promise<void>((done) => (server as Server).close(() => done())),
      });
    }) as Server;
    server.maxConnections = limits.maxConnections;
    server.once('error', reject);
  });
}
