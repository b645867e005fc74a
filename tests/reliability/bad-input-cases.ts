/**
 * Bad input for the real HTTP webhook, as data: each case says how to build the
 * request and what the archiver must answer, publish and do downstream. The Jest
 * suite (bad-input.test.ts) and the Markdown report (report-bad-input.ts) run the
 * same list through bad-input-runner.ts, so the report is the test.
 *
 * Expected answers (README "The webhook"): a missing or wrong signature or a
 * timestamp outside ±300 s → 401, url_validation included; a body that is not a
 * Zoom event, or one beyond what Zoom sends (over 300 files, a topic over 1,000
 * characters, a plainToken not shaped like Zoom's) → 400; over 1 MiB → 413;
 * another method → 405. The content type is not trusted and a
 * byte-order mark is tolerated (the signature covers the bytes). Hostile but
 * well-formed values are accepted verbatim (Zoom signed them; refusing would lose
 * the legitimate files) and made harmless downstream: course validation gives safe
 * archive keys, and the uploader refuses any URL off the download allowlist before
 * connecting.
 */
import { gzipSync } from 'node:zlib';
import type { RejectionReason } from '../../shared/events';
import { MAX_BODY_BYTES, WEBHOOK_PATH } from '../../services/webhook/http';
import { signatureFor } from '../../services/webhook/signature';
import { loadZoomFixture, recordingWithFiles, type ZoomRecordingFixture } from '../support/fixtures';
import type { ZoomRecordingEventPayload } from '../support/zoom-simulator';
import type { RawRequest } from './raw-http';

export type Category = 'signature' | 'timestamp' | 'body' | 'method' | 'payload shape' | 'hostile value' | 'download URL';

/** What a case may use to build its request. */
export interface CaseContext {
  secret: string;
  nowSeconds(): number;
  /** A new recording on the Zoom simulator, `files` MP4s that the uploader can really download. */
  simulatedRecording(files?: number): Promise<ZoomRecordingEventPayload>;
  /** Makes the simulator's download URL of `fileId` answer 302 to `location`. */
  redirectDownload(fileId: string, location: string): void;
  /** The counting stand-in for a foreign host: `127.0.0.2:PORT`, and URLs on it. */
  foreign: { host: string; port: number; url(path: string): string };
}

export type UploadExpectation = 'uploaded' | 'foreign_host';

/** What must happen after the webhook answered. */
export type Downstream =
  /** The answer is {plainToken, encryptedToken = HMAC(plainToken)}. */
  | { kind: 'url_validation' }
  /** The answer is {status: "ignored"}. */
  | { kind: 'ignored' }
  /** Several RecordingAvailable parts, each ≤ MAX_DETAIL_BYTES, holding every file exactly once. */
  | { kind: 'split' }
  /** Course validation requests `requested` files, each under a safe archive key. */
  | { kind: 'archive_keys'; requested: number }
  /** Course validation rejects the recording for `reason`. */
  | { kind: 'rejected'; reason: RejectionReason }
  /** The uploader's outcome per requested file, in order; the foreign host is never contacted. */
  | { kind: 'uploads'; outcomes: readonly UploadExpectation[] };

export interface Expectation {
  status: number;
  /** RecordingAvailable events published; 'parts' = two or more. */
  published: number | 'parts';
  downstream?: Downstream;
}

export interface BadInputCase {
  category: Category;
  name: string;
  build(ctx: CaseContext): RawRequest | Promise<RawRequest>;
  expect: Expectation;
}

// ---------------------------------------------------------------------------------
// Building requests

type Json = Record<string, unknown>;
const bytes = (value: unknown): Buffer =>
  Buffer.isBuffer(value) ? value : Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));

interface SignOptions {
  secret?: string;
  /** Seconds, or the header's text as sent. Default: now. */
  timestamp?: number | string;
  /** null: no Content-Type header. */
  contentType?: string | null;
  headers?: Record<string, string | string[]>;
}

/** A POST signed the way Zoom signs: HMAC over `v0:{timestamp}:{the exact bytes}`. */
function signed(ctx: CaseContext, body: unknown, options: SignOptions = {}): RawRequest {
  const payload = bytes(body);
  const timestamp = String(options.timestamp ?? ctx.nowSeconds());
  const contentType = options.contentType === undefined ? 'application/json; charset=utf-8' : options.contentType;
  return {
    body: payload,
    headers: {
      ...(contentType === null ? {} : { 'content-type': contentType }),
      'x-zm-request-timestamp': timestamp,
      'x-zm-signature': signatureFor(options.secret ?? ctx.secret, timestamp, payload),
      ...options.headers,
    },
  };
}

/** A signed request whose signature header is then replaced. */
function withSignature(ctx: CaseContext, body: unknown, signature: (good: string) => string | string[]): RawRequest {
  const request = signed(ctx, body);
  const good = request.headers!['x-zm-signature'] as string;
  return { ...request, headers: { ...request.headers, 'x-zm-signature': signature(good) } };
}

