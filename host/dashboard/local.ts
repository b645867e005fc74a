/**
 * The dashboard over this machine's state (DATA_DIR): the audit trail and the ledger
 * read from SQLite (WAL: reads never block the consumers' writes), the bus's and the
 * outbox's backlog, and Retry publishing to bus.sqlite, as `zoom-archiver retry` does.
 */
import { existsSync } from 'node:fs';
import { SqliteAuditLog } from '../../shared/adapters/audit-sqlite';
import { SqliteUploadLedger } from '../../shared/adapters/ledger-sqlite';
import { SqliteSubscriberOutbox } from '../../shared/adapters/outbox-sqlite';
import type { AppLogger } from '../../shared/logger';
import { retryFailed, type RedriveResult } from '../../services/uploader/redrive';
import { DurableBus } from '../bus/durable-bus';
import type { RuntimeConfig } from '../config';
import { DashboardReadModel, type HealthSource } from './read-model';

export interface LocalDashboardData {
  readModel: DashboardReadModel;
  retry(fileId: string): Promise<RedriveResult>;
  where: string;
  close(): void;
}

export function openLocalDashboardData(config: RuntimeConfig, logger: AppLogger, onPublished: () => void): LocalDashboardData {
  const audit = new SqliteAuditLog(config.paths.audit);
  const ledger = new SqliteUploadLedger({ path: config.paths.ledger });
  const bus = new DurableBus({ path: config.paths.bus, logger, inboxPath: existsSync(config.paths.inbox) ? config.paths.inbox : undefined, onPublished });
  const outbox = config.subscribers.length > 0 ? new SqliteSubscriberOutbox({ path: config.paths.outbox, logger }) : undefined;
  const health: HealthSource = {
    bus: () => {
      const stats = bus.stats();
      return { pending: stats.pending + stats.inFlight, dead: stats.dead };
    },
    subscribers: () => {
      if (!outbox) return 'none';
      const { subscribers } = outbox.summary(0);
      return {
        pending: subscribers.reduce((n, s) => n + s.counts.pending, 0),
        failed: subscribers.reduce((n, s) => n + s.counts.failed, 0),
        disabled: subscribers.filter((s) => s.disabledAt !== null).length,
      };
    },
    sweepIntervalMs: () =>
      config.sweepIntervalMs > 0 ? { everyMs: config.sweepIntervalMs } : { off: 'SWEEP_INTERVAL_SECONDS=0, or no Server-to-Server OAuth to list recordings' },
  };
  return {
    readModel: new DashboardReadModel({ audit, ledger, health, now: () => new Date() }),
    retry: (fileId) => retryFailed({ ledger, publisher: bus, logger, now: Date.now }, { fileId }),
    where: `this machine (${config.paths.root})`,
    close() {
      outbox?.close();
      bus.close();
      ledger.close();
      audit.close();
    },
  };
}
