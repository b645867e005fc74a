/**
 * The reconciler on one machine: the use case (services/reconciler/) over the local
 * stores — the SQLite ledger it reads, its memory in DATA_DIR/reconciler.sqlite — and
 * the Zoom REST client with the configured Server-to-Server OAuth app. Used by
 * `serve`'s periodic sweep (in the consumers' worker) and by `backfill`.
 */
import { SqliteReconcilerState } from '../shared/adapters/reconciler-state-sqlite';
import type { AppLogger } from '../shared/logger';
import type { EventPublisher } from '../shared/ports/event-publisher';
import type { UploadLedger } from '../shared/ports/upload-ledger';
import type { ZoomRecordingsApi } from '../shared/ports/zoom-api';
import { sweepRange } from '../services/reconciler/config';
import { reconcile, type ReconcileReport, type ReconcileRequest } from '../services/reconciler/use-case';
import type { RuntimeConfig } from './config';
import { openZoomApi } from './zoom-api';

export interface LocalReconciler {
  api: ZoomRecordingsApi;
  run(request: ReconcileRequest): Promise<ReconcileReport>;
  /** A sweep over the configured look-back, ending today. */
  sweep(signal?: AbortSignal): Promise<ReconcileReport>;
  close(): void;
}

export function openLocalReconciler(
  config: RuntimeConfig,
  deps: { ledger: Pick<UploadLedger, 'get'>; publisher: EventPublisher; logger: AppLogger; now?: () => Date },
): LocalReconciler {
  const api = openZoomApi(config, 'listing Zoom recordings', 'Backfill and sweeps');
  const state = new SqliteReconcilerState(config.paths.reconciler);
  const now = deps.now ?? (() => new Date());
  const useCaseDeps = { api, ledger: deps.ledger, state, rules: config.rules, publisher: deps.publisher, logger: deps.logger, now };
  return {
    api,
    run: (request) => reconcile(request, useCaseDeps),
    sweep: (signal) => reconcile({ trigger: 'sweep', range: sweepRange(now(), config.reconciler.lookbackDays), signal }, useCaseDeps),
    close: () => state.close(),
  };
}
