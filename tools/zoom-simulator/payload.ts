/**
 * Zoom-shaped recording objects for the simulator: the webhook body of
 * recording.completed (Zoom's webhook reference,
 * https://developers.zoom.us/docs/api/meetings/events/) and the recording object the
 * REST API returns (https://developers.zoom.us/docs/api/), built from a short spec
 * with realistic defaults (a course meeting with one MP4).
 */
import { randomBytes, randomUUID } from 'node:crypto';

export interface SimulatedFileSpec {
  /** Zoom's file id; omitted from the payload for CC and TIMELINE, as Zoom does. Default: a random UUID. */
  fileId?: string;
  /** MP4 (default), M4A, TRANSCRIPT, CHAT, CC, TIMELINE, CSV, SUMMARY. */
  fileType?: string;
  recordingType?: string;
  /** Bytes of generated content. Default 1 MiB + 4321 (not a multiple of anything). */
  size?: number;
  /** Serve these bytes instead of generated ones (size is then their length). */
  content?: Buffer | string;
  recordingStart?: string;
  recordingEnd?: string;
  /**
   * `processing`: Zoom is still working on the file; the API lists it with
   * `status: 'processing'` (downloads still work). Default `completed`. CC and
   * TIMELINE files carry no status either way. The simulator's setFileStatus changes it.
   */
  status?: ZoomFileStatus;
}

export type ZoomFileStatus = 'completed' | 'processing';

export interface SimulatedRecordingSpec {
  /** Meeting instance UUID. Default: random, Zoom-shaped (base64 of 16 bytes; may contain `/` and `+`). */
  uuid?: string;
  meetingId?: number;
  topic?: string;
  startTime?: string;
  durationMinutes?: number;
  timezone?: string;
  hostId?: string;
  hostEmail?: string;
  files?: SimulatedFileSpec[];
  /** Lifetime of the webhook download_token from now, in seconds; 0 or less gives an expired token. Default 86400. */
  downloadTokenTtlSeconds?: number;
}

export interface ZoomRecordingFilePayload {
  id?: string;
  meeting_id: string;
  recording_start: string;
  recording_end: string;
  file_type: string;
  file_extension: string;
  file_size?: number;
  play_url?: string;
  download_url: string;
  file_path: string;
  status?: string;
  recording_type?: string;
}

export interface ZoomRecordingObjectPayload {
  id: number;
  uuid: string;
  host_id: string;
  account_id: string;
  topic: string;
  type: number;
  start_time: string;
  timezone?: string;
  host_email: string;
  duration: number;
  total_size: number;
  recording_count: number;
  share_url: string;
  password: string;
  recording_files: ZoomRecordingFilePayload[];
}

export interface ZoomRecordingEventPayload {
  event: string;
  event_ts: number;
  payload: { account_id: string; object: ZoomRecordingObjectPayload };
  download_token: string;
}

/** Defaults per file type: extension, recording type, and whether Zoom sends id/size/status. */
const FILE_TYPES: Record<string, { extension: string; recordingType?: string; contentType: string }> = {
  MP4: { extension: 'MP4', recordingType: 'shared_screen_with_speaker_view', contentType: 'video/mp4' },
  M4A: { extension: 'M4A', recordingType: 'audio_only', contentType: 'audio/mp4' },
  TRANSCRIPT: { extension: 'VTT', recordingType: 'audio_transcript', contentType: 'application/octet-stream' },
  CHAT: { extension: 'TXT', recordingType: 'chat_file', contentType: 'application/octet-stream' },
  CC: { extension: 'VTT', contentType: 'application/octet-stream' },
  TIMELINE: { extension: 'JSON', contentType: 'application/octet-stream' },
  CSV: { extension: 'CSV', recordingType: 'poll', contentType: 'application/octet-stream' },
  SUMMARY: { extension: 'JSON', recordingType: 'summary', contentType: 'application/octet-stream' },
};
const ID_LESS_TYPES = new Set(['CC', 'TIMELINE']);

const DEFAULT_FILE_SIZE = 1024 * 1024 + 4321;
const DEFAULT_TOPIC = '[MAQ101] Maqam Bayati — lesson 3';

export interface ResolvedFile {
  /** The simulator's key for the file: Zoom's id, or a generated one for id-less types. */
  fileId: string;
  fileType: string;
  size: number;
  content?: Buffer;
  contentType: string;
  payload: Omit<ZoomRecordingFilePayload, 'download_url' | 'play_url'>;
}

export interface ResolvedRecording {
  uuid: string;
  object: Omit<ZoomRecordingObjectPayload, 'recording_files' | 'share_url'>;
  files: ResolvedFile[];
}

/** Fills a spec's defaults; URLs are added by the simulator, which knows its address. */
export function resolveRecording(spec: SimulatedRecordingSpec, accountId: string): ResolvedRecording {
  // A Zoom meeting UUID: base64 of 16 random bytes.
  const uuid = spec.uuid ?? randomBytes(16).toString('base64');
  const startTime = spec.startTime ?? '2021-07-13T21:44:51Z';
  const durationMinutes = spec.durationMinutes ?? 60;
  const startMs = Date.parse(startTime);
  const defaultStart = new Date(startMs + 6_000).toISOString().replace('.000Z', 'Z');
  const defaultEnd = new Date(startMs + durationMinutes * 60_000).toISOString().replace('.000Z', 'Z');
  const files = (spec.files ?? [{}]).map((file): ResolvedFile => {
    const fileType = (file.fileType ?? 'MP4').toUpperCase();
    const defaults = FILE_TYPES[fileType];
    const content = file.content === undefined ? undefined : Buffer.from(file.content);
    const size = content?.length ?? file.size ?? DEFAULT_FILE_SIZE;
    const idLess = ID_LESS_TYPES.has(fileType);
    const fileId = file.fileId ?? randomUUID();
    return {
      fileId,
      fileType,
      size,
      content,
      contentType: defaults?.contentType ?? 'application/octet-stream',
      payload: {
        ...(idLess ? {} : { id: fileId }),
        meeting_id: uuid,
        recording_start: file.recordingStart ?? defaultStart,
        recording_end: file.recordingEnd ?? defaultEnd,
        file_type: fileType,
        file_extension: defaults?.extension ?? fileType,
        ...(idLess ? {} : { file_size: size, status: file.status ?? 'completed' }),
        ...(idLess || !(file.recordingType ?? defaults?.recordingType) ? {} : { recording_type: file.recordingType ?? defaults?.recordingType }),
        file_path: '',
      },
    };
  });
  const hostId = spec.hostId ?? 'x1yCzABCDEfg23HiJKl4mN';
  return {
    uuid,
    files,
    object: {
      id: spec.meetingId ?? 1234567890,
      uuid,
      host_id: hostId,
      account_id: accountId,
      topic: spec.topic ?? DEFAULT_TOPIC,
      type: 8,
      start_time: startTime,
      timezone: spec.timezone ?? 'America/Los_Angeles',
      host_email: spec.hostEmail ?? 'teacher@example.com',
      duration: durationMinutes,
      total_size: files.reduce((sum, file) => sum + file.size, 0),
      recording_count: files.length,
      password: '',
    },
  };
}
