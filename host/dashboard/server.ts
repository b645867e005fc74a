/**
 * The dashboard's own listener (never the webhook's): @hono/node-server on
 * DASHBOARD_HOST:DASHBOARD_PORT. Closing ends the live-update streams and drops
 * idle keep-alive connections, so a stop never waits for a browser tab.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Hono } from 'hono';

export interface RunningDashboard {
  url: string;
  close(): Promise<void>;
}

export function startDashboardServer(app: Hono, host: string, port: number, onClose?: () => void): Promise<RunningDashboard> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, hostname: host, port, serverOptions: { headersTimeout: 10_000, requestTimeout: 30_000, keepAliveTimeout: 5_000 } }, (info: AddressInfo) => {
      const shownHost = info.family === 'IPv6' ? `[${info.address}]` : info.address;
      resolve({
        url: `http://${shownHost}:${info.port}/`,
        close: () =>
          new Promise<void>((done) => {
            onClose?.();
            (server as Server).close(() => done());
            (server as Server).closeAllConnections();
          }),
      });
    }) as Server;
    server.maxConnections = 200;
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'EADDRINUSE' ? new Error(`the dashboard cannot listen on ${host}:${port}: the port is taken (set DASHBOARD_PORT)`) : error),
    );
  });
}