const recording = (): ZoomRecordingFixture => loadZoomFixture('recording-completed');
const json = (value: unknown) => value as Json;
function withEnvelope(change: (envelope: Json) => void): ZoomRecordingFixture {
  const fixture = recording();
  change(json(fixture));
  return fixture;
}
const withObject = (change: (object: Json) => void) => withEnvelope((envelope) => change(json(json(envelope.payload).object)));
const withFile = (change: (file: Json) => void) => withObject((object) => change((object.recording_files as Json[])[0]!));
const compact = () => JSON.stringify(recording());
const validBytes = () => Buffer.from(compact());
const HEX64 = 'a'.repeat(64);

/** A recording with `count` minimal files, compact enough that thousands fit in 1 MiB. */
function compactFiles(count: number): string {
  return JSON.stringify(
    withObject((o) => {
      o.recording_files = Array.from({ length: count }, (_, i) => ({ id: `f${i}`, file_type: 'MP4', file_size: 1, download_url: `https://zoom.us/d/${i}` }));
    }),
  );
}

/** The fixture padded with spaces after the JSON to exactly `size` bytes. */
function paddedTo(size: number): Buffer {
  const text = compact();
  return Buffer.from(text + ' '.repeat(size - Buffer.byteLength(text)));
}

/** The fixture with `topic` bytes replaced by raw bytes (the signature covers them as sent). */
function withRawTopicBytes(raw: Buffer): Buffer {
  const marker = '@@TOPIC@@';
  const text = JSON.stringify(withObject((o) => (o.topic = `[MAQ101] ${marker}`)));
  const buffer = Buffer.from(text);
  const at = buffer.indexOf(marker);
  return Buffer.concat([buffer.subarray(0, at), raw, buffer.subarray(at + Buffer.byteLength(marker))]);
}

// ---------------------------------------------------------------------------------
// Expectations

const refused = (status: number): Expectation => ({ status, published: 0 });
const ignored: Expectation = { status: 200, published: 0, downstream: { kind: 'ignored' } };
/** The fixture has two course MP4s of an hour each: both are requested, under safe keys. */
const acceptedWithSafeKeys: Expectation = { status: 200, published: 1, downstream: { kind: 'archive_keys', requested: 2 } };
const refusedForeign: Expectation = { status: 200, published: 1, downstream: { kind: 'uploads', outcomes: ['foreign_host'] } };

// ---------------------------------------------------------------------------------
// The cases

type CaseSpec = Omit<BadInputCase, 'category'>;
const withCategory = (category: Category, cases: readonly CaseSpec[]): BadInputCase[] => cases.map((c) => ({ ...c, category }));

