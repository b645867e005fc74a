/**
 * Property-based fuzzing (issue 9, part 3) of the webhook's parser and normalizer
 * and of the archive keys built from what it accepts. Deliveries are signed
 * correctly, so every input reaches the parser: it must answer 200 or 400, never
 * throw, never publish an event that breaks its own contract, and never carry the
 * download token in clear. The normalizer must give every file one stable id and
 * put every file in exactly one part; keys rendered from hostile values must be
 * safe. The sanitizer's own properties are in tests/course-validation.
 */
import { MemoryDeliveryGuard } from '../../shared/adapters/delivery-guard-memory';
import fc from 'fast-check';
import { TokenSealer } from '../../shared/crypto/token-seal';
import {
  DetailType,
  MAX_DETAIL_BYTES,
  parseDetail,
  type DomainEvent,
  type RecordingAvailable,
} from '../../shared/events';
import { silentLogger } from '../../shared/logger';
import { loadArchiverConfig, parseArchiverConfig, type ArchiverConfig } from '../../services/course-validation/config';
import { decideRecording } from '../../services/course-validation/decision';
import { normalizeRecording, type NormalizeInput } from '../../shared/zoom/normalize';
import { signatureFor } from '../../services/webhook/signature';
import { handleWebhookDelivery, type WebhookAnswer } from '../../services/webhook/use-case';
import { MAX_TOPIC_CHARS, RecordingPayloadSchema } from '../../services/webhook/zoom-payload';
import { loadZoomFixture, type ZoomFixtureName } from '../support/fixtures';
import { MemoryPublisher } from '../support/memory-publisher';
import { archiveKeyProblems } from './archive-key-checks';

const SECRET = 'fuzz-webhook-secret-token';
const NOW = new Date('2026-11-27T10:00:00Z');
const sealer = new TokenSealer(SECRET);

async function deliverSigned(rawBody: Buffer): Promise<{ answer: WebhookAnswer; published: DomainEvent[] }> {
  const publisher = new MemoryPublisher();
  const timestamp = String(Math.floor(NOW.getTime() / 1000));
  const answer = await handleWebhookDelivery(
    { rawBody, signature: signatureFor(SECRET, timestamp, rawBody), timestamp, trackingId: undefined },
    { secretToken: SECRET, maxSkewSeconds: 300, publisher, sealer, deliveries: new MemoryDeliveryGuard(), logger: silentLogger, now: () => NOW },
  );
  return { answer, published: publisher.published };
}

/** The download token as sent, when it is distinctive enough to search for (and appears once). */
function sentToken(rawBody: Buffer): string | undefined {
  const text = rawBody.toString('utf8').replace(/^\uFEFF/, '');
  try {
    const token = (JSON.parse(text) as { download_token?: unknown } | null)?.download_token;
    return typeof token === 'string' && token.length >= 16 && text.split(token).length === 2 ? token : undefined;
  } catch {
    return undefined;
  }
}

/** Whether `token` is part of another string of the body than `download_token` (so an echo of that one is no leak). */
function occursElsewhere(rawBody: Buffer, token: string): boolean {
  let parsed: unknown;
  try {
    parsed = JSON.parse(rawBody.toString('utf8'));
  } catch {
    return false;
  }
  const strings: string[] = [];
  const walk = (value: unknown, key?: string): void => {
    if (typeof value === 'string') {
      if (key !== 'download_token') strings.push(value);
    } else if (Array.isArray(value)) value.forEach((item) => walk(item));
    else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) walk(v, k);
  };
  walk(parsed);
  return strings.some((text) => text.includes(token));
}

