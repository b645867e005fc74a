/**
 * The check made at the moment a recording would go to Zoom's trash, written once for
 * the clean-up run, the dry run and the `cleanup` command. It reads, and changes
 * nothing:
 *
 * 1. Zoom's recording again (GET /meetings/{uuid}/recordings): what Zoom holds now —
 *    every part, a transcript that came late — not what an event said a day ago. No
 *    recording there: `gone`.
 * 2. The course rules (decideRecording, the function course validation runs, on every
 *    part): a recording that is not a course's or has no eligible file is rejected,
 *    and a rejected recording is never trashed; nor one of a course in
 *    `cleanup.exceptCourses`.
 * 3. The ledger, read consistently, for every file the rules select: each must be
 *    `uploaded` with its checksum recorded. A file failed, still uploading, not asked
 *    for yet, or still processing at Zoom: `hold` — a later RecordingArchived
 *    schedules the recording again.
 * 4. The archive itself, when given: every verified file's object is there with the
 *    size the ledger recorded (the SHA-256 was verified when it was written, and the
 *    archive never overwrites). An object missing or of another size: `hold`, loudly.
 * Only then `trash`, with the verified files and the files that go to the trash
 * unarchived (the rules did not select them: audio, chat, ...).
 */
import type { ArchiveLocation, Checksum } from '../../shared/events';
import type { ArchiveStore } from '../../shared/ports/archive-store';
import type { UploadLedger } from '../../shared/ports/upload-ledger';
import type { ZoomTrashApi } from '../../shared/ports/zoom-api';
import { normalizeListedRecording } from '../../shared/zoom/normalize';
import type { ZoomRecordingObject } from '../../shared/zoom/recording';
import type { ArchiverConfig } from '../course-validation/config';
import { decideRecording } from '../course-validation/decision';

export interface VerifiedFile {
  fileId: string;
  location: ArchiveLocation;
  size: number;
  checksum: Checksum;
}

export interface UnarchivedFile {
  fileId: string;
  fileType: string;
  recordingType?: string;
  fileSize?: number;
}

export interface RecordingFacts {
  recordingId: string;
  meetingId: string;
  topic: string;
  startTime: string;
  course?: string;
}

export type Verdict =
  | { kind: 'trash'; facts: RecordingFacts & { course: string }; archivedFiles: VerifiedFile[]; otherFiles: UnarchivedFile[] }
  /** Not now: something is not archived yet (or failed); a later RecordingArchived brings it back. */
  | { kind: 'hold'; facts?: RecordingFacts; reason: string }
  /** Never, as things stand: rejected by the rules, or its course is excepted. */
  | { kind: 'never'; facts?: RecordingFacts; reason: string }
  /** Zoom has no such recording (trashed or deleted). */
  | { kind: 'gone' };

export interface VerdictDeps {
  zoom: Pick<ZoomTrashApi, 'getRecording'>;
  ledger: Pick<UploadLedger, 'get'>;
  /** Checked last (see 4.); absent: the ledger's record is trusted. */
  archive?: Pick<ArchiveStore, 'head'>;
  rules: ArchiverConfig;
  now: () => Date;
}

/** Most files named in one reason; the rest are counted. */
const NAMED_FILES = 3;

export async function judgeRecording(recordingId: string, deps: VerdictDeps, signal?: AbortSignal): Promise<Verdict> {
  const object = await deps.zoom.getRecording(recordingId, { signal });
  if (!object) return { kind: 'gone' };
  return judgeObject(object, deps);
}

