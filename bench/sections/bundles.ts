/**
 * Report section: the Lambda bundles (figure 5 of issue 8). Each entry point is built
 * the way infrastructure/constructs/archiver-function.ts has CDK build it (esbuild,
 * minified, CommonJS, node22, @aws-sdk/* external), with a metafile that says what
 * the bytes are; then the cost of loading it at a cold start: the time to `require`
 * the bundle in a fresh node process (the AWS SDK resolved from node_modules, as the
 * Lambda runtime provides it), next to a fresh `node -e 0`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build, type Metafile } from 'esbuild';
import type { BenchContext } from '../section';
import { median, medianAndRange, table } from '../stats';
import { BENCH_TMP } from '../transfer/harness';

const ROOT = join(__dirname, '..', '..');
const OUT_DIR = join(BENCH_TMP, 'bundles');

const FUNCTIONS = [
  { name: 'webhook', entry: 'services/webhook/handler.ts', limit: 250_000 },
  { name: 'course-validation', entry: 'services/course-validation/handler.ts', limit: 1_000_000 },
  { name: 'uploader', entry: 'services/uploader/handler.ts', limit: 1_000_000 },
  { name: 'uploader-recovery', entry: 'services/uploader/recover-handler.ts', limit: 1_000_000 },
  { name: 'audit', entry: 'services/audit/handler.ts', limit: 1_000_000 },
];

/** What the handlers read at module load; dummies, nothing is called. */
const LOAD_ENV = {
  EVENT_BUS_NAME: 'bench-bus',
  ARCHIVE_BUCKET: 'bench-bucket',
  LEDGER_TABLE_NAME: 'bench-ledger',
  AUDIT_TABLE_NAME: 'bench-audit',
  AWS_REGION: 'us-east-1',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  POWERTOOLS_SERVICE_NAME: 'bench',
  LOG_LEVEL: 'SILENT',
};

interface Built {
  name: string;
  limit: number;
  file: string;
  bytes: number;
  gzipBytes: number;
  mapBytes: number;
  inputs: { path: string; bytes: number }[];
  packages: { name: string; bytes: number }[];
  externals: string[];
  /** Our files importing the full zod API ('zod', not 'zod/mini'): they pull in its classic half. */
  fullZodImporters: string[];
}

export async function run(ctx: BenchContext): Promise<string> {
  const runs = ctx.numbers('BENCH_REQUIRE_RUNS', [10])[0]!;
  rmSync(OUT_DIR, { recursive: true, force: true });
  const built: Built[] = [];
  for (const fn of FUNCTIONS) built.push(await bundle(fn.name, fn.entry, fn.limit));

  ctx.log(`timing require() of each bundle in ${runs} fresh processes each, interleaved`);
  const baseline: number[] = [];
  const requireMs = new Map<string, number[]>();
  const processMs = new Map<string, number[]>();
  const sdkMs = new Map<string, number[]>();
  const rssMB = new Map<string, number[]>();
  const baselineRss: number[] = [];
  for (let round = 0; round < runs; round++) {
    baseline.push(timeProcess(['-e', '0']));
    baselineRss.push(requireInFreshProcess('0').rssMB);
    for (const b of built) {
      const started = process.hrtime.bigint();
      const inside = requireInFreshProcess(`require(${JSON.stringify(b.file)})`);
      push(processMs, b.name, Number(process.hrtime.bigint() - started) / 1e6);
      push(requireMs, b.name, inside.ms);
      push(rssMB, b.name, inside.rssMB);
      if (b.externals.length) push(sdkMs, b.name, requireInFreshProcess(b.externals.map((m) => `require(${JSON.stringify(m)})`).join(';')).ms);
    }
  }

  const out: string[] = [];
  out.push('## Lambda bundles and cold-start import cost');
  out.push('');
  out.push(
    'Built like `ArchiverFunction` (esbuild, minify, cjs, target node22, `@aws-sdk/*` external; the source map is a separate file). ' +
      'require ms = time of `require(bundle)` inside a fresh `node` (module evaluation included: the handlers build their clients at load), median of n fresh processes; ' +
      'RSS after require = the module-load baseline a transfer starts from; "of which AWS SDK" = requiring only the `@aws-sdk/*` packages that bundle imports, in a fresh process; process ms = spawn to exit of that node, next to a fresh `node -e 0`. ' +
      `Limits: 1 MB = 1,000,000 bytes, 250 KB = 250,000 bytes. Node here is ${process.version}; Lambda runs Node 22.`,
  );
  out.push('');
  const base = median(baseline);
  out.push(
    table(
      ['function', 'bundle bytes', 'gzip', 'map bytes', 'limit', 'require ms', 'of which AWS SDK ms', `process ms (node -e 0: ${base.toFixed(0)})`, `RSS after require MB (empty node: ${median(baselineRss).toFixed(0)})`],
      built.map((b) => [
        b.name,
        b.bytes.toLocaleString('en-US'),
        b.gzipBytes.toLocaleString('en-US'),
        b.mapBytes.toLocaleString('en-US'),
        `${b.bytes < b.limit ? 'met' : '**missed**'} (< ${b.limit.toLocaleString('en-US')})`,
        medianAndRange(requireMs.get(b.name) ?? [], 1),
        b.externals.length ? medianAndRange(sdkMs.get(b.name) ?? [], 1) : '—',
        medianAndRange(processMs.get(b.name) ?? []),
        medianAndRange(rssMB.get(b.name) ?? []),
      ]),
    ),
  );
  out.push('');
  out.push(`n = ${runs} fresh processes per bundle; baseline \`node -e 0\`: ${medianAndRange(baseline)} ms.`);
  out.push('');
  out.push('### What the bytes are (metafile: bytes in the minified output)');
  out.push('');
  out.push(
    table(
      ['function', 'top 5 inputs', 'top packages', 'external imports', "imports 'zod' (not 'zod/mini')"],
      built.map((b) => [
        b.name,
        b.inputs.slice(0, 5).map((i) => `${i.path} ${kb(i.bytes)}`).join('<br>'),
        b.packages.slice(0, 5).map((p) => `${p.name} ${kb(p.bytes)}`).join('<br>'),
        b.externals.join(', ') || '—',
        b.fullZodImporters.join('<br>') || '—',
      ]),
    ),
  );
  out.push('');
  out.push('Targets:');
  out.push('');
  for (const b of built) out.push(`- ${b.name}: ${kb(b.bytes)} < ${kb(b.limit)} — ${b.bytes < b.limit ? 'met' : 'missed'}`);
  return out.join('\n');
}

