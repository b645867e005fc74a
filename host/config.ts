/**
 * Configuration of the single-machine runtime, from the environment (and `.env`),
 * validated at start with every problem listed by variable name. Embedded defaults
 * make `npm start` work with nothing set: SQLite and a folder archive under ./data.
 */
import * as z from 'zod/mini';
import { missingS2sKeys, secretsFromEnv, type ZoomSecrets } from '../shared/config/secrets';
import { ConfigError } from '../shared/errors';
import { loadArchiverConfig, type ArchiverConfig } from '../services/course-validation/config';
import { loadUploaderSettings, type UploaderSettings } from '../services/uploader/config';
import { loadWebhookConfig, type WebhookConfig } from '../services/webhook/config';
import { DEFAULT_SWEEP_INTERVAL_SECONDS, loadReconcilerSettings, type ReconcilerSettings } from '../services/reconciler/config';
import { resolveSubscribers, type SubscriberConfig } from '../services/subscribers/config';
import { loadCleanupCheckIntervalMs } from '../services/cleanup/config';
import { DEFAULT_DATA_DIR, dataPaths } from './paths';
import { loadDashboardSettings, type DashboardSettings } from './dashboard/config';

export type ArchiveTarget =
  | { kind: 'folder'; dir: string }
  | {
      kind: 's3';
      bucket: string;
      endpoint?: string;
      region: string;
      forcePathStyle: boolean;
      /** From the configuration's own AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY; else the SDK's default chain (profile, role). */
      credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
    };

export interface RuntimeConfig {
  host: string;
  port: number;
  paths: ReturnType<typeof dataPaths>;
  archive: ArchiveTarget;
  uploadConcurrency: number;
  /** Local bus durability: 'normal' survives process crashes; 'full' also power loss (an fsync per event). */
  busSync: 'normal' | 'full';
  /** How often interrupted uploads are looked for (expired leases, unclaimed requests). */
  recoveryIntervalMs: number;
  /** Absent only where no webhook is served (`backfill`, the consumers' worker): see loadRuntimeConfig. */
  webhook?: WebhookConfig;
  uploader: UploaderSettings;
  secrets: ZoomSecrets;
  rules: ArchiverConfig;
  /** Delivered bus history older than this is deleted (BUS_RETENTION_DAYS). */
  busRetentionMs: number;
  /** The Zoom REST API, the look-back of sweeps (ZOOM_API_BASE_URL, ZOOM_API_REQUESTS_PER_SECOND, SWEEP_LOOKBACK_DAYS). */
  reconciler: ReconcilerSettings;
  /**
   * How often `serve` sweeps Zoom for recordings whose webhook never came
   * (SWEEP_INTERVAL_SECONDS); 0 = never. Default 3600 when Server-to-Server OAuth is
   * configured, else 0 (listing needs it).
   */
  sweepIntervalMs: number;
  /**
   * Who is told what happened (the archiver config's `subscribers`, `env:NAME` secrets
   * read): outbound webhooks and Slack, delivered from DATA_DIR/outbox.sqlite.
   */
  subscribers: readonly SubscriberConfig[];
  /** First wait before a subscriber delivery is tried again, doubling (SUBSCRIBER_RETRY_BASE_SECONDS). */
  subscriberRetryBaseMs: number;
  /** How often `serve` looks for recordings due for Zoom's trash (CLEANUP_CHECK_INTERVAL_SECONDS); the rules are `rules.cleanup`. */
  cleanupCheckIntervalMs: number;
  /** The operator dashboard's listener (DASHBOARD_HOST/PORT/TOKEN); loaded where webhooks are served (`serve`). */
  dashboard?: DashboardSettings;
  /** The variables this was loaded from (set ones only): the consumers' worker loads the same. */
  env: Record<string, string>;
}

const RuntimeEnvSchema = z.object({
  HOST: z._default(z.string().check(z.minLength(1)), '127.0.0.1'),
  PORT: z._default(z.coerce.number().check(z.int('must be a whole number'), z.gte(0, 'must be 0-65535'), z.lte(65535, 'must be 0-65535')), 8080),
  DATA_DIR: z._default(z.string().check(z.minLength(1)), DEFAULT_DATA_DIR),
  ARCHIVE_DIR: z.optional(z.string().check(z.minLength(1))),
  ARCHIVE_BUCKET: z.optional(z.string().check(z.regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'is not a valid S3 bucket name'))),
  ARCHIVE_S3_ENDPOINT: z.optional(z.url('must be a URL, e.g. https://s3.example.com')),
  ARCHIVE_S3_REGION: z.optional(z.string().check(z.minLength(1))),
  ARCHIVE_S3_FORCE_PATH_STYLE: z.optional(z.enum(['true', 'false'], 'must be true or false')),
  UPLOAD_CONCURRENCY: z._default(z.coerce.number().check(z.int('must be a whole number'), z.positive('must be positive'), z.lte(64, 'must be at most 64')), 2),
  BUS_SYNC: z._default(z.enum(['normal', 'full'], 'must be normal or full'), 'normal'),
  RECOVERY_INTERVAL_SECONDS: z._default(z.coerce.number().check(z.positive('must be positive')), 10),
  BUS_RETENTION_DAYS: z._default(z.coerce.number().check(z.positive('must be positive'), z.lte(3650, 'must be at most 3650')), 30),
  SUBSCRIBER_RETRY_BASE_SECONDS: z._default(z.coerce.number().check(z.gte(1, 'must be at least 1'), z.lte(3600, 'must be at most 3600')), 5),
  SWEEP_INTERVAL_SECONDS: z.optional(
    z.coerce.number().check(z.int('must be a whole number'), z.gte(0, 'must be 0 (off) or at least 10'), z.lte(7 * 86_400, 'must be at most 604800 (a week)')),
  ),
});