export async function judgeObject(object: ZoomRecordingObject, deps: Omit<VerdictDeps, 'zoom'>): Promise<Verdict> {
  const parts = normalizeListedRecording(object, { trigger: 'sweep', causationId: `cleanup:${object.uuid}`, receivedAt: deps.now() });
  const facts: RecordingFacts = { recordingId: object.uuid, meetingId: String(object.id), topic: object.topic, startTime: object.start_time };
  const decisions = parts.map((part) => decideRecording(part, deps.rules));
  const withCourse = { ...facts, course: decisions.find((decision) => decision.match)?.match?.course };

  const acceptedParts = decisions.flatMap((decision) => (decision.outcome === 'accepted' ? [decision] : []));
  const accepted = acceptedParts.flatMap((decision) => decision.files);
  const pending = decisions.flatMap((decision) => decision.selection?.pending ?? []);
  if (acceptedParts.length === 0) {
    if (pending.length > 0) return { kind: 'hold', facts: withCourse, reason: `${describeFiles(pending.map((f) => f.fileId))} still processing at Zoom` };
    const rejection = decisions.find((decision) => decision.outcome === 'rejected');
    const why = rejection?.outcome === 'rejected' ? `${rejection.reason}: ${rejection.explanation}` : 'no file is selected';
    return { kind: 'never', facts: withCourse, reason: `rejected by the course rules (${why}); a rejected recording is never trashed` };
  }
  // An accepted part always has its course match.
  const course = acceptedParts[0]!.match.course;
  if (deps.rules.cleanup.exceptCourses.has(course)) {
    return { kind: 'never', facts: withCourse, reason: `course ${course} is in cleanup.exceptCourses: its recordings stay in Zoom` };
  }
  if (pending.length > 0) return { kind: 'hold', facts: withCourse, reason: `${describeFiles(pending.map((f) => f.fileId))} still processing at Zoom` };

  const archivedFiles: VerifiedFile[] = [];
  const failed: string[] = [];
  const inFlight: string[] = [];
  const unknown: string[] = [];
  for (const { file } of accepted) {
    const entry = await deps.ledger.get(file.fileId);
    if (!entry) unknown.push(file.fileId);
    else if (entry.state === 'failed') failed.push(`${file.fileId} (${entry.lastError?.code ?? 'failed'})`);
    else if (entry.state !== 'uploaded' || !entry.result) inFlight.push(file.fileId);
    else archivedFiles.push({ fileId: file.fileId, location: entry.result.location, size: entry.result.size, checksum: entry.result.checksum });
  }
  if (failed.length > 0) return { kind: 'hold', facts: withCourse, reason: `${describeFiles(failed)} failed: nothing is trashed until every selected file is archived` };
  if (inFlight.length > 0) return { kind: 'hold', facts: withCourse, reason: `${describeFiles(inFlight)} not archived yet (uploading or waiting)` };
  if (unknown.length > 0) return { kind: 'hold', facts: withCourse, reason: `${describeFiles(unknown)} not in the ledger: never requested (a sweep or backfill asks for it)` };
  if (deps.archive) {
    const missing: string[] = [];
    for (const file of archivedFiles) {
      const info = await deps.archive.head(file.location.key);
      if (!info || info.size !== file.size) missing.push(`${file.fileId} (${info ? `holds ${info.size} bytes, the ledger recorded ${file.size}` : 'no object'} at ${file.location.uri})`);
    }
    if (missing.length > 0) return { kind: 'hold', facts: withCourse, reason: `the archive does not hold what the ledger recorded for ${describeFiles(missing)}: not trashed` };
  }

  const selected = new Set(accepted.map(({ file }) => file.fileId));
  const seen = new Set<string>();
  const otherFiles: UnarchivedFile[] = [];
  for (const part of parts) {
    for (const file of part.files) {
      if (selected.has(file.fileId) || seen.has(file.fileId)) continue;
      seen.add(file.fileId);
      otherFiles.push({ fileId: file.fileId, fileType: file.fileType, recordingType: file.recordingType, fileSize: file.fileSize });
    }
  }
  return { kind: 'trash', facts: { ...facts, course }, archivedFiles, otherFiles };
}

function describeFiles(ids: readonly string[]): string {
  const named = ids.slice(0, NAMED_FILES).join(', ');
  const more = ids.length > NAMED_FILES ? ` and ${ids.length - NAMED_FILES} more` : '';
  return `${ids.length === 1 ? 'file' : 'files'} ${named}${more}`;
}
