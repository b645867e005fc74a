import { MemoryDeliveryGuard } from '../../shared/adapters/delivery-guard-memory';
import { createHmac } from 'node:crypto';
import { TokenSealer } from '../../shared/crypto/token-seal';
import { DetailType, MAX_DETAIL_BYTES, parseDetail } from '../../shared/events';
import { silentLogger } from '../../shared/logger';
import { handleWebhookDelivery, type WebhookDeps } from '../../services/webhook/use-case';
import { loadZoomFixture, recordingWithFiles, signedHeaders, type ZoomFixtureName } from '../support/fixtures';
import { MemoryPublisher } from '../support/memory-publisher';

const SECRET = 'webhook-secret-token-for-tests';
const NOW = new Date('2026-11-27T10:00:00Z');
const NOW_S = Math.floor(NOW.getTime() / 1000);

function setup() {
  const publisher = new MemoryPublisher();
  const sealer = new TokenSealer(SECRET);
  const deps: WebhookDeps = { secretToken: SECRET, maxSkewSeconds: 300, publisher, sealer, deliveries: new MemoryDeliveryGuard(), logger: silentLogger, now: () => NOW };
  const deliver = (body: unknown, headers: Partial<Record<string, string>> = signedHeaders(raw(body), SECRET, NOW_S)) =>
    handleWebhookDelivery(
      { rawBody: raw(body), signature: headers['x-zm-signature'], timestamp: headers['x-zm-request-timestamp'], trackingId: headers['x-zm-trackingid'] },
      deps,
    );
  return { publisher, sealer, deliver };
}
const raw = (body: unknown) => (Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)));