async function bundle(name: string, entry: string, limit: number): Promise<Built> {
  const dir = join(OUT_DIR, name);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'index.js');
  const result = await build({
    entryPoints: [join(ROOT, entry)],
    outfile: file,
    bundle: true,
    minify: true,
    sourcemap: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    external: ['@aws-sdk/*'],
    metafile: true,
    logLevel: 'warning',
  });
  const metafile: Metafile = result.metafile;
  const output = metafile.outputs[relative(process.cwd(), file)] ?? Object.entries(metafile.outputs).find(([path]) => path.endsWith(`${name}/index.js`))?.[1];
  if (!output) throw new Error(`no output for ${name} in the metafile`);
  const inputs = Object.entries(output.inputs)
    .map(([path, info]) => ({ path: path.replace(/^.*node_modules\//, ''), bytes: info.bytesInOutput }))
    .sort((a, b) => b.bytes - a.bytes);
  const packages = new Map<string, number>();
  for (const [path, info] of Object.entries(output.inputs)) {
    const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
    const pkg = match ? match[1]! : '(our code)';
    packages.set(pkg, (packages.get(pkg) ?? 0) + info.bytesInOutput);
  }
  const fullZodImporters = Object.entries(metafile.inputs)
    .filter(([path, info]) => !path.includes('node_modules') && info.imports.some((i) => i.original === 'zod'))
    .map(([path]) => path);
  const externals = [...new Set(output.imports.filter((i) => i.external && i.path.startsWith('@aws-sdk/')).map((i) => i.path))].sort();
  return {
    name,
    limit,
    file,
    bytes: statSync(file).size,
    gzipBytes: gzipSync(readFileSync(file)).length,
    mapBytes: statSync(`${file}.map`).size,
    inputs,
    packages: [...packages.entries()].map(([pkgName, bytes]) => ({ name: pkgName, bytes })).sort((a, b) => b.bytes - a.bytes),
    externals,
    fullZodImporters,
  };
}

/** How long `code` takes inside a fresh node started in the repository (so node_modules resolves), and the RSS after it. */
function requireInFreshProcess(code: string): { ms: number; rssMB: number } {
  const script = `const t=process.hrtime.bigint();${code};const ms=Number(process.hrtime.bigint()-t)/1e6;process.stdout.write(JSON.stringify({ms,rssMB:process.memoryUsage().rss/2**20}));process.exit(0)`;
  const stdout = execFileSync(process.execPath, ['-e', script], { cwd: ROOT, env: { ...process.env, ...LOAD_ENV }, encoding: 'utf8' });
  const result = JSON.parse(stdout.trim()) as { ms: number; rssMB: number };
  if (!Number.isFinite(result.ms)) throw new Error(`unreadable timing: ${stdout}`);
  return result;
}

function timeProcess(args: string[]): number {
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...LOAD_ENV } });
  if (result.status !== 0) throw new Error(`node ${args.join(' ')} exited ${result.status}`);
  return Number(process.hrtime.bigint() - started) / 1e6;
}

function push(map: Map<string, number[]>, key: string, value: number): void {
  map.set(key, [...(map.get(key) ?? []), value]);
}

const kb = (bytes: number) => `${(bytes / 1000).toFixed(1)} KB`;
