/** Pieces several views share: the state badge, the recordings table, the Retry form. */
import { html } from 'hono/html';
import { STATE_LABELS, type RecordingState, type RecordingSummary } from '../recording-view';
import { formatBytes, formatTime } from './format';

export function stateBadge(state: RecordingState) {
  return html`<span class="badge state-${state}">${STATE_LABELS[state]}</span>`;
}

export const recordingHref = (recordingId: string) => `/recording?id=${encodeURIComponent(recordingId)}`;
export const courseHref = (course: string) => `/course?code=${encodeURIComponent(course)}`;

export function courseLink(course: string | undefined) {
  return course ? html`<a href="${courseHref(course)}">${course}</a>` : html`<span class="muted">—</span>`;
}

export function recordingsTable(recordings: readonly RecordingSummary[], empty: string) {
  if (recordings.length === 0) return html`<p class="empty">${empty}</p>`;
  return html`<div class="table-wrap"><table class="recordings">
    <thead><tr><th>Start</th><th>Course</th><th>Topic</th><th>Files</th><th>Archived</th><th>State</th></tr></thead>
    <tbody>${recordings.map(
      (r) => html`<tr data-recording-id="${r.recordingId}" data-state="${r.state}">
        <td data-label="Start">${formatTime(r.startTime ?? r.firstSeen)}</td>
        <td data-label="Course">${courseLink(r.course)}</td>
        <td data-label="Topic"><a href="${recordingHref(r.recordingId)}">${r.topic ?? r.recordingId}</a>${r.rejection ? html`<div class="why">${r.rejection.explanation}</div>` : ''}</td>
        <td data-label="Files">${r.files.length === 0 ? '—' : `${r.uploadedFiles}/${r.files.length}${r.failedFiles > 0 ? ` (${r.failedFiles} failed)` : ''}`}</td>
        <td data-label="Archived">${r.uploadedFiles > 0 ? formatBytes(r.bytesArchived) : '—'}</td>
        <td data-label="State">${stateBadge(r.state)}</td>
      </tr>`,
    )}</tbody>
  </table></div>`;
}

export interface RetryFormContext {
  csrf: string;
  /** Where the browser returns after the POST (this page). */
  back: string;
  /** Why Retry cannot work here (e.g. no bus to publish to); the button is then disabled. */
  unavailable?: string;
}

export function retryForm(fileId: string, context: RetryFormContext) {
  return html`<form class="retry" method="post" action="/retry">
    <input type="hidden" name="fileId" value="${fileId}">
    <input type="hidden" name="csrf" value="${context.csrf}">
    <input type="hidden" name="back" value="${context.back}">
    <button type="submit" ${context.unavailable ? html`disabled title="${context.unavailable}"` : ''}>Retry</button>
  </form>`;
}
