/**
 * Turns a verified Zoom recording payload into our RecordingAvailable event(s).
 * Keeps every field later steps need, gives id-less files (CC, TIMELINE) a stable
 * derived id, seals the download token, and splits a recording whose event would
 * exceed the bus's size limit into parts by files (Zoom's maximum of 150 files per
 * session fits in one event with a wide margin; parts exist so that no signed
 * delivery is ever unpublishable).
 */
import { createHash, randomUUID } from 'node:crypto';
import { decodeJwt } from 'jose';
import {
  DetailType,
  MAX_DETAIL_BYTES,
  SCHEMA_VERSIONS,
  startMetadata,
  type DownloadAccess,
  type RecordingAvailable,
  type RecordingFile,
} from '../events';
import type { TokenSealer } from '../crypto/token-seal';
import type { RecordingPayload, ZoomRecordingFile } from './recording';

export interface NormalizeInput {
  trigger: RecordingAvailable['trigger'];
  payload: RecordingPayload;
  eventTs: number | undefined;
  downloadToken: string | undefined;
  receivedAt: Date;
  correlationId: string;
  causationId: string;
}

/** `sealer` is needed only when the input carries a download token (the webhook's). */
export function normalizeRecording(input: NormalizeInput, sealer?: TokenSealer): RecordingAvailable[] {
  const { object } = input.payload;
  const files = assignFileIds(object.uuid, object.recording_files);
  const base: Omit<RecordingAvailable, 'metadata' | 'part' | 'files'> = {
    trigger: input.trigger,
    recordingId: object.uuid,
    meetingId: String(object.id),
    accountId: input.payload.account_id ?? object.account_id,
    hostId: object.host_id,
    hostEmail: object.host_email,
    topic: object.topic,
    meetingType: object.type,
    startTime: object.start_time,
    timezone: object.timezone,
    durationMinutes: object.duration,
    zoomEventTime: input.eventTs === undefined ? undefined : safeIso(input.eventTs),
    receivedAt: input.receivedAt.toISOString(),
    fileCount: files.length,
    downloadAccess: input.downloadToken ? sealDownloadToken(input.downloadToken, sealer) : undefined,
  };
  const groups = splitBySize(base, files);
  return groups.map((group, index) => ({
    metadata: partMetadata(input, object.uuid, index, groups.length),
    ...base,
    part: { index, count: groups.length },
    files: group,
  }));
}

/**
 * A recording Zoom's REST API listed (no webhook: no event time, no download token),
 * normalized as the webhook would, for the reconciler and the clean-up's check.
 */
export function normalizeListedRecording(object: RecordingPayload['object'], context: { trigger: RecordingAvailable['trigger']; causationId: string; receivedAt: Date }): RecordingAvailable[] {
  return normalizeRecording({
    trigger: context.trigger,
    payload: { account_id: object.account_id, object },
    eventTs: undefined,
    downloadToken: undefined,
    receivedAt: context.receivedAt,
    correlationId: randomUUID(),
    causationId: context.causationId,
  });
}

function partMetadata(input: NormalizeInput, uuid: string, index: number, count: number): RecordingAvailable['metadata'] {
  return startMetadata({
    schemaVersion: SCHEMA_VERSIONS[DetailType.RecordingAvailable],
    correlationId: input.correlationId,
    causationId: input.causationId,
    // The same recording announced again (duplicate or retried delivery) has the same key.
    idempotencyKey: `${input.trigger}:${uuid}:${index}/${count}`,
  });
}

function toRecordingFile(file: ZoomRecordingFile, fileId: string, idSource: RecordingFile['idSource']): RecordingFile {
  return {
    fileId,
    idSource,
    fileType: file.file_type,
    fileExtension: file.file_extension,
    recordingType: file.recording_type,
    fileSize: file.file_size,
    recordingStart: file.recording_start,
    recordingEnd: file.recording_end,
    downloadUrl: file.download_url,
    status: file.status,
  };
}

/**
 * Zoom's id where present; otherwise `derived-` + a hash of meeting UUID, file type
 * and times, so the same file gets the same id in every delivery. Files that would
 * still collide (same type and times) are told apart by their order in the payload.
 */
export function assignFileIds(uuid: string, files: readonly ZoomRecordingFile[]): RecordingFile[] {
  const seen = new Map<string, number>();
  return files.map((file) => {
    if (file.id) return toRecordingFile(file, file.id, 'zoom');
    const digest = createHash('sha256')
      .update([uuid, file.file_type, file.recording_type ?? '', file.recording_start ?? '', file.recording_end ?? ''].join('\n'))
      .digest('hex')
      .slice(0, 32);
    const occurrence = (seen.get(digest) ?? 0) + 1;
    seen.set(digest, occurrence);
    const fileId = occurrence === 1 ? `derived-${digest}` : `derived-${digest}-${occurrence}`;
    return toRecordingFile(file, fileId, 'derived');
  });
}

function sealDownloadToken(token: string, sealer: TokenSealer | undefined): DownloadAccess {
  if (!sealer) throw new Error('normalizeRecording: a download token needs a sealer');
  let expiresAt: string | undefined;
  try {
    const { exp } = decodeJwt(token);
    if (typeof exp === 'number') expiresAt = safeIso(exp * 1000);
  } catch {
    // Not a JWT we can read: the uploader will try it and fall back to OAuth on 401.
  }
  return { sealedToken: sealer.seal(token), expiresAt };
}

function safeIso(ms: number): string | undefined {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

const utf8Length = (value: unknown) => Buffer.byteLength(JSON.stringify(value), 'utf8');

/** Greedy split of the files so that each part's detail stays under MAX_DETAIL_BYTES. */
function splitBySize(base: object, files: RecordingFile[]): RecordingFile[][] {
  // Fixed part of every detail: base fields plus room for metadata and part counters.
  const overhead = utf8Length(base) + 1024;
  if (overhead + utf8Length(files) <= MAX_DETAIL_BYTES) return [files];
  const groups: RecordingFile[][] = [];
  let current: RecordingFile[] = [];
  let size = overhead;
  for (const file of files) {
    const fileSize = utf8Length(file) + 1;
    if (current.length > 0 && size + fileSize > MAX_DETAIL_BYTES) {
      groups.push(current);
      current = [];
      size = overhead;
    }
    current.push(file);
    size += fileSize;
  }
  groups.push(current);
  return groups;
}
