/** Where the single-machine runtime keeps its state under DATA_DIR (default ./data). */
import { join, resolve } from 'node:path';

export const DEFAULT_DATA_DIR = './data';

export function dataPaths(dataDir: string = DEFAULT_DATA_DIR) {
  const root = resolve(dataDir);
  return {
    root,
    audit: join(root, 'audit.sqlite'),
    ledger: join(root, 'ledger.sqlite'),
    bus: join(root, 'bus.sqlite'),
    /** Events the webhook accepted, committed by the thread that answers Zoom alone; the bus imports them. */
    inbox: join(root, 'inbox.sqlite'),
    /** Messages for subscribers (outbound webhooks, Slack), until delivered: see shared/adapters/outbox-sqlite.ts. */
    outbox: join(root, 'outbox.sqlite'),
    /** Signed deliveries kept recently (replays inside the timestamp window publish nothing). */
    deliveries: join(root, 'deliveries.sqlite'),
    /** The reconciler's memory of recordings course validation rejects (see ReconcilerState). */
    reconciler: join(root, 'reconciler.sqlite'),
    /** When each archived recording is due for Zoom's trash, and what became of it (see CleanupSchedule). */
    cleanup: join(root, 'cleanup.sqlite'),
    /** Who runs the pipeline here now (`serve`, or a `backfill` without a server): see host/instance-lock.ts. */
    instanceLock: join(root, 'instance.lock'),
    archive: join(root, 'archive'),
  };
}
