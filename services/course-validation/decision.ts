/**
 * The course-validation decision for one RecordingAvailable, as a pure function
 * (no I/O, no clock): is it a course meeting, which files go to the archive, under
 * which keys — or why nothing does. The use case turns it into events; tools and
 * tests call it directly.
 *
 * Files still processing: when some eligible files are ready, those are requested
 * and the others are only logged (Zoom sends recording.completed once processing
 * is over, so this is rare; a backfill re-drives them). When none is ready but some
 * would be eligible once done, the recording is rejected as `still_processing`,
 * which tells operators to re-drive it later.
 */
import type { RecordingAvailable, RecordingFile, RejectionReason } from '../../shared/events';
import { assignArchiveKeys, type KeyAssignment } from './archive-keys';
import type { ArchiverConfig } from './config';
import { explainNoMatch, matchCourse, type CourseMatch } from './course-matcher';
import { selectFiles, type FileSelection, type SkipReason, type SkippedFile } from './file-selection';

export interface AcceptedFile {
  file: RecordingFile;
  archiveKey: string;
}

export type Decision =
  | {
      outcome: 'accepted';
      match: CourseMatch;
      selection: FileSelection;
      keys: KeyAssignment;
      files: AcceptedFile[];
    }
  | {
      outcome: 'rejected';
      reason: RejectionReason;
      explanation: string;
      match?: CourseMatch;
      selection?: FileSelection;
    };

const MAX_EXPLANATION_CHARS = 2000;

export function decideRecording(recording: RecordingAvailable, config: ArchiverConfig): Decision {
  const match = matchCourse(recording, config.courses);
  if (!match) {
    return { outcome: 'rejected', reason: 'not_course_meeting', explanation: explainNoMatch(recording, config.courses) };
  }
  const selection = selectFiles(recording, config.files);
  if (selection.accepted.length === 0) {
    const stillProcessing = selection.pending.length > 0;
    return {
      outcome: 'rejected',
      reason: stillProcessing ? 'still_processing' : 'no_eligible_file',
      explanation: stillProcessing
        ? explainPending(selection, recording.files.length)
        : explainSkipped(selection.skipped, recording.files.length, config.files.minDurationSeconds),
      match,
      selection,
    };
  }
  const keys = assignArchiveKeys({ recording, match, files: selection.accepted, naming: config.naming });
  return {
    outcome: 'accepted',
    match,
    selection,
    keys,
    files: selection.accepted.map((file) => ({ file, archiveKey: keys.keys.get(file.fileId)! })),
  };
}

const describeFile = (file: RecordingFile) => (file.recordingType ? `${file.fileType} ${file.recordingType}` : file.fileType);

const REASON_LABELS: Record<SkipReason, string> = {
  file_type_not_selected: 'of a file type not selected',
  recording_type_not_selected: 'of a recording type not selected',
  too_short: 'too short',
  not_best_view: 'not the best view',
  duplicate_file: 'listed twice',
};

function explainSkipped(skipped: readonly SkippedFile[], total: number, minSeconds: number): string {
  if (total === 0) return 'the recording has no files';
  const groups = new Map<SkipReason, string[]>();
  for (const entry of skipped) {
    const label =
      entry.reason === 'too_short' && entry.durationSeconds !== undefined
        ? `${describeFile(entry.file)} ${Math.round(entry.durationSeconds)} s < ${minSeconds} s`
        : describeFile(entry.file);
    const list = groups.get(entry.reason) ?? [];
    if (!list.includes(label)) list.push(label);
    groups.set(entry.reason, list);
  }
  const parts = [...groups].map(([reason, labels]) => {
    const count = skipped.filter((entry) => entry.reason === reason).length;
    return `${count} ${REASON_LABELS[reason]} (${labels.join(', ')})`;
  });
  return clip(`no eligible file among ${total}: ${parts.join('; ')}`);
}

function explainPending(selection: FileSelection, total: number): string {
  const pending = selection.pending.map((file) => `${describeFile(file)} [${file.status ?? 'no status'}]`);
  return clip(`none of ${total} files is ready; ${selection.pending.length} eligible file(s) still processing: ${pending.join(', ')}`);
}

/** Keeps explanations short (they travel in events); cuts between code points. */
const clip = (text: string): string =>
  text.length <= MAX_EXPLANATION_CHARS ? text : `${Array.from(text).slice(0, MAX_EXPLANATION_CHARS - 1).join('')}…`;