/** What every signed delivery must satisfy, whatever its body. */
function expectSafeOutcome(rawBody: Buffer, answer: WebhookAnswer, published: readonly DomainEvent[]): void {
  expect([200, 400]).toContain(answer.status);
  expect(JSON.stringify(answer.body)).not.toContain(SECRET);
  if (answer.status === 400) {
    expect(published).toEqual([]);
    expect(answer.body).toMatchObject({ error: 'bad_request', message: expect.any(String) });
    return;
  }
  for (const event of published) {
    expect(event.detailType).toBe(DetailType.RecordingAvailable);
    expect(() => parseDetail(event.detailType, event.detail)).not.toThrow();
    expect(Buffer.byteLength(JSON.stringify(event.detail))).toBeLessThanOrEqual(MAX_DETAIL_BYTES);
  }
  const token = sentToken(rawBody);
  // A fuzzed token that also occurs in another field the answer may echo (the event
  // name, the topic) would "leak" through that field: only a token that appears in the
  // body once, as the token, can be looked for.
  if (token && !occursElsewhere(rawBody, token)) {
    expect(JSON.stringify(answer.body)).not.toContain(token);
    expect(JSON.stringify(published)).not.toContain(token);
  }
}

// ---------------------------------------------------------------------------------
// (a) the parser: bytes, JSON values, mutated Zoom payloads

const FIXTURES: readonly ZoomFixtureName[] = [
  'recording-completed',
  'recording-completed-multipart',
  'recording-completed-unicode',
  'recording-transcript-completed',
  'recording-trashed',
  'url-validation',
];
const fixtureTexts = new Map(FIXTURES.map((name) => [name, JSON.stringify(loadZoomFixture(name))]));

type Key = string | number;
/** Every path to a value inside `value`, parents before children. */
function pathsOf(value: unknown, prefix: Key[] = [], out: Key[][] = []): Key[][] {
  if (value !== null && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) {
      const path = [...prefix, Array.isArray(value) ? Number(key) : key];
      out.push(path);
      pathsOf(child, path, out);
    }
  }
  return out;
}

/** The fields the schema reads, where most mutations land (a random path mostly hits the many file fields). */
const FIELDS = {
  envelope: ['event', 'event_ts', 'download_token', 'payload'],
  object: ['uuid', 'id', 'topic', 'start_time', 'timezone', 'duration', 'type', 'host_email', 'host_id', 'account_id', 'recording_files'],
  file: ['id', 'file_type', 'file_size', 'file_extension', 'download_url', 'recording_start', 'recording_end', 'status', 'recording_type'],
} as const;
type Target = keyof typeof FIELDS;

type Mutation =
  | { op: 'delete' | 'set'; target: Target; field: string; at: number; value?: unknown }
  | { op: 'delete-path' | 'set-path'; at: number; value?: unknown }
  | { op: 'duplicate-file' | 'drop-file-id'; at: number };

function containerOf(root: Record<string, unknown>, target: Target, at: number): Record<string, unknown> | undefined {
  const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);
  if (target === 'envelope') return root;
  const object = isObject(root.payload) ? root.payload.object : undefined;
  if (!isObject(object)) return undefined;
  if (target === 'object') return object;
  const files = object.recording_files;
  if (!Array.isArray(files) || files.length === 0) return undefined;
  const file: unknown = files[at % files.length];
  return isObject(file) ? file : undefined;
}

function applyMutation(root: Record<string, unknown>, mutation: Mutation): void {
  switch (mutation.op) {
    case 'set':
    case 'delete': {
      const container = containerOf(root, mutation.target, mutation.at);
      if (!container) return;
      if (mutation.op === 'set') container[mutation.field] = mutation.value;
      else delete container[mutation.field];
      return;
    }
    case 'duplicate-file':
    case 'drop-file-id': {
      const object = containerOf(root, 'object', 0);
      const files = Array.isArray(object?.recording_files) ? (object.recording_files as unknown[]) : [];
      if (files.length === 0) return;
      const file = files[mutation.at % files.length];
      if (mutation.op === 'duplicate-file') files.push(JSON.parse(JSON.stringify(file ?? null)));
      else if (file && typeof file === 'object') delete (file as Record<string, unknown>).id;
      return;
    }
    case 'set-path':
    case 'delete-path': {
      const paths = pathsOf(root);
      const path = paths[mutation.at % paths.length];
      if (!path) return;
      let parent: unknown = root;
      for (const key of path.slice(0, -1)) parent = (parent as Record<Key, unknown>)[key];
      const last = path[path.length - 1]!;
      if (mutation.op === 'set-path') (parent as Record<Key, unknown>)[last] = mutation.value;
      else if (Array.isArray(parent)) parent.splice(Number(last), 1);
      else delete (parent as Record<Key, unknown>)[last];
    }
  }
}

