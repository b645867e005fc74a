/**
 * `npm run bench`: runs the benchmarks and writes bench/results/latest.md with the
 * machine, the versions, and each figure next to its same-process baseline.
 */
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { fmt } from './stats';
import { benchWebhookHandler } from './webhook-handler';

async function main(): Promise<void> {
  const lines: string[] = [];
  const out = (line = '') => {
    lines.push(line);
    console.log(line);
  };
  out('# zoom-archiver benchmarks');
  out();
  out(`- date: ${new Date().toISOString()}`);
  out(`- machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB`);
  out(`- node ${process.version}, ${process.platform}/${process.arch}`);
  out();

  const handler = await benchWebhookHandler();
  out(`## Webhook handler, in process (${handler.files} files, ${(handler.bodyBytes / 1024).toFixed(1)} KiB body, publisher stubbed)`);
  out();
  out('| run | n | median ms | p99 ms | min ms | max ms |');
  out('|---|---|---|---|---|---|');
  for (const [name, s] of [['ours: verify + parse + normalize + seal', handler.ours], ['baseline: HMAC + JSON.parse only', handler.baseline]] as const) {
    out(`| ${name} | ${s.n} | ${fmt(s.median)} | ${fmt(s.p99)} | ${fmt(s.min)} | ${fmt(s.max)} |`);
  }
  out();
  out(`Ratio ours/baseline: median ${fmt(handler.ours.median / handler.baseline.median, 2)}×, p99 ${fmt(handler.ours.p99 / handler.baseline.p99, 2)}×. Target: p99 < 5 ms — ${handler.ours.p99 < 5 ? 'met' : 'missed'}.`);

  writeFileSync(join(__dirname, 'results', 'latest.md'), `${lines.join('\n')}\n`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
