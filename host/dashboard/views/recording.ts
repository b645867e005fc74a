/** One recording: its files as the ledger knows them now (with Retry where failed) and its whole history. */
import { html } from 'hono/html';
import type { RecordingDetail } from '../read-model';
import { formatBytes, formatDuration, formatTime } from './format';
import { courseLink, retryForm, stateBadge, type RetryFormContext } from './parts';

export function recordingView(r: RecordingDetail, retry: RetryFormContext) {
  const s = r.summary;
  const ledgerOf = new Map(r.files.map((f) => [f.fileId, f.entry]));
  return html`<h1>${s.topic ?? s.recordingId} ${stateBadge(s.state)}</h1>
  <dl class="facts">
    <div><dt>Course</dt><dd>${courseLink(s.course)}</dd></div>
    <div><dt>Start</dt><dd>${formatTime(s.startTime)}</dd></div>
    <div><dt>Meeting id</dt><dd>${s.meetingId ?? '—'}</dd></div>
    <div><dt>Meeting UUID</dt><dd><code>${s.recordingId}</code></dd></div>
    <div><dt>First seen</dt><dd>${formatTime(s.firstSeen)}</dd></div>
    <div><dt>Archived</dt><dd>${s.uploadedFiles}/${s.files.length} file(s), ${formatBytes(s.bytesArchived)}</dd></div>
  </dl>
  ${s.rejection ? html`<p class="notice problem">Rejected (<strong>${s.rejection.reason}</strong>): ${s.rejection.explanation}</p>` : ''}
  <section aria-labelledby="files-h"><h2 id="files-h">Files</h2>
  ${s.files.length === 0
    ? html`<p class="empty">No file of this recording was accepted.</p>`
    : html`<div class="table-wrap"><table class="files">
    <thead><tr><th>Type</th><th>Size</th><th>Key</th><th>SHA-256</th><th>State</th><th title="Runs of the uploader that took the file (each tries up to UPLOAD_MAX_ATTEMPTS times; the history says how many)">Runs</th><th>Requested</th><th>Finished</th><th>Transfer</th><th>Last error</th><th></th></tr></thead>
    <tbody>${s.files.map((f) => {
      const entry = ledgerOf.get(f.fileId);
      const state = entry?.state ?? f.state;
      const error = entry?.lastError ?? (f.failure ? { code: f.failure.code, message: f.failure.reason, retryable: f.failure.retryable } : undefined);
      return html`<tr data-file-id="${f.fileId}" data-state="${state}">
        <td data-label="Type">${f.fileType ?? '—'}${f.recordingType ? html`<div class="muted">${f.recordingType}</div>` : ''}</td>
        <td data-label="Size">${formatBytes(entry?.result?.size ?? f.size ?? f.expectedSize)}</td>
        <td data-label="Key"><code>${entry?.result?.location.key ?? f.key ?? entry?.archiveKey ?? '—'}</code></td>
        <td data-label="SHA-256">${(entry?.result?.checksum.value ?? f.sha256) ? html`<code class="hash" title="${entry?.result?.checksum.value ?? f.sha256}">${(entry?.result?.checksum.value ?? f.sha256)!.slice(0, 16)}…</code>` : '—'}</td>
        <td data-label="State"><span class="badge file-${state}">${state}</span></td>
        <td data-label="Runs">${entry ? html`${entry.attempts}${entry.autoRetries > 0 ? ` (${entry.autoRetries} automatic)` : ''}${entry.duplicates > 0 ? html`<div class="muted">${entry.duplicates} duplicate(s)</div>` : ''}` : '—'}</td>
        <td data-label="Requested">${formatTime(entry ? new Date(entry.createdAt).toISOString() : f.requestedAt)}</td>
        <td data-label="Finished">${state === 'uploaded' || state === 'failed' ? formatTime(entry ? new Date(entry.updatedAt).toISOString() : f.finishedAt) : '—'}</td>
        <td data-label="Transfer">${formatDuration(f.transferMs)}</td>
        <td data-label="Last error">${error ? html`<strong>${error.code}</strong>${error.retryable ? ' (retryable)' : ''}: ${error.message}${entry?.nextAttemptAt ? html`<div class="muted">next automatic attempt ${formatTime(new Date(entry.nextAttemptAt).toISOString())}</div>` : ''}` : '—'}</td>
        <td>${state === 'failed' ? retryForm(f.fileId, retry) : ''}</td>
      </tr>`;
    })}</tbody></table></div>`}
  </section>
  <section aria-labelledby="history-h"><h2 id="history-h">History</h2>
  <div class="table-wrap"><table class="history">
    <thead><tr><th>Time</th><th>Event</th><th>What happened</th></tr></thead>
    <tbody>${r.history.map((e) => html`<tr class="${e.problem ? 'problem' : ''}"><td data-label="Time">${formatTime(e.time)}</td><td data-label="Event">${e.detailType}</td><td data-label="What happened">${e.summary}</td></tr>`)}</tbody>
  </table></div></section>`;
}
