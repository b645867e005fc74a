/**
 * `npm run bench`: runs the sections of bench/sections/index.ts and writes the report
 * with the machine, the versions and each section's figures.
 *
 * A full run (no BENCH_* variable set) writes bench/results/latest.md, which is
 * committed; a run with overrides (BENCH_ONLY=transfer,bundles BENCH_SIZES_MIB=64
 * BENCH_RUNS=2 …) writes bench/tmp/report.md instead, so a quick look never replaces
 * the committed figures.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { createContext } from './section';
import { SECTIONS } from './sections';

const ROOT = join(__dirname, '..');

async function main(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const ctx = createContext();
  const only = ctx.names('BENCH_ONLY');
  const unknown = only?.filter((id) => !SECTIONS.some((section) => section.id === id));
  if (unknown?.length) throw new Error(`BENCH_ONLY names unknown sections: ${unknown.join(', ')} (known: ${SECTIONS.map((s) => s.id).join(', ')})`);
  const overrides = Object.keys(process.env).filter((name) => name.startsWith('BENCH_'));
  const outFile = overrides.length === 0 ? join(ROOT, 'bench', 'results', 'latest.md') : join(ROOT, 'bench', 'tmp', 'report.md');

  const started = Date.now();
  const loadBefore = loadavg();
  const parts: string[] = [];
  for (const section of SECTIONS) {
    if (only && !only.includes(section.id)) continue;
    ctx.log(`section ${section.id}…`);
    const sectionStarted = Date.now();
    try {
      parts.push(await section.run(ctx));
    } catch (error) {
      ctx.log(`section ${section.id} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      parts.push(`## ${section.id}\n\nFailed: ${error instanceof Error ? error.message : String(error)}`);
    }
    ctx.log(`section ${section.id} took ${((Date.now() - sectionStarted) / 1000).toFixed(0)} s`);
  }

  const header = [
    '# zoom-archiver benchmarks',
    '',
    `- date: ${new Date(started).toISOString()}, ${((Date.now() - started) / 60_000).toFixed(1)} min`,
    `- machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Linux ${release()}; load average ${loadBefore[0]!.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end (other work on the machine shows here)`,
    `- versions: ${versions()}`,
    `- commit: ${git(['rev-parse', '--short', 'HEAD'])}${run('git', ['status', '--porcelain', '--untracked-files=no']) ? ' + uncommitted changes' : ''}`,
    ...(overrides.length ? [`- overrides: ${overrides.map((name) => `${name}=${process.env[name]}`).join(' ')}`] : []),
    '- figures: median of n runs, spread as (min–max); MB = 10^6 bytes, MiB = 2^20 bytes',
    '',
  ];
  const report = `${[...header, parts.join('\n\n')].join('\n')}\n`;
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, report);
  console.log(report);
  ctx.log(`wrote ${outFile}`);
}

function versions(): string {
  const pkg = (name: string) => {
    try {
      return (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
    } catch {
      return '?';
    }
  };
  const curl = run('curl', ['--version']).split('\n')[0]?.split(' ').slice(0, 2).join(' ') ?? '?';
  return [
    `node ${process.version}`,
    `@aws-sdk/client-s3 ${pkg('@aws-sdk/client-s3')}`,
    `@aws-sdk/lib-storage ${pkg('@aws-sdk/lib-storage')}`,
    `s3rver ${pkg('s3rver')}`,
    `esbuild ${pkg('esbuild')}`,
    `typescript ${pkg('typescript')}`,
    curl,
  ].join(', ');
}

function run(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

function git(args: string[]): string {
  return run('git', args) || '?';
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
