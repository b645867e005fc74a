import type { LogMessage } from './worker-logger';
import type { DashboardSettings } from '../dashboard/config';

/** What the thread that answers Zoom and the consumers' worker say to each other. */
export type ToWorker =
  /** The main thread published: look at the queue now rather than at the next poll. */
  | { type: 'wake' }
  /** Answer `idle` with this id once nothing is due or in flight. */
  | { type: 'idle'; id: number }
  /** Stop: uploads hand their files back, in-flight deliveries finish, stores close. */
  | { type: 'stop' };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'idle'; id: number }
  | LogMessage
  | { type: 'stopped' }
  /** Start-up failed; the message names the cause. */
  | { type: 'failed'; message: string };

/** What the worker is started with: the environment the main thread validated (it re-reads it, so both agree). */
export interface WorkerInput {
  env: Record<string, string>;
}

/** The dashboard's thread: its own listener and read connections, so that no dashboard query runs on the event loop that answers Zoom. */
export type ToDashboard = { type: 'stop' };

export type FromDashboard =
  | { type: 'ready'; url: string }
  | LogMessage
  /** Retry published to bus.sqlite: wake the consumers' worker. */
  | { type: 'published' }
  | { type: 'stopped' }
  | { type: 'failed'; message: string };

export interface DashboardWorkerInput {
  env: Record<string, string>;
  settings: DashboardSettings;
}
