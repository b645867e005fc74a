/**
 * Report section: the Lambda bundles, in two variants per function, built the way
 * infrastructure/constructs/archiver-function.ts has CDK build them (esbuild, minified,
 * CommonJS, node22, separate source map):
 *
 * - `external` (the baseline): `@aws-sdk/*` left out, required at run time from the
 *   runtime's copy of the SDK — here from this repository's node_modules, a fair
 *   stand-in for the runtime's /var/runtime/node_modules (same package layout, but not
 *   the same versions: the runtime's copy is older than the one the tests run against);
 * - `bundled`: the SDK clients inlined, so the code that runs is the code that was tested.
 *
 * For each: bytes (with a metafile that says what they are), then the cost at a cold
 * start: the time to `require` the bundle in a fresh node process, with
 * --enable-source-maps as the functions run (NODE_OPTIONS) and without, interleaved
 * round by round, next to a fresh `node -e 0`. The variant the stack deploys is the one
 * whose externals equal SDK_EXTERNAL_MODULES in archiver-function.ts.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build, type Metafile } from 'esbuild';
import { SDK_EXTERNAL_MODULES } from '../../infrastructure/constructs/archiver-function';
import type { BenchContext } from '../section';
import { median, medianAndRange, table } from '../stats';
import { BENCH_TMP } from '../transfer/harness';

const ROOT = join(__dirname, '..', '..');
const OUT_DIR = join(BENCH_TMP, 'bundles');

/**
 * Size budgets for our code and its non-SDK dependencies, so they are checked against
 * the `external` variant (what the SDK adds is reported separately).
 */
const FUNCTIONS = [
  { name: 'webhook', entry: 'services/webhook/handler.ts', limit: 250_000 },
  { name: 'course-validation', entry: 'services/course-validation/handler.ts', limit: 1_000_000 },
  { name: 'uploader', entry: 'services/uploader/handler.ts', limit: 1_000_000 },
  { name: 'uploader-recovery', entry: 'services/uploader/recover-handler.ts', limit: 1_000_000 },
  { name: 'audit', entry: 'services/audit/handler.ts', limit: 1_000_000 },
  { name: 'reconciler', entry: 'services/reconciler/handler.ts', limit: 1_000_000 },
  { name: 'subscribers', entry: 'services/subscribers/handler.ts', limit: 1_000_000 },
  { name: 'subscriber-dispatch', entry: 'services/subscribers/dispatch-handler.ts', limit: 1_000_000 },
];

const VARIANTS = [
  { id: 'external', external: ['@aws-sdk/*'] },
  { id: 'bundled', external: [] as string[] },
] as const;
type VariantId = (typeof VARIANTS)[number]['id'];
const BASELINE: VariantId = 'external';

const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((item, i) => item === b[i]);
const DEPLOYED: VariantId | undefined = VARIANTS.find((v) => sameList(v.external, SDK_EXTERNAL_MODULES))?.id;

/** Dummies for any variable read at load (the handlers build their clients at the first invocation now); nothing is called. */
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
/** As the functions run: NODE_OPTIONS=--enable-source-maps (archiver-function.ts). */
const AS_DEPLOYED = ['--enable-source-maps'];

