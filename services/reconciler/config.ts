/**
 * Reconciler settings from the environment, validated at start-up through parseEnv
 * (each error names its variable), shared by the sweep Lambda, `serve`'s periodic
 * sweep and `backfill`. The S2S OAuth credentials are secrets (shared/config/secrets.ts).
 *
 * Rate: Zoom's limits are per account and shared by every app on it; the list calls
 * are in the Medium category — 2/s on Free accounts, 20/s on Pro, 60/s on Business and
 * above (https://developers.zoom.us/docs/api/rate-limits/). The default of 10/s takes
 * half of Pro's, leaving the rest to the account's other apps; set
 * ZOOM_API_REQUESTS_PER_SECOND=2 (or less) on a Free account.
 */
import * as z from 'zod/mini';
import { parseEnv, type Env } from '../../shared/lambda/env';
import { addUtcDays, formatUtcDay } from '../../shared/utc-day';

export const DEFAULT_ZOOM_API_BASE_URL = 'https://api.zoom.us/v2';
/** Zoom can take a day to process a recording: three days of look-back cover that with room. */
export const DEFAULT_SWEEP_LOOKBACK_DAYS = 3;
export const DEFAULT_SWEEP_INTERVAL_SECONDS = 3600;
export const DEFAULT_BACKFILL_DAYS = 30;
/** How long a rejected recording is remembered (not handed over again while unchanged). */
export const REJECTION_MEMORY_MS = 400 * 86_400_000;

export const ReconcilerSettingsEnv = z.object({
  ZOOM_API_BASE_URL: z._default(z.url('must be a URL, e.g. https://api.zoom.us/v2'), DEFAULT_ZOOM_API_BASE_URL),
  ZOOM_API_REQUESTS_PER_SECOND: z._default(
    z.coerce.number().check(z.positive('must be positive'), z.lte(100, 'must be at most 100 (Zoom allows 80/s at most, in any category)')),
    10,
  ),
  SWEEP_LOOKBACK_DAYS: z._default(
    z.coerce.number().check(z.int('must be a whole number'), z.gte(1, 'must be at least 1 (Zoom can take a day to process a recording)'), z.lte(366, 'must be at most 366')),
    DEFAULT_SWEEP_LOOKBACK_DAYS,
  ),
});

export interface ReconcilerSettings {
  apiBaseUrl: string;
  requestsPerSecond: number;
  lookbackDays: number;
}

export function loadReconcilerSettings(env: Env): ReconcilerSettings {
  return reconcilerSettingsFrom(parseEnv(ReconcilerSettingsEnv, env));
}

export function reconcilerSettingsFrom(e: z.output<typeof ReconcilerSettingsEnv>): ReconcilerSettings {
  return { apiBaseUrl: e.ZOOM_API_BASE_URL, requestsPerSecond: e.ZOOM_API_REQUESTS_PER_SECOND, lookbackDays: e.SWEEP_LOOKBACK_DAYS };
}

/** The UTC dates a sweep covers at `now`: the last `lookbackDays` days and today. */
export function sweepRange(now: Date, lookbackDays: number): { from: string; to: string } {
  const to = formatUtcDay(now.getTime());
  return { from: addUtcDays(to, -lookbackDays), to };
}