describe('webhook use case: recording.completed', () => {
  it('publishes one RecordingAvailable that keeps every field later steps need', async () => {
    const { publisher, deliver } = setup();
    const fixture = loadZoomFixture('recording-completed');

    const answer = await deliver(fixture);

    expect(answer.status).toBe(200);
    const [detail, ...rest] = publisher.ofType(DetailType.RecordingAvailable);
    expect(rest).toHaveLength(0);
    expect(() => parseDetail(DetailType.RecordingAvailable, detail)).not.toThrow();
    const object = fixture.payload.object;
    expect(detail).toMatchObject({
      trigger: 'recording.completed',
      recordingId: object.uuid,
      meetingId: String(object.id),
      accountId: 'AAAAAABBBB',
      hostId: 'x1yCzABCDEfg23HiJKl4mN',
      hostEmail: object.host_email,
      topic: object.topic,
      startTime: object.start_time,
      timezone: 'America/Los_Angeles',
      durationMinutes: 60,
      fileCount: object.recording_files.length,
      part: { index: 0, count: 1 },
      zoomEventTime: new Date(fixture.event_ts).toISOString(),
      receivedAt: NOW.toISOString(),
    });
    expect(detail!.files).toHaveLength(object.recording_files.length);
    const mp4 = object.recording_files[0]!;
    expect(detail!.files[0]).toEqual({
      fileId: mp4.id,
      idSource: 'zoom',
      fileType: 'MP4',
      fileExtension: 'MP4',
      recordingType: mp4.recording_type,
      fileSize: mp4.file_size,
      recordingStart: mp4.recording_start,
      recordingEnd: mp4.recording_end,
      downloadUrl: mp4.download_url,
      status: 'completed',
    });
    expect(detail!.metadata).toMatchObject({ schemaVersion: 1, idempotencyKey: `recording.completed:${object.uuid}:0/1` });
    expect(answer.body).toMatchObject({ status: 'accepted', recordingId: object.uuid, correlationId: detail!.metadata.correlationId });
  });

  it('gives CC and TIMELINE files (no id in Zoom) stable derived ids, the same in every delivery', async () => {
    const first = setup();
    const second = setup();
    await first.deliver(loadZoomFixture('recording-completed'));
    await second.deliver(loadZoomFixture('recording-completed'));

    const ids = (p: MemoryPublisher) => p.ofType(DetailType.RecordingAvailable)[0]!.files.filter((f) => f.idSource === 'derived').map((f) => [f.fileType, f.fileId]);
    expect(ids(first.publisher)).toHaveLength(2);
    expect(ids(first.publisher)).toEqual(ids(second.publisher));
    expect(new Set(ids(first.publisher).map(([, id]) => id)).size).toBe(2);
  });

  it('tells apart two id-less CC files of a multi-part meeting and keeps both MP4 parts', async () => {
    const { publisher, deliver } = setup();
    await deliver(loadZoomFixture('recording-completed-multipart'));

    const files = publisher.ofType(DetailType.RecordingAvailable)[0]!.files;
    const ccIds = files.filter((f) => f.fileType === 'CC').map((f) => f.fileId);
    expect(new Set(ccIds).size).toBe(2);
    expect(files.filter((f) => f.recordingType === 'shared_screen_with_speaker_view')).toHaveLength(2);
    expect(new Set(files.map((f) => f.fileId)).size).toBe(files.length);
  });

  it('keeps unicode topics byte for byte', async () => {
    const { publisher, deliver } = setup();
    const fixture = loadZoomFixture('recording-completed-unicode');
    await deliver(fixture);
    expect(publisher.ofType(DetailType.RecordingAvailable)[0]!.topic).toBe(fixture.payload.object.topic);
  });

  it('seals the download token: absent in clear from the event, recoverable by the uploader, expiry readable', async () => {
    const { publisher, sealer, deliver } = setup();
    const fixture = loadZoomFixture('recording-completed');
    await deliver(fixture);

    const detail = publisher.ofType(DetailType.RecordingAvailable)[0]!;
    expect(JSON.stringify(detail)).not.toContain(fixture.download_token!);
    expect(JSON.stringify(detail)).not.toContain(fixture.download_token!.split('.')[1]!);
    expect(sealer.open(detail.downloadAccess!.sealedToken)).toBe(fixture.download_token);
    expect(new TokenSealer('another-secret-entirely').open(detail.downloadAccess!.sealedToken)).toBeUndefined();
    expect(detail.downloadAccess!.expiresAt).toBe('2021-07-15T02:44:51.000Z');
  });

  it('accepts a recording without download token and with nulls for optional fields', async () => {
    const { publisher, deliver } = setup();
    const fixture = loadZoomFixture('recording-completed-not-course');
    delete fixture.download_token;
    Object.assign(fixture.payload.object, { timezone: null, host_email: null });
    fixture.payload.object.recording_files[0]!.status = null as unknown as string;

    expect((await deliver(fixture)).status).toBe(200);
    const detail = publisher.ofType(DetailType.RecordingAvailable)[0]!;
    expect(detail.downloadAccess).toBeUndefined();
    expect(detail.timezone).toBeUndefined();
    expect(detail.files[0]!.status).toBeUndefined();
  });

  it('publishes recording.transcript_completed as a RecordingAvailable with its own trigger', async () => {
    const { publisher, deliver } = setup();
    await deliver(loadZoomFixture('recording-transcript-completed'));
    const detail = publisher.ofType(DetailType.RecordingAvailable)[0]!;
    expect(detail.trigger).toBe('recording.transcript_completed');
    expect(detail.files.map((f) => f.fileType)).toEqual(['TRANSCRIPT']);
  });

  it('publishes a 150-file recording in one event under the size budget', async () => {
    const { publisher, deliver } = setup();
    expect((await deliver(recordingWithFiles(150))).status).toBe(200);

    const [detail, ...rest] = publisher.ofType(DetailType.RecordingAvailable);
    expect(rest).toHaveLength(0);
    expect(detail!.files).toHaveLength(150);
    expect(Buffer.byteLength(JSON.stringify(detail))).toBeLessThan(MAX_DETAIL_BYTES);
  });

  it('splits a recording too large for one bus entry into parts that together hold every file once', async () => {
    const { publisher, deliver } = setup();
    // 300 files (the most accepted) with long download URLs: well over one entry's 256 KB.
    const fixture = recordingWithFiles(300, 1500);
    expect((await deliver(fixture)).status).toBe(200);

    const parts = publisher.ofType(DetailType.RecordingAvailable);
    expect(parts.length).toBeGreaterThan(1);
    for (const [index, part] of parts.entries()) {
      expect(Buffer.byteLength(JSON.stringify(part))).toBeLessThanOrEqual(MAX_DETAIL_BYTES);
      expect(part.part).toEqual({ index, count: parts.length });
      expect(part.fileCount).toBe(300);
      expect(part.metadata.correlationId).toBe(parts[0]!.metadata.correlationId);
    }
    const ids = parts.flatMap((p) => p.files.map((f) => f.fileId));
    expect(ids).toEqual(fixture.payload.object.recording_files.map((f) => f.id));
    expect(new Set(parts.map((p) => p.metadata.idempotencyKey)).size).toBe(parts.length);
  });

  it('answers 500 and is not acknowledged when the bus does not keep the event', async () => {
    const { publisher, deliver } = setup();
    publisher.failNext = 1;
    const answer = await deliver(loadZoomFixture('recording-completed'));
    expect(answer.status).toBe(500);
    expect(publisher.published).toHaveLength(0);
  });
});

