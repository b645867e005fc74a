/**
 * Files and bytes archived per day as two small bar charts, drawn on the server as
 * inline SVG (no script, no library, nothing fetched), with the numbers in a table
 * beside them for screen readers and copying.
 */
import { html } from 'hono/html';
import type { DailyTotal } from '../../../shared/ports/audit-log';
import { formatBytes } from './format';

const WIDTH = 560;
const HEIGHT = 120;
const DAY_MS = 86_400_000;

/** `days` consecutive UTC days ending today, with zeros where nothing was archived. */
export function fillDays(totals: readonly DailyTotal[], days: number, now: Date): DailyTotal[] {
  const byDay = new Map(totals.map((t) => [t.day, t]));
  const today = Math.floor(now.getTime() / DAY_MS) * DAY_MS;
  const filled: DailyTotal[] = [];
  for (let i = days - 1; i >= 0; i--) {
    const day = new Date(today - i * DAY_MS).toISOString().slice(0, 10);
    filled.push(byDay.get(day) ?? { day, files: 0, bytes: 0 });
  }
  return filled;
}

function bars(values: readonly number[], label: (v: number) => string, days: readonly string[], title: string, className: string) {
  const max = Math.max(1, ...values);
  const slot = WIDTH / values.length;
  const barWidth = Math.max(2, slot * 0.7);
  return html`<svg class="chart ${className}" viewBox="0 0 ${WIDTH} ${HEIGHT + 18}" role="img" aria-label="${title}" preserveAspectRatio="none">
    <title>${title}</title>
    ${values.map((v, i) => {
      const h = Math.round((v / max) * HEIGHT);
      const x = (i * slot + (slot - barWidth) / 2).toFixed(1);
      return html`<rect x="${x}" y="${HEIGHT - h}" width="${barWidth.toFixed(1)}" height="${h}"><title>${days[i]}: ${label(v)}</title></rect>`;
    })}
    <text x="0" y="${HEIGHT + 14}" class="axis">${days[0]?.slice(5) ?? ''}</text>
    <text x="${WIDTH}" y="${HEIGHT + 14}" class="axis end">${days[days.length - 1]?.slice(5) ?? ''}</text>
  </svg>`;
}

export function dailyChart(totals: readonly DailyTotal[], days: number, now: Date) {
  const filled = fillDays(totals, days, now);
  const dayNames = filled.map((t) => t.day);
  const files = filled.reduce((n, t) => n + t.files, 0);
  const bytes = filled.reduce((n, t) => n + t.bytes, 0);
  return html`<div class="charts">
      <figure>
        <figcaption>Files archived per day <span class="muted">(${files} in ${days} days)</span></figcaption>
        ${bars(filled.map((t) => t.files), (v) => `${v} file(s)`, dayNames, `Files archived per day, last ${days} days`, 'files')}
      </figure>
      <figure>
        <figcaption>Bytes archived per day <span class="muted">(${formatBytes(bytes)} in ${days} days)</span></figcaption>
        ${bars(filled.map((t) => t.bytes), formatBytes, dayNames, `Bytes archived per day, last ${days} days`, 'bytes')}
      </figure>
    </div>
    <details class="chart-data"><summary>The numbers</summary>
      <table><thead><tr><th>Day (UTC)</th><th>Files</th><th>Bytes</th></tr></thead>
      <tbody>${[...filled].reverse().map((t) => html`<tr><td>${t.day}</td><td>${t.files}</td><td>${formatBytes(t.bytes)}</td></tr>`)}</tbody></table>
    </details>`;
}
