/**
 * A subscriber message as a Slack incoming-webhook message, `{"text": …}`: a few
 * lines a person can act on — what happened, to which course and file, where the file
 * is or why it is not, what happens next, and the command to look closer. Values from
 * events are escaped the way Slack asks (`&`, `<`, `>`), so a topic cannot mention
 * @channel or forge a link, and cut to a readable length.
 * https://docs.slack.dev/messaging/formatting-message-text#escaping
 */
import { formatBytes, formatUtcMinute } from '../../shared/format';
import { DetailType, parseDetail, type DetailOf, type DetailTypeName } from '../../shared/events';
import type { OutboxMessage } from '../../shared/ports/subscriber-outbox';

/** Slack's three control characters, escaped. */
export function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const cut = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);
/** Escaped, one line, at most `max` characters. */
const plain = (text: string, max = 200) => slackEscape(cut(text.replace(/\s+/g, ' ').trim(), max));
/** An inline code span (a backquote inside would end it). */
const code = (text: string, max = 160) => `\`${plain(text.replace(/`/g, "'"), max)}\``;
const bold = (text: string) => `*${plain(text.replace(/\*/g, ''), 64)}*`;

const size = formatBytes;
/** `2026-11-26 10:15 UTC`. */
const when = (iso: string): string => formatUtcMinute(iso) ?? plain(iso, 40);

const statusCommand = (recordingId: string) => code(`zoom-archiver status --recording ${recordingId}`, 200);
const forCourse = (course: string | undefined) => (course ? ` for ${bold(course)}` : '');
const lastSegment = (key: string) => key.split('/').pop() ?? key;

const REJECTIONS: Record<DetailOf<typeof DetailType.RecordingRejected>['reason'], string> = {
  not_course_meeting: 'not a course meeting',
  no_eligible_file: 'no eligible file',
  still_processing: 'still processing in Zoom (the next sweep looks again)',
};

function fileUploaded(d: DetailOf<typeof DetailType.FileUploaded>): string[] {
  const what = [d.fileType, d.recordingType].filter(Boolean).join(' ');
  const recorded = d.recordingStart ? `, recorded ${when(d.recordingStart)}` : '';
  return [
    `:white_check_mark: Archived${forCourse(d.course)}: ${plain(what, 80)}, ${size(d.size)}${recorded}`,
    `Where: ${code(d.location.uri, 300)}`,
    `File ${code(d.fileId, 80)} of recording ${code(d.recordingId, 80)}`,
  ];
}

function fileUploadFailed(d: DetailOf<typeof DetailType.FileUploadFailed>): string[] {
  const attempts = d.attempts > 0 ? ` after ${d.attempts} attempt${d.attempts === 1 ? '' : 's'}` : '';
  const name = d.archiveKey ? ` (${code(lastSegment(d.archiveKey), 120)})` : '';
  const retry = code(`zoom-archiver retry ${d.fileId}`, 200);
  const next = d.nextAttemptAt
    ? `an automatic attempt at ${when(d.nextAttemptAt)}.`
    : d.retryable
      ? `waits for ${retry}.`
      : `retrying as it is cannot help; fix the cause, then ${retry}.`;
  return [
    `:x: Not archived${forCourse(d.course)}: file ${code(d.fileId, 80)}${name} of recording ${code(d.recordingId, 80)}${attempts}`,
    `Reason: ${code(d.code, 40)} ${plain(d.reason, 300)}`,
    `Next: ${next}`,
    `Look closer: ${statusCommand(d.recordingId)}`,
  ];
}

function recordingArchived(d: DetailOf<typeof DetailType.RecordingArchived>): string[] {
  const total = d.files.reduce((sum, f) => sum + f.size, 0);
  const part = d.part.count > 1 ? ` (part ${d.part.index + 1} of ${d.part.count})` : '';
  return [
    `:package: Recording archived${forCourse(d.course)}: ${d.files.length} file${d.files.length === 1 ? '' : 's'}, ${size(total)}${part}`,
    `Recording ${code(d.recordingId, 80)}: ${statusCommand(d.recordingId)}`,
  ];
}

