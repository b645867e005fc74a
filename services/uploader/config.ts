/**
 * Uploader settings from the environment, validated once at start-up (Lambda cold
 * start or `serve`) through parseEnv, each error naming its variable. Secrets are not
 * read here: they come from shared/config/secrets.ts.
 *
 * Also the rules both runtimes derive from these settings (the recovery sweep's
 * staleness; automatic re-drive, see nextAutoRetryAt in failure-policy.ts), so that the Lambda functions and the single-machine host cannot drift.
 */
import * as z from 'zod/mini';
import { DEFAULT_ZOOM_DOWNLOAD_HOSTS } from '../../shared/adapters/zoom-download';
import { DEFAULT_ZOOM_OAUTH_TOKEN_URL } from '../../shared/adapters/zoom-oauth';
import { parseEnv, type Env } from '../../shared/lambda/env';
import type { AutoRetryPolicy } from './failure-policy';

/** Re-drives of a run that ended without an outcome before the recovery sweep gives the file up. */
export const DEFAULT_MAX_REDRIVES = 3;

/** First automatic re-drive of a retryable failure after 5 minutes; each later one waits twice as long. */
export const DEFAULT_AUTO_RETRY_BASE_SECONDS = 300;
/** 8 automatic re-drives: 5 + 10 + 20 + … + 640 minutes, about 21 hours in all. */
export const DEFAULT_AUTO_RETRY_MAX_ATTEMPTS = 8;

const positiveInt = (fallback: number, max: number) =>
  z._default(z.coerce.number().check(z.int('must be a whole number'), z.positive('must be positive'), z.lte(max, `must be at most ${max}`)), fallback);
const nonNegativeInt = (fallback: number, max: number) =>
  z._default(z.coerce.number().check(z.int('must be a whole number'), z.gte(0, 'must be 0 or more'), z.lte(max, `must be at most ${max}`)), fallback);