/** Loads everything; collects the problems of every part and throws them together. */
export interface LoadOptions {
  /**
   * 'required' (serve): ZOOM_WEBHOOK_SECRET_TOKEN must be set. 'optional': commands
   * that run the pipeline without answering webhooks (backfill) work without it.
   */
  webhook?: 'required' | 'optional';
}

export function loadRuntimeConfig(env: Record<string, string | undefined>, options: LoadOptions = {}): RuntimeConfig {
  const problems: string[] = [];
  const attempt = <T>(load: () => T): T | undefined => {
    try {
      return load();
    } catch (error) {
      if (error instanceof ConfigError) problems.push(error.message);
      else throw error;
      return undefined;
    }
  };
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = RuntimeEnvSchema.safeParse(present);
  if (!parsed.success) problems.push(...parsed.error.issues.map((i) => `${String(i.path[0])} ${i.message}`));
  const webhookWanted = options.webhook !== 'optional' || Boolean(env.ZOOM_WEBHOOK_SECRET_TOKEN);
  const webhook = webhookWanted ? attempt(() => loadWebhookConfig(env)) : undefined;
  const uploader = attempt(() => loadUploaderSettings(env));
  const secrets = attempt(() => secretsFromEnv(env));
  const rules = attempt(() => loadArchiverConfig(env));
  const subscribers = rules ? attempt(() => resolveSubscribers(rules, env)) : undefined;
  const reconciler = attempt(() => loadReconcilerSettings(env));
  const cleanupCheckIntervalMs = attempt(() => loadCleanupCheckIntervalMs(env));
  const dashboard = options.webhook !== 'optional' ? attempt(() => loadDashboardSettings(env, parsed.success ? parsed.data.PORT : undefined)) : undefined;
  const s2s = secrets !== undefined && missingS2sKeys(secrets).length === 0;
  const sweepSeconds = parsed.success ? (parsed.data.SWEEP_INTERVAL_SECONDS ?? (s2s ? DEFAULT_SWEEP_INTERVAL_SECONDS : 0)) : 0;
  if (sweepSeconds > 0 && sweepSeconds < 10) problems.push('SWEEP_INTERVAL_SECONDS must be 0 (off) or at least 10');
  if (sweepSeconds > 0 && secrets && !s2s) {
    problems.push('SWEEP_INTERVAL_SECONDS needs Zoom Server-to-Server OAuth to list recordings: set ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET, or SWEEP_INTERVAL_SECONDS=0');
  }
  if (rules && rules.cleanup.trashInZoom !== 'off' && secrets && !s2s) {
    problems.push(
      `${rules.source}: cleanup.trashInZoom: "${rules.cleanup.trashInZoom}" needs Zoom Server-to-Server OAuth (it reads each recording again and moves it to the trash): set ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET, or set cleanup.trashInZoom to "off"`,
    );
  }
  if (problems.length > 0 || !parsed.success || (webhookWanted && !webhook) || !uploader || !secrets || !rules || !subscribers || !reconciler || cleanupCheckIntervalMs === undefined || (options.webhook !== 'optional' && !dashboard)) {
    throw new ConfigError(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
  const e = parsed.data;
  const paths = dataPaths(e.DATA_DIR);
  const archive: ArchiveTarget = e.ARCHIVE_BUCKET
    ? {
        kind: 's3',
        bucket: e.ARCHIVE_BUCKET,
        endpoint: e.ARCHIVE_S3_ENDPOINT,
        region: e.ARCHIVE_S3_REGION ?? env.AWS_REGION ?? 'us-east-1',
        forcePathStyle: e.ARCHIVE_S3_FORCE_PATH_STYLE ? e.ARCHIVE_S3_FORCE_PATH_STYLE === 'true' : Boolean(e.ARCHIVE_S3_ENDPOINT),
        credentials:
          env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
            ? { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, sessionToken: env.AWS_SESSION_TOKEN }
            : undefined,
      }
    : { kind: 'folder', dir: e.ARCHIVE_DIR ?? paths.archive };
  return {
    host: e.HOST,
    port: e.PORT,
    paths,
    archive,
    uploadConcurrency: e.UPLOAD_CONCURRENCY,
    busSync: e.BUS_SYNC,
    recoveryIntervalMs: e.RECOVERY_INTERVAL_SECONDS * 1000,
    webhook,
    uploader,
    secrets,
    rules,
    busRetentionMs: e.BUS_RETENTION_DAYS * 86_400_000,
    reconciler,
    sweepIntervalMs: sweepSeconds * 1000,
    subscribers,
    subscriberRetryBaseMs: e.SUBSCRIBER_RETRY_BASE_SECONDS * 1000,
    cleanupCheckIntervalMs,
    dashboard,
    env: present as Record<string, string>,
  };
}