const signatureCases = withCategory('signature', [
  {
    name: 'no signature headers at all',
    build: () => ({ body: validBytes(), headers: { 'content-type': 'application/json' } }),
    expect: refused(401),
  },
  {
    name: 'missing x-zm-signature (timestamp present)',
    build: (ctx) => ({ body: validBytes(), headers: { 'x-zm-request-timestamp': String(ctx.nowSeconds()) } }),
    expect: refused(401),
  },
  {
    name: 'missing x-zm-request-timestamp (signature present)',
    build: (ctx) => {
      const request = signed(ctx, validBytes());
      const headers = { ...request.headers };
      delete headers['x-zm-request-timestamp'];
      return { ...request, headers };
    },
    expect: refused(401),
  },
  { name: 'empty x-zm-signature', build: (ctx) => withSignature(ctx, validBytes(), () => ''), expect: refused(401) },
  { name: 'wrong signature (random hex)', build: (ctx) => withSignature(ctx, validBytes(), () => `v0=${HEX64}`), expect: refused(401) },
  { name: 'signed with another secret', build: (ctx) => signed(ctx, validBytes(), { secret: 'another-apps-secret-token' }), expect: refused(401) },
  { name: 'wrong prefix v1=', build: (ctx) => withSignature(ctx, validBytes(), (good) => good.replace('v0=', 'v1=')), expect: refused(401) },
  { name: 'no prefix (bare hex)', build: (ctx) => withSignature(ctx, validBytes(), (good) => good.slice(3)), expect: refused(401) },
  { name: 'uppercase prefix V0=', build: (ctx) => withSignature(ctx, validBytes(), (good) => good.replace('v0=', 'V0=')), expect: refused(401) },
  { name: 'uppercase hex', build: (ctx) => withSignature(ctx, validBytes(), (good) => `v0=${good.slice(3).toUpperCase()}`), expect: refused(401) },
  { name: 'truncated by one hex digit', build: (ctx) => withSignature(ctx, validBytes(), (good) => good.slice(0, -1)), expect: refused(401) },
  { name: 'truncated to half', build: (ctx) => withSignature(ctx, validBytes(), (good) => good.slice(0, 35)), expect: refused(401) },
  { name: 'correct signature with trailing characters', build: (ctx) => withSignature(ctx, validBytes(), (good) => `${good}00`), expect: refused(401) },
  { name: 'non-hex characters', build: (ctx) => withSignature(ctx, validBytes(), () => `v0=${'z'.repeat(64)}`), expect: refused(401) },
  {
    name: 'two x-zm-signature headers (right, then wrong)',
    build: (ctx) => withSignature(ctx, validBytes(), (good) => [good, `v0=${HEX64}`]),
    expect: refused(401),
  },
  {
    name: 'body changed after signing (one byte)',
    build: (ctx) => {
      const request = signed(ctx, validBytes());
      const body = Buffer.from(request.body!);
      body[body.indexOf('MAQ101')] = 'N'.charCodeAt(0);
      return { ...request, body };
    },
    expect: refused(401),
  },
  {
    name: 'signed over compact JSON, sent pretty-printed',
    build: (ctx) => ({ ...signed(ctx, compact()), body: Buffer.from(JSON.stringify(recording(), null, 2)) }),
    expect: refused(401),
  },
  {
    name: 'signed for another timestamp than the header',
    build: (ctx) => {
      const request = signed(ctx, validBytes(), { timestamp: ctx.nowSeconds() - 1 });
      return { ...request, headers: { ...request.headers, 'x-zm-request-timestamp': String(ctx.nowSeconds()) } };
    },
    expect: refused(401),
  },
  {
    name: 'legacy verification token only (Authorization header)',
    build: () => ({ body: validBytes(), headers: { authorization: 'legacy-verification-token', 'content-type': 'application/json' } }),
    expect: refused(401),
  },
  {
    name: 'signature header of 20 KB (over Node\'s header limit)',
    build: (ctx) => withSignature(ctx, validBytes(), () => `v0=${'a'.repeat(20_000)}`),
    expect: refused(431),
  },
  {
    // Zoom signs validation requests; answering an unsigned one would sign attacker-chosen text.
    name: 'endpoint.url_validation unsigned',
    build: () => ({ body: bytes(loadZoomFixture('url-validation')), headers: { 'content-type': 'application/json' } }),
    expect: refused(401),
  },
  {
    name: 'endpoint.url_validation signed, plainToken shaped like a signing string (v0:ts:body)',
    build: (ctx) => signed(ctx, { event: 'endpoint.url_validation', event_ts: Date.now(), payload: { plainToken: `v0:${ctx.nowSeconds()}:${compact()}` } }),
    expect: refused(400),
  },
  {
    name: 'endpoint.url_validation signed, plainToken of 2,000 base64url characters',
    build: (ctx) => signed(ctx, { event: 'endpoint.url_validation', event_ts: Date.now(), payload: { plainToken: 'A'.repeat(2000) } }),
    expect: refused(400),
  },
  {
    name: 'unsigned 1 MiB of nested JSON (refused before it is parsed)',
    build: () => ({ body: Buffer.from('['.repeat(500_000) + ']'.repeat(500_000)), headers: { 'content-type': 'application/json' } }),
    expect: refused(401),
  },
  {
    name: 'a 15 KB x-zm-trackingid on an unsigned request',
    build: () => ({ body: validBytes(), headers: { 'content-type': 'application/json', 'x-zm-trackingid': 't'.repeat(15_000) } }),
    expect: refused(401),
  },
  {
    name: 'endpoint.url_validation signed',
    build: (ctx) => signed(ctx, loadZoomFixture('url-validation')),
    expect: { status: 200, published: 0, downstream: { kind: 'url_validation' } },
  },
  {
    name: 'endpoint.url_validation with a wrong signature',
    build: (ctx) => withSignature(ctx, loadZoomFixture('url-validation'), () => `v0=${HEX64}`),
    expect: refused(401),
  },
]);

const timestampCases = withCategory('timestamp', [
  { name: 'stale: 400 s ago, correctly signed', build: (ctx) => signed(ctx, validBytes(), { timestamp: ctx.nowSeconds() - 400 }), expect: refused(401) },
  { name: 'stale: 1970 (0)', build: (ctx) => signed(ctx, validBytes(), { timestamp: '0' }), expect: refused(401) },
  { name: 'future: in 400 s, correctly signed', build: (ctx) => signed(ctx, validBytes(), { timestamp: ctx.nowSeconds() + 400 }), expect: refused(401) },
  { name: 'not a number ("yesterday")', build: (ctx) => signed(ctx, validBytes(), { timestamp: 'yesterday' }), expect: refused(401) },
  { name: 'decimal seconds', build: (ctx) => signed(ctx, validBytes(), { timestamp: `${ctx.nowSeconds()}.5` }), expect: refused(401) },
  { name: 'negative', build: (ctx) => signed(ctx, validBytes(), { timestamp: `-${ctx.nowSeconds()}` }), expect: refused(401) },
  { name: 'milliseconds instead of seconds', build: (ctx) => signed(ctx, validBytes(), { timestamp: ctx.nowSeconds() * 1000 }), expect: refused(401) },
  { name: 'exponent notation (1.7e9)', build: (ctx) => signed(ctx, validBytes(), { timestamp: '1.7e9' }), expect: refused(401) },
  { name: 'hexadecimal', build: (ctx) => signed(ctx, validBytes(), { timestamp: `0x${ctx.nowSeconds().toString(16)}` }), expect: refused(401) },
  { name: '30 digits', build: (ctx) => signed(ctx, validBytes(), { timestamp: '9'.repeat(30) }), expect: refused(401) },
  {
    name: 'two timestamp headers',
    build: (ctx) => signed(ctx, validBytes(), { headers: { 'x-zm-request-timestamp': [String(ctx.nowSeconds()), String(ctx.nowSeconds())] } }),
    expect: refused(401),
  },
  {
    name: 'inside the window (200 s ago) is accepted',
    build: (ctx) => signed(ctx, validBytes(), { timestamp: ctx.nowSeconds() - 200 }),
    expect: acceptedWithSafeKeys,
  },
]);

