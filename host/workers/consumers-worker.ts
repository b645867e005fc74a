/**
 * The consumers' thread of the single-machine host: the durable bus's deliveries
 * (course validation, uploads, audit) and the recovery sweep run here, on their own
 * SQLite connections, so that no transfer, hash or query ever runs on the event loop
 * that answers Zoom. Logs go to the main thread's logger; `stop` is the graceful end.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SqliteAuditLog } from '../../shared/adapters/audit-sqlite';
import { SqliteUploadLedger } from '../../shared/adapters/ledger-sqlite';
import type { AppLogger } from '../../shared/logger';
import { recoveryStaleAfterMs } from '../../services/uploader/config';
import { recoverStalledUploads } from '../../services/uploader/redrive';
import { createUploaderDeps } from '../../services/uploader/wiring';
import { DurableBus } from '../bus/durable-bus';
import { loadRuntimeConfig } from '../config';
import { auditConsumer, courseValidationConsumer, uploaderConsumer } from '../consumers';
import { createArchiveStore } from '../stores';
import type { FromWorker, ToWorker, WorkerInput } from './messages';

const port = parentPort;
if (!port) throw new Error('consumers-worker must run as a worker thread');
const send = (message: FromWorker) => port.postMessage(message);

/** Plain data only crosses threads: errors and other objects become their text. */
function cloneable(fields: unknown): Record<string, unknown> | undefined {
  if (fields === undefined) return undefined;
  try {
    return JSON.parse(JSON.stringify(fields, (_key, value: unknown) => (value instanceof Error ? `${value.name}: ${value.message}` : value))) as Record<string, unknown>;
  } catch {
    return { fields: String(fields) };
  }
}
const logger: AppLogger = {
  debug: (message: string, fields?: unknown) => send({ type: 'log', level: 'debug', message, fields: cloneable(fields) }),
  info: (message: string, fields?: unknown) => send({ type: 'log', level: 'info', message, fields: cloneable(fields) }),
  warn: (message: string, fields?: unknown) => send({ type: 'log', level: 'warn', message, fields: cloneable(fields) }),
  error: (message: string, fields?: unknown) => send({ type: 'log', level: 'error', message, fields: cloneable(fields) }),
} as AppLogger;

async function main(): Promise<void> {
  const { env } = workerData as WorkerInput;
  const config = loadRuntimeConfig(env);
  const bus = new DurableBus({ path: config.paths.bus, logger, sync: config.busSync, retentionMs: config.busRetentionMs, inboxPath: config.paths.inbox });
  const ledger = new SqliteUploadLedger({ path: config.paths.ledger });
  const auditLog = new SqliteAuditLog(config.paths.audit);
  const store = createArchiveStore(config);
  const shutdown = new AbortController();
  const uploaderDeps = createUploaderDeps({ settings: config.uploader, secrets: config.secrets, store, ledger, publisher: bus, logger, shutdown: shutdown.signal });

  bus.subscribe(courseValidationConsumer({ rules: config.rules, publisher: bus, logger }));
  bus.subscribe(uploaderConsumer(uploaderDeps, config.uploadConcurrency));
  bus.subscribe(auditConsumer({ auditLog, logger }));

  const sweep = () =>
    recoverStalledUploads({ ledger, publisher: bus, logger, now: Date.now, staleAfterMs: recoveryStaleAfterMs(config.uploader), maxRedrives: config.uploader.maxRedrives }).catch((error: unknown) =>
      logger.warn('recovery sweep failed; will try again', { error: error instanceof Error ? error.message : String(error) }),
    );
  await sweep();
  const sweeper = setInterval(() => void sweep(), config.recoveryIntervalMs);

  let stopping: Promise<void> | undefined;
  port!.on('message', (message: ToWorker) => {
    if (message.type === 'wake') bus.poke();
    else if (message.type === 'idle') void bus.idle().then(() => send({ type: 'idle', id: message.id }));
    else if (message.type === 'stop') {
      stopping ??= (async () => {
        clearInterval(sweeper);
        shutdown.abort();
        await bus.stop();
        bus.close();
        ledger.close();
        auditLog.close();
        send({ type: 'stopped' });
        port!.close();
      })();
    }
  });
  bus.start();
  send({ type: 'ready' });
}

main().catch((error: unknown) => send({ type: 'failed', message: error instanceof Error ? `${error.name}: ${error.message}` : String(error) }));
