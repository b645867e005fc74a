/**
 * Uploader settings from the environment, validated once at start-up (Lambda cold
 * start or `serve`), each error naming its variable. Secrets are not read here: they
 * come from shared/config/secrets.ts.
 */
import * as z from 'zod/mini';
import { DEFAULT_ZOOM_DOWNLOAD_HOSTS } from '../../shared/adapters/zoom-download';
import { DEFAULT_ZOOM_OAUTH_TOKEN_URL } from '../../shared/adapters/zoom-oauth';
import { ConfigError } from '../../shared/errors';

/** Re-drives of a run that ended without an outcome before the recovery sweep gives the file up. */
export const DEFAULT_MAX_REDRIVES = 3;

const positiveInt = (fallback: number, max: number) =>
  z._default(z.coerce.number().check(z.int('must be a whole number'), z.positive('must be positive'), z.lte(max, `must be at most ${max}`)), fallback);

const Schema = z.object({
  ZOOM_OAUTH_TOKEN_URL: z._default(z.url('must be a URL'), DEFAULT_ZOOM_OAUTH_TOKEN_URL),
  ZOOM_DOWNLOAD_HOSTS: z._default(z.string().check(z.minLength(1)), DEFAULT_ZOOM_DOWNLOAD_HOSTS),
  UPLOAD_MAX_ATTEMPTS: positiveInt(5, 20),
  UPLOAD_LEASE_SECONDS: positiveInt(60, 3600),
  UPLOAD_TRANSFER_TIMEOUT_SECONDS: positiveInt(3600, 7 * 86_400),
  DOWNLOAD_IDLE_TIMEOUT_SECONDS: positiveInt(60, 3600),
  // A run that keeps dying (killed at Lambda's 15 minutes, or a process crashing
  // mid-transfer) is re-driven this often, then failed as `deadline`, not looped.
  UPLOAD_MAX_REDRIVES: positiveInt(DEFAULT_MAX_REDRIVES, 100),
  // 5 MiB × 2 keeps one machine's uploader under 150 MB peak RSS (bench/results); the
  // Lambda, with 1 GB of memory, sets 8 × 4 for throughput (infrastructure/).
  ARCHIVE_PART_SIZE_MB: positiveInt(5, 5120),
  ARCHIVE_QUEUE_SIZE: positiveInt(2, 64),
});

export interface UploaderSettings {
  oauthTokenUrl: string;
  downloadHosts: string;
  maxAttempts: number;
  leaseMs: number;
  transferTimeoutMs: number;
  idleTimeoutMs: number;
  /** The recovery sweep's cap: re-drives of runs that ended without an outcome, per file. */
  maxRedrives: number;
  partSizeBytes: number;
  queueSize: number;
}

export function loadUploaderSettings(env: Record<string, string | undefined>): UploaderSettings {
  const result = Schema.safeParse(Object.fromEntries(Object.entries(env).filter(([, value]) => value !== '')));
  if (!result.success) {
    throw new ConfigError(`uploader configuration: ${result.error.issues.map((i) => `${String(i.path[0])} ${i.message}`).join('; ')}`);
  }
  const e = result.data;
  if (e.ARCHIVE_PART_SIZE_MB < 5) throw new ConfigError('uploader configuration: ARCHIVE_PART_SIZE_MB must be at least 5 (S3 minimum part size)');
  return {
    oauthTokenUrl: e.ZOOM_OAUTH_TOKEN_URL,
    downloadHosts: e.ZOOM_DOWNLOAD_HOSTS,
    maxAttempts: e.UPLOAD_MAX_ATTEMPTS,
    leaseMs: e.UPLOAD_LEASE_SECONDS * 1000,
    transferTimeoutMs: e.UPLOAD_TRANSFER_TIMEOUT_SECONDS * 1000,
    idleTimeoutMs: e.DOWNLOAD_IDLE_TIMEOUT_SECONDS * 1000,
    maxRedrives: e.UPLOAD_MAX_REDRIVES,
    partSizeBytes: e.ARCHIVE_PART_SIZE_MB * 1024 * 1024,
    queueSize: e.ARCHIVE_QUEUE_SIZE,
  };
}
