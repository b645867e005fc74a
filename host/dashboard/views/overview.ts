/** The first page: the last 24 hours, the pipeline's health, the chart, what failed and was rejected, and the recent recordings. */
import { html } from 'hono/html';
import type { Overview, PipelineHealth } from '../read-model';
import { CHART_DAYS } from '../read-model';
import { dailyChart } from './chart';
import { formatTime, plural } from './format';
import { courseLink, recordingHref, recordingsTable, retryForm, type RetryFormContext } from './parts';

export function overviewView(o: Overview, retry: RetryFormContext) {
  const c = o.last24h;
  return html`<h1>Recordings</h1>
  <div class="top-grid">
  <section aria-labelledby="day-h"><h2 id="day-h">Last 24 hours</h2>
    <dl class="counts">
      <div><dt>Recordings received</dt><dd data-count="received">${c.recordingsReceived}</dd></div>
      <div><dt>Recordings archived</dt><dd data-count="archived">${c.recordingsArchived}</dd></div>
      <div><dt>Files uploaded</dt><dd data-count="uploaded">${c.filesUploaded}</dd></div>
      <div class="${c.filesFailed > 0 ? 'bad' : ''}" title="FileUploadFailed events of the last 24 hours, including files archived since by a retry"><dt>File failures</dt><dd data-count="failed">${c.filesFailed}</dd></div>
      <div><dt>Recordings rejected</dt><dd data-count="rejected">${c.recordingsRejected}</dd></div>
    </dl>
  </section>
  <section aria-labelledby="health-h"><h2 id="health-h">Pipeline health</h2>${healthView(o.health)}</section>
  </div>
  <section aria-labelledby="failures-h" id="failures"><h2 id="failures-h">Failures <span class="muted">(${o.failures.length} file(s) failed now)</span></h2>
    ${o.failures.length === 0
      ? html`<p class="empty">No file is failed.</p>`
      : html`<div class="table-wrap"><table class="failures">
        <thead><tr><th>Failed</th><th>Course</th><th>Recording</th><th>File</th><th>Reason</th><th title="Runs of the uploader that took the file (each tries up to UPLOAD_MAX_ATTEMPTS times)">Runs</th><th>Next automatic attempt</th><th></th></tr></thead>
        <tbody>${o.failures.map(
          (f) => html`<tr data-file-id="${f.fileId}">
            <td data-label="Failed">${formatTime(f.failedAt)}</td>
            <td data-label="Course">${courseLink(f.course)}</td>
            <td data-label="Recording"><a href="${recordingHref(f.recordingId)}">${f.topic ?? f.recordingId}</a></td>
            <td data-label="File">${f.fileType ?? ''} <code title="${f.key}">${f.key}</code></td>
            <td data-label="Reason"><strong>${f.error.code}</strong>${f.error.retryable ? ' (retryable)' : ''}: ${f.error.message}</td>
            <td data-label="Runs">${f.attempts}${f.autoRetries > 0 ? ` (${f.autoRetries} automatic)` : ''}</td>
            <td data-label="Next automatic attempt">${f.nextAttemptAt ? formatTime(f.nextAttemptAt) : html`<span class="muted">none: waits for Retry</span>`}</td>
            <td>${retryForm(f.fileId, retry)}</td>
          </tr>`,
        )}</tbody></table></div>`}
  </section>
  <section aria-labelledby="recent-h"><h2 id="recent-h">Recent recordings</h2>${recordingsTable(o.recordings, 'Nothing has arrived yet.')}</section>
  <section aria-labelledby="rejected-h" id="rejected"><h2 id="rejected-h">Rejected meetings <span class="muted">(last 7 days)</span></h2>
    ${o.rejections.length === 0
      ? html`<p class="empty">No meeting was rejected.</p>`
      : html`<div class="table-wrap"><table class="rejections">
        <thead><tr><th>When</th><th>Topic</th><th>Meeting id</th><th>Why</th></tr></thead>
        <tbody>${o.rejections.map(
          (r) => html`<tr data-recording-id="${r.recordingId}">
            <td data-label="When">${formatTime(r.time)}</td>
            <td data-label="Topic"><a href="${recordingHref(r.recordingId)}">${r.topic ?? r.recordingId}</a></td>
            <td data-label="Meeting id">${r.meetingId ?? '—'}</td>
            <td data-label="Why"><strong>${r.reason}</strong>: ${r.explanation}</td>
          </tr>`,
        )}</tbody></table></div>`}
  </section>
  <section aria-labelledby="chart-h"><h2 id="chart-h">Archived per day</h2>${dailyChart(o.daily, CHART_DAYS, new Date(o.generatedAt))}</section>`;
}

function healthView(h: PipelineHealth) {
  const na = html`<span class="muted">n/a</span>`;
  return html`<dl class="health">
    <div class="${h.bus && h.bus.pending > 0 ? 'busy' : ''}"><dt>Bus backlog</dt><dd data-health="bus-pending">${h.bus ? plural(h.bus.pending, 'delivery', 'deliveries') : na}</dd></div>
    <div class="${h.bus && h.bus.dead > 0 ? 'bad' : ''}"><dt>Dead deliveries</dt><dd data-health="bus-dead">${h.bus ? h.bus.dead : na}</dd></div>
    <div class="${typeof h.subscribers === 'object' && h.subscribers.failed > 0 ? 'bad' : ''}"><dt>Subscriber backlog</dt><dd data-health="subscribers">${
      h.subscribers === 'none'
        ? html`<span class="muted">no subscriber configured</span>`
        : h.subscribers
          ? html`${h.subscribers.pending} pending, ${h.subscribers.failed} failed${h.subscribers.disabled > 0 ? html`, ${h.subscribers.disabled} disabled` : ''}`
          : na
    }</dd></div>
    <div class="${h.lastSweep?.problem ? 'bad' : ''}"><dt>Last sweep</dt><dd data-health="last-sweep">${h.lastSweep ? html`${formatTime(h.lastSweep.time)}<div class="why">${h.lastSweep.summary}</div>` : html`<span class="muted">none in the last 30 days</span>`}</dd></div>
    <div><dt>Next sweep</dt><dd data-health="next-sweep">${!h.nextSweep ? na : 'off' in h.nextSweep ? html`off<div class="why">${h.nextSweep.off}</div>` : formatTime(h.nextSweep.at)}</dd></div>
    <div class="${h.autoRetries.due > 0 ? 'busy' : ''}"><dt>Automatic retries</dt><dd data-health="auto-retries">${h.autoRetries.due} due now, ${h.autoRetries.scheduled} scheduled${h.autoRetries.nextAt ? html` (next ${formatTime(h.autoRetries.nextAt)})` : ''}</dd></div>
  </dl>${h.note ? html`<p class="muted">${h.note}</p>` : ''}`;
}