describe('webhook use case: other events', () => {
  it('answers a signed endpoint.url_validation with the encrypted token', async () => {
    const { publisher, deliver } = setup();
    const answer = await deliver(loadZoomFixture('url-validation'));
    expect(answer).toEqual({
      status: 200,
      body: {
        plainToken: 'qgg8vlvZRS6UYooatFL8Aw',
        // printf 'qgg8vlvZRS6UYooatFL8Aw' | openssl dgst -sha256 -hmac webhook-secret-token-for-tests
        encryptedToken: createHmac('sha256', SECRET).update('qgg8vlvZRS6UYooatFL8Aw').digest('hex'),
      },
    });
    expect(publisher.published).toHaveLength(0);
  });

  it('refuses an unsigned endpoint.url_validation with 401 and signs nothing', async () => {
    const { deliver } = setup();
    const answer = await deliver(loadZoomFixture('url-validation'), {});
    expect(answer.status).toBe(401);
    expect(answer.body).not.toHaveProperty('encryptedToken');
  });

  it.each([
    ['a signing string', `v0:${NOW_S}:{"event":"recording.completed"}`],
    ['JSON', '{"a":1}'],
    ['too short', 'abc'],
    ['too long', 'A'.repeat(129)],
    ['spaces', 'qgg8vlvZ RS6UYooatFL8Aw'],
  ])('refuses a signed url_validation whose plainToken is %s (400)', async (_name, plainToken) => {
    const { deliver } = setup();
    const answer = await deliver({ event: 'endpoint.url_validation', event_ts: NOW.getTime(), payload: { plainToken } });
    expect(answer.status).toBe(400);
    expect(String(answer.body.message)).toMatch(/payload\.plainToken/);
    expect(answer.body).not.toHaveProperty('encryptedToken');
  });

  it('refuses a url_validation whose signature headers are present but wrong', async () => {
    const { deliver } = setup();
    const answer = await deliver(loadZoomFixture('url-validation'), { 'x-zm-signature': 'v0=00', 'x-zm-request-timestamp': String(NOW_S) });
    expect(answer.status).toBe(401);
  });

  it.each<[string, ZoomFixtureName | object]>([
    ['recording.trashed', 'recording-trashed'],
    ['an unknown event', { event: 'meeting.started', payload: { object: {} } }],
  ])('acknowledges %s without publishing', async (_name, body) => {
    const { publisher, deliver } = setup();
    const answer = await deliver(typeof body === 'string' ? loadZoomFixture(body as ZoomFixtureName) : body);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ status: 'ignored' });
    expect(publisher.published).toHaveLength(0);
  });
});

