/**
 * Typed access to the Zoom payload fixtures under tests/fixtures/zoom/ (shaped like
 * the samples in Zoom's webhook reference, https://developers.zoom.us/docs/api/meetings/events/),
 * cloned per call so tests can modify them,
 * and a helper that signs a body the way Zoom does.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { signatureFor } from '../../services/webhook/signature';

export const ZOOM_FIXTURES = [
  'recording-completed',
  'recording-completed-multipart',
  'recording-completed-unicode',
  'recording-completed-not-course',
  'recording-transcript-completed',
  'recording-trashed',
  'url-validation',
] as const;
export type ZoomFixtureName = (typeof ZOOM_FIXTURES)[number];

/** The parts of a Zoom recording event the tests touch; the rest stays as loaded. */
export interface ZoomFixtureFile {
  id?: string;
  file_type: string;
  file_extension?: string;
  recording_type?: string;
  file_size?: number;
  recording_start?: string;
  recording_end?: string;
  download_url: string;
  status?: string;
  [key: string]: unknown;
}
export interface ZoomRecordingFixture {
  event: string;
  event_ts: number;
  download_token?: string;
  payload: {
    account_id: string;
    object: {
      uuid: string;
      id: number;
      topic: string;
      start_time: string;
      timezone?: string;
      duration: number;
      host_email?: string;
      recording_files: ZoomFixtureFile[];
      [key: string]: unknown;
    };
  };
}

const FIXTURE_DIR = join(__dirname, '..', 'fixtures', 'zoom');

export function loadZoomFixture(name: ZoomFixtureName): ZoomRecordingFixture {
  return JSON.parse(readFileSync(join(FIXTURE_DIR, `${name}.json`), 'utf8')) as ZoomRecordingFixture;
}

/** A recording.completed with `count` MP4 files, for size and speed tests. */
/** A recording.completed with `count` MP4s; `urlPadding` lengthens each download URL (bigger events). */
export function recordingWithFiles(count: number, urlPadding = 120): ZoomRecordingFixture {
  const fixture = loadZoomFixture('recording-completed');
  const template = fixture.payload.object.recording_files[0]!;
  fixture.payload.object.recording_files = Array.from({ length: count }, (_, i) => ({
    ...template,
    id: `${template.id}-${String(i).padStart(4, '0')}`,
    download_url: `https://ssrweb.zoom.us/rec/download/${'X'.repeat(urlPadding)}-${i}?fid=${i}`,
    play_url: `https://ssrweb.zoom.us/rec/play/${'Y'.repeat(120)}-${i}`,
  }));
  return fixture;
}

export interface SignedHeaders {
  'content-type': string;
  'x-zm-request-timestamp': string;
  'x-zm-signature': string;
  [name: string]: string;
}

/** Headers Zoom would send for `body`, signed with `secret` at `nowSeconds`. */
export function signedHeaders(body: Buffer | string, secret: string, nowSeconds = Math.floor(Date.now() / 1000)): SignedHeaders {
  const timestamp = String(nowSeconds);
  return {
    'content-type': 'application/json; charset=utf-8',
    'x-zm-request-timestamp': timestamp,
    'x-zm-signature': signatureFor(secret, timestamp, body),
  };
}

/** The event an EventBridge schedule rule sends its target at `time` (epoch ms). */
export function scheduledEvent(time: number, ruleName: string) {
  return {
    version: '0',
    id: `sched-${time}`,
    'detail-type': 'Scheduled Event' as const,
    source: 'aws.events' as const,
    account: '123456789012',
    time: new Date(time).toISOString(),
    region: 'eu-west-1',
    resources: [`arn:aws:events:eu-west-1:123456789012:rule/${ruleName}`],
    detail: {},
  };
}