/** The fixture with an unknown field nested `depth` arrays deep (written as text: JSON.stringify would overflow). */
const withDeepUnknownField = (depth: number) =>
  JSON.stringify(withObject((o) => (o.nested = 'DEEP'))).replace('"DEEP"', '['.repeat(depth) + ']'.repeat(depth));

const bodyCases = withCategory('body', [
  { name: 'empty body', build: (ctx) => signed(ctx, Buffer.alloc(0)), expect: refused(400) },
  { name: 'whitespace only', build: (ctx) => signed(ctx, ' \r\n\t '), expect: refused(400) },
  { name: 'not JSON (form encoded)', build: (ctx) => signed(ctx, 'event=recording.completed&payload=x'), expect: refused(400) },
  { name: 'a JSON array', build: (ctx) => signed(ctx, '[]'), expect: refused(400) },
  { name: 'a JSON string', build: (ctx) => signed(ctx, '"recording.completed"'), expect: refused(400) },
  { name: 'JSON null', build: (ctx) => signed(ctx, 'null'), expect: refused(400) },
  { name: 'truncated JSON', build: (ctx) => signed(ctx, compact().slice(0, 500)), expect: refused(400) },
  { name: 'garbage after the JSON', build: (ctx) => signed(ctx, `${compact()}xyz`), expect: refused(400) },
  { name: 'two JSON documents', build: (ctx) => signed(ctx, `${compact()}\n${compact()}`), expect: refused(400) },
  { name: 'deeply nested arrays, unclosed (50,000)', build: (ctx) => signed(ctx, '['.repeat(50_000)), expect: refused(400) },
  { name: 'deeply nested arrays (50,000)', build: (ctx) => signed(ctx, '['.repeat(50_000) + ']'.repeat(50_000)), expect: refused(400) },
  { name: 'deeply nested objects (50,000)', build: (ctx) => signed(ctx, '{"a":'.repeat(50_000) + '1' + '}'.repeat(50_000)), expect: refused(400) },
  {
    name: 'valid event with a 10,000-deep unknown field',
    build: (ctx) => signed(ctx, withDeepUnknownField(10_000)),
    expect: acceptedWithSafeKeys,
  },
  { name: 'over 1 MiB (5 MiB, Content-Length)', build: (ctx) => signed(ctx, paddedTo(5 * MAX_BODY_BYTES)), expect: refused(413) },
  { name: 'over 1 MiB by one byte', build: (ctx) => signed(ctx, paddedTo(MAX_BODY_BYTES + 1)), expect: refused(413) },
  {
    name: 'over 1 MiB, chunked without Content-Length',
    build: (ctx) => ({ ...signed(ctx, paddedTo(2 * MAX_BODY_BYTES)), chunkBytes: 64 * 1024 }),
    expect: refused(413),
  },
  { name: 'exactly 1 MiB is accepted', build: (ctx) => signed(ctx, paddedTo(MAX_BODY_BYTES)), expect: acceptedWithSafeKeys },
  {
    name: 'exactly 1 MiB, chunked, is accepted',
    build: (ctx) => ({ ...signed(ctx, paddedTo(MAX_BODY_BYTES)), chunkBytes: 64 * 1024 }),
    expect: acceptedWithSafeKeys,
  },
  {
    name: 'Content-Length and Transfer-Encoding both (smuggling shape)',
    build: (ctx) => {
      const request = signed(ctx, validBytes());
      return { ...request, headers: { ...request.headers, 'content-length': String(request.body!.length) }, chunkBytes: 1024 };
    },
    expect: refused(400),
  },
  { name: 'Content-Type text/plain (not trusted; signed JSON)', build: (ctx) => signed(ctx, validBytes(), { contentType: 'text/plain' }), expect: acceptedWithSafeKeys },
  { name: 'no Content-Type', build: (ctx) => signed(ctx, validBytes(), { contentType: null }), expect: acceptedWithSafeKeys },
  {
    name: 'Content-Type form-urlencoded with a JSON body',
    build: (ctx) => signed(ctx, validBytes(), { contentType: 'application/x-www-form-urlencoded' }),
    expect: acceptedWithSafeKeys,
  },
  {
    name: 'Content-Type multipart with a JSON body',
    build: (ctx) => signed(ctx, validBytes(), { contentType: 'multipart/form-data; boundary=x' }),
    expect: acceptedWithSafeKeys,
  },
  {
    name: 'UTF-8 byte-order mark before the JSON',
    build: (ctx) => signed(ctx, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), validBytes()])),
    expect: acceptedWithSafeKeys,
  },
  {
    name: 'two byte-order marks',
    build: (ctx) => signed(ctx, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf]), validBytes()])),
    expect: refused(400),
  },
  {
    name: 'UTF-16LE with its byte-order mark',
    build: (ctx) => signed(ctx, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(compact(), 'utf16le')])),
    expect: refused(400),
  },
  {
    name: 'invalid UTF-8 inside the topic (read as U+FFFD)',
    build: (ctx) => signed(ctx, withRawTopicBytes(Buffer.from([0xff, 0xfe, 0xc0, 0xaf, 0xed, 0xa0, 0x80]))),
    expect: acceptedWithSafeKeys,
  },
  {
    name: 'gzip body with Content-Encoding: gzip (not inflated)',
    build: (ctx) => signed(ctx, gzipSync(validBytes()), { headers: { 'content-encoding': 'gzip' } }),
    expect: refused(400),
  },
  {
    name: 'duplicate "event" keys: the last one counts',
    build: (ctx) => signed(ctx, `${compact().slice(0, -1)},"event":"meeting.started"}`),
    expect: ignored,
  },
  {
    name: '"__proto__" keys (no prototype pollution)',
    build: (ctx) => {
      const text = JSON.stringify(withObject((o) => (o.topic = '[MAQ101] proto')));
      const hostile = '"__proto__":{"polluted":"yes","event":"recording.deleted"},"constructor":{"prototype":{"polluted":"yes"}},';
      return signed(ctx, text.replace('{"event"', `{${hostile}"event"`).replace('"uuid"', `${hostile}"uuid"`));
    },
    expect: acceptedWithSafeKeys,
  },
]);

