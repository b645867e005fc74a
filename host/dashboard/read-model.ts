/**
 * The dashboard's read model: every page's data from the audit trail and the upload
 * ledger (ports, so the same queries run on SQLite in `serve` and on the deployed
 * DynamoDB tables in `zoom-archiver dashboard`), plus the pipeline's health from a
 * HealthSource. Reads only; the one write is Retry (RetryAction).
 *
 * Bounded work per view, whatever the size of the trail: the overview reads the
 * latest RECENT_EVENT_WINDOW events (one index range; ten times more if they name
 * fewer than RECENT_RECORDINGS recordings), the histories of the
 * RECENT_RECORDINGS recordings they name (one key lookup each, in parallel), the
 * failed ledger entries of the last FAILURE_DAYS days, the problems of the last week
 * and the per-day totals.
 */
import { DetailType } from '../../shared/events';
import type { AuditLog, AuditRecord, DailyTotal } from '../../shared/ports/audit-log';
import type { LedgerEntry, UploadLedger } from '../../shared/ports/upload-ledger';
import { summarize, type Summary24h } from '../cli/status';
import { recentRecordingIds, rejectionExplanation, summarizeRecording, type RecordingSummary } from './recording-view';

export const RECENT_RECORDINGS = 50;
/** Events read for the recent recordings: about 6 per recording; read again 10× wider when they name too few. */
export const RECENT_EVENT_WINDOW = 400;
export const FAILURE_DAYS = 30;
export const CHART_DAYS = 14;
const DAY_MS = 86_400_000;

/** A count the source cannot tell (e.g. the bus backlog, read from the cloud) is `undefined`, shown as "n/a" with `note`. */
export interface PipelineHealth {
  /** Bus deliveries waiting or in flight; dead: deliveries that failed for good (the dead-letter queue). */
  bus?: { pending: number; dead: number };
  /** Subscriber messages waiting, failed for good, and subscribers disabled (410 Gone); 'none' configured. */
  subscribers?: { pending: number; failed: number; disabled: number } | 'none';
  /** The latest reconciliation run in the trail. */
  lastSweep?: { time: string; summary: string; problem: boolean };
  /** When the next periodic sweep runs (ISO), or why none does. */
  nextSweep?: { at: string } | { off: string };
  /** Failed files whose automatic re-drive is due now, and those scheduled later (with the earliest). */
  autoRetries: { due: number; scheduled: number; nextAt?: string };
  /** Where the parts the source cannot read are shown instead (the cloud's CloudWatch dashboard). */
  note?: string;
}

/** The parts of the health only the runtime knows (bus, outbox, sweep schedule). */
export interface HealthSource {
  bus(): { pending: number; dead: number } | undefined;
  subscribers(): { pending: number; failed: number; disabled: number } | 'none' | undefined;
  /** Interval of the periodic sweep in ms (0: off, with why), undefined: unknown here. */
  sweepIntervalMs(): { everyMs: number } | { off: string } | undefined;
  note?: string;
}

export interface FailureRow {
  fileId: string;
  recordingId: string;
  course?: string;
  topic?: string;
  startTime?: string;
  fileType?: string;
  key: string;
  attempts: number;
  autoRetries: number;
  failedAt: string;
  error: { code: string; message: string; retryable: boolean };
  nextAttemptAt?: string;
}

export interface RejectionRow {
  recordingId: string;
  meetingId?: string;
  topic?: string;
  course?: string;
  time: string;
  reason: string;
  explanation: string;
}

export interface Overview {
  generatedAt: string;
  last24h: Omit<Summary24h, 'problems'>;
  health: PipelineHealth;
  recordings: RecordingSummary[];
  failures: FailureRow[];
  rejections: RejectionRow[];
  daily: DailyTotal[];
}

/** One file as the ledger knows it now, besides what the trail says. */
export interface FileDetail {
  fileId: string;
  entry?: LedgerEntry;
}

export interface RecordingDetail {
  summary: RecordingSummary;
  files: FileDetail[];
  history: AuditRecord[];
}

export interface ReadModelDeps {
  audit: AuditLog;
  ledger: UploadLedger;
  health: HealthSource;
  now: () => Date;
}

export class DashboardReadModel {
  constructor(private readonly deps: ReadModelDeps) {}

  async overview(): Promise<Overview> {
    const now = this.deps.now();
    const weekAgo = new Date(now.getTime() - 7 * DAY_MS).toISOString();
    const [recent, failed, problems, daily, last24h] = await Promise.all([
      this.recentIds(now),
      this.deps.ledger.listByState('failed', { updatedSince: now.getTime() - FAILURE_DAYS * DAY_MS }),
      this.deps.audit.problems({ since: weekAgo, until: nextMs(now) }),
      this.deps.audit.dailyTotals({ since: startOfUtcDay(now.getTime() - (CHART_DAYS - 1) * DAY_MS), until: nextMs(now) }),
      summarize(this.deps.audit, now),
    ]);
    const [recordings, health] = await Promise.all([this.summaries(recent), this.health(now, failed)]);
    const failures = failureRows(failed);
    const { problems: _problems, ...counts } = last24h;
    return { generatedAt: now.toISOString(), last24h: counts, health, recordings, failures, rejections: rejectionsOf(problems), daily };
  }

  async recording(recordingId: string): Promise<RecordingDetail | undefined> {
    const history = await this.deps.audit.recordingHistory(recordingId);
    const summary = summarizeRecording(history);
    if (!summary) return undefined;
    const files = await Promise.all(summary.files.map(async (f) => ({ fileId: f.fileId, entry: await this.deps.ledger.get(f.fileId) })));
    return { summary, files, history };
  }