// Lengths around the schema limits (20, 100, 200, 4096, 8192, 20000); 182–200 once
// overflowed metadata.causationId (`zoom:{uuid}@{event_ts}`), now bounded by the webhook.
const BOUNDARY_LENGTHS = [0, 1, 20, 21, 100, 101, 182, 190, 199, 200, 201, 4096, 4097, 8193, 20_001];
const boundaryString = fc
  .tuple(fc.constantFrom(...BOUNDARY_LENGTHS), fc.constantFrom('x', '\u0000', 'é', '\uD800', '"', '/', '👨‍👩‍👧'))
  .map(([length, unit]) => unit.repeat(Math.ceil(length / unit.length)).slice(0, length));
const oddNumber = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(-1, 0, -0, 1.5, 2 ** 53, Number.MAX_SAFE_INTEGER, 1e308, -1e308, 8.64e15 + 1),
);
const oddValue = fc.oneof(
  fc.constant(null),
  oddNumber,
  boundaryString,
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('2021-07-13T21:44:51Z', '2021-07-13T21:44:51', 'yesterday', 'recording.completed', 'endpoint.url_validation', ''),
  fc.jsonValue({ maxDepth: 2 }),
  fc.boolean(),
);
const field = fc.constantFrom(...(Object.keys(FIELDS) as Target[])).chain((target) =>
  fc.record({ target: fc.constant(target), field: fc.constantFrom<string>(...FIELDS[target]), at: fc.nat() }),
);
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(field, oddValue).map(([where, value]): Mutation => ({ op: 'set', ...where, value })) },
  { weight: 2, arbitrary: field.map((where): Mutation => ({ op: 'delete', ...where })) },
  { weight: 2, arbitrary: fc.tuple(fc.nat(), oddValue).map(([at, value]): Mutation => ({ op: 'set-path', at, value })) },
  { weight: 1, arbitrary: fc.nat().map((at): Mutation => ({ op: 'delete-path', at })) },
  { weight: 1, arbitrary: fc.nat().map((at): Mutation => ({ op: 'duplicate-file', at })) },
  { weight: 1, arbitrary: fc.nat().map((at): Mutation => ({ op: 'drop-file-id', at })) },
);
const mutatedDelivery = fc.record({
  fixture: fc.constantFrom(...FIXTURES),
  mutations: fc.array(mutation, { minLength: 1, maxLength: 4 }),
  indent: fc.constantFrom(undefined, 1, '\t'),
  bom: fc.boolean(),
});

/** The bytes of a mutated delivery (built inside the property, so a counterexample reads as mutations). */
function mutatedBytes({ fixture, mutations, indent, bom }: typeof mutatedDelivery extends fc.Arbitrary<infer T> ? T : never): Buffer {
  const root = JSON.parse(fixtureTexts.get(fixture)!) as Record<string, unknown>;
  for (const m of mutations) applyMutation(root, m);
  const text = JSON.stringify(root, null, indent);
  return Buffer.concat([bom ? Buffer.from([0xef, 0xbb, 0xbf]) : Buffer.alloc(0), Buffer.from(text, 'utf8')]);
}

