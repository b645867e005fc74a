/**
 * Builds the uploader's dependencies from settings and secrets, the same way for the
 * Lambda handler and the single-machine runtime; only the store, the ledger and the
 * publisher differ between them.
 */
import { sealingSecretFrom } from '../../shared/crypto/token-seal';
import { randomUUID } from 'node:crypto';
import { ZoomHttpDownloader } from '../../shared/adapters/zoom-download';
import { ZoomOAuthTokenSource } from '../../shared/adapters/zoom-oauth';
import type { ZoomSecrets } from '../../shared/config/secrets';
import { TokenSealer } from '../../shared/crypto/token-seal';
import type { AppLogger } from '../../shared/logger';
import type { ArchiveStore } from '../../shared/ports/archive-store';
import type { EventPublisher } from '../../shared/ports/event-publisher';
import type { UploadLedger } from '../../shared/ports/upload-ledger';
import type { UploaderSettings } from './config';
import type { UploaderDeps } from './use-case';

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
    transferTimeoutMs: settings.transferTimeoutMs,
    shutdown: wiring.shutdown,
  };
}
