/**
 * The pipeline's consumers over the local stores: the durable bus (bus.sqlite, with
 * the webhook's inbox imported), course validation, the uploader, the subscribers'
 * outbox, the clean-up's schedule (when cleanup.trashInZoom is not off) and the audit trail.
 * One process runs this at a time per DATA_DIR (host/instance-lock.ts): `serve`'s
 * consumers' worker, or a `backfill` that found no server.
 */
import { SqliteAuditLog } from '../shared/adapters/audit-sqlite';
import { SqliteUploadLedger } from '../shared/adapters/ledger-sqlite';
import { SqliteSubscriberOutbox } from '../shared/adapters/outbox-sqlite';
import { SqliteCleanupSchedule } from '../shared/adapters/cleanup-sqlite';
import type { ArchiveStore } from '../shared/ports/archive-store';
import type { AppLogger } from '../shared/logger';
import { createUploaderDeps } from '../services/uploader/wiring';
import { DurableBus } from './bus/durable-bus';
import type { RuntimeConfig } from './config';
import { auditConsumer, cleanupConsumer, courseValidationConsumer, subscribersConsumer, uploaderConsumer } from './consumers';
import { createArchiveStore } from './stores';

export interface LocalPipeline {
  bus: DurableBus;
  ledger: SqliteUploadLedger;
  auditLog: SqliteAuditLog;
  /** The subscribers' outbox (DATA_DIR/outbox.sqlite), when any subscriber is configured; its dispatcher runs in the consumers' worker. */
  outbox?: SqliteSubscriberOutbox;
  /** When recordings are due for Zoom's trash (DATA_DIR/cleanup.sqlite), unless cleanup.trashInZoom is off. */
  cleanup?: SqliteCleanupSchedule;
  /** The archive the uploader writes to (the clean-up looks at each object before a trash). */
  archive: ArchiveStore;
  /** Aborted by stop(): transfers stop and release their leases. */
  shutdown: AbortSignal;
  /** Starts delivering (pending deliveries of earlier runs first). */
  start(): void;
  /** Graceful end: in-flight uploads hand their files back, deliveries finish, stores close. */
  stop(): Promise<void>;
}

export function openLocalPipeline(config: RuntimeConfig, logger: AppLogger): LocalPipeline {
  const bus = new DurableBus({ path: config.paths.bus, logger, sync: config.busSync, retentionMs: config.busRetentionMs, inboxPath: config.paths.inbox });
  const ledger = new SqliteUploadLedger({ path: config.paths.ledger });
  const auditLog = new SqliteAuditLog(config.paths.audit);
  const store = createArchiveStore(config);
  const shutdown = new AbortController();
  const outbox = config.subscribers.length > 0 ? new SqliteSubscriberOutbox({ path: config.paths.outbox, logger, sync: config.busSync }) : undefined;
  for (const id of outbox?.registerSubscribers(config.subscribers) ?? []) logger.info('subscriber enabled again: its url changed since it answered 410 Gone', { subscriberId: id });
  const cleanup = config.rules.cleanup.trashInZoom === 'off' ? undefined : new SqliteCleanupSchedule({ path: config.paths.cleanup });
  const uploaderDeps = createUploaderDeps({ settings: config.uploader, secrets: config.secrets, store, ledger, publisher: bus, logger, shutdown: shutdown.signal });

  bus.subscribe(courseValidationConsumer({ rules: config.rules, publisher: bus, logger }));
  bus.subscribe(uploaderConsumer(uploaderDeps, config.uploadConcurrency));
  bus.subscribe(subscribersConsumer({ subscribers: config.subscribers, outbox, logger }));
  bus.subscribe(auditConsumer({ auditLog, logger }));
  // Subscribed even when clean-up is off: the bus routes by every rule, and the consumer acknowledges at once then.
  bus.subscribe(cleanupConsumer({ rules: config.rules, schedule: cleanup, logger, now: () => new Date() }));

  let stopping: Promise<void> | undefined;
  return {
    bus,
    ledger,
    auditLog,
    outbox,
    cleanup,
    archive: store,
    shutdown: shutdown.signal,
    start: () => bus.start(),
    stop() {
      stopping ??= (async () => {
        shutdown.abort();
        await bus.stop();
        bus.close();
        ledger.close();
        auditLog.close();
        outbox?.close();
        cleanup?.close();
      })();
      return stopping;
    },
  };
}