interface Built {
  name: string;
  variant: VariantId;
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

const key = (name: string, variant: VariantId) => `${name}/${variant}`;

export async function run(ctx: BenchContext): Promise<string> {
  const runs = ctx.numbers('BENCH_REQUIRE_RUNS', [10])[0]!;
  rmSync(OUT_DIR, { recursive: true, force: true });
  const built = new Map<string, Built>();
  for (const fn of FUNCTIONS) {
    for (const variant of VARIANTS) built.set(key(fn.name, variant.id), await bundle(fn.name, fn.entry, fn.limit, variant.id, [...variant.external]));
  }

  ctx.log(`timing require() of each bundle (${VARIANTS.length} variants × ${FUNCTIONS.length} functions) in ${runs} fresh processes each, interleaved`);
  const baselineMs: number[] = [];
  const baselineRss: number[] = [];
  const requireMs = new Map<string, number[]>();
  const cpuMs = new Map<string, number[]>();
  const plainMs = new Map<string, number[]>();
  const processMs = new Map<string, number[]>();
  const rssMB = new Map<string, number[]>();
  const sdkMs = new Map<string, number[]>();
  /** bundled ÷ external require ms (wall clock and CPU), paired within a round. */
  const ratio = new Map<string, number[]>();
  const cpuRatio = new Map<string, number[]>();
  for (let round = 0; round < runs; round++) {
    const started = process.hrtime.bigint();
    baselineRss.push(requireInFreshProcess('0', AS_DEPLOYED).rssMB);
    baselineMs.push(Number(process.hrtime.bigint() - started) / 1e6);
    for (const fn of FUNCTIONS) {
      // Alternate which variant goes first, so a drift of the machine hits both alike.
      const order = round % 2 === 0 ? VARIANTS : [...VARIANTS].reverse();
      const thisRound = new Map<VariantId, { ms: number; cpuMs: number }>();
      for (const variant of order) {
        const b = built.get(key(fn.name, variant.id))!;
        const k = key(fn.name, variant.id);
        const spawned = process.hrtime.bigint();
        const inside = requireInFreshProcess(`require(${JSON.stringify(b.file)})`, AS_DEPLOYED);
        push(processMs, k, Number(process.hrtime.bigint() - spawned) / 1e6);
        push(requireMs, k, inside.ms);
        push(cpuMs, k, inside.cpuMs);
        push(rssMB, k, inside.rssMB);
        thisRound.set(variant.id, inside);
        push(plainMs, k, requireInFreshProcess(`require(${JSON.stringify(b.file)})`, []).ms);
        if (b.externals.length) push(sdkMs, k, requireInFreshProcess(b.externals.map((m) => `require(${JSON.stringify(m)})`).join(';'), AS_DEPLOYED).ms);
      }
      for (const variant of VARIANTS) {
        push(ratio, key(fn.name, variant.id), thisRound.get(variant.id)!.ms / thisRound.get(BASELINE)!.ms);
        push(cpuRatio, key(fn.name, variant.id), thisRound.get(variant.id)!.cpuMs / thisRound.get(BASELINE)!.cpuMs);
      }
    }
  }

  const out: string[] = [];
  out.push('## Lambda bundles and cold-start import cost');
  out.push('');
  out.push(
    'Built like `ArchiverFunction` (esbuild, minify, cjs, target node22; the source map is a separate file), in two variants: ' +
      '**external** (`@aws-sdk/*` left to the Lambda runtime; the baseline) and **bundled** (the SDK clients inlined). ' +
      `The stack deploys: **${DEPLOYED ?? 'neither (archiver-function.ts changed: update this section)'}**. ` +
      'For the external variant the SDK is resolved from this repository\'s node_modules, standing in for the runtime\'s built-in copy (same layout, older versions on Lambda). ' +
      'require ms = time of `require(bundle)` inside a fresh `node` with `--enable-source-maps`, as the functions run (module evaluation included; the handlers build their clients at the first invocation, so this times loading the code alone), median (min–max) of n fresh processes; ' +
      '× external = that time ÷ the external variant\'s, paired within a round; require CPU ms = user + system CPU time of the same require (less disturbed by other work on the machine than wall clock); ' +
      '"no source maps" = the same without the flag; ' +
      '"of which AWS SDK" = requiring only the `@aws-sdk/*` packages that bundle imports, in a fresh process; process ms = spawn to exit of that node; ' +
      `RSS after require = the module-load baseline a transfer starts from. Node here is ${process.version}; Lambda runs Node 22.`,
  );
  out.push('');
  out.push(
    table(
      [
        'function',
        'SDK',
        'bundle bytes',
        'gzip',
        'map bytes',
        'require ms',
        '× external',
        'require CPU ms',
        'CPU × external',
        'require ms, no source maps',
        'of which AWS SDK ms',
        `process ms (node -e 0: ${median(baselineMs).toFixed(0)})`,
        `RSS after require MB (empty node: ${median(baselineRss).toFixed(0)})`,
      ],
      FUNCTIONS.flatMap((fn) =>
        VARIANTS.map((variant) => {
          const k = key(fn.name, variant.id);
          const b = built.get(k)!;
          return [
            fn.name,
            variant.id === DEPLOYED ? `${variant.id} (deployed)` : variant.id,
            b.bytes.toLocaleString('en-US'),
            b.gzipBytes.toLocaleString('en-US'),
            b.mapBytes.toLocaleString('en-US'),
            medianAndRange(requireMs.get(k) ?? [], 1),
            variant.id === BASELINE ? '1' : medianAndRange(ratio.get(k) ?? [], 2),
            medianAndRange(cpuMs.get(k) ?? [], 1),
            variant.id === BASELINE ? '1' : medianAndRange(cpuRatio.get(k) ?? [], 2),
            medianAndRange(plainMs.get(k) ?? [], 1),
            b.externals.length ? medianAndRange(sdkMs.get(k) ?? [], 1) : '—',
            medianAndRange(processMs.get(k) ?? []),
            medianAndRange(rssMB.get(k) ?? []),
          ];
        }),
      ),
    ),
  );
  out.push('');
  out.push(`n = ${runs} fresh processes per bundle and column; baseline \`node -e 0\` (with --enable-source-maps): ${medianAndRange(baselineMs)} ms.`);
  out.push('');
  out.push('What bundling the SDK adds, per function (bundled − external: bytes, and the difference of the require medians with the paired ratio):');
  out.push('');
  for (const fn of FUNCTIONS) {
    const ext = built.get(key(fn.name, 'external'))!;
    const bun = built.get(key(fn.name, 'bundled'))!;
    const difference = (samples: Map<string, number[]>) => median(samples.get(key(fn.name, 'bundled')) ?? []) - median(samples.get(key(fn.name, 'external')) ?? []);
    out.push(
      `- ${fn.name}: +${kb(bun.bytes - ext.bytes)} (gzip +${kb(bun.gzipBytes - ext.gzipBytes)}), ` +
        `require ${signed(difference(requireMs))} ms (${medianAndRange(ratio.get(key(fn.name, 'bundled')) ?? [], 2)} × external), ` +
        `CPU ${signed(difference(cpuMs))} ms (${medianAndRange(cpuRatio.get(key(fn.name, 'bundled')) ?? [], 2)} ×); SDK inlined: ${ext.externals.join(', ') || '—'}`,
    );
  }
  out.push('');
  out.push('### What the bytes are (metafile: bytes in the minified output)');
  out.push('');
  out.push(
    table(
      ['function', 'SDK', 'top 5 inputs', 'top packages', 'external imports', "imports 'zod' (not 'zod/mini')"],
      [...built.values()].map((b) => [
        b.name,
        b.variant,
        b.inputs.slice(0, 5).map((i) => `${i.path} ${kb(i.bytes)}`).join('<br>'),
        b.packages.slice(0, 5).map((p) => `${p.name} ${kb(p.bytes)}`).join('<br>'),
        b.externals.join(', ') || '—',
        b.fullZodImporters.join('<br>') || '—',
      ]),
    ),
  );
  out.push('');
  out.push('Targets (our code and non-SDK dependencies, i.e. the external variant; Lambda itself allows 250 MB unzipped):');
  out.push('');
  for (const fn of FUNCTIONS) {
    const b = built.get(key(fn.name, 'external'))!;
    out.push(`- ${b.name}: ${kb(b.bytes)} < ${kb(b.limit)} — ${b.bytes < b.limit ? 'met' : 'missed'}`);
  }
  return out.join('\n');
}

async function bundle(name: string, entry: string, limit: number, variant: VariantId, external: string[]): Promise<Built> {
  const dir = join(OUT_DIR, `${name}-${variant}`);
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
    external,
    metafile: true,
    logLevel: 'warning',
  });
  const metafile: Metafile = result.metafile;
  const output =
    metafile.outputs[relative(process.cwd(), file)] ?? Object.entries(metafile.outputs).find(([path]) => path.endsWith(`${name}-${variant}/index.js`))?.[1];
  if (!output) throw new Error(`no output for ${name} (${variant}) in the metafile`);
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
  // A bundled variant that still required the SDK would be timed with node_modules' copy, silently.
  if (external.length === 0 && externals.length > 0) throw new Error(`${name} (${variant}) still imports ${externals.join(', ')}`);
  return {
    name,
    variant,
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

/**
 * How long `code` takes inside a fresh node started in the repository (so node_modules
 * resolves): wall clock, and CPU time (user + system), which a busy machine disturbs less;
 * and the RSS after it.
 */
function requireInFreshProcess(code: string, nodeFlags: readonly string[]): { ms: number; cpuMs: number; rssMB: number } {
  const script =
    `const c=process.cpuUsage(),t=process.hrtime.bigint();${code};const ms=Number(process.hrtime.bigint()-t)/1e6,u=process.cpuUsage(c);` +
    `process.stdout.write(JSON.stringify({ms,cpuMs:(u.user+u.system)/1e3,rssMB:process.memoryUsage().rss/2**20}));process.exit(0)`;
  const stdout = execFileSync(process.execPath, [...nodeFlags, '-e', script], { cwd: ROOT, env: { ...process.env, NODE_OPTIONS: '', ...LOAD_ENV }, encoding: 'utf8' });
  const result = JSON.parse(stdout.trim()) as { ms: number; cpuMs: number; rssMB: number };
  if (!Number.isFinite(result.ms) || !Number.isFinite(result.cpuMs)) throw new Error(`unreadable timing: ${stdout}`);
  return result;
}

function push(map: Map<string, number[]>, k: string, value: number): void {
  map.set(k, [...(map.get(k) ?? []), value]);
}

const kb = (bytes: number) => `${(bytes / 1000).toFixed(1)} KB`;
const signed = (value: number) => `${value >= 0 ? '+' : '−'}${Math.abs(value).toFixed(1)}`;