describe('webhook parser under fuzzing (signed deliveries)', () => {
  it('answers 200 or 400 to arbitrary bytes and never throws', async () => {
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 512 }),
      fc.uint8Array({ maxLength: 256 }).map((tail) => Buffer.concat([Buffer.from('\uFEFF{"event":"recording.completed","payload":'), tail])),
    );
    await fc.assert(
      fc.asyncProperty(bytes, async (raw) => {
        const rawBody = Buffer.from(raw);
        const { answer, published } = await deliverSigned(rawBody);
        expectSafeOutcome(rawBody, answer, published);
      }),
      { numRuns: 400 },
    );
  });

  it('answers 200 or 400 to arbitrary JSON values and Zoom-like envelopes', async () => {
    const envelope = fc.record(
      {
        event: fc.oneof(fc.constantFrom('recording.completed', 'recording.transcript_completed', 'endpoint.url_validation', 'recording.deleted'), fc.string()),
        event_ts: oddValue,
        download_token: fc.oneof(fc.string({ minLength: 16, maxLength: 64 }), oddValue),
        payload: fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.record({ plainToken: oddValue }), fc.record({ account_id: oddValue, object: fc.jsonValue({ maxDepth: 3 }) })),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.jsonValue(), envelope), async (value) => {
        const rawBody = Buffer.from(JSON.stringify(value) ?? 'null');
        const { answer, published } = await deliverSigned(rawBody);
        expectSafeOutcome(rawBody, answer, published);
      }),
      { numRuns: 600 },
    );
  });

  it('answers 200 or 400 to mutated Zoom payloads; what it accepts keeps every file once', async () => {
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(mutatedDelivery, async (spec) => {
        const rawBody = mutatedBytes(spec);
        const { answer, published } = await deliverSigned(rawBody);
        expectSafeOutcome(rawBody, answer, published);
        if (published.length > 0) {
          accepted++;
          const sent = JSON.parse(rawBody.toString('utf8').replace(/^\uFEFF/, '')) as { payload: { object: { recording_files: unknown[] } } };
          const parts = published.map((event) => event.detail as RecordingAvailable);
          expect(parts.flatMap((part) => part.files)).toHaveLength(sent.payload.object.recording_files.length);
        }
      }),
      { numRuns: 1200 },
    );
    // The mutations must leave enough deliveries valid for the accepted path to be fuzzed too.
    expect(accepted).toBeGreaterThan(120);
  });
});

// ---------------------------------------------------------------------------------
// (b) the normalizer

const TIMES = ['2026-11-26T09:00:00Z', '2026-11-26T09:30:00Z', '2026-11-26T10:00:00.000+01:00'];
const FILE_TYPES = ['MP4', 'M4A', 'CC', 'TIMELINE', 'TRANSCRIPT', 'CHAT', 'SUMMARY'];
const RECORDING_TYPES = ['shared_screen_with_speaker_view', 'gallery_view', 'audio_only', 'closed_caption'];
const opt = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined });

/** Zoom-shaped files; id-less ones share types and times often, to exercise the collision suffix. */
const zoomFile = fc.record({
  hasId: fc.boolean(),
  file_type: fc.constantFrom(...FILE_TYPES),
  recording_type: opt(fc.constantFrom(...RECORDING_TYPES)),
  recording_start: opt(fc.constantFrom(...TIMES)),
  recording_end: opt(fc.constantFrom(...TIMES)),
  file_size: opt(fc.nat()),
  status: opt(fc.constantFrom('completed', 'processing')),
});
const zoomRecording = fc.record({
  uuid: fc.string({ minLength: 1, maxLength: 60 }),
  // Long lists of long URLs are what must be split into parts (> 240 KiB).
  files: fc.oneof(fc.array(zoomFile, { maxLength: 20 }), fc.array(zoomFile, { minLength: 60, maxLength: 90 })),
  urlLength: fc.constantFrom(40, 4000),
  token: opt(fc.string({ minLength: 16, maxLength: 200 })),
});

type ZoomRecordingSpec = typeof zoomRecording extends fc.Arbitrary<infer T> ? T : never;

