/**
 * The dashboard's thread of the single-machine host: its listener, its SQLite read
 * connections and every page's queries run here, so a dashboard request never takes
 * time from the event loop that answers Zoom. Retry publishes to bus.sqlite and asks
 * the main thread to wake the consumers' worker.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadRuntimeConfig } from '../config';
import { createDashboardApp } from '../dashboard/app';
import { openLocalDashboardData } from '../dashboard/local';
import { startDashboardServer } from '../dashboard/server';
import type { DashboardWorkerInput, FromDashboard, ToDashboard } from './messages';
import { workerLogger } from './worker-logger';
import { lowerThreadPriority } from './thread-priority';

const port = parentPort;
if (!port) throw new Error('dashboard-worker must run as a worker thread');
const send = (message: FromDashboard) => port.postMessage(message);
const logger = workerLogger(send);

async function main(): Promise<void> {
  const { env, settings } = workerData as DashboardWorkerInput;
  lowerThreadPriority(); // a page may wait; Zoom's deliveries may not
  const config = loadRuntimeConfig(env, { webhook: 'optional' });
  const data = openLocalDashboardData(config, logger, () => send({ type: 'published' }));
  const stopLive = new AbortController();
  const app = createDashboardApp({ readModel: data.readModel, retry: data.retry, token: settings.token, where: data.where, logger, signal: stopLive.signal });
  const server = await startDashboardServer(app, settings.host, settings.port, () => stopLive.abort()).catch((error: unknown) => {
    data.close();
    throw error;
  });
  port!.on('message', (message: ToDashboard) => {
    if (message.type !== 'stop') return;
    void server.close().then(() => {
      data.close();
      send({ type: 'stopped' });
      port!.close();
    });
  });
  send({ type: 'ready', url: server.url });
}

main().catch((error: unknown) => send({ type: 'failed', message: error instanceof Error ? error.message : String(error) }));