/** The uploader's variables; a handler that needs more extends it (z.extend), so one error lists them all. */
export const UploaderSettingsEnv = z.object({
  ZOOM_OAUTH_TOKEN_URL: z._default(z.url('must be a URL'), DEFAULT_ZOOM_OAUTH_TOKEN_URL),
  ZOOM_DOWNLOAD_HOSTS: z._default(z.string().check(z.minLength(1)), DEFAULT_ZOOM_DOWNLOAD_HOSTS),
  UPLOAD_MAX_ATTEMPTS: positiveInt(5, 20),
  UPLOAD_LEASE_SECONDS: positiveInt(60, 3600),
  UPLOAD_TRANSFER_TIMEOUT_SECONDS: positiveInt(3600, 7 * 86_400),
  DOWNLOAD_IDLE_TIMEOUT_SECONDS: positiveInt(60, 3600),
  // A run that keeps dying (killed at Lambda's 15 minutes, or a process crashing
  // mid-transfer) is re-driven this often, then failed as `deadline`, not looped.
  UPLOAD_MAX_REDRIVES: positiveInt(DEFAULT_MAX_REDRIVES, 100),
  // A retryable failure (Zoom 5xx storm, S3 outage) is re-driven by the recovery sweep
  // AUTO_RETRY_MAX_ATTEMPTS times, the n-th AUTO_RETRY_BASE_SECONDS × 2^(n-1) after
  // the failure; 0 attempts turns that off (failed files then wait for `retry`).
  AUTO_RETRY_BASE_SECONDS: positiveInt(DEFAULT_AUTO_RETRY_BASE_SECONDS, 86_400),
  AUTO_RETRY_MAX_ATTEMPTS: nonNegativeInt(DEFAULT_AUTO_RETRY_MAX_ATTEMPTS, 50),
  // 5 MiB × 2 keeps one machine's uploader under 150 MB peak RSS (bench/results); the
  // Lambda, with 1 GB of memory, sets 8 × 4 for throughput (infrastructure/).
  ARCHIVE_PART_SIZE_MB: z._default(
    z.coerce.number().check(
      z.int('must be a whole number'),
      z.gte(5, 'must be at least 5 (S3 minimum part size)'),
      z.lte(5120, 'must be at most 5120'),
    ),
    5,
  ),
  ARCHIVE_QUEUE_SIZE: positiveInt(2, 64),
  // The folder store records a checkpoint (fsync + ledger write) about every this many
  // MiB, so an interrupted transfer resumes there; smaller means less downloaded again,
  // more fsyncs.
  ARCHIVE_CHECKPOINT_MB: positiveInt(16, 1024),
  // S3 resumes only files at least this large: its resumable path must hash with a
  // SHA-256 that can save its state (hash-wasm), which costs CPU (bench section
  // `resume`: about 1.45x the CPU and 0.8-0.9x the throughput of a plain put on
  // s3rver); a smaller file is quicker to send again than to hash slowly. 0: every file.
  ARCHIVE_S3_RESUMABLE_MIN_MB: nonNegativeInt(1024, 5 * 1024 * 1024),
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
  /** Automatic re-drive of retryable failures (the uploader schedules, the recovery sweep re-drives). */
  autoRetry: AutoRetryPolicy;
  partSizeBytes: number;
  queueSize: number;
  /** Bytes between two checkpoints of a resumable put (the folder store). */
  checkpointBytes: number;
  /** Files at least this large resume on S3 (ARCHIVE_S3_RESUMABLE_MIN_MB); smaller ones start over when interrupted. */
  s3ResumableMinBytes: number;
}

export function loadUploaderSettings(env: Env): UploaderSettings {
  return uploaderSettingsFrom(parseEnv(UploaderSettingsEnv, env));
}

/** The settings from variables already parsed with UploaderSettingsEnv (or a schema extending it). */
export function uploaderSettingsFrom(e: z.output<typeof UploaderSettingsEnv>): UploaderSettings {
  return {
    oauthTokenUrl: e.ZOOM_OAUTH_TOKEN_URL,
    downloadHosts: e.ZOOM_DOWNLOAD_HOSTS,
    maxAttempts: e.UPLOAD_MAX_ATTEMPTS,
    leaseMs: e.UPLOAD_LEASE_SECONDS * 1000,
    transferTimeoutMs: e.UPLOAD_TRANSFER_TIMEOUT_SECONDS * 1000,
    idleTimeoutMs: e.DOWNLOAD_IDLE_TIMEOUT_SECONDS * 1000,
    maxRedrives: e.UPLOAD_MAX_REDRIVES,
    autoRetry: { baseMs: e.AUTO_RETRY_BASE_SECONDS * 1000, maxAttempts: e.AUTO_RETRY_MAX_ATTEMPTS },
    partSizeBytes: e.ARCHIVE_PART_SIZE_MB * 1024 * 1024,
    queueSize: e.ARCHIVE_QUEUE_SIZE,
    checkpointBytes: e.ARCHIVE_CHECKPOINT_MB * 1024 * 1024,
    s3ResumableMinBytes: e.ARCHIVE_S3_RESUMABLE_MIN_MB * 1024 * 1024,
  };
}

/**
 * How long the recovery sweep lets a request sit unclaimed before it counts it as
 * lost and publishes it again.
 */
export const UNCLAIMED_REQUEST_ALLOWANCE_MS = 15 * 60_000;

/**
 * The recovery sweep's `staleAfterMs`, the same for the Lambda sweep and the host's.
 *
 * It only concerns requested entries that no run has claimed: expired leases and runs
 * stopped at their deadline are re-driven at once whatever it is. An entry is
 * registered and claimed by the same run within milliseconds, so an unclaimed one is
 * nearly always a re-driven request still on its way, waiting behind the uploads
 * that hold the concurrency (Lambda's reserved concurrency, UPLOAD_CONCURRENCY on one
 * machine), each of which may run for many minutes. Losing one is rare: both buses
 * deliver again on their own (Lambda's retries, the durable bus's pending rows), so
 * this is the backstop, and re-driving sooner would only add duplicate deliveries for
 * the ledger to refuse. Never shorter than a lease, so that a request without a claim
 * is not given up on sooner than a claimed run that stopped renewing.
 */
export function recoveryStaleAfterMs(settings: Pick<UploaderSettings, 'leaseMs'>): number {
  return Math.max(UNCLAIMED_REQUEST_ALLOWANCE_MS, settings.leaseMs);
}
