/**
 * `zoom-archiver retry`: re-drives failed files by queueing their FileUploadRequested
 * on the local durable bus (bus.sqlite). A running server picks the deliveries up at
 * its next poll; without one, the next start delivers them.
 */
import { SqliteUploadLedger } from '../../shared/adapters/ledger-sqlite';
import { CONSUMER_RULES } from '../../shared/events';
import { createLogger } from '../../shared/logger';
import { DurableBus } from '../bus/durable-bus';
import type { dataPaths } from '../paths';
import { retryFailed, type RedriveResult } from '../../services/uploader/redrive';

export async function retryCommand(paths: ReturnType<typeof dataPaths>, target: { fileId: string } | { since?: number }): Promise<RedriveResult> {
  const logger = createLogger('retry', process.env.LOG_LEVEL ?? 'WARN');
  const ledger = new SqliteUploadLedger({ path: paths.ledger });
  const bus = new DurableBus({ path: paths.bus, logger });
  // Routing needs every consumer's pattern (the uploader and the audit get the event); this
  // process never delivers: it does not start the bus, so the handlers never run.
  for (const rule of Object.values(CONSUMER_RULES)) {
    bus.subscribe({ name: rule.id, pattern: rule.pattern, concurrency: 1, maxAttempts: 1, handle: async () => 'later' });
  }
  try {
    return await retryFailed({ ledger, publisher: bus, logger, now: Date.now }, target);
  } finally {
    bus.close();
    ledger.close();
  }
}
