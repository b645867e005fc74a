/** Starts the dashboard's worker thread (./dashboard-worker.ts) and resolves with its URL once it listens. */
import { Worker } from 'node:worker_threads';
import { workerProgram } from '../bundle-mode';
import type { AppLogger } from '../../shared/logger';
import type { DashboardSettings } from '../dashboard/config';
import type { DashboardWorkerInput, FromDashboard, ToDashboard } from './messages';

export interface DashboardThread {
  url: string;
  stop(): Promise<void>;
}

const ENTRY = workerProgram('dashboard-worker', 'dashboard-entry.js');

export function startDashboardThread(env: Record<string, string>, settings: DashboardSettings, logger: AppLogger, onPublished: () => void): Promise<DashboardThread> {
  const worker = new Worker(ENTRY, { workerData: { env, settings } satisfies DashboardWorkerInput });
  const exit = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  let stopping: Promise<void> | undefined;
  let exited = false;
  return new Promise((resolve, reject) => {
    let ready = false;
    worker.on('message', (message: FromDashboard) => {
      if (message.type === 'log') logger[message.level](message.message, message.fields ?? {});
      else if (message.type === 'published') onPublished();
      else if (message.type === 'failed') {
        if (!ready) reject(new Error(message.message));
        else logger.error('dashboard failed', { error: message.message });
        void worker.terminate();
      } else if (message.type === 'ready') {
        ready = true;
        resolve({
          url: message.url,
          stop() {
            stopping ??= exited ? Promise.resolve() : (worker.postMessage({ type: 'stop' } satisfies ToDashboard), exit);
            return stopping;
          },
        });
      }
    });
    worker.on('error', (error) => {
      if (!ready) reject(error);
      // The webhook goes on without its dashboard: Zoom's deliveries matter more than the page.
      else logger.error('dashboard worker crashed; the webhook and the pipeline go on (restart the process for the dashboard)', { error: `${error.name}: ${error.message}` });
    });
    worker.on('exit', (code) => {
      exited = true;
      if (!ready) reject(new Error(`the dashboard's worker exited with code ${code} before it listened`));
    });
  });
}
