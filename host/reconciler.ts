/**
 * The reconciler on one machine: the use case (services/reconciler/) over the local
 * stores — the SQLite ledger it reads, its memory in DATA_DIR/reconciler.sqlite — and
 * the Zoom REST client with the configured Server-to-Server OAuth app. Used by
 * `serve`'s periodic sweep (in the consumers' worker) and by `backfill`.
 */
import { missingS2sKeys } from '../shared/config/secrets';
import { ConfigError } from '../shared/errors';
import { SqliteReconcilerState } from '../shared/adapters/reconciler-state-sqlite';
import { createZoomApi } from '../shared/adapters/zoom-api';
import { ZoomOAuthTokenSource } from '../shared/adapters/zoom-oauth';
import type { AppLogger } from '../shared/logger';
import type { EventPublisher } from '../shared/ports/event-publisher';
import type { UploadLedger } from '../shared/ports/upload-ledger';
import type { ZoomRecordingsApi } from '../shared/ports/zoom-api';
import { sweepRange } from '../services/reconciler/config';
import { reconcile, type ReconcileReport, type ReconcileRequest } from '../services/reconciler/use-case';
import type { RuntimeConfig } from './config';

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
  if (missingS2sKeys(config.secrets).length > 0) {
    throw new ConfigError('listing Zoom recordings needs Server-to-Server OAuth: set ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET (see README, "Backfill and sweeps")');
  }
  const tokens = new ZoomOAuthTokenSource({
    tokenUrl: config.uploader.oauthTokenUrl,
    accountId: config.secrets.ZOOM_ACCOUNT_ID,
    clientId: config.secrets.ZOOM_CLIENT_ID,
    clientSecret: config.secrets.ZOOM_CLIENT_SECRET,
  });
  const api = createZoomApi(config.reconciler, tokens);
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