function payloadOf(spec: ZoomRecordingSpec) {
  return RecordingPayloadSchema.parse({
    account_id: 'acct',
    object: {
      uuid: spec.uuid,
      id: 1234567890,
      topic: '[MAQ101] Fuzzed lesson',
      start_time: '2026-11-26T09:00:00Z',
      recording_files: spec.files.map(({ hasId, ...file }, index) => ({
        ...file,
        ...(hasId ? { id: `zoom-file-${index}` } : {}),
        download_url: `https://ssrweb.zoom.us/rec/download/${index}/`.padEnd(spec.urlLength, 'x'),
      })),
    },
  });
}

const normalizeInput = (payload: NormalizeInput['payload'], token: string | undefined, correlationId: string): NormalizeInput => ({
  trigger: 'recording.completed',
  payload,
  eventTs: 1_764_150_000_000,
  downloadToken: token,
  receivedAt: NOW,
  correlationId,
  causationId: 'zoom:fuzz',
});

const DERIVED_ID = /^derived-[0-9a-f]{32}(-\d+)?$/;

describe('normalizer properties', () => {
  it('gives every file one stable id and puts every file in exactly one part, in order', () => {
    const seen = { split: 0, suffixed: 0 };
    fc.assert(
      fc.property(zoomRecording, (spec) => {
        const payload = payloadOf(spec);
        const first = normalizeRecording(normalizeInput(payload, spec.token, 'c-1'), sealer);
        const second = normalizeRecording(normalizeInput(payload, spec.token, 'c-2'), sealer);
        const files = first.flatMap((part) => part.files);
        const zoomFiles = payload.object.recording_files;

        // Every file once, in Zoom's order, across the parts.
        expect(files.map((file) => file.downloadUrl)).toEqual(zoomFiles.map((file) => file.download_url));
        // Unique within the recording, the same in another delivery.
        expect(new Set(files.map((file) => file.fileId)).size).toBe(files.length);
        expect(second.flatMap((part) => part.files.map((file) => file.fileId))).toEqual(files.map((file) => file.fileId));
        // Zoom's id when present, a derived one otherwise.
        files.forEach((file, i) => {
          const id = zoomFiles[i]!.id;
          if (id) expect(file).toMatchObject({ fileId: id, idSource: 'zoom' });
          else expect(file.idSource === 'derived' && DERIVED_ID.test(file.fileId)).toBe(true);
        });
        // Parts: numbered, within the bus limit, each a valid RecordingAvailable.
        first.forEach((part, index) => {
          expect(part.part).toEqual({ index, count: first.length });
          expect(part.fileCount).toBe(zoomFiles.length);
          expect(Buffer.byteLength(JSON.stringify(part))).toBeLessThanOrEqual(MAX_DETAIL_BYTES);
          expect(() => parseDetail(DetailType.RecordingAvailable, part)).not.toThrow();
          if (spec.token) expect(JSON.stringify(part)).not.toContain(spec.token);
        });
        if (first.length > 1) seen.split++;
        if (files.some((file) => /^derived-[0-9a-f]{32}-\d+$/.test(file.fileId))) seen.suffixed++;
      }),
      { numRuns: 250 },
    );
    // The generator must reach the interesting paths: split recordings and same-looking id-less files.
    expect(seen.split).toBeGreaterThan(5);
    expect(seen.suffixed).toBeGreaterThan(25);
  });

  it('derives the id of an id-less file from that file alone, not from the files that have ids', () => {
    fc.assert(
      fc.property(zoomRecording, (spec) => {
        const all = normalizeRecording(normalizeInput(payloadOf(spec), undefined, 'c'), sealer).flatMap((part) => part.files);
        const idLessOnly = normalizeRecording(
          normalizeInput(payloadOf({ ...spec, files: spec.files.filter((file) => !file.hasId) }), undefined, 'c'),
          sealer,
        ).flatMap((part) => part.files);
        expect(idLessOnly.map((file) => file.fileId)).toEqual(all.filter((file) => file.idSource === 'derived').map((file) => file.fileId));
      }),
      { numRuns: 200 },
    );
  });
});