const methodCases = withCategory('method', [
  ...['GET', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'].map((method): CaseSpec => ({
    name: `${method} ${WEBHOOK_PATH}`,
    build: (ctx) => ({ ...signed(ctx, validBytes()), method }),
    expect: refused(405),
  })),
  { name: 'POST with a trailing slash is accepted (endpoint URL typed with a slash)', build: (ctx) => ({ ...signed(ctx, validBytes()), path: `${WEBHOOK_PATH}/` }), expect: acceptedWithSafeKeys },
  { name: 'POST /', build: (ctx) => ({ ...signed(ctx, validBytes()), path: '/' }), expect: refused(404) },
  {
    name: 'POST with a query string (ignored)',
    build: (ctx) => ({ ...signed(ctx, validBytes()), path: `${WEBHOOK_PATH}?event=recording.deleted` }),
    expect: acceptedWithSafeKeys,
  },
]);

const shapeCases = withCategory('payload shape', [
  { name: 'event missing', build: (ctx) => signed(ctx, withEnvelope((e) => delete e.event)), expect: refused(400) },
  { name: 'event a number', build: (ctx) => signed(ctx, withEnvelope((e) => (e.event = 42))), expect: refused(400) },
  { name: 'event empty', build: (ctx) => signed(ctx, withEnvelope((e) => (e.event = ''))), expect: refused(400) },
  { name: 'event of 201 characters', build: (ctx) => signed(ctx, withEnvelope((e) => (e.event = 'r'.repeat(201)))), expect: refused(400) },
  { name: 'payload missing', build: (ctx) => signed(ctx, withEnvelope((e) => delete e.payload)), expect: refused(400) },
  { name: 'payload an array', build: (ctx) => signed(ctx, withEnvelope((e) => (e.payload = []))), expect: refused(400) },
  { name: 'payload null', build: (ctx) => signed(ctx, withEnvelope((e) => (e.payload = null))), expect: refused(400) },
  { name: 'payload.object missing', build: (ctx) => signed(ctx, withEnvelope((e) => (e.payload = { account_id: 'x' }))), expect: refused(400) },
  { name: 'payload.object null', build: (ctx) => signed(ctx, withEnvelope((e) => (e.payload = { object: null }))), expect: refused(400) },
  { name: 'uuid missing', build: (ctx) => signed(ctx, withObject((o) => delete o.uuid)), expect: refused(400) },
  { name: 'uuid empty', build: (ctx) => signed(ctx, withObject((o) => (o.uuid = ''))), expect: refused(400) },
  { name: 'uuid a number', build: (ctx) => signed(ctx, withObject((o) => (o.uuid = 12345))), expect: refused(400) },
  { name: 'uuid of 201 characters', build: (ctx) => signed(ctx, withObject((o) => (o.uuid = 'u'.repeat(201)))), expect: refused(400) },
  {
    name: 'x-zm-trackingid of 300 characters (unsigned header) is accepted',
    build: (ctx) => {
      const request = signed(ctx, validBytes());
      return { ...request, headers: { ...request.headers, 'x-zm-trackingid': 't'.repeat(300) } };
    },
    expect: acceptedWithSafeKeys,
  },
  { name: 'uuid of 200 characters is accepted (causation id bounded)', build: (ctx) => signed(ctx, withObject((o) => (o.uuid = 'u'.repeat(200)))), expect: acceptedWithSafeKeys },
  { name: 'meeting id negative', build: (ctx) => signed(ctx, withObject((o) => (o.id = -1))), expect: refused(400) },
  { name: 'meeting id with letters', build: (ctx) => signed(ctx, withObject((o) => (o.id = '12ab'))), expect: refused(400) },
  { name: 'meeting id beyond safe integers', build: (ctx) => signed(ctx, withObject((o) => (o.id = 2 ** 64))), expect: refused(400) },
  { name: 'meeting id as a digit string is accepted', build: (ctx) => signed(ctx, withObject((o) => (o.id = '98765432101'))), expect: acceptedWithSafeKeys },
  { name: 'topic a number', build: (ctx) => signed(ctx, withObject((o) => (o.topic = 42))), expect: refused(400) },
  { name: 'topic null', build: (ctx) => signed(ctx, withObject((o) => (o.topic = null))), expect: refused(400) },
  { name: 'topic of 20,001 characters', build: (ctx) => signed(ctx, withObject((o) => (o.topic = `[MAQ101] ${'t'.repeat(20_001)}`))), expect: refused(400) },
  { name: 'start_time not a date', build: (ctx) => signed(ctx, withObject((o) => (o.start_time = 'yesterday'))), expect: refused(400) },
  { name: 'start_time without offset', build: (ctx) => signed(ctx, withObject((o) => (o.start_time = '2021-07-13T21:44:51'))), expect: refused(400) },
  { name: 'start_time null', build: (ctx) => signed(ctx, withObject((o) => (o.start_time = null))), expect: refused(400) },
  { name: 'duration negative', build: (ctx) => signed(ctx, withObject((o) => (o.duration = -60))), expect: refused(400) },
  { name: 'meeting type fractional', build: (ctx) => signed(ctx, withObject((o) => (o.type = 4.5))), expect: refused(400) },
  { name: 'host_email of 321 characters', build: (ctx) => signed(ctx, withObject((o) => (o.host_email = `${'h'.repeat(309)}@example.com`))), expect: refused(400) },
  { name: 'recording_files missing', build: (ctx) => signed(ctx, withObject((o) => delete o.recording_files)), expect: refused(400) },
  { name: 'recording_files an object', build: (ctx) => signed(ctx, withObject((o) => (o.recording_files = {}))), expect: refused(400) },
  { name: 'recording_files [null]', build: (ctx) => signed(ctx, withObject((o) => (o.recording_files = [null]))), expect: refused(400) },
  {
    name: 'recording_files empty: accepted, then rejected downstream',
    build: (ctx) => signed(ctx, withObject((o) => (o.recording_files = []))),
    expect: { status: 200, published: 1, downstream: { kind: 'rejected', reason: 'no_eligible_file' } },
  },
  { name: 'file_type missing', build: (ctx) => signed(ctx, withFile((f) => delete f.file_type)), expect: refused(400) },
  { name: 'file_type null', build: (ctx) => signed(ctx, withFile((f) => (f.file_type = null))), expect: refused(400) },
  { name: 'download_url missing', build: (ctx) => signed(ctx, withFile((f) => delete f.download_url)), expect: refused(400) },
  { name: 'download_url a number', build: (ctx) => signed(ctx, withFile((f) => (f.download_url = 7))), expect: refused(400) },
  { name: 'download_url empty', build: (ctx) => signed(ctx, withFile((f) => (f.download_url = ''))), expect: refused(400) },
  { name: 'download_url of 4,097 characters', build: (ctx) => signed(ctx, withFile((f) => (f.download_url = `https://zoom.us/${'d'.repeat(4081)}`))), expect: refused(400) },
  { name: 'file_size negative', build: (ctx) => signed(ctx, withFile((f) => (f.file_size = -1))), expect: refused(400) },
  { name: 'file_size fractional', build: (ctx) => signed(ctx, withFile((f) => (f.file_size = 1.5))), expect: refused(400) },
  { name: 'file_size 2^53 (beyond safe integers)', build: (ctx) => signed(ctx, withFile((f) => (f.file_size = 2 ** 53))), expect: refused(400) },
  { name: 'file_size 1e308', build: (ctx) => signed(ctx, compact().replace('"file_size":282825', '"file_size":1e308')), expect: refused(400) },
  { name: 'file_size a string', build: (ctx) => signed(ctx, withFile((f) => (f.file_size = '282825'))), expect: refused(400) },
  { name: 'file_size Number.MAX_SAFE_INTEGER is accepted', build: (ctx) => signed(ctx, withFile((f) => (f.file_size = Number.MAX_SAFE_INTEGER))), expect: acceptedWithSafeKeys },
  { name: 'recording_start not a date', build: (ctx) => signed(ctx, withFile((f) => (f.recording_start = '13/07/2021'))), expect: refused(400) },
  { name: 'event_ts negative', build: (ctx) => signed(ctx, withEnvelope((e) => (e.event_ts = -1))), expect: refused(400) },
  { name: 'event_ts a string', build: (ctx) => signed(ctx, withEnvelope((e) => (e.event_ts = '1626230691572'))), expect: refused(400) },
  { name: 'download_token a number', build: (ctx) => signed(ctx, withEnvelope((e) => (e.download_token = 1))), expect: refused(400) },
  { name: 'download_token of 8,193 characters', build: (ctx) => signed(ctx, withEnvelope((e) => (e.download_token = 't'.repeat(8193)))), expect: refused(400) },
  {
    name: 'download_token not a JWT is accepted (sealed as is)',
    build: (ctx) => signed(ctx, withEnvelope((e) => (e.download_token = 'opaque-download-token-0123456789'))),
    expect: acceptedWithSafeKeys,
  },
  {
    name: 'null for every optional field is accepted',
    build: (ctx) =>
      signed(
        ctx,
        withEnvelope((e) => {
          e.event_ts = null;
          e.download_token = null;
          const payload = json(e.payload);
          payload.account_id = null;
          const object = json(payload.object);
          for (const key of ['account_id', 'host_id', 'host_email', 'type', 'timezone', 'duration']) object[key] = null;
          for (const file of object.recording_files as Json[]) {
            for (const key of ['id', 'recording_start', 'recording_end', 'file_size', 'file_extension', 'status', 'recording_type']) file[key] = null;
          }
        }),
      ),
    // Without times or meeting duration the MP4s' length is unknown, which never rejects a file.
    expect: acceptedWithSafeKeys,
  },
  {
    name: 'unknown fields everywhere are ignored',
    build: (ctx) =>
      signed(
        ctx,
        withEnvelope((e) => {
          e.extra = { a: [1, 2, { b: null }] };
          json(json(e.payload).object).unexpected = 'x';
          for (const file of json(json(e.payload).object).recording_files as Json[]) file.surprise = [true];
        }),
      ),
    expect: acceptedWithSafeKeys,
  },
  {
    name: '300 files with long download URLs: split into parts under the bus limit',
    build: (ctx) => signed(ctx, recordingWithFiles(300, 1500)),
    expect: { status: 200, published: 'parts', downstream: { kind: 'split' } },
  },
  // Zoom keeps at most 150 files per session: far more is not a recording but a bill.
  { name: '301 files (over the 300 accepted)', build: (ctx) => signed(ctx, recordingWithFiles(301)), expect: refused(400) },
  { name: '5,500 files in under 1 MiB', build: (ctx) => signed(ctx, compactFiles(5500)), expect: refused(400) },
  { name: 'unknown event (meeting.started)', build: (ctx) => signed(ctx, { event: 'meeting.started', payload: { object: {} } }), expect: ignored },
  { name: 'recording.trashed (acknowledged, not acted on)', build: (ctx) => signed(ctx, loadZoomFixture('recording-trashed')), expect: ignored },
]);

