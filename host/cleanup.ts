/**
 * Clean-up in Zoom on one machine: the use case (services/cleanup/) over the local
 * stores — the schedule in DATA_DIR/cleanup.sqlite, the SQLite ledger, the archive —
 * and the Zoom REST client of the configured Server-to-Server OAuth app. `serve`'s
 * consumers' worker runs it every CLEANUP_CHECK_INTERVAL_SECONDS; `zoom-archiver
 * cleanup` runs it (or, with --dry-run, only the checks) when asked.
 */
import { SqliteCleanupSchedule } from '../shared/adapters/cleanup-sqlite';
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
  close(): void;
}

export function openLocalCleanup(
  config: RuntimeConfig,
  deps: { ledger: Pick<UploadLedger, 'get'>; archive: Pick<ArchiveStore, 'head'>; publisher: EventPublisher; logger: AppLogger; schedule?: SqliteCleanupSchedule; now?: () => Date },
): LocalCleanup {
  const zoom = openZoomApi(config, "moving recordings to Zoom's trash", 'Clean-up in Zoom');
  const ownsSchedule = !deps.schedule;
  const schedule = deps.schedule ?? new SqliteCleanupSchedule({ path: config.paths.cleanup });
  const runDeps: RunDeps = {
    rules: config.rules,
    schedule,
    ledger: deps.ledger,
    archive: deps.archive,
    zoom,
    publisher: deps.publisher,
    logger: deps.logger,
    now: deps.now ?? (() => new Date()),
  };
  return {
    deps: runDeps,
    run: (options) => runDueCleanups(runDeps, options),
    close: () => {
      if (ownsSchedule) schedule.close();
    },
  };
}
