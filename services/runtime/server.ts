/**
 * The single-machine HTTP server: the same webhook app as the Lambda, plus a health
 * check, served by @hono/node-server on HOST:PORT.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { createWebhookApp } from '../webhook/http';
import type { WebhookDeps } from '../webhook/use-case';

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

export function createServerApp(webhook: WebhookDeps): Hono {
  const app = new Hono({ strict: false });
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.route('/', createWebhookApp(webhook));
  return app;
}

export function startServer(app: Hono, host: string, port: number): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, hostname: host, port }, (info: AddressInfo) => {
      const shownHost = info.family === 'IPv6' ? `[${info.address}]` : info.address;
      resolve({
        url: `http://${shownHost}:${info.port}`,
        close: () => new Promise<void>((done) => (server as Server).close(() => done())),
      });
    }) as Server;
    server.once('error', reject);
  });
}