const hostileTopic = (name: string, topic: string): CaseSpec => ({
  name,
  build: (ctx) => signed(ctx, withObject((o) => (o.topic = topic))),
  expect: acceptedWithSafeKeys,
});

const hostileCases = withCategory('hostile value', [
  hostileTopic('topic with ../ segments', '[MAQ101] ../../../etc/passwd'),
  hostileTopic('topic starting with /', '[MAQ101] /root/.ssh/authorized_keys'),
  hostileTopic('topic of only dots and slashes', '[MAQ101] /../ ./ .. // .'),
  hostileTopic('topic with NUL', '[MAQ101] lesson\u0000.mp4'),
  hostileTopic('topic with right-to-left override', '[MAQ101] lesson \u202Egpj.exe'),
  hostileTopic('topic with bidi isolates, zero-width and BOM characters', '[MAQ101] \u2066a\u2069\u200B\u200E\uFEFFb\u061C'),
  hostileTopic('topic with CR/LF (log and header injection shape)', '[MAQ101] a\r\nX-Injected: 1\r\n\r\nb'),
  hostileTopic('topic of 1,000 characters (the most accepted)', `[MAQ101] ${'Maqam Bayati '.repeat(80)}`.slice(0, 1_000)),
  hostileTopic('topic of 123 emoji families (993 UTF-16 units, 3 KB)', `[MAQ101] ${'👨‍👩‍👧'.repeat(123)}`),
  { name: 'topic of 10,000 characters (over the 1,000 accepted)', build: (ctx) => signed(ctx, withObject((o) => (o.topic = `[MAQ101] ${'Maqam Bayati '.repeat(800)}`.slice(0, 10_000)))), expect: refused(400) },
  { name: 'topic of 20,000 characters', build: (ctx) => signed(ctx, withObject((o) => (o.topic = 'x'.repeat(20_000)))), expect: refused(400) },
  hostileTopic('topic with a lone surrogate', '[MAQ101] half \uD800 pair'),
  hostileTopic('topic that is a Windows device name', '[MAQ101] CON'),
  hostileTopic('topic of reserved characters only', '[MAQ101] \\:*?"<>|#%{}^~[]`'),
  {
    name: 'meeting uuid with ../ and /',
    build: (ctx) => signed(ctx, withObject((o) => (o.uuid = '../../etc//passwd=='))),
    expect: acceptedWithSafeKeys,
  },
  {
    name: 'file id with ../',
    build: (ctx) => signed(ctx, withFile((f) => (f.id = '../../../../tmp/owned'))),
    expect: acceptedWithSafeKeys,
  },
  {
    name: 'file_extension ../../x',
    build: (ctx) => signed(ctx, withFile((f) => (f.file_extension = '../../../x'))),
    expect: acceptedWithSafeKeys,
  },
  {
    name: 'recording_type with ../ and NUL',
    build: (ctx) => signed(ctx, withFile((f) => (f.recording_type = '../../root\u0000'))),
    expect: acceptedWithSafeKeys,
  },
  {
    name: 'timezone ../../etc/localtime (falls back to UTC)',
    build: (ctx) => signed(ctx, withObject((o) => (o.timezone = '../../etc/localtime'))),
    expect: acceptedWithSafeKeys,
  },
]);

