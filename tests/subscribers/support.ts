/**
 * Helpers for the subscriber tests: secrets, sample event details as the pipeline
 * publishes them, resolved subscriber configurations, and a real HTTP subscriber on
 * 127.0.0.1 that answers from a script and records every request.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArchiverConfig } from '../../services/course-validation/config';
import { resolveSubscribers, type SubscriberConfig, type SubscriberEntry } from '../../services/subscribers/config';
import { DetailType, SCHEMA_VERSIONS, type FileUploaded, type FileUploadFailed } from '../../shared/events';

export const newSecret = () => `whsec_${randomBytes(32).toString('base64')}`;

const metadata = (type: keyof typeof SCHEMA_VERSIONS, key: string) => ({ schemaVersion: SCHEMA_VERSIONS[type], correlationId: 'corr-1', causationId: 'cause-1', idempotencyKey: key });

export function fileUploaded(overrides: Partial<FileUploaded> = {}): FileUploaded {
  return {
    metadata: metadata(DetailType.FileUploaded, 'uploaded:F1') as FileUploaded['metadata'],
    recordingId: 'Rec/UUID==',
    fileId: 'F1',
    course: 'MAQ101',
    fileType: 'MP4',
    recordingType: 'shared_screen_with_speaker_view',
    recordingStart: '2026-11-26T18:00:00Z',
    location: { kind: 's3', container: 'archive', key: 'courses/MAQ101/2026-11-26/lesson.mp4', uri: 's3://archive/courses/MAQ101/2026-11-26/lesson.mp4' },
    size: 100_663_296,
    checksum: { algorithm: 'sha256', value: 'a'.repeat(64) },
    transferMs: 1200,
    attempts: 1,
    ...overrides,
  };
}

export function fileUploadFailed(overrides: Partial<FileUploadFailed> = {}): FileUploadFailed {
  return {
    metadata: metadata(DetailType.FileUploadFailed, 'failed:F2') as FileUploadFailed['metadata'],
    recordingId: 'Rec/UUID==',
    fileId: 'F2',
    course: 'MAQ101',
    archiveKey: 'courses/MAQ101/2026-11-26/2026-11-26_1800_Maqam <Bayati> & co_gallery_view.mp4',
    code: 'download_failed',
    reason: 'Zoom answered 503 <Service Unavailable> & gave up',
    retryable: true,
    attempts: 5,
    ...overrides,
  };
}

/** Subscribers as the runtime gets them: through the archiver config's schema and resolveSubscribers. */
export function subscribers(entries: SubscriberEntry[], env: Record<string, string> = {}): readonly SubscriberConfig[] {
  return resolveSubscribers(parseArchiverConfig({ subscribers: entries }, 'test config'), env);
}

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

export interface TestSubscriber {
  url: string;
  port: number;
  requests: RecordedRequest[];
  /** How the next requests are answered (each answer once, then `then`). */
  answer(handler: (request: RecordedRequest, response: ServerResponse) => void): void;
  close(): Promise<void>;
}

export const reply = (status: number, headers: Record<string, string> = {}, body = '') => (_request: RecordedRequest, response: ServerResponse) => {
  response.writeHead(status, headers);
  response.end(body);
};

/** A real HTTP server on 127.0.0.1 (a free port unless given). */
export async function startTestSubscriber(options: { port?: number; path?: string } = {}): Promise<TestSubscriber> {
  const requests: RecordedRequest[] = [];
  let handler: (request: RecordedRequest, response: ServerResponse) => void = reply(200);
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const recorded = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() };
      requests.push(recorded);
      handler(recorded, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}${options.path ?? '/hooks/zoom-archiver'}`,
    port,
    requests,
    answer(next) {
      handler = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