// ---------------------------------------------------------------------------------
// (c) archive keys rendered from hostile values, through the whole decision

const dangerous = fc.constantFrom(
  '/', '//', '.', '..', '../', '\\', '\u0000', '\u001f', '\u007f', '\u0085', '\u202E', '\u2066', '\u200B', '\u200E', '\uFEFF', ' ', '\t', '\r\n',
  ':', '?', '*', '|', '"', '<', '>', '%', '#', '{', '}', '~', '[', ']', '`', '\uD800', '\uDFFF', '\uFFFF', '\uFDD0',
  '👨‍👩‍👧', 'e\u0301', '\u0301', 'CON', 'nul.', '.mp4', 'é', '٣', '-', '_', 'A',
);
const hostileText = (maxParts: number) =>
  fc
    .array(fc.oneof({ weight: 3, arbitrary: dangerous }, { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) }), { maxLength: maxParts })
    .map((parts) => parts.join(''));
const bounded = (text: fc.Arbitrary<string>, min: number, max: number) =>
  text.map((value) => Array.from(value).slice(0, max).join('')).filter((value) => value.length >= min && value.length <= max);

const hostileRecording = fc.record({
  topic: fc.oneof({ weight: 5, arbitrary: hostileText(40) }, { weight: 1, arbitrary: hostileText(8).map((t) => t.repeat(150)) }),
  uuid: bounded(hostileText(20), 1, 60),
  timezone: opt(fc.oneof(hostileText(6), fc.constantFrom('America/Los_Angeles', 'Asia/Kolkata', 'Pacific/Chatham'))),
  files: fc.array(
    fc.record({
      id: opt(bounded(hostileText(12), 1, 100)),
      recording_type: opt(bounded(hostileText(10), 0, 150)),
      file_extension: opt(bounded(hostileText(6), 0, 20)),
      recording_start: fc.constantFrom('2026-11-26T09:00:00Z', '2026-11-26T09:00:00Z', '2026-11-26T23:59:59.999-11:00'),
    }),
    { minLength: 1, maxLength: 5 },
  ),
});

const CONFIGS: readonly [string, ArchiverConfig][] = [
  ['default rules', loadArchiverConfig({})],
  [
    'a template with every token',
    parseArchiverConfig({
      naming: {
        template: 'archive/{course}/{fullTopic}/{meetingId}/{recordingId}/{fileId}/{start}_{fileStart:HH-mm}_{topic}_{recordingType}_{fileType}{part:_p}_{instance}.{ext}',
      },
    }),
  ],
];

describe('archive keys from hostile webhook values', () => {
  it.each(CONFIGS)('are safe, unique within a recording and the same every time (%s)', (_name, config) => {
    fc.assert(
      fc.property(hostileRecording, (spec) => {
        const payload = RecordingPayloadSchema.parse({
          object: {
            uuid: spec.uuid,
            id: 98765432101,
            topic: `[MAQ101] ${spec.topic}`.slice(0, MAX_TOPIC_CHARS),
            start_time: '2026-11-26T09:00:00Z',
            timezone: spec.timezone,
            recording_files: spec.files.map((file) => ({
              ...file,
              file_type: 'MP4',
              recording_end: '2026-11-26T10:00:00Z',
              download_url: 'https://ssrweb.zoom.us/rec/download/x',
              status: 'completed',
            })),
          },
        });
        const [recording] = normalizeRecording(normalizeInput(payload, undefined, 'c'), sealer);
        const decision = decideRecording(recording!, config);
        expect(decision.outcome).toBe('accepted');
        if (decision.outcome !== 'accepted') return;

        const keys = decision.files.map((file) => file.archiveKey);
        for (const key of keys) expect(archiveKeyProblems(key)).toEqual([]);
        expect(new Set(keys).size).toBe(keys.length);
        const again = decideRecording(recording!, config);
        expect(again.outcome === 'accepted' && again.files.map((file) => file.archiveKey)).toEqual(keys);
      }),
      { numRuns: 150 },
    );
  });
});
