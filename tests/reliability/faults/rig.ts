/**
 * What a fault scenario runs against: the real single-machine runtime — in this
 * process (loadRuntimeConfig + startRuntime, as `serve` does) or as a `zoom-archiver
 * serve` child that can be killed — over a folder or an s3rver bucket, wired to a
 * Zoom simulator. The rig also reads back what the scenario judges: the audit trail,
 * the bus's open deliveries, the ledger, and every object in the archive with its
 * SHA-256. Re-drives go through the real `zoom-archiver retry` command.
 */
import { createHash } from 'node:crypto';
import { createReadStream, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import Database from 'better-sqlite3';
import { SqliteAuditLog } from '../../../shared/adapters/audit-sqlite';
import { PARTIAL_SUFFIX } from '../../../shared/adapters/archive-folder';
import { SqliteUploadLedger } from '../../../shared/adapters/ledger-sqlite';
import type { AppLogger } from '../../../shared/logger';
import type { AuditRecord } from '../../../shared/ports/audit-log';
import type { LedgerEntry } from '../../../shared/ports/upload-ledger';
import { loadRuntimeConfig } from '../../../host/config';
import { dataPaths } from '../../../host/paths';
import { startRuntime, type Runtime } from '../../../host/runtime';
import { zoomEnvFor, type ZoomSimulator } from '../../../tools/zoom-simulator/simulator';
import { runRetry, startServe, type CommandResult, type ServeProcess } from '../../support/serve-process';

export type StoreKind = 'folder' | 's3';
export type Harness = 'in-process' | 'serve-process';

export interface ArchivedObject {
  key: string;
  size: number;
  sha256: string;
}

export interface ArchiveListing {
  objects: ArchivedObject[];
  /** Temporary files of the folder store (`.partial`) still on disk. */
  partials: string[];
}

/** Where the archive is: a folder, or a bucket the runtime reaches at `runtimeEndpoint` (maybe through a proxy). */
export type ArchiveTarget =
  | { kind: 'folder' }
  | { kind: 's3'; bucket: string; runtimeEndpoint: string; client: S3Client };

export interface Rig {
  readonly harness: Harness;
  readonly store: StoreKind;
  readonly dataDir: string;
  webhookUrl(): string;
  history(recordingId: string): Promise<AuditRecord[]>;
  /** Bus deliveries not finished yet (pending, including those waiting for a retry). */
  openDeliveries(): number;
  deadDeliveries(): number;
  ledgerEntry(fileId: string): Promise<LedgerEntry | undefined>;
  listArchive(): Promise<ArchiveListing>;
  /** `zoom-archiver retry --failed --data-dir DIR`. */
  retryFailed(): Promise<CommandResult>;
  /** Warnings and errors the runtime logged (in-process), or the child's output. */
  logTail(): string[];
  /** serve-process only: kill -9, then start again on the same data folder. */
  crash(): Promise<void>;
  restart(): Promise<void>;
  close(): Promise<void>;
}

export const WEBHOOK_SECRET = 'reliability-faults-webhook-secret';

/** The environment of every scenario: the simulator as Zoom, short leases and sweeps so each scenario takes seconds. */
export function runtimeEnv(simulator: ZoomSimulator, dataDir: string, target: ArchiveTarget, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    DATA_DIR: dataDir,
    PORT: '0',
    ZOOM_WEBHOOK_SECRET_TOKEN: WEBHOOK_SECRET,
    ...zoomEnvFor(simulator),
    UPLOAD_CONCURRENCY: '2',
    UPLOAD_MAX_ATTEMPTS: '5',
    UPLOAD_LEASE_SECONDS: '10',
    RECOVERY_INTERVAL_SECONDS: '2',
    DOWNLOAD_IDLE_TIMEOUT_SECONDS: '10',
    ARCHIVE_PART_SIZE_MB: '5',
    ARCHIVE_QUEUE_SIZE: '2',
    ...(target.kind === 's3'
      ? { ARCHIVE_BUCKET: target.bucket, ARCHIVE_S3_ENDPOINT: target.runtimeEndpoint, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' }
      : {}),
    ...overrides,
  };
}

/**
 * createArchiveStore builds its S3Client with the SDK's default credential chain,
 * which reads process.env — not the env given to loadRuntimeConfig. In this process
 * the s3rver credentials must therefore be in process.env (a child gets them in its env).
 */
export function useS3rverCredentials(): () => void {
  const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
  process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
  process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
  return () => {
    for (const [name, value] of [['AWS_ACCESS_KEY_ID', saved.id], ['AWS_SECRET_ACCESS_KEY', saved.secret]] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}

export async function startRig(options: { harness: Harness; simulator: ZoomSimulator; target: ArchiveTarget; env?: Record<string, string> }): Promise<Rig> {
  const dataDir = mkdtempSync(join(tmpdir(), 'reliability-fault-'));
  const env = runtimeEnv(options.simulator, dataDir, options.target, options.env);
  const archiveDir = dataPaths(dataDir).archive;
  const listArchive = () => (options.target.kind === 'folder' ? listFolder(archiveDir) : listBucket(options.target.client, options.target.bucket));
  const retryFailed = () => runRetry(dataDir);
  return options.harness === 'in-process'
    ? inProcessRig(dataDir, env, options.target.kind, listArchive, retryFailed)
    : serveProcessRig(dataDir, env, options.target.kind, listArchive, retryFailed);
}

async function inProcessRig(
  dataDir: string,
  env: Record<string, string>,
  store: StoreKind,
  listArchive: () => Promise<ArchiveListing>,
  retryFailed: () => Promise<CommandResult>,
): Promise<Rig> {
  const lines: string[] = [];
  const keep = (level: string) => (...args: unknown[]) => {
    lines.push(`${level} ${args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ')}`);
    if (lines.length > 200) lines.shift();
  };
  const logger: AppLogger = { debug: () => undefined, info: () => undefined, warn: keep('WARN'), error: keep('ERROR') };
  const runtime: Runtime = await startRuntime(loadRuntimeConfig(env), logger);
  return {
    harness: 'in-process',
    store,
    dataDir,
    webhookUrl: () => `${runtime.url}/webhooks/zoom`,
    history: (recordingId) => runtime.auditLog.recordingHistory(recordingId),
    openDeliveries: () => {
      const stats = runtime.bus.stats();
      return stats.pending + stats.inFlight;
    },
    deadDeliveries: () => runtime.bus.stats().dead,
    ledgerEntry: (fileId) => runtime.ledger.get(fileId),
    listArchive,
    retryFailed,
    logTail: () => [...lines],
    crash: () => Promise.reject(new Error('the in-process rig cannot be killed')),
    restart: () => Promise.reject(new Error('the in-process rig cannot be restarted')),
    async close() {
      await runtime.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function serveProcessRig(
  dataDir: string,
  env: Record<string, string>,
  store: StoreKind,
  listArchive: () => Promise<ArchiveListing>,
  retryFailed: () => Promise<CommandResult>,
): Promise<Rig> {
  const paths = dataPaths(dataDir);
  const childEnv = { LOG_LEVEL: 'WARN', ...env };
  let server: ServeProcess | undefined = await startServe(childEnv);
  let earlierOutput = '';
  const withDb = <T>(path: string, read: (db: Database.Database) => T): T => {
    const db = new Database(path, { readonly: true, fileMustExist: true });
    try {
      return read(db);
    } finally {
      db.close();
    }
  };
  const countDeliveries = (state: string) =>
    withDb(paths.bus, (db) => (db.prepare('SELECT COUNT(*) AS n FROM deliveries WHERE state = ?').get(state) as { n: number }).n);
  return {
    harness: 'serve-process',
    store,
    dataDir,
    webhookUrl: () => {
      if (!server) throw new Error('serve is not running');
      return `${server.url}/webhooks/zoom`;
    },
    async history(recordingId) {
      const audit = new SqliteAuditLog(paths.audit);
      try {
        return await audit.recordingHistory(recordingId);
      } finally {
        audit.close();
      }
    },
    openDeliveries: () => countDeliveries('pending'),
    deadDeliveries: () => countDeliveries('dead'),
    async ledgerEntry(fileId) {
      const ledger = new SqliteUploadLedger({ path: paths.ledger });
      try {
        return await ledger.get(fileId);
      } finally {
        ledger.close();
      }
    },
    listArchive,
    retryFailed,
    logTail: () => `${earlierOutput}${server?.output() ?? ''}`.split('\n').slice(-100),
    async crash() {
      if (!server) return;
      await server.kill('SIGKILL');
      earlierOutput += server.output();
      server = undefined;
    },
    async restart() {
      server ??= await startServe(childEnv);
    },
    async close() {
      await server?.kill('SIGTERM');
      server = undefined;
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

const sha256Stream = async (stream: AsyncIterable<unknown>): Promise<{ sha256: string; size: number }> => {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream) {
    const bytes = chunk as Buffer;
    hash.update(bytes);
    size += bytes.length;
  }
  return { sha256: hash.digest('hex'), size };
};

/** Every file under the archive folder, keys as the store names them; `.partial` files apart. */
export async function listFolder(root: string): Promise<ArchiveListing> {
  let entries: string[];
  try {
    entries = readdirSync(root, { recursive: true, encoding: 'utf8' });
  } catch {
    return { objects: [], partials: [] };
  }
  const listing: ArchiveListing = { objects: [], partials: [] };
  for (const entry of entries) {
    const path = join(root, entry);
    let hashed: { sha256: string; size: number };
    try {
      hashed = await sha256Stream(createReadStream(path));
    } catch (error) {
      if ((error as { code?: string }).code === 'EISDIR') continue;
      throw error;
    }
    const key = relative(root, path).split(sep).join('/');
    if (key.endsWith(PARTIAL_SUFFIX)) listing.partials.push(key);
    else listing.objects.push({ key, ...hashed });
  }
  return listing;
}

/** Every object in the bucket (ListObjectsV2, all pages), each read back and hashed. */
export async function listBucket(client: S3Client, bucket: string): Promise<ArchiveListing> {
  const objects: ArchivedObject[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    for (const item of page.Contents ?? []) {
      const body = (await client.send(new GetObjectCommand({ Bucket: bucket, Key: item.Key! }))).Body as AsyncIterable<unknown>;
      objects.push({ key: item.Key!, ...(await sha256Stream(body)) });
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return { objects, partials: [] };
}
