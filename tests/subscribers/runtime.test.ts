/**
 * Subscribers end to end on one machine: the simulated Zoom delivers signed webhooks
 * to the real runtime (both threads, SQLite, the folder archive); real HTTP
 * subscribers on 127.0.0.1 receive what they asked for —
 * - a Standard Webhooks subscriber (its secret from env:NAME) that answers 500 twice
 *   per message, then 200, and checks every signature with the `standardwebhooks`
 *   library: each FileUploaded and the RecordingArchived arrive, delivered once each,
 *   with the same webhook-id on every retry;
 * - a Slack subscriber: readable text for FileUploaded and FileUploadFailed;
 * - a subscriber that answers 404: failed, listed by `status --deliveries`, sent again
 *   after `retry --deliveries`.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { DetailType } from '../../shared/events';
import type { SimulatedRuntime } from '../support/runtime';
import { startSimulatedRuntime } from '../support/runtime';
import { runCommand } from '../support/serve-process';
import { waitFor } from '../support/wait-for';
import { newSecret } from './support';

const MiB = 1024 * 1024;
const LMS_SECRET = newSecret();
const OPS_SECRET = newSecret();
const SLACK_PATH = '/services/T0TESTTEAM/B0TESTHOOK/SlackPathSecret42';
const mp4 = (size: number, recordingType: string) => ({ fileType: 'MP4', size, recordingType, recordingStart: '2026-11-26T09:00:00Z', recordingEnd: '2026-11-26T09:30:00Z' });

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  status: number;
}

describe('subscribers, end to end on one machine', () => {
  let server: Server;
  let base: string;
  const received: Received[] = [];
  const badSignatures: string[] = [];
  const attemptsById = new Map<string, number>();
  let opsDown = true;
  let env: SimulatedRuntime;

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const path = req.url ?? '';
        let status = 200;
        if (path === '/hooks/lms' || path === '/hooks/ops') {
          try {
            new Webhook(path === '/hooks/lms' ? LMS_SECRET : OPS_SECRET).verify(body, req.headers as Record<string, string>);
          } catch (error) {
            badSignatures.push(`${path} ${String(req.headers['webhook-id'])}: ${(error as Error).message}`);
          }
          const id = `${path} ${String(req.headers['webhook-id'])}`;
          const n = (attemptsById.get(id) ?? 0) + 1;
          attemptsById.set(id, n);
          if (path === '/hooks/lms') status = n <= 2 ? 500 : 200;
          else status = opsDown ? 404 : 200;
        } else if (path !== SLACK_PATH) {
          status = 404;
        }
        received.push({ path, headers: req.headers, body, status });
        res.writeHead(status);
        res.end(status === 200 ? 'ok' : 'not now');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const subscribers = [
      { id: 'lms', url: `${base}/hooks/lms`, secret: 'env:LMS_SECRET', events: ['FileUploaded', 'RecordingArchived', 'FileUploadFailed'] },
      { url: `${base}${SLACK_PATH}`, format: 'slack', events: ['FileUploaded', 'FileUploadFailed'] },
      { id: 'ops', url: `${base}/hooks/ops`, secret: OPS_SECRET, events: ['FileUploadFailed'], concurrency: 1 },
    ];
    env = await startSimulatedRuntime({
      secret: 'subscribers-runtime-secret',
      dirPrefix: 'subscribers-',
      env: { ARCHIVER_CONFIG_JSON: JSON.stringify({ subscribers }), SUBSCRIBER_RETRY_BASE_SECONDS: '1', LMS_SECRET },
    });
  });
  afterAll(async () => {
    await env?.stop();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const delivered = (path: string) => {
    const byId = new Map<string, Received[]>();
    for (const r of received.filter((x) => x.path === path && x.status === 200)) byId.set(String(r.headers['webhook-id'] ?? r.body), [...(byId.get(String(r.headers['webhook-id'] ?? r.body)) ?? []), r]);
    return byId;
  };

  it('delivers FileUploaded and RecordingArchived once each, signed, after the subscriber\'s 500s', async () => {
    const { simulator, runtime, webhookUrl } = env;
    const recording = await simulator.addRecording({ topic: '[SUB101] Subscribed lesson', files: [mp4(2 * MiB, 'shared_screen_with_speaker_view'), mp4(MiB, 'gallery_view')] });
    expect((await simulator.deliverWebhook(webhookUrl, recording.payload)).status).toBe(200);
    await runtime.bus.idle();

    const lms = await waitFor(
      () => `3 messages delivered to the LMS (so far: ${[...delivered('/hooks/lms').keys()].length})`,
      () => {
        const byId = delivered('/hooks/lms');
        return byId.size >= 3 ? byId : undefined;
      },
      30_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 1500)); // room for a duplicate, should one be coming
    const bodies = [...delivered('/hooks/lms').values()].map((answers) => {
      expect(answers).toHaveLength(1); // delivered once
      return JSON.parse(answers[0]!.body) as { type: string; timestamp: string; data: { recordingId: string; fileId?: string; course: string } };
    });
    expect(bodies.map((b) => b.type).sort()).toEqual([DetailType.FileUploaded, DetailType.FileUploaded, DetailType.RecordingArchived]);
    expect(new Set(bodies.filter((b) => b.type === DetailType.FileUploaded).map((b) => b.data.fileId))).toEqual(new Set(recording.files.map((f) => f.fileId)));
    for (const b of bodies) expect(b.data).toMatchObject({ recordingId: recording.uuid, course: 'SUB101' });
    // Every attempt of a message carries its id: 500, 500, then 200 — and every signature is valid.
    for (const id of lms.keys()) {
      const attempts = received.filter((r) => r.path === '/hooks/lms' && r.headers['webhook-id'] === id);
      expect(attempts.map((a) => a.status)).toEqual([500, 500, 200]);
      expect(new Set(attempts.map((a) => a.body)).size).toBe(1);
    }
    expect(badSignatures).toEqual([]);
  }, 60_000);

  it('tells Slack in words, and lists, then re-sends, a failed delivery (status --deliveries, retry --deliveries)', async () => {
    const { simulator, runtime, webhookUrl, dir } = env;
    const recording = await simulator.addRecording({ topic: '[SUB102] Foreign file', files: [mp4(MiB, 'speaker_view')] });
    const payload = structuredClone(recording.payload);
    payload.payload.object.recording_files[0]!.download_url = 'http://169.254.169.254/latest/meta-data/';
    expect((await simulator.deliverWebhook(webhookUrl, payload)).status).toBe(200);
    await runtime.bus.idle();

    const slack = await waitFor('the Slack message of the failure', () => received.find((r) => r.path === SLACK_PATH && r.body.includes('Not archived')));
    const text = (JSON.parse(slack.body) as { text: string }).text;
    expect(text).toContain(`:x: Not archived for *SUB102*: file \`${recording.files[0]!.fileId}\``);
    expect(text).toContain('Reason: `foreign_host`');
    expect(text).toContain(`Look closer: \`zoom-archiver status --recording ${recording.uuid}\``);
    expect(received.filter((r) => r.path === SLACK_PATH && r.body.includes('Archived for *SUB101*'))).toHaveLength(2);

    await waitFor('the ops delivery to fail', () => (received.some((r) => r.path === '/hooks/ops' && r.status === 404) ? true : undefined));
    const status = await waitFor('status --deliveries to show the failure', async () => {
      const result = await runCommand(['status', '--deliveries', '--json', '--data-dir', dir], {});
      const parsed = JSON.parse(result.output) as { subscribers: { id: string; origin: string; counts: Record<string, number> }[]; messages: { subscriberId: string; state: string; lastStatus: number; lastError: string }[] };
      return parsed.subscribers.find((s) => s.id === 'ops')?.counts.failed === 1 ? { parsed, output: result.output } : undefined;
    });
    expect(status.parsed.subscribers.find((s) => s.id === 'ops')).toMatchObject({ origin: base, counts: { failed: 1, pending: 0 } });
    const lmsCounts = status.parsed.subscribers.find((s) => s.id === 'lms')!.counts;
    expect(lmsCounts.delivered! + lmsCounts.pending!).toBe(4); // its FileUploadFailed may still be between its 500s
    expect(status.parsed.messages.filter((m) => m.subscriberId === 'ops')).toEqual([expect.objectContaining({ state: 'failed', lastStatus: 404, lastError: `${base} answered 404: not now` })]);
    const table = await runCommand(['status', '--deliveries', '--data-dir', dir], {});
    expect(table.output).toContain('Subscriber deliveries');
    expect(table.output).toContain('zoom-archiver retry --deliveries');
    for (const output of [status.output, table.output]) {
      expect(output).not.toContain('SlackPathSecret42');
      expect(output).not.toContain(LMS_SECRET.slice(6));
      expect(output).not.toContain(OPS_SECRET.slice(6));
    }

    opsDown = false;
    const retried = await runCommand(['retry', '--deliveries', '--data-dir', dir], {});
    expect(retried.output).toContain('1 failed subscriber delivery queued again');
    await waitFor('the ops delivery after retry --deliveries', () => (received.some((r) => r.path === '/hooks/ops' && r.status === 200) ? true : undefined));
    expect(badSignatures).toEqual([]);
  }, 60_000);
});
