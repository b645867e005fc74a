/** Report section: in-process latency of the webhook use case (bench/webhook-handler.ts). */
import { benchWebhookHandler } from '../webhook-handler';
import { fmt } from '../stats';

export async function run(): Promise<string> {
  const handler = await benchWebhookHandler();
  const lines = [
    `## Webhook handler, in process (${handler.files} files, ${(handler.bodyBytes / 1024).toFixed(1)} KiB body, publisher stubbed)`,
    '',
    '| run | n | median ms | p99 ms | min ms | max ms |',
    '|---|---|---|---|---|---|',
  ];
  for (const [name, s] of [['ours: verify + parse + normalize + seal', handler.ours], ['baseline: HMAC + JSON.parse only', handler.baseline]] as const) {
    lines.push(`| ${name} | ${s.n} | ${fmt(s.median)} | ${fmt(s.p99)} | ${fmt(s.min)} | ${fmt(s.max)} |`);
  }
  lines.push('');
  lines.push(
    `Ratio ours/baseline: median ${fmt(handler.ours.median / handler.baseline.median, 2)}×, p99 ${fmt(handler.ours.p99 / handler.baseline.p99, 2)}×. Target: p99 < 5 ms — ${handler.ours.p99 < 5 ? 'met' : 'missed'}.`,
  );
  return lines.join('\n');
}