describe('webhook use case: bad input publishes nothing', () => {
  const valid = () => loadZoomFixture('recording-completed');
  const withObject = (change: (object: Record<string, unknown>) => void) => {
    const fixture = valid();
    change(fixture.payload.object as unknown as Record<string, unknown>);
    return fixture;
  };
  const withFile = (change: (file: Record<string, unknown>) => void) =>
    withObject((object) => change((object.recording_files as Record<string, unknown>[])[0]!));

  it.each<[string, unknown, number, RegExp]>([
    ['empty body', Buffer.alloc(0), 400, /empty body/],
    ['not JSON', 'event=recording.completed', 400, /not valid JSON/],
    ['a JSON array', [], 400, /invalid Zoom event/],
    ['deeply nested JSON', '['.repeat(100_000) + ']'.repeat(100_000), 400, /invalid Zoom event|not valid JSON/],
    ['missing event', { payload: {} }, 400, /body\.event/],
    ['missing payload.object', { event: 'recording.completed', payload: {} }, 400, /payload\.object/],
    ['uuid missing', withObject((o) => delete o.uuid), 400, /payload\.object\.uuid/],
    ['topic a number', withObject((o) => (o.topic = 42)), 400, /payload\.object\.topic/],
    ['start_time not a date', withObject((o) => (o.start_time = 'yesterday')), 400, /start_time/],
    ['recording_files not an array', withObject((o) => (o.recording_files = {})), 400, /recording_files/],
    ['negative file_size', withFile((f) => (f.file_size = -1)), 400, /file_size/],
    ['file_size beyond safe integers', withFile((f) => (f.file_size = 2 ** 60)), 400, /file_size/],
    ['download_url missing', withFile((f) => delete f.download_url), 400, /download_url/],
    ['file_type null', withFile((f) => (f.file_type = null)), 400, /file_type/],
  ])('%s → %i', async (_name, body, status, message) => {
    const { publisher, deliver } = setup();
    const answer = await deliver(body);
    expect(answer.status).toBe(status);
    expect(String(answer.body.message)).toMatch(message);
    expect(publisher.published).toHaveLength(0);
  });

  it('tolerates a UTF-8 byte-order mark before the JSON (signed over the bytes as sent)', async () => {
    const { publisher, deliver } = setup();
    const body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), raw(valid())]);
    expect((await deliver(body)).status).toBe(200);
    expect(publisher.published).toHaveLength(1);
  });

  it('refuses an unsigned recording.completed with 401, whatever the body', async () => {
    const { publisher, deliver } = setup();
    expect((await deliver(valid(), {})).status).toBe(401);
    expect((await deliver('not json', {})).status).toBe(401);
    expect(publisher.published).toHaveLength(0);
  });

  it('never echoes the secret or the download token in an answer', async () => {
    const { deliver } = setup();
    const fixture = valid();
    const answers = [await deliver(fixture), await deliver(fixture, { 'x-zm-signature': 'v0=bad', 'x-zm-request-timestamp': String(NOW_S) })];
    for (const answer of answers) {
      expect(JSON.stringify(answer)).not.toContain(SECRET);
      expect(JSON.stringify(answer)).not.toContain(fixture.download_token!);
    }
  });
});

