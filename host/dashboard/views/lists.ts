/** A course's recordings, and search results: the recordings table under a heading. */
import { html } from 'hono/html';
import type { RecordingSummary } from '../recording-view';
import { recordingsTable } from './parts';

export function courseView(course: string, recordings: readonly RecordingSummary[], days: number) {
  const failed = recordings.filter((r) => r.state === 'failed' || r.state === 'partly_archived').length;
  return html`<h1>Course ${course}</h1>
  <p class="muted">${recordings.length} recording(s) with activity in the last ${days} days${failed > 0 ? html`, <strong>${failed} not wholly archived</strong>` : ''}.</p>
  ${recordingsTable(recordings, `No recording of ${course} in the last ${days} days.`)}`;
}

export function searchView(query: string, results: readonly RecordingSummary[]) {
  return html`<h1>Search</h1>
  ${query === ''
    ? html`<p class="empty">Type part of a topic, a meeting id (spaces allowed) or a meeting UUID.</p>`
    : html`<p class="muted">${results.length} recording(s) match “${query}” (last 90 days).</p>${recordingsTable(results, 'No recording matches.')}`}`;
}

export function notFoundView(what: string) {
  return html`<h1>Not found</h1><p class="empty">${what}</p><p><a href="/">Back to the overview</a></p>`;
}