/** A recording on the simulator whose first file's download_url is replaced. */
function foreignUrl(name: string, url: (ctx: CaseContext) => string): CaseSpec {
  return {
    name,
    build: async (ctx) => {
      const payload = await ctx.simulatedRecording();
      payload.payload.object.recording_files[0]!.download_url = url(ctx);
      return signed(ctx, payload);
    },
    expect: refusedForeign,
  };
}

/** A recording on the simulator whose allowlisted download URL answers 302 to `location`. */
function redirected(name: string, location: (ctx: CaseContext) => string): CaseSpec {
  return {
    name,
    build: async (ctx) => {
      const payload = await ctx.simulatedRecording();
      ctx.redirectDownload(payload.payload.object.recording_files[0]!.id!, location(ctx));
      return signed(ctx, payload);
    },
    expect: refusedForeign,
  };
}

const ipv4AsNumber = (address: string) => address.split('.').reduce((sum, octet) => sum * 256 + Number(octet), 0);

const downloadUrlCases = withCategory('download URL', [
  foreignUrl('another host (127.0.0.2, counting)', (ctx) => ctx.foreign.url('/rec/download/file')),
  foreignUrl('another host written as a decimal IP', (ctx) => `http://${ipv4AsNumber(ctx.foreign.host.split(':')[0]!)}:${ctx.foreign.port}/rec`),
  foreignUrl('allowed host as userinfo (http://127.0.0.1@foreign/)', (ctx) => `http://127.0.0.1@${ctx.foreign.host}/rec/download/file`),
  foreignUrl('allowed host in the path (http://foreign/127.0.0.1/)', (ctx) => ctx.foreign.url('/127.0.0.1/rec/download/file')),
  foreignUrl('cloud metadata http://169.254.169.254/', () => 'http://169.254.169.254/latest/meta-data/iam/security-credentials/'),
  foreignUrl('file:///etc/passwd', () => 'file:///etc/passwd'),
  foreignUrl('data: URL', () => 'data:video/mp4;base64,AAAA'),
  foreignUrl('https://zoom.us@evil.example/', () => 'https://zoom.us@evil.example/rec/download/file'),
  foreignUrl('https://evil.example/zoom.us', () => 'https://evil.example/zoom.us'),
  foreignUrl('https://zoom.us.evil.example/', () => 'https://zoom.us.evil.example/rec/download/file'),
  foreignUrl('look-alike host with Cyrillic о (zооm.us)', () => 'https://z\u043e\u043em.us/rec/download/file'),
  foreignUrl('look-alike host with a fullwidth letter (ｚoom.us.evil)', () => 'https://\uff5aoom.us.evil.example/rec'),
  foreignUrl('plain http on an allowed host (http://zoom.us/)', () => 'http://zoom.us/rec/download/file'),
  foreignUrl('backslash trick https://evil.example\\@zoom.us/', () => 'https://evil.example\\@zoom.us/rec'),
  foreignUrl('not an absolute URL', () => 'zoom.us/rec/download/file'),
  redirected('redirect from the allowed host to a foreign host', (ctx) => ctx.foreign.url('/cdn/file')),
  redirected('redirect from the allowed host to 169.254.169.254', () => 'http://169.254.169.254/latest/meta-data/'),
  redirected('redirect from the allowed host to file:///etc/passwd', () => 'file:///etc/passwd'),
  redirected('redirect to the foreign host as userinfo trick', (ctx) => `http://127.0.0.1@${ctx.foreign.host}/cdn`),
  {
    name: 'one allowed file and one foreign: the allowed one is archived',
    build: async (ctx) => {
      const payload = await ctx.simulatedRecording(2);
      payload.payload.object.recording_files[1]!.download_url = ctx.foreign.url('/rec/download/second');
      return signed(ctx, payload);
    },
    expect: { status: 200, published: 1, downstream: { kind: 'uploads', outcomes: ['uploaded', 'foreign_host'] } },
  },
]);

export const BAD_INPUT_CASES: readonly BadInputCase[] = [
  ...signatureCases,
  ...timestampCases,
  ...bodyCases,
  ...methodCases,
  ...shapeCases,
  ...hostileCases,
  ...downloadUrlCases,
];
