/**
 * Clean-up in Zoom on one machine: the use case (services/cleanup/) over the local
 * stores — the schedule (DATA_DIR/cleanup.sqlite, opened and closed by the caller), the SQLite ledger, the archive —
 * and the Zoom REST client of the configured Server-to-Server OAuth app. `serve`'s
 * consumers' worker runs it every CLEANUP_CHECK_INTERVAL_SECONDS; `zoom-archiver
 * cleanup` runs it (or, with --dry-run, only the checks) when asked.
 */
import type { CleanupSchedule } from '../shared/ports/cleanup-schedule';
import type { AppLogger } from '../shared/logger';
import type { ArchiveStore } from '../shared/ports/archive-store';
import type { EventPublisher } from '../shared/ports/event-publisher';
import type { UploadLedger } from '../shared/ports/upload-ledger';
import { runDueCleanups, type CleanupResult, type RunDeps, type RunOptions } from '../services/cleanup/use-case';
import type { RuntimeConfig } from './config';
import { openZoomApi } from './zoom-api';

export interface LocalCleanup {
  deps: RunDeps;
  run(options?: RunOptions): Promise<CleanupResult[]>;
}

export function openLocalCleanup(
  config: RuntimeConfig,
  deps: { ledger: Pick<UploadLedger, 'get'>; archive: Pick<ArchiveStore, 'head'>; publisher: EventPublisher; logger: AppLogger; schedule: CleanupSchedule; now?: () => Date },
): LocalCleanup {
  const zoom = openZoomApi(config, "moving recordings to Zoom's trash", 'Clean-up in Zoom');
  const runDeps: RunDeps = {
    rules: config.rules,
    schedule: deps.schedule,
    ledger: deps.ledger,
    archive: deps.archive,
    zoom,
    publisher: deps.publisher,
    logger: deps.logger,
    now: deps.now ?? (() => new Date()),
  };
  return { deps: runDeps, run: (options) => runDueCleanups(runDeps, options) };
}
