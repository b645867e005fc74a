/**
 * `zoom-archiver status`: answers "did last night's class get archived, and if not,
 * why?" from the audit trail — a 24-hour summary, one recording's history, a course's
 * events, or the failures — as a table for people or JSON for scripts.
 */
import Table from 'cli-table3';
import { DetailType } from '../../shared/events';
import type { AuditLog, AuditRecord, TimeRange } from '../../shared/ports/audit-log';
import { printable, printableLines } from './printable';

export interface StatusQuery {
  recording?: string;
  course?: string;
  failed?: boolean;
  since?: string;
  until?: string;
  json?: boolean;
}

export interface Summary24h {
  since: string;
  until: string;
  recordingsReceived: number;
  filesUploaded: number;
  filesFailed: number;
  recordingsRejected: number;
  recordingsArchived: number;
  problems: AuditRecord[];
}

/** Enough for a day of a large school; the summary says so if it was reached. */
const SUMMARY_LIMIT = 20_000;

export async function runStatus(log: AuditLog, query: StatusQuery, now: Date): Promise<string> {
  const range: TimeRange = { since: query.since, until: query.until };
  if (query.recording) return render(await log.recordingHistory(query.recording), query.json, `history of recording ${printable(query.recording)}`);
  if (query.course) return render(await log.courseEvents(query.course, range), query.json, `events of course ${printable(query.course)}`);
  if (query.failed) return render(await log.problems({ since: query.since ?? new Date(now.getTime() - 7 * 86_400_000).toISOString(), until: query.until }), query.json, 'failures and rejections');
  const summary = await summarize(log, now);
  // JSON.stringify escapes control characters itself; bidi controls are escaped for a terminal too.
  return query.json ? printableLines(JSON.stringify(summary, null, 2)) : renderSummary(summary);
}

export async function summarize(log: AuditLog, now: Date): Promise<Summary24h> {
  const range = { since: new Date(now.getTime() - 86_400_000).toISOString(), until: now.toISOString() };
  const records = await log.latest(SUMMARY_LIMIT, range);
  const count = (type: string) => records.filter((r) => r.detailType === type).length;
  const distinct = (type: string) => new Set(records.filter((r) => r.detailType === type).map((r) => r.recordingId)).size;
  return {
    ...range,
    recordingsReceived: distinct(DetailType.RecordingAvailable),
    filesUploaded: count(DetailType.FileUploaded),
    filesFailed: count(DetailType.FileUploadFailed),
    recordingsRejected: distinct(DetailType.RecordingRejected),
    recordingsArchived: distinct(DetailType.RecordingArchived),
    problems: records.filter((r) => r.problem),
  };
}

function render(records: AuditRecord[], json: boolean | undefined, title: string): string {
  if (json) return printableLines(JSON.stringify(records, null, 2));
  if (records.length === 0) return `No events (${title}).`;
  const table = new Table({ head: ['time (UTC)', 'event', 'recording', 'course', 'file', 'what happened'], wordWrap: true, colWidths: [22, 21, 16, 10, 16, 60], style: { head: [], border: [] } });
  for (const r of records) {
    table.push([r.time.replace('T', ' ').slice(0, 19), printable(r.detailType), printable(short(r.recordingId)), printable(r.course ?? ''), printable(short(r.fileId ?? '')), printable(r.summary)]);
  }
  return `${title}: ${records.length} event(s)\n${table.toString()}`;
}

function renderSummary(s: Summary24h): string {
  const table = new Table({ style: { head: [], border: [] } });
  table.push(
    { 'recordings received': s.recordingsReceived },
    { 'recordings archived': s.recordingsArchived },
    { 'files uploaded': s.filesUploaded },
    { 'files failed': s.filesFailed },
    { 'recordings rejected': s.recordingsRejected },
  );
  const lines = [`Last 24 hours (${s.since} → ${s.until})`, table.toString()];
  if (s.problems.length > 0) lines.push('', render(s.problems, false, 'problems'));
  lines.push('', 'More: status --recording ID | --course CODE [--since --until] | --failed [--since] | --deliveries | --json');
  return lines.join('\n');
}

const short = (id: string) => (id.length > 14 ? `${id.slice(0, 13)}…` : id);

/** `24h`, `7d`, `30m`, or an ISO date/time → ISO time. */
export function parseSince(value: string, now: Date): string {
  const relative = /^(\d+)([mhd])$/.exec(value);
  if (relative) {
    const unit = { m: 60_000, h: 3_600_000, d: 86_400_000 }[relative[2] as 'm' | 'h' | 'd'];
    return new Date(now.getTime() - Number(relative[1]) * unit).toISOString();
  }
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new Error(`"${value}" is not a time: use e.g. 24h, 7d or 2026-11-27T08:00:00Z`);
  return date.toISOString();
}
