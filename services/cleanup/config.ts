/**
 * Clean-up in Zoom: after every selected file of a recording is verified in the
 * archive, move the recording to Zoom's trash (opt-in). Configured in the archiver
 * config (ARCHIVER_CONFIG file or ARCHIVER_CONFIG_JSON) under `cleanup`:
 *
 *   "cleanup": { "trashInZoom": "dry-run", "delayHours": 24, "exceptCourses": ["LAW200"] }
 *
 * - `trashInZoom`: "off" (the default: nothing is scheduled, nothing trashed),
 *   "dry-run" (at the due time every check runs and RecordingWouldBeTrashed is
 *   recorded; nothing is deleted), "on" (the recording goes to Zoom's trash and
 *   RecordingTrashedInZoom is recorded and published).
 * - `delayHours`: how long after the last RecordingArchived of a recording it is
 *   trashed (default 24; 0 to 720, fractions allowed). A day leaves people time to
 *   look at the archive first; Zoom keeps its trash 30 days more.
 * - `exceptCourses`: course codes whose recordings stay in Zoom.
 *
 * Errors name the field (`cleanup.delayHours: …`) like the rest of the file; the
 * Server-to-Server OAuth app it needs is checked where the credentials are known
 * (host/config.ts at start-up; the cloud reads them from the Zoom secret).
 *
 * Environment (not the archiver config, because it is about the host, not the rules):
 * CLEANUP_CHECK_INTERVAL_SECONDS — how often `serve` looks for due clean-ups (default 60).
 */
import * as z from 'zod/mini';
import { parseEnv, type Env } from '../../shared/lambda/env';

export const TRASH_MODES = ['off', 'dry-run', 'on'] as const;
export type TrashMode = (typeof TRASH_MODES)[number];

export const DEFAULT_CLEANUP_DELAY_HOURS = 24;
/** Beyond 30 days the wait would outlast Zoom's own trash; nobody means that. */
export const MAX_CLEANUP_DELAY_HOURS = 720;
export const DEFAULT_CLEANUP_CHECK_INTERVAL_SECONDS = 60;
/** How long one run holds a due recording (the re-check and Zoom's answer, retries included). */
export const CLEANUP_LEASE_MS = 5 * 60_000;
/** After Zoom stayed unavailable (429/5xx past the client's retries): the first wait, doubling, capped. */
export const CLEANUP_RETRY_BASE_MS = 5 * 60_000;
export const CLEANUP_RETRY_MAX_MS = 6 * 3_600_000;

export interface CleanupRules {
  trashInZoom: TrashMode;
  /** delayHours in milliseconds. */
  delayMs: number;
  exceptCourses: ReadonlySet<string>;
}

export const DEFAULT_CLEANUP_RULES: CleanupRules = {
  trashInZoom: 'off',
  delayMs: DEFAULT_CLEANUP_DELAY_HOURS * 3_600_000,
  exceptCourses: new Set(),
};

/** The `cleanup` section of the archiver config; every field optional. */
export const CleanupSchema = z.pipe(
  z.strictObject({
    trashInZoom: z.optional(z.enum(TRASH_MODES, { error: 'expected "off", "dry-run" or "on"' })),
    delayHours: z.optional(
      z
        .number({ error: 'expected a number of hours' })
        .check(z.gte(0, 'must be 0 or more'), z.lte(MAX_CLEANUP_DELAY_HOURS, `must be at most ${MAX_CLEANUP_DELAY_HOURS} (30 days: Zoom's trash keeps a recording 30 days)`)),
    ),
    exceptCourses: z.optional(
      z.array(z.string().check(z.trim(), z.minLength(1, 'a course code must not be empty'), z.maxLength(64))).check(
        z.superRefine((values, ctx) => {
          values.forEach((value, index) => {
            if (values.indexOf(value) !== index) ctx.addIssue({ code: 'custom', message: `"${value}" is listed twice`, path: [index] });
          });
        }),
      ),
    ),
  }),
  z.transform(
    (value): CleanupRules => ({
      trashInZoom: value.trashInZoom ?? DEFAULT_CLEANUP_RULES.trashInZoom,
      delayMs: Math.round((value.delayHours ?? DEFAULT_CLEANUP_DELAY_HOURS) * 3_600_000),
      exceptCourses: new Set(value.exceptCourses ?? []),
    }),
  ),
);

export const CleanupHostEnv = z.object({
  CLEANUP_CHECK_INTERVAL_SECONDS: z._default(
    z.coerce.number().check(z.gte(1, 'must be at least 1'), z.lte(86_400, 'must be at most 86400 (a day)')),
    DEFAULT_CLEANUP_CHECK_INTERVAL_SECONDS,
  ),
});

/** CLEANUP_CHECK_INTERVAL_SECONDS in milliseconds (single-machine host). */
export function loadCleanupCheckIntervalMs(env: Env): number {
  return parseEnv(CleanupHostEnv, env).CLEANUP_CHECK_INTERVAL_SECONDS * 1000;
}

/** The wait after the n-th time (1-based) Zoom stayed unavailable for a due clean-up. */
export function cleanupRetryDelayMs(attempt: number): number {
  return Math.min(CLEANUP_RETRY_MAX_MS, CLEANUP_RETRY_BASE_MS * 2 ** Math.max(0, attempt - 1));
}
