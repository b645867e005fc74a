/**
 * The single-machine runtime: the whole pipeline in one process, in two threads.
 *
 * - This thread answers Zoom and does only that: the HTTP server, the webhook use
 *   case, the replay guard, and the commit of each accepted event to the webhook's
 *   inbox (host/bus/inbox.ts, SQLite WAL) before the 200. The inbox has no other
 *   writer, so an answer never waits for a lock the consumers hold on bus.sqlite.
 * - A worker thread (host/workers/consumers-worker.ts) runs the bus's deliveries:
 *   course validation, the uploader (bounded concurrency), the audit trail, and the
 *   periodic recovery sweep, over its own SQLite connections. It imports the inbox
 *   into the bus; a publish here wakes it at once, and it also polls, so work written
 *   by another process (`retry`) is found.
 *
 * - A second worker (host/workers/dashboard-worker.ts) serves the operator dashboard
 *   on its own listener (DASHBOARD_HOST:DASHBOARD_PORT) over its own read connections;
 *   a Retry there publishes to bus.sqlite and wakes the consumers through this thread.
 *
 * `close()` is the graceful stop: no new requests; the worker's uploads stop and
 * release their leases, in-flight deliveries finish, its stores close; then ours.
 */
import { mkdirSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { workerProgram } from './bundle-mode';
import { SqliteAuditLog } from '../shared/adapters/audit-sqlite';
import { SqliteDeliveryGuard } from '../shared/adapters/delivery-guard-sqlite';
import { SqliteUploadLedger } from '../shared/adapters/ledger-sqlite';
import { TokenSealer } from '../shared/crypto/token-seal';
import type { DomainEvent } from '../shared/events';
import { ConfigError } from '../shared/errors';
import type { AppLogger } from '../shared/logger';
import type { ArchiveStore } from '../shared/ports/archive-store';
import type { EventPublisher } from '../shared/ports/event-publisher';
import { DurableBus, type BusStats } from './bus/durable-bus';
import { BusInbox } from './bus/inbox';
import type { RuntimeConfig } from './config';
import { acquireInstanceLock, describeHolder } from './instance-lock';
import { createServerApp, startServer } from './server';
import { createArchiveStore } from './stores';
import type { FromWorker, ToWorker, WorkerInput } from './workers/messages';
import { startDashboardThread, type DashboardThread } from './workers/dashboard-thread';

/** The bus as this thread sees it: publish, and ask the worker whether all is delivered. */
export interface RuntimeBus extends EventPublisher {
  /** Resolves once the worker has nothing due or in flight (the sandbox summary, tests). */
  idle(): Promise<void>;
  /** Pending (including in flight) and dead deliveries, from bus.sqlite. */
  stats(): BusStats;
}

export interface Runtime {
  url: string;
  /** The operator dashboard's own listener (DASHBOARD_HOST/PORT), on its own thread. */
  dashboardUrl?: string;
  bus: RuntimeBus;
  /** Read access to the stores the worker writes (WAL: reads never block it). */
  ledger: SqliteUploadLedger;
  auditLog: SqliteAuditLog;
  store: ArchiveStore;
  close(): Promise<void>;
}

const WORKER_ENTRY = workerProgram('consumers-worker', 'consumers-entry.js');

export async function startRuntime(config: RuntimeConfig, logger: AppLogger): Promise<Runtime> {
  const webhook = config.webhook;
  if (!webhook) throw new ConfigError('ZOOM_WEBHOOK_SECRET_TOKEN is required to serve webhooks');
  mkdirSync(config.paths.root, { recursive: true });
  const taken = acquireInstanceLock(config.paths.instanceLock, 'serve');
  if (!taken.acquired) throw new ConfigError(`${describeHolder(taken.heldBy)} runs on ${config.paths.root}: one process runs the pipeline on a DATA_DIR at a time`);
  const lock = taken.lock;
  const consumers = await startConsumersWorker(config, logger).catch((error: unknown) => {
    lock.release();
    throw error;
  });
  // Read only here (stats, the import cursor): the worker is the bus's writer.
  const bus = new DurableBus({ path: config.paths.bus, logger, inboxPath: config.paths.inbox });
  // This thread's two writers never checkpoint their WAL (a copy and an fsync inside a commit, now and then: the webhook's slowest answers); the consumers' worker does.
  const inbox = new BusInbox({ path: config.paths.inbox, sync: config.busSync, onPublished: () => consumers.send({ type: 'wake' }), importedUpTo: () => bus.importedUpTo(), autoCheckpoint: false });
  inbox.cleanUp();
  const ledger = new SqliteUploadLedger({ path: config.paths.ledger });
  const auditLog = new SqliteAuditLog(config.paths.audit);
  const store = createArchiveStore(config);
  const deliveries = new SqliteDeliveryGuard(config.paths.deliveries, { autoCheckpoint: false });

  const app = createServerApp({
    secretToken: webhook.secretToken,
    maxSkewSeconds: webhook.maxSkewSeconds,
    publisher: inbox,
    sealer: new TokenSealer(webhook.sealingSecret),
    deliveries,
    logger,
    now: () => new Date(),
  });
  const server = await startServer(app, config.host, config.port).catch(async (error: unknown) => {
    await consumers.stop();
    lock.release();
    throw error;
  });
  let dashboard: DashboardThread | undefined;
  if (config.dashboard) {
    dashboard = await startDashboardThread(config.env, config.dashboard, logger, () => consumers.send({ type: 'wake' })).catch(async (error: unknown) => {
      await server.close();
      await consumers.stop();
      lock.release();
      throw new ConfigError(`the dashboard could not start: ${error instanceof Error ? error.message : String(error)}`);
    });
  }
  lock.update({ url: server.url });

  let closing: Promise<void> | undefined;
  return {
    url: server.url,
    dashboardUrl: dashboard?.url,
    bus: {
      publish: (events: readonly DomainEvent[]) => inbox.publish(events),
      idle: () => consumers.idle(),
      stats: () => bus.stats(),
    },
    ledger,
    auditLog,
    store,
    close() {
      closing ??= (async () => {
        await server.close();
        await dashboard?.stop();
        await consumers.stop();
        inbox.cleanUp();
        inbox.close();
        bus.close();
        ledger.close();
        auditLog.close();
        deliveries.close();
        lock.release();
      })();
      return closing;
    },
  };
}

interface ConsumersWorker {
  send(message: ToWorker): void;
  idle(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts the worker and resolves once its consumers run (or rejects with why they could not). */
function startConsumersWorker(config: RuntimeConfig, logger: AppLogger): Promise<ConsumersWorker> {
  const input: WorkerInput = { env: config.env };
  const worker = new Worker(WORKER_ENTRY, { workerData: input });
  const idleWaiters = new Map<number, () => void>();
  let nextIdle = 0;
  let stopped: Promise<void> | undefined;
  let exited = false;
  const exit = new Promise<void>((resolve) => worker.once('exit', () => resolve()));

  return new Promise((resolve, reject) => {
    let ready = false;
    worker.on('message', (message: FromWorker) => {
      switch (message.type) {
        case 'log':
          logger[message.level](message.message, message.fields ?? {});
          break;
        case 'ready':
          ready = true;
          resolve(handle);
          break;
        case 'failed':
          if (!ready) reject(new Error(`the consumers' worker could not start: ${message.message}`));
          else logger.error('consumers worker failed', { error: message.message });
          break;
        case 'idle':
          idleWaiters.get(message.id)?.();
          idleWaiters.delete(message.id);
          break;
        case 'stopped':
          break;
      }
    });
    worker.on('error', (error) => {
      if (!ready) reject(error);
      else logger.error('consumers worker crashed; deliveries stay pending in bus.sqlite for the next start', { error: `${error.name}: ${error.message}` });
    });
    worker.on('exit', (code) => {
      exited = true;
      for (const resolveIdle of idleWaiters.values()) resolveIdle();
      idleWaiters.clear();
      if (!ready) reject(new Error(`the consumers' worker exited with code ${code} before it started`));
      else if (!stopped) {
        logger.error('consumers worker exited unexpectedly; stopping the process so that a supervisor restarts it', { code });
        process.exitCode = 1;
      }
    });

    const handle: ConsumersWorker = {
      send(message) {
        if (!exited) worker.postMessage(message);
      },
      idle() {
        if (exited) return Promise.resolve();
        const id = nextIdle++;
        return new Promise<void>((done) => {
          idleWaiters.set(id, done);
          worker.postMessage({ type: 'idle', id } satisfies ToWorker);
        });
      },
      stop() {
        stopped ??= exited
          ? Promise.resolve()
          : (worker.postMessage({ type: 'stop' } satisfies ToWorker), exit);
        return stopped;
      },
    };
  });
}
