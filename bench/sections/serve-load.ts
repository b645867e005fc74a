/**
 * Report section: webhook answer time through the real server (`zoom-archiver serve`
 * in its own process, with its durable bus and consumers running), under autocannon
 * at concurrency 1, 50 and 200 — each delivery a distinct, correctly signed
 * recording.completed — next to a baseline in the same run: GET /healthz on the same
 * server under the same load (the HTTP stack's floor). Then concurrency 50 again
 * while a 2 GiB file streams through the same process.
 */
import { randomUUID } from 'node:crypto';
import autocannon from 'autocannon';
import { signatureFor } from '../../services/webhook/signature';
import { loadZoomFixture } from '../../tests/support/fixtures';
import type { BenchContext } from '../section';
import { zoomEnvFor } from '../../tools/zoom-simulator/simulator';
import { startRemoteSimulator } from '../remote-simulator';
import { startServeProcess } from '../serve-process';
import { table } from '../stats';

/** The webhook secret `load` signs with: a server under load must be started with it. */
export const SECRET = 'bench-serve-secret';
const MiB = 1024 * 1024;

export interface Latency {
  p50: number;
  p99: number;
  max: number;
  requests: number;
  non2xx: number;
  errors: number;
}

/**
 * Distinct staff-meeting recordings (rejected downstream, so the load measures the
 * webhook, not transfers), signed before the run so that the load generator, which
 * shares the 2 cores, spends no CPU on building requests.
 */
function signedDeliveries(count: number): { body: string; headers: Record<string, string> }[] {
  const fixture = loadZoomFixture('recording-completed-not-course');
  const timestamp = String(Math.floor(Date.now() / 1000));
  return Array.from({ length: count }, () => {
    fixture.payload.object.uuid = `${randomUUID()}==`;
    const body = JSON.stringify(fixture);
    return { body, headers: { 'content-type': 'application/json', 'x-zm-request-timestamp': timestamp, 'x-zm-signature': signatureFor(SECRET, timestamp, body) } };
  });
}

export async function load(url: string, connections: number, amount: number, webhook: boolean): Promise<Latency> {
  const prepared = webhook ? signedDeliveries(amount) : [];
  let next = 0;
  const result = await autocannon({
    url,
    connections,
    amount,
    timeout: 10,
    requests: [
      webhook
        ? {
            method: 'POST',
            path: '/webhooks/zoom',
            setupRequest: (request) => ({ ...request, ...prepared[next++ % prepared.length] }),
          }
        : { method: 'GET', path: '/healthz' },
    ],
  });
  return { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max, requests: result.requests.total, non2xx: result.non2xx, errors: result.errors + result.timeouts };
}

export async function run(ctx: BenchContext): Promise<string> {
  const simulator = await startRemoteSimulator();
  const serve = await startServeProcess({
    ZOOM_WEBHOOK_SECRET_TOKEN: SECRET,
    ...zoomEnvFor(simulator),
  });
  const rows: string[][] = [];
  const row = (label: string, ours: Latency, base: Latency) => [
    label,
    String(ours.requests),
    `${ours.p50} / ${ours.p99} / ${ours.max}`,
    String(ours.non2xx + ours.errors),
    `${base.p50} / ${base.p99}`,
    (ours.p99 / Math.max(1, base.p99)).toFixed(1),
  ];
  const results = new Map<string, Latency>();
  try {
    await load(serve.url, 10, 300, true); // warm-up: JIT, SQLite pages
    for (const [connections, amount] of [[1, 500], [50, 2000], [200, 2000]] as const) {
      ctx.log(`serve load: ${amount} signed deliveries at concurrency ${connections}`);
      const base = await load(serve.url, connections, amount, false);
      const ours = await load(serve.url, connections, amount, true);
      results.set(`c${connections}`, ours);
      rows.push(row(`concurrency ${connections}`, ours, base));
    }

    ctx.log('serve load: concurrency 50 while a 2 GiB file streams');
    const recording = await simulator.addRecording({
      topic: '[BEN201] Large transfer during load',
      files: [{ fileType: 'MP4', size: 2048 * MiB, recordingType: 'speaker_view', recordingStart: '2026-11-26T09:00:00Z', recordingEnd: '2026-11-26T11:00:00Z' }],
    });
    const body = JSON.stringify(recording.payload);
    const timestamp = String(Math.floor(Date.now() / 1000));
    const delivered = await fetch(`${serve.url}/webhooks/zoom`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-zm-request-timestamp': timestamp, 'x-zm-signature': signatureFor(SECRET, timestamp, body) },
      body,
    });
    if (delivered.status !== 200) throw new Error(`large recording delivery answered ${delivered.status}`);
    await new Promise((resolve) => setTimeout(resolve, 1000)); // let the transfer get going
    const base = await load(serve.url, 50, 2000, false);
    const ours = await load(serve.url, 50, 2000, true);
    results.set('streaming', ours);
    rows.push(row('concurrency 50, 2 GiB streaming', ours, base));
  } finally {
    await serve.stop();
    await simulator.stop();
  }

  const c50 = results.get('c50')!;
  const streaming = results.get('streaming')!;
  const errors = [...results.values()].reduce((n, r) => n + r.non2xx + r.errors, 0);
  return [
    '## Webhook answer time through `zoom-archiver serve`',
    '',
    'autocannon against the real server process (durable bus, consumers and audit running in it); each delivery a distinct signed `recording.completed` of a non-course meeting (validated and rejected downstream). Baseline: `GET /healthz` on the same server at the same concurrency. Latencies in ms.',
    '',
    table(['load', 'requests', 'ours p50 / p99 / max', 'errors', 'baseline p50 / p99', 'p99 ours/baseline'], rows),
    '',
    `Targets: p99 < 20 ms at concurrency 50 — ${c50.p99 < 20 ? 'met' : 'missed'} (${c50.p99} ms); zero errors — ${errors === 0 ? 'met' : `missed (${errors})`}; p99 < 50 ms while a large transfer streams — ${streaming.p99 < 50 ? 'met' : 'missed'} (${streaming.p99} ms).`,
  ].join('\n');
}