describe('webhook use case: what one delivery may cost', () => {
  it('publishes nothing for the same signed bytes sent again inside the window, whatever the unsigned headers', async () => {
    const { publisher, deliver } = setup();
    const body = raw(loadZoomFixture('recording-completed'));
    const headers = signedHeaders(body, SECRET, NOW_S);
    const first = await deliver(body, { ...headers, 'x-zm-trackingid': 'first' });
    const replay = await deliver(body, { ...headers, 'x-zm-trackingid': 'attacker-chosen-id' });
    expect(first).toMatchObject({ status: 200, body: { status: 'accepted' } });
    expect(replay).toMatchObject({ status: 200, body: { status: 'duplicate' } });
    expect(publisher.published).toHaveLength(1);
  });

  it('accepts a re-signed delivery of the same recording (Zoom\'s own retry has a new timestamp)', async () => {
    const { publisher, deliver } = setup();
    const body = raw(loadZoomFixture('recording-completed'));
    await deliver(body, signedHeaders(body, SECRET, NOW_S));
    await deliver(body, signedHeaders(body, SECRET, NOW_S - 1));
    expect(publisher.ofType(DetailType.RecordingAvailable)).toHaveLength(2);
  });

  it('accepts the same bytes again when the first delivery was not kept (answered 500)', async () => {
    const { publisher, deliver } = setup();
    const body = raw(loadZoomFixture('recording-completed'));
    const headers = signedHeaders(body, SECRET, NOW_S);
    publisher.failNext = 1;
    expect((await deliver(body, headers)).status).toBe(500);
    expect((await deliver(body, headers)).body).toMatchObject({ status: 'accepted' });
    expect(publisher.published).toHaveLength(1);
  });

  it('takes the causation id from signed fields, never from x-zm-trackingid', async () => {
    const { publisher, deliver } = setup();
    const fixture = loadZoomFixture('recording-completed');
    const body = raw(fixture);
    await deliver(body, { ...signedHeaders(body, SECRET, NOW_S), 'x-zm-trackingid': 'attacker-chosen-id' });
    const [detail] = publisher.ofType(DetailType.RecordingAvailable);
    expect(detail!.metadata.causationId).toBe(`zoom:${fixture.payload.object.uuid}@${fixture.event_ts}`);
    expect(JSON.stringify(publisher.published)).not.toContain('attacker-chosen-id');
  });

  it.each<[string, () => unknown, RegExp]>([
    ['301 files', () => recordingWithFiles(301), /recording_files: at most 300 files/],
    ['a 1,001-character topic', () => ({ ...withTopic('T'.repeat(1001)) }), /payload\.object\.topic/],
    ['a 5,000-character download token', () => ({ ...loadZoomFixture('recording-completed'), download_token: 'x'.repeat(5000) }), /download_token/],
  ])('refuses %s with 400 naming the field', async (_name, build, message) => {
    const { publisher, deliver } = setup();
    const answer = await deliver(build());
    expect(answer.status).toBe(400);
    expect(String(answer.body.message)).toMatch(message);
    expect(publisher.published).toHaveLength(0);
  });

  it('accepts 300 files and a 1,000-character topic', async () => {
    const { publisher, deliver } = setup();
    const fixture = recordingWithFiles(300);
    fixture.payload.object.topic = 'T'.repeat(1000);
    expect((await deliver(fixture)).status).toBe(200);
    expect(publisher.ofType(DetailType.RecordingAvailable).flatMap((d) => d.files)).toHaveLength(300);
  });
});

function withTopic(topic: string) {
  const fixture = loadZoomFixture('recording-completed');
  fixture.payload.object.topic = topic;
  return fixture;
}

describe('webhook use case: logs', () => {
  it('cuts header values an unauthenticated sender controls, so 15 KB headers cannot fill the log', async () => {
    const lines: string[] = [];
    const record = (...args: unknown[]) => void lines.push(JSON.stringify(args));
    const deps: WebhookDeps = {
      secretToken: SECRET,
      maxSkewSeconds: 300,
      publisher: new MemoryPublisher(),
      sealer: new TokenSealer(SECRET),
      deliveries: new MemoryDeliveryGuard(),
      logger: { debug: record, info: record, warn: record, error: record },
      now: () => NOW,
    };
    const huge = 't'.repeat(15_000);
    const body = raw(loadZoomFixture('recording-completed'));
    const answer = await handleWebhookDelivery({ rawBody: body, signature: `v0=${'0'.repeat(64)}`, timestamp: String(NOW_S), trackingId: huge }, deps);
    expect(answer.status).toBe(401);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line.length).toBeLessThan(500);
    expect(lines.join('')).toContain('(15000 chars)');
  });
});
