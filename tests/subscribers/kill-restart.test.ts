/**
 * Subscriber messages survive kill -9 of the real `zoom-archiver serve`: while the
 * subscriber is down (503) the files are archived and their messages retried; serve
 * is SIGKILLed with every message pending, restarted on the same DATA_DIR with the
 * subscriber up, and each message is then delivered — once, signed, with the
 * webhook-id it had before. Nothing serve printed, in either run, holds the secret.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { SqliteSubscriberOutbox } from '../../shared/adapters/outbox-sqlite';
import { DetailType } from '../../shared/events';
import { silentLogger } from '../../shared/logger';
import { dataPaths } from '../../host/paths';
import { startZoomSimulator, zoomEnvFor, type ZoomSimulator } from '../../tools/zoom-simulator/simulator';
import { startServe, type ServeProcess } from '../support/serve-process';
import { waitFor } from '../support/wait-for';
import { newSecret } from './support';

const ZOOM_SECRET = 'subscriber-kill-test-secret';
const HOOK_SECRET = newSecret();
const MiB = 1024 * 1024;

describe('subscriber messages across kill -9 of serve', () => {
  let simulator: ZoomSimulator;
  let server: Server;
  let dir: string;
  let up = false;
  const requests: { id: string; status: number; headers: IncomingHttpHeaders; body: string; valid: boolean }[] = [];
  const running: ServeProcess[] = [];

  beforeAll(async () => {
    simulator = await startZoomSimulator({ webhookSecret: ZOOM_SECRET });
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        let valid = true;
        try {
          new Webhook(HOOK_SECRET).verify(body, req.headers as Record<string, string>);
        } catch {
          valid = false;
        }
        const status = up ? 200 : 503;
        requests.push({ id: String(req.headers['webhook-id']), status, headers: req.headers, body, valid });
        res.writeHead(status, status === 503 ? { 'retry-after': '1' } : {});
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    dir = mkdtempSync(join(tmpdir(), 'subscriber-kill-'));
  });
  afterAll(async () => {
    for (const serve of running) await serve.kill('SIGKILL');
    await simulator.stop();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  const outboxRows = () => {
    const outbox = new SqliteSubscriberOutbox({ path: dataPaths(dir).outbox, logger: silentLogger });
    try {
      return outbox.summary();
    } finally {
      outbox.close();
    }
  };

  it('delivers every message after the restart, once, with its webhook-id', async () => {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/lms`;
    const env = {
      DATA_DIR: dir,
      LOG_LEVEL: 'INFO',
      ZOOM_WEBHOOK_SECRET_TOKEN: ZOOM_SECRET,
      ...zoomEnvFor(simulator),
      ARCHIVER_CONFIG_JSON: JSON.stringify({ subscribers: [{ id: 'lms', url, secret: 'env:LMS_HOOK_SECRET', events: ['FileUploaded', 'RecordingArchived'] }] }),
      LMS_HOOK_SECRET: HOOK_SECRET,
      SUBSCRIBER_RETRY_BASE_SECONDS: '1',
    };
    const recording = await simulator.addRecording({
      topic: '[KIL201] Subscriber down',
      files: [
        { fileType: 'MP4', size: 2 * MiB, recordingType: 'speaker_view', recordingStart: '2026-11-26T09:00:00Z', recordingEnd: '2026-11-26T09:30:00Z' },
        { fileType: 'MP4', size: MiB, recordingType: 'gallery_view', recordingStart: '2026-11-26T09:00:00Z', recordingEnd: '2026-11-26T09:30:00Z' },
      ],
    });

    const first = await startServe(env);
    running.push(first);
    expect((await simulator.deliverWebhook(`${first.url}/webhooks/zoom`, recording.payload)).status).toBe(200);
    // Archived, and each of the three messages refused at least once by the subscriber that is down.
    const tried = await waitFor('three messages tried while the subscriber is down', () => {
      const ids = new Set(requests.filter((r) => r.status === 503).map((r) => r.id));
      return ids.size >= 3 ? ids : undefined;
    });
    // ...and each refusal recorded in the outbox (the subscriber sees a 503 before serve commits it).
    await waitFor('three attempts recorded in the outbox', () => {
      const rows = outboxRows().open;
      return rows.length === 3 && rows.every((r) => r.attempts >= 1 && r.lastStatus === 503) ? true : undefined;
    });
    first.child.kill('SIGKILL');
    await first.exited;

    const afterKill = outboxRows();
    expect(afterKill.subscribers).toEqual([expect.objectContaining({ id: 'lms', counts: { pending: 3, delivered: 0, failed: 0, disabled: 0 } })]);
    expect(afterKill.open.map((r) => r.type).sort()).toEqual([DetailType.FileUploaded, DetailType.FileUploaded, DetailType.RecordingArchived]);
    expect(afterKill.open.every((r) => r.attempts >= 1 && r.lastStatus === 503)).toBe(true);

    up = true;
    const second = await startServe(env);
    running.push(second);
    await waitFor('every message delivered after the restart', () => (new Set(requests.filter((r) => r.status === 200).map((r) => r.id)).size >= 3 ? true : undefined), 30_000);
    await new Promise((resolve) => setTimeout(resolve, 1500)); // room for a duplicate, should one be coming

    const delivered = requests.filter((r) => r.status === 200);
    expect(delivered.map((r) => r.id).sort()).toEqual([...tried].sort()); // the same ids as before the kill, each once
    expect(new Set(delivered.map((r) => (JSON.parse(r.body) as { data: { recordingId: string } }).data.recordingId))).toEqual(new Set([recording.uuid]));
    expect(requests.every((r) => r.valid)).toBe(true);
    expect(outboxRows().subscribers[0]!.counts).toEqual({ pending: 0, delivered: 3, failed: 0, disabled: 0 });

    expect(await second.kill('SIGTERM')).toBe(0);
    expect(first.output()).toContain('subscriber delivery will be retried'); // the logs were captured, at INFO
    for (const serve of [first, second]) {
      const output = serve.output();
      expect(output).not.toContain(HOOK_SECRET);
      expect(output).not.toContain(HOOK_SECRET.slice('whsec_'.length));
    }
  }, 120_000);
});
