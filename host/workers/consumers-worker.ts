/**
 * The consumers' thread of the single-machine host: the durable bus's deliveries
 * (course validation, uploads, subscribers, clean-up scheduling, audit), the recovery
 * sweep, the reconciliation sweep, the clean-up run and the subscriber dispatcher
 * (host/subscriber-dispatcher.ts) run here, on their own SQLite connections, so that no transfer, hash or query ever runs on the event loop
 * that answers Zoom. Logs go to the main thread's logger; `stop` is the graceful end.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { AppLogger } from '../../shared/logger';
import { recoveryStaleAfterMs } from '../../services/uploader/config';
import { recoverStalledUploads } from '../../services/uploader/redrive';
import { loadRuntimeConfig } from '../config';
import { openLocalPipeline } from '../pipeline';
import { openLocalReconciler, type LocalReconciler } from '../reconciler';
import { openLocalCleanup, type LocalCleanup } from '../cleanup';
import { countOutcomes } from '../../services/cleanup/use-case';
import { startSubscriberDispatcher, type SubscriberDispatcher } from '../subscriber-dispatcher';
import type { FromWorker, ToWorker, WorkerInput } from './messages';
import { workerLogger } from './worker-logger';
import { lowerThreadPriority } from './thread-priority';
import { WalCheckpointer } from '../../shared/adapters/sqlite-database';

const port = parentPort;
if (!port) throw new Error('consumers-worker must run as a worker thread');
const send = (message: FromWorker) => port.postMessage(message);

const logger: AppLogger = workerLogger(send);
/** How often the inbox's and the replay guard's WAL are copied into their databases (a second's worth of webhooks: a few hundred KB at most). */
const WAL_CHECKPOINT_INTERVAL_MS = 1000;

async function main(): Promise<void> {
  const { env } = workerData as WorkerInput;
  // Below the webhook's thread; the hash workers the uploads start inherit it.
  const niceness = lowerThreadPriority();
  const config = loadRuntimeConfig(env, { webhook: 'optional' });
  const pipeline = openLocalPipeline(config, logger);
  const { bus, ledger } = pipeline;
  const shutdown = pipeline.shutdown;

  const sweep = () =>
    recoverStalledUploads({ ledger, publisher: bus, logger, now: Date.now, staleAfterMs: recoveryStaleAfterMs(config.uploader), maxRedrives: config.uploader.maxRedrives, autoRetry: config.uploader.autoRetry }).catch((error: unknown) =>
      logger.warn('recovery sweep failed; will try again', { error: error instanceof Error ? error.message : String(error) }),
    );
  await sweep();
  const sweeper = setInterval(() => void sweep(), config.recoveryIntervalMs);

  // The webhook's thread writes the inbox and the replay guard without checkpointing their WAL: done here, off its thread.
  const checkpointer = new WalCheckpointer([config.paths.inbox, config.paths.deliveries]);
  const checkpointTimer = setInterval(() => {
    try {
      checkpointer.checkpoint();
    } catch (error) {
      logger.warn('WAL checkpoint failed; will try again', { error: error instanceof Error ? error.message : String(error) });
    }
  }, WAL_CHECKPOINT_INTERVAL_MS);

  // The reconciliation sweep: recordings whose webhook never came (off with SWEEP_INTERVAL_SECONDS=0).
  const reconciler: LocalReconciler | undefined = config.sweepIntervalMs > 0 ? openLocalReconciler(config, { ledger, publisher: bus, logger }) : undefined;
  let reconciling: Promise<unknown> | undefined;
  const reconcileNow = () => {
    if (!reconciler || reconciling) return; // one at a time: a slow listing is not doubled
    reconciling = reconciler
      .sweep(shutdown)
      .then((report) => logger.info('sweep finished', { ...report.summary, errors: report.summary.errors.length }))
      .catch((error: unknown) => shutdown.aborted ? undefined : logger.error('sweep failed; the next one tries again', { error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) }))
      .finally(() => {
        reconciling = undefined;
      });
  };
  const reconcileTimer = reconciler ? setInterval(reconcileNow, config.sweepIntervalMs) : undefined;

  // Clean-up in Zoom: recordings whose delay is over, checked again and trashed (off with cleanup.trashInZoom "off").
  const cleanup: LocalCleanup | undefined = pipeline.cleanup
    ? openLocalCleanup(config, { ledger, archive: pipeline.archive, publisher: bus, logger, schedule: pipeline.cleanup })
    : undefined;
  let cleaning: Promise<unknown> | undefined;
  const cleanUpNow = () => {
    if (!cleanup || cleaning) return;
    cleaning = cleanup
      .run({ signal: shutdown })
      .then((results) => {
        if (results.length > 0) logger.info('clean-up run finished', { outcomes: countOutcomes(results) });
      })
      .catch((error: unknown) => shutdown.aborted ? undefined : logger.error('clean-up run failed; the next one tries again', { error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) }))
      .finally(() => {
        cleaning = undefined;
      });
  };
  const cleanupTimer = cleanup ? setInterval(cleanUpNow, config.cleanupCheckIntervalMs) : undefined;

  // Subscriber delivery: its own loop and concurrency, here too, woken by each message the subscribers consumer stores.
  let dispatcher: SubscriberDispatcher | undefined;

  let stopping: Promise<void> | undefined;
  port!.on('message', (message: ToWorker) => {
    if (message.type === 'wake') bus.poke();
    else if (message.type === 'idle') void bus.idle().then(() => send({ type: 'idle', id: message.id }));
    else if (message.type === 'stop') {
      stopping ??= (async () => {
        clearInterval(sweeper);
        clearInterval(checkpointTimer);
        clearInterval(reconcileTimer);
        clearInterval(cleanupTimer);
        await dispatcher?.stop(); // in-flight sends aborted, their messages left pending
        const stopped = pipeline.stop();
        await reconciling;
        await cleaning;
        reconciler?.close();
        await stopped;
        checkpointer.close();
        send({ type: 'stopped' });
        port!.close();
      })();
    }
  });
  pipeline.start();
  if (pipeline.outbox) {
    dispatcher = startSubscriberDispatcher({ outbox: pipeline.outbox, subscribers: config.subscribers, logger, retryBaseMs: config.subscriberRetryBaseMs });
  }
  send({ type: 'ready' });
  logger.debug('consumers thread started', { niceness });
  // At start too: the server may have been down while Zoom gave up on its webhooks.
  reconcileNow();
  cleanUpNow();
}

main().catch((error: unknown) => send({ type: 'failed', message: error instanceof Error ? `${error.name}: ${error.message}` : String(error) }));