  /** A course's recordings with activity in the last `days`, latest first. */
  async course(course: string, days = 90): Promise<RecordingSummary[]> {
    const now = this.deps.now();
    const events = await this.deps.audit.courseEvents(course, { since: new Date(now.getTime() - days * DAY_MS).toISOString(), until: nextMs(now) });
    return this.summaries(recentRecordingIds([...events].reverse(), RECENT_RECORDINGS * 2));
  }

  /** Recordings whose topic, meeting id or meeting UUID matches, latest first. */
  async search(text: string): Promise<RecordingSummary[]> {
    const query = text.trim();
    if (query === '') return [];
    const matches = await this.deps.audit.findRecordings(query, { until: nextMs(this.deps.now()) }, RECENT_RECORDINGS * 2);
    return this.summaries(recentRecordingIds(matches, RECENT_RECORDINGS));
  }

  /** Changes whenever anything the pages show may have changed: what live updates watch. */
  async version(): Promise<string> {
    // A new event is a recent one: a day back is enough (and keeps DynamoDB to one or two day partitions).
    const now = this.deps.now();
    const [latest] = await this.deps.audit.latest(1, { since: new Date(now.getTime() - DAY_MS).toISOString(), until: nextMs(now) });
    const bus = this.deps.health.bus();
    const subscribers = this.deps.health.subscribers();
    return JSON.stringify([latest?.eventId ?? '', bus?.pending, bus?.dead, subscribers]);
  }

  private async recentIds(now: Date): Promise<string[]> {
    let window = RECENT_EVENT_WINDOW;
    for (;;) {
      const events = await this.deps.audit.latest(window, { until: nextMs(now) });
      const ids = recentRecordingIds(events, RECENT_RECORDINGS);
      if (ids.length >= RECENT_RECORDINGS || events.length < window || window >= RECENT_EVENT_WINDOW * 100) return ids;
      window *= 10;
    }
  }

  private async summaries(ids: readonly string[]): Promise<RecordingSummary[]> {
    const histories = await Promise.all(ids.map((id) => this.deps.audit.recordingHistory(id)));
    return histories.map(summarizeRecording).filter((s): s is RecordingSummary => s !== undefined);
  }

  private async health(now: Date, failed: readonly LedgerEntry[]): Promise<PipelineHealth> {
    const source = this.deps.health;
    const [last] = await this.deps.audit.latestOfType(DetailType.ReconciliationCompleted, 1, { since: new Date(now.getTime() - 30 * DAY_MS).toISOString(), until: nextMs(now) });
    const interval = source.sweepIntervalMs();
    const scheduled = failed.filter((e) => e.nextAttemptAt !== undefined).map((e) => e.nextAttemptAt!);
    const due = scheduled.filter((at) => at <= now.getTime()).length;
    const later = scheduled.filter((at) => at > now.getTime()).sort((a, b) => a - b);
    return {
      bus: source.bus(),
      subscribers: source.subscribers(),
      lastSweep: last ? { time: last.time, summary: last.summary, problem: last.problem } : undefined,
      nextSweep:
        interval === undefined
          ? undefined
          : 'off' in interval
            ? interval
            : { at: new Date(Math.max(now.getTime(), (last ? Date.parse(last.time) : now.getTime()) + interval.everyMs)).toISOString() },
      autoRetries: { due, scheduled: later.length, nextAt: later[0] === undefined ? undefined : new Date(later[0]).toISOString() },
      note: source.note,
    };
  }
}

/** Failed files, the latest failure first. */
function failureRows(failed: readonly LedgerEntry[]): FailureRow[] {
  return [...failed]
    .sort((a, b) => b.updatedAt - a.updatedAt)
    .map((e) => ({
        fileId: e.fileId,
        recordingId: e.recordingId,
        course: e.course,
        topic: e.request?.topic,
        startTime: e.request?.startTime,
        fileType: e.request?.file.fileType,
        key: e.archiveKey,
        attempts: e.attempts,
        autoRetries: e.autoRetries,
        failedAt: new Date(e.updatedAt).toISOString(),
        error: e.lastError ?? { code: 'failed', message: 'no reason recorded', retryable: true },
        nextAttemptAt: e.nextAttemptAt === undefined ? undefined : new Date(e.nextAttemptAt).toISOString(),
      }));
}

function rejectionsOf(problems: readonly AuditRecord[]): RejectionRow[] {
  const seen = new Set<string>();
  const rows: RejectionRow[] = [];
  for (const r of problems) {
    if (r.detailType !== DetailType.RecordingRejected || seen.has(r.recordingId)) continue;
    seen.add(r.recordingId);
    rows.push({
      recordingId: r.recordingId,
      meetingId: typeof r.data.meetingId === 'string' ? r.data.meetingId : undefined,
      topic: typeof r.data.topic === 'string' ? r.data.topic : undefined,
      course: r.course,
      time: r.time,
      reason: typeof r.data.reason === 'string' ? r.data.reason : 'rejected',
      explanation: rejectionExplanation(r),
    });
  }
  return rows.slice(0, RECENT_RECORDINGS);
}

/** Ranges are `since <= time < until`: include events of this very millisecond. */
const nextMs = (now: Date) => new Date(now.getTime() + 1).toISOString();
const startOfUtcDay = (ms: number) => new Date(Math.floor(ms / DAY_MS) * DAY_MS).toISOString();
