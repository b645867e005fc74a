/**
 * Calendar days in UTC as Zoom's recording APIs take them (`YYYY-MM-DD`): parsed,
 * formatted and counted in one place for the REST client, the reconciler and the
 * `backfill` flags. (The Zoom simulator keeps its own date code on purpose: it models
 * Zoom, so a mistake here must not hide in both.)
 */
export const DAY_MS = 86_400_000;

/** Epoch ms of a real `YYYY-MM-DD` day (1970 or later), or undefined. */
export function parseUtcDay(value: unknown): number | undefined {
  const match = typeof value === 'string' ? /^(\d{4})-(\d{2})-(\d{2})$/.exec(value) : null;
  if (!match) return undefined;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const ms = Date.UTC(year, month - 1, day);
  const date = new Date(ms);
  return year >= 1970 && date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day ? ms : undefined;
}

/** The UTC day of an instant, `YYYY-MM-DD`. */
export function formatUtcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** `day` plus `days` (negative: before), for a day parseUtcDay accepts. */
export function addUtcDays(day: string, days: number): string {
  const ms = parseUtcDay(day);
  if (ms === undefined) throw new RangeError(`not a YYYY-MM-DD day: ${day.slice(0, 40)}`);
  return formatUtcDay(ms + days * DAY_MS);
}
