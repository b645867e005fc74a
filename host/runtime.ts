/**
 * The single-machine runtime: one process running the whole pipeline — the webhook
 * over HTTP, the durable bus, course validation, the uploader (bounded concurrency),
 * the audit trail, and a periodic recovery sweep — over SQLite and a folder or any
 * S3-compatible bucket. `close()` is the graceful stop: no new requests, in-flight
 * uploads stop and release their leases, then the stores close.
 */
import { mkdirSync } from 'node:fs';
import { S3Client } from '@aws-sdk/client-s3';
import { FolderArchiveStore } from '../shared/adapters/archive-folder';
import { S3ArchiveStore } from '../shared/adapters/archive-s3';
import { SqliteAuditLog } from '../shared/adapters/audit-sqlite';
import { SqliteDeliveryGuard } from '../shared/adapters/delivery-guard-sqlite';
import { SqliteUploadLedger } from '../shared/adapters/ledger-sqlite';
import { TokenSealer } from '../shared/crypto/token-seal';
import type { AppLogger } from '../shared/logger';
import type { ArchiveStore } from '../shared/ports/archive-store';
import { recoverStalledUploads } from '../services/uploader/redrive';
import { createUploaderDeps } from '../services/uploader/wiring';
import type { RuntimeConfig } from './config';
import { auditConsumer, courseValidationConsumer, uploaderConsumer } from './consumers';
import { DurableBus } from './bus/durable-bus';
import { createServerApp, startServer } from './server';

export interface Runtime {
  url: string;
  bus: DurableBus;
  ledger: SqliteUploadLedger;
  auditLog: SqliteAuditLog;
  store: ArchiveStore;
  close(): Promise<void>;
}

export function createArchiveStore(config: RuntimeConfig): ArchiveStore {
  const { archive, uploader } = config;
  if (archive.kind === 'folder') return new FolderArchiveStore({ root: archive.dir });
  const client = new S3Client({
    region: archive.region,
    endpoint: archive.endpoint,
    forcePathStyle: archive.forcePathStyle,
    credentials: archive.credentials,
    // Many S3-compatible servers store aws-chunked framing as object bytes (TOOLCHAIN.md): send checksums only when required.
    ...(archive.endpoint ? { requestChecksumCalculation: 'WHEN_REQUIRED' as const, responseChecksumValidation: 'WHEN_REQUIRED' as const } : {}),
  });
  return new S3ArchiveStore({ client, bucket: archive.bucket, partSizeBytes: uploader.partSizeBytes, queueSize: uploader.queueSize });
}

export async function startRuntime(config: RuntimeConfig, logger: AppLogger): Promise<Runtime> {
  mkdirSync(config.paths.root, { recursive: true });
  const bus = new DurableBus({ path: config.paths.bus, logger, sync: config.busSync });
  const ledger = new SqliteUploadLedger({ path: config.paths.ledger });
  const auditLog = new SqliteAuditLog(config.paths.audit);
  const store = createArchiveStore(config);
  const shutdown = new AbortController();
  const uploaderDeps = createUploaderDeps({ settings: config.uploader, secrets: config.secrets, store, ledger, publisher: bus, logger, shutdown: shutdown.signal });

  bus.subscribe(courseValidationConsumer({ rules: config.rules, publisher: bus, logger }));
  bus.subscribe(uploaderConsumer(uploaderDeps, config.uploadConcurrency));
  bus.subscribe(auditConsumer({ auditLog, logger }));

  const sweep = () =>
    recoverStalledUploads({ ledger, publisher: bus, logger, now: Date.now, staleAfterMs: config.uploader.leaseMs, maxRedrives: config.uploader.maxRedrives }).catch((error: unknown) =>
      logger.warn('recovery sweep failed; will try again', { error: error instanceof Error ? error.message : String(error) }),
    );
  await sweep();
  const sweeper = setInterval(() => void sweep(), config.recoveryIntervalMs);
  sweeper.unref();

  const deliveries = new SqliteDeliveryGuard(config.paths.deliveries);
  const app = createServerApp({
    secretToken: config.webhook.secretToken,
    maxSkewSeconds: config.webhook.maxSkewSeconds,
    publisher: bus,
    sealer: new TokenSealer(config.webhook.sealingSecret),
    deliveries,
    logger,
    now: () => new Date(),
  });
  const server = await startServer(app, config.host, config.port);
  bus.start();

  let closing: Promise<void> | undefined;
  return {
    url: server.url,
    bus,
    ledger,
    auditLog,
    store,
    close() {
      closing ??= (async () => {
        clearInterval(sweeper);
        await server.close();
        shutdown.abort();
        await bus.stop();
        bus.close();
        ledger.close();
        auditLog.close();
        deliveries.close();
      })();
      return closing;
    },
  };
}
