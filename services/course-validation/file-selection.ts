/**
 * Chooses which files of a course recording go to the archive. A file is
 * eligible when its type is selected, its recording type is allowed, and it lasts
 * at least the minimum; with "best view only", per file type, only the
 * best-ranked recording type present among the eligible files is kept (all its
 * parts), and recording types missing from the preference list rank last — so a
 * file type none of whose views is listed (M4A audio_only next to a list of video
 * views, CC without a recording type) is kept whole.
 *
 * Readiness is judged last: a file without status (CC, TIMELINE) counts as
 * completed; an eligible file with another status is "pending". Ranking includes
 * pending files, so a lesser view is not uploaded in place of a best view that is
 * still processing.
 *
 * Duration comes from the file's own recording_start/recording_end; only a file
 * without both falls back to the meeting's duration. Zoom has a known bug of
 * duration 0 in recording webhooks, so a meeting duration of 0 counts as unknown,
 * as does a file that ends before it starts; an unknown duration never rejects a
 * file.
 */
import type { RecordingAvailable, RecordingFile } from '../../shared/events';
import type { FileRules } from './config';

export type SkipReason = 'file_type_not_selected' | 'recording_type_not_selected' | 'too_short' | 'not_best_view' | 'duplicate_file';

export interface SkippedFile {
  file: RecordingFile;
  reason: SkipReason;
  /** Duration in seconds when known (too_short), for explanations. */
  durationSeconds?: number;
}

export interface FileSelection {
  /** Eligible and ready: one FileUploadRequested each, in the event's order. */
  accepted: RecordingFile[];
  /** Eligible but not completed yet. */
  pending: RecordingFile[];
  skipped: SkippedFile[];
}

type SelectionInput = Pick<RecordingAvailable, 'files' | 'durationMinutes'>;

export function selectFiles(recording: SelectionInput, rules: FileRules): FileSelection {
  const skipped: SkippedFile[] = [];
  const candidates: RecordingFile[] = [];
  const seen = new Set<string>();
  for (const file of recording.files) {
    if (seen.has(file.fileId)) {
      skipped.push({ file, reason: 'duplicate_file' });
      continue;
    }
    seen.add(file.fileId);
    if (!rules.fileTypes.has(file.fileType.toUpperCase())) {
      skipped.push({ file, reason: 'file_type_not_selected' });
      continue;
    }
    if (rules.recordingTypes && file.recordingType !== undefined && !rules.recordingTypes.has(file.recordingType)) {
      skipped.push({ file, reason: 'recording_type_not_selected' });
      continue;
    }
    const durationSeconds = fileDurationSeconds(file, recording.durationMinutes);
    if (durationSeconds !== undefined && durationSeconds < rules.minDurationSeconds) {
      skipped.push({ file, reason: 'too_short', durationSeconds });
      continue;
    }
    candidates.push(file);
  }

  const kept = rules.bestViewOnly ? keepBestView(candidates, rules.bestViewOnly, skipped) : candidates;
  return {
    accepted: kept.filter(isReady),
    pending: kept.filter((file) => !isReady(file)),
    skipped,
  };
}

export function isReady(file: RecordingFile): boolean {
  return file.status === undefined || file.status.toLowerCase() === 'completed';
}

/** Seconds between the file's start and end; else the meeting's duration; undefined when unknown. */
export function fileDurationSeconds(file: RecordingFile, meetingMinutes: number | undefined): number | undefined {
  if (file.recordingStart && file.recordingEnd) {
    const seconds = (Date.parse(file.recordingEnd) - Date.parse(file.recordingStart)) / 1000;
    if (Number.isFinite(seconds) && seconds >= 0) return seconds;
  }
  if (!file.recordingStart || !file.recordingEnd) {
    if (meetingMinutes !== undefined && meetingMinutes > 0) return meetingMinutes * 60;
  }
  return undefined;
}

function keepBestView(files: RecordingFile[], preference: readonly string[], skipped: SkippedFile[]): RecordingFile[] {
  const rank = (file: RecordingFile) => {
    const index = file.recordingType === undefined ? -1 : preference.indexOf(file.recordingType);
    return index === -1 ? preference.length : index;
  };
  const bestByType = new Map<string, number>();
  for (const file of files) {
    const type = file.fileType.toUpperCase();
    bestByType.set(type, Math.min(bestByType.get(type) ?? Infinity, rank(file)));
  }
  return files.filter((file) => {
    if (rank(file) === bestByType.get(file.fileType.toUpperCase())) return true;
    skipped.push({ file, reason: 'not_best_view' });
    return false;
  });
}
