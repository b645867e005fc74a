/**
 * `zoom-archiver retry`: re-drives failed files by queueing their FileUploadRequested
 * on the local durable bus (bus.sqlite). A running server picks the deliveries up at
 * its next poll; without one, the next start delivers them.
 */
import { SqliteUploadLedger } from '../../shared/adapters/ledger-sqlite';
import { createLogger } from '../../shared/logger';
import { DurableBus, type DeadDelivery } from '../bus/durable-bus';
import type { dataPaths } from '../paths';
import { retryFailed, type RedriveResult } from '../../services/uploader/redrive';

export async function retryCommand(paths: ReturnType<typeof dataPaths>, target: { fileId: string } | { since?: number }): Promise<RedriveResult> {
  const logger = createLogger('retry', process.env.LOG_LEVEL ?? 'WARN');
  const ledger = new SqliteUploadLedger({ path: paths.ledger });
  // Routes by the stack's rules like any publisher; this process never delivers (the bus is not started).
  const bus = new DurableBus({ path: paths.bus, logger });
  try {
    return await retryFailed({ ledger, publisher: bus, logger, now: Date.now }, target);
  } finally {
    bus.close();
    ledger.close();
  }
}

/** `zoom-archiver retry --dead`: makes the local dead-letter queue's deliveries pending again. */
export function retryDeadCommand(paths: ReturnType<typeof dataPaths>): { redriven: DeadDelivery[] } {
  const logger = createLogger('retry', process.env.LOG_LEVEL ?? 'WARN');
  const bus = new DurableBus({ path: paths.bus, logger });
  try {
    const dead = bus.listDead();
    bus.redriveDead(dead.map((d) => d.seq));
    return { redriven: dead };
  } finally {
    bus.close();
  }
}