function recordingRejected(d: DetailOf<typeof DetailType.RecordingRejected>): string[] {
  return [
    `:no_entry_sign: Not archived${forCourse(d.course)}: "${plain(d.topic, 120)}" — ${REJECTIONS[d.reason]}`,
    plain(d.explanation, 300),
    `Recording ${code(d.recordingId, 80)}: ${statusCommand(d.recordingId)}`,
  ].filter(Boolean);
}

function reconciliationCompleted(d: DetailOf<typeof DetailType.ReconciliationCompleted>): string[] {
  const lines = [
    `:mag: ${d.trigger === 'sweep' ? 'Sweep' : 'Backfill'} of Zoom ${d.from} → ${d.to}: ${d.recordingsFound} recording(s) found, ${d.recordingsHandedOver} handed over, ${d.filesRequested} file(s) requested, ${d.filesAlreadyArchived} already archived, ${d.filesFailed} failed`,
  ];
  if (d.errors.length > 0) lines.push(`:warning: ${d.errors.length} window(s) could not be listed, e.g. ${code(d.errors[0]!.window, 60)} ${plain(d.errors[0]!.message, 200)}`);
  lines.push(`Look closer: ${statusCommand(`reconciliation:${d.runId}`)}`);
  return lines;
}

function recordingTrashed(d: DetailOf<typeof DetailType.RecordingTrashedInZoom> | DetailOf<typeof DetailType.RecordingWouldBeTrashed>, dryRun: boolean): string[] {
  const total = d.archivedFiles.reduce((sum, f) => sum + f.size, 0);
  const others = d.otherFiles.length > 0 ? `; ${d.otherFiles.length} unarchived file${d.otherFiles.length === 1 ? '' : 's'} (${[...new Set(d.otherFiles.map((f) => f.fileType))].join(', ')}) ${dryRun ? 'would go' : 'went'} with it` : '';
  return [
    dryRun
      ? `:eyes: Dry run${forCourse(d.course)}: "${plain(d.topic, 120)}" would now move to Zoom's trash — ${d.archivedFiles.length} file${d.archivedFiles.length === 1 ? '' : 's'}, ${size(total)} verified in the archive${others}. Nothing was deleted.`
      : `:wastebasket: Moved to Zoom's trash${forCourse(d.course)}: "${plain(d.topic, 120)}" — ${d.archivedFiles.length} file${d.archivedFiles.length === 1 ? '' : 's'}, ${size(total)} verified in the archive${others}. Zoom keeps its trash 30 days.`,
    `Recording ${code(d.recordingId, 80)}: ${statusCommand(d.recordingId)}`,
  ];
}

/** The Slack text of a message (any detail-type; an unexpected one gets a generic line). */
export function slackText(message: Pick<OutboxMessage, 'type' | 'data' | 'id'>): string {
  let lines: string[];
  try {
    const type = message.type as DetailTypeName;
    switch (type) {
      case DetailType.FileUploaded:
        lines = fileUploaded(parseDetail(type, message.data));
        break;
      case DetailType.FileUploadFailed:
        lines = fileUploadFailed(parseDetail(type, message.data));
        break;
      case DetailType.RecordingArchived:
        lines = recordingArchived(parseDetail(type, message.data));
        break;
      case DetailType.RecordingRejected:
        lines = recordingRejected(parseDetail(type, message.data));
        break;
      case DetailType.ReconciliationCompleted:
        lines = reconciliationCompleted(parseDetail(type, message.data));
        break;
      case DetailType.RecordingWouldBeTrashed:
        lines = recordingTrashed(parseDetail(type, message.data), true);
        break;
      case DetailType.RecordingTrashedInZoom:
        lines = recordingTrashed(parseDetail(type, message.data), false);
        break;
      default:
        lines = [`zoom-archiver: ${plain(message.type, 60)} (event ${code(message.id, 80)})`];
    }
  } catch {
    lines = [`zoom-archiver: ${plain(message.type, 60)} (event ${code(message.id, 80)}; its details did not match the contract)`];
  }
  return lines.join('\n');
}

/** The Slack incoming-webhook body. */
export function slackBody(message: Pick<OutboxMessage, 'type' | 'data' | 'id'>): string {
  return JSON.stringify({ text: slackText(message) });
}
