/** How the dashboard writes numbers, sizes, times and ids for people. */
import { formatBytes as sharedFormatBytes, formatUtcMinute } from '../../../shared/format';

export function formatBytes(bytes: number | undefined): string {
  return bytes === undefined ? '—' : sharedFormatBytes(bytes);
}

/** "2026-12-02 08:00 UTC" (the page says UTC once; times compare at a glance). */
export function formatTime(iso: string | undefined): string {
  if (!iso) return '—';
  return formatUtcMinute(iso) ?? iso;
}

export function formatDuration(ms: number | undefined): string {
  if (ms === undefined) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** A long id cut for a table cell; the whole id stays in the title. */
export function shortId(id: string, keep = 12): string {
  return id.length > keep + 1 ? `${id.slice(0, keep)}…` : id;
}

export const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
