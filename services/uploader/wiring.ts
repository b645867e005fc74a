/**
 * What the Lambda handler and the single-machine runtime share about running the
 * uploader: how its dependencies are built from settings and secrets (only the store,
 * the ledger and the publisher differ between them), and what a delivery's outcome
 * means to the bus that delivered it.
 */
import { randomUUID } from 'node:crypto';
import { ZoomHttpDownloader } from '../../shared/adapters/zoom-download';
import { ZoomOAuthTokenSource } from '../../shared/adapters/zoom-oauth';
import type { ZoomSecrets } from '../../shared/config/secrets';
import { sealingSecretFrom, TokenSealer } from '../../shared/crypto/token-seal';
import type { AppLogger } from '../../shared/logger';
import type { ArchiveStore } from '../../shared/ports/archive-store';
import type { EventPublisher } from '../../shared/ports/event-publisher';
import type { UploadLedger } from '../../shared/ports/upload-ledger';
import type { UploaderSettings } from './config';
import type { UploaderDeps, UploadOutcome } from './use-case';

export interface UploaderWiring {
  settings: UploaderSettings;
  secrets: ZoomSecrets;
  store: ArchiveStore;
  ledger: UploadLedger;
  publisher: EventPublisher;
  logger: AppLogger;
  shutdown?: AbortSignal;
}

export function createUploaderDeps(wiring: UploaderWiring): UploaderDeps {
  const { settings, secrets } = wiring;
  // The same rule as the webhook's (which seals): a drift would silently send every upload to OAuth.
  const sealingSecret = sealingSecretFrom(secrets);
  return {
    ledger: wiring.ledger,
    store: wiring.store,
    publisher: wiring.publisher,
    logger: wiring.logger,
    tokens: new ZoomOAuthTokenSource({
      tokenUrl: settings.oauthTokenUrl,
      accountId: secrets.ZOOM_ACCOUNT_ID,
      clientId: secrets.ZOOM_CLIENT_ID,
      clientSecret: secrets.ZOOM_CLIENT_SECRET,
    }),
    downloader: new ZoomHttpDownloader({ allowlist: settings.downloadHosts, idleTimeoutMs: settings.idleTimeoutMs }),
    sealer: sealingSecret ? new TokenSealer(sealingSecret) : undefined,
    now: () => Date.now(),
    instanceId: randomUUID().slice(0, 8),
    leaseMs: settings.leaseMs,
    policy: { maxAttempts: settings.maxAttempts, backoff: { baseMs: 1_000, maxMs: 30_000 }, maxRetryAfterMs: 120_000 },
    autoRetry: settings.autoRetry,
    transferTimeoutMs: settings.transferTimeoutMs,
    resumableMinBytes: settings.s3ResumableMinBytes,
    shutdown: wiring.shutdown,
  };
}

/**
 * What the bus does with a FileUploadRequested once the uploader has an outcome:
 * `acknowledge` (Lambda: the invocation returns; the durable bus: 'done') or
 * `deliver_again_later` (Lambda: the invocation throws, so Lambda retries it; the
 * durable bus: 'later'). One rule for both runtimes, so that an outcome never means
 * "done" in one and "try again" in the other.
 *
 * - `in_progress_elsewhere` is acknowledged: the run holding the lease finishes the
 *   file, or stops renewing (killed) and the recovery sweep re-drives the expired
 *   lease, counting it against UPLOAD_MAX_REDRIVES. Delivering again meanwhile would
 *   only poll the ledger — for the length of a transfer on one machine, and in Lambda
 *   through two failed retries into the dead-letter queue, for a file that is fine.
 * - `released` (handed back at a graceful shutdown, not counted) is delivered again:
 *   no other run has the file, and the next start should take it up at once.
 * - every other outcome is final for this delivery: uploaded, a counted duplicate,
 *   failed and published as FileUploadFailed, stopped at the deadline with a note for
 *   the sweep, handed on to the next run (`continued`: its request is published
 *   again), or taken over by the run that now holds the lease.
 */
export type UploadDisposition = 'acknowledge' | 'deliver_again_later';

export function uploadDisposition(outcome: UploadOutcome): UploadDisposition {
  switch (outcome.outcome) {
    case 'released':
      return 'deliver_again_later';
    case 'uploaded':
    case 'duplicate':
    case 'in_progress_elsewhere':
    case 'failed':
    case 'deadline':
    case 'continued':
    case 'lease_lost':
      return 'acknowledge';
  }
}
