/**
 * Gives every accepted file of a recording its archive key. Keys are a pure
 * function of the event, so a retried or duplicated delivery yields the same keys
 * and a retry finds its own object (same bytes: archived) instead of duplicating.
 *
 * Two files of one recording never share a key:
 * - by construction: {part} numbers the files of one file type and recording type
 *   by start time (counting every such file in the event, eligible or not, so a
 *   changed minimum duration does not renumber them), and the template must tell
 *   file types apart (checked at start-up);
 * - by a final check: files whose keys still collide (a custom template without
 *   {part}) all get `_<8 hex of SHA-256(fileId)>` before the extension (longer
 *   digests if even those collide). Every member of the collision gets a suffix,
 *   so a file's key does not depend on which other file happens to sort first.
 *
 * A recording split over several RecordingAvailable parts (only past ~600 files,
 * beyond Zoom's 150 per session) cannot be numbered from one part, because no part
 * sees every file: {part} then renders a digest of the file id instead of an index.
 */
import { IANAZone } from 'luxon';
import type { RecordingAvailable, RecordingFile } from '../../shared/events';
import type { NamingRules, TimeZoneOption } from './config';
import type { CourseMatch } from './course-matcher';
import { extensionOf, renderKey, shortDigest, type KeyFields } from './key-template';
import { sanitizeKey } from './key-sanitizer';

export interface ResolvedZone {
  zone: string;
  /** True when 'meeting' was asked for but the recording had no usable zone. */
  fellBack: boolean;
}

export interface KeyAssignment {
  /** fileId → archive key, for the files passed in. */
  keys: Map<string, string>;
  zone: ResolvedZone;
  /** Files whose key needed a digest suffix to stay unique. */
  disambiguated: string[];
}

type KeyedRecording = Pick<RecordingAvailable, 'recordingId' | 'meetingId' | 'topic' | 'startTime' | 'timezone' | 'files' | 'part'>;

export function resolveZone(option: TimeZoneOption, meetingZone: string | undefined): ResolvedZone {
  if (option.kind === 'utc') return { zone: 'UTC', fellBack: false };
  if (option.kind === 'fixed') return { zone: option.zone, fellBack: false };
  if (meetingZone && IANAZone.isValidZone(meetingZone)) return { zone: meetingZone, fellBack: false };
  return { zone: 'UTC', fellBack: true };
}

export function assignArchiveKeys(input: {
  recording: KeyedRecording;
  match: CourseMatch;
  files: readonly RecordingFile[];
  naming: NamingRules;
}): KeyAssignment {
  const { recording, match, files, naming } = input;
  const zone = resolveZone(naming.timeZone, recording.timezone);
  const parts = recording.part.count > 1 ? undefined : partNumbers(recording.files);

  const fieldsFor = (file: RecordingFile, disambiguator?: string): KeyFields => ({
    course: match.course,
    topic: match.topicLabel,
    fullTopic: recording.topic,
    meetingId: recording.meetingId,
    recordingId: recording.recordingId,
    fileId: file.fileId,
    recordingType: file.recordingType,
    fileType: file.fileType,
    fileExtension: file.fileExtension,
    start: recording.startTime,
    fileStart: file.recordingStart,
    zone: zone.zone,
    part: parts?.get(file.fileId) ?? { digest: shortDigest(file.fileId) },
    disambiguator,
  });

  const ordered = [...files].sort((a, b) => compare(a.fileId, b.fileId));
  const keys = new Map(ordered.map((file) => [file.fileId, renderKey(naming.template, fieldsFor(file))]));
  const disambiguated = new Set<string>();
  for (const length of [8, 16, 64]) {
    const colliding = collisions(keys);
    if (colliding.size === 0) break;
    for (const file of ordered) {
      if (!colliding.has(file.fileId)) continue;
      keys.set(file.fileId, renderKey(naming.template, fieldsFor(file, shortDigest(file.fileId, length))));
      disambiguated.add(file.fileId);
    }
  }
  // Only a template whose file name is cut before its suffix can get here: fall back to the file's digest.
  for (const fileId of collisions(keys)) {
    const file = ordered.find((candidate) => candidate.fileId === fileId)!;
    const folder = keys.get(fileId)!.split('/').slice(0, -1).join('/');
    keys.set(fileId, sanitizeKey(`${folder}/${shortDigest(fileId, 64)}.${extensionOf(file)}`));
  }
  if (collisions(keys).size > 0) throw new Error('archive keys of one recording collide after disambiguation');
  return { keys, zone, disambiguated: [...disambiguated] };
}

/** 1-based index per (file type, recording type), ordered by recording start then file id. */
function partNumbers(files: readonly RecordingFile[]): Map<string, { index: number; count: number }> {
  const groups = new Map<string, RecordingFile[]>();
  const seen = new Set<string>();
  for (const file of files) {
    if (seen.has(file.fileId)) continue;
    seen.add(file.fileId);
    const group = `${file.fileType.toUpperCase()}\n${file.recordingType ?? ''}`;
    groups.set(group, [...(groups.get(group) ?? []), file]);
  }
  const numbers = new Map<string, { index: number; count: number }>();
  for (const group of groups.values()) {
    group.sort((a, b) => startMs(a) - startMs(b) || compare(a.fileId, b.fileId));
    group.forEach((file, i) => numbers.set(file.fileId, { index: i + 1, count: group.length }));
  }
  return numbers;
}

const startMs = (file: RecordingFile): number => {
  const ms = file.recordingStart ? Date.parse(file.recordingStart) : NaN;
  return Number.isNaN(ms) ? -Infinity : ms;
};

/** Code-unit order, independent of the runtime's locale. */
const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function collisions(keys: ReadonlyMap<string, string>): Set<string> {
  const byKey = new Map<string, string[]>();
  for (const [fileId, key] of keys) byKey.set(key, [...(byKey.get(key) ?? []), fileId]);
  return new Set([...byKey.values()].filter((ids) => ids.length > 1).flat());
}
