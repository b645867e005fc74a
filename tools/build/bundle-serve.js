#!/usr/bin/env node
'use strict';
/**
 * The bundle `zoom-archiver` runs from (dist/), so that `serve` starts without tsx
 * compiling ~1,000 TypeScript and JavaScript modules at every start (bench section
 * `startup`). Built by esbuild at install (the root package's `prepare`: `npm install`,
 * `npm ci`) and by bin/zoom-archiver.js when a source changed since.
 *
 * - dist/main.js: the CLI (host/cli/main.ts); dist/consumers-worker.js and
 *   dist/dashboard-worker.js: the two worker threads' programs, which the bundled code
 *   starts instead of host/workers/*-entry.js (host/bundle-mode.ts);
 * - external: better-sqlite3 (native), loaded from node_modules; hash-wasm's SHA-256 UMD
 *   file is still found by require.resolve (shared/crypto/sha256-worker.ts) and the
 *   dashboard's assets are read from host/dashboard/assets;
 * - dist/manifest.json, written last: every input esbuild read (its metafile, the
 *   packages' files included) with its mtime and size, plus this script, package.json
 *   and tsconfig.json. The bundle is used only while every one of them is unchanged
 *   (`freshBundle`, a stat per input: a few milliseconds).
 *
 * CommonJS without dependencies at load (esbuild is required only to build), so that
 * bin/zoom-archiver.js can check freshness before anything else. Run directly
 * (`node tools/build/bundle-serve.js [--stale]`) it builds — bin/zoom-archiver.js runs it
 * so, in a child process, so that the build's memory (esbuild's worker thread, the
 * outputs) is not carried by the server; without esbuild it says so and exits 0: the
 * command then runs through tsx.
 */
const { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } = require('node:fs');
const { dirname, join, relative } = require('node:path');

const ROOT = join(__dirname, '..', '..');
const OUT_DIR = join(ROOT, 'dist');
const MANIFEST = join(OUT_DIR, 'manifest.json');
/** Bump when the manifest's shape or the build's options change in a way the inputs do not show. */
const FORMAT = 1;

const ENTRIES = {
  main: 'host/cli/main.ts',
  'consumers-worker': 'host/workers/consumers-worker.ts',
  'dashboard-worker': 'host/workers/dashboard-worker.ts',
};
/** Native modules stay in node_modules. */
const EXTERNAL = ['better-sqlite3', '@aws-sdk/*', '@smithy/*', '@aws-crypto/*'];
/** Inputs esbuild does not report but that change what it builds. */
const EXTRA_INPUTS = ['package.json', 'tsconfig.json', relative(ROOT, __filename)];

/** dist/main.js when the bundle was built from exactly the files on disk now; otherwise undefined. */
function freshBundle() {
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(MANIFEST, 'utf8'));
  } catch {
    return undefined;
  }
  if (manifest.format !== FORMAT || manifest.node !== process.versions.node.split('.')[0]) return undefined;
  for (const files of [manifest.inputs, manifest.outputs]) {
    for (const file in files) {
      const stat = statSync(join(ROOT, file), { throwIfNoEntry: false });
      if (!stat || stat.mtimeMs !== files[file][0] || stat.size !== files[file][1]) return undefined;
    }
  }
  return join(OUT_DIR, 'main.js');
}

/** Builds dist/ (synchronously: esbuild takes well under a second); answers dist/main.js. Throws when esbuild is not installed. */
function buildServeBundle() {
  const esbuild = require('esbuild');
  const started = Date.now();
  const result = esbuild.buildSync({
    absWorkingDir: ROOT,
    entryPoints: ENTRIES,
    outdir: OUT_DIR,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    external: EXTERNAL,
    define: { ZOOM_ARCHIVER_BUNDLE: 'true' },
    sourcemap: 'linked',
    metafile: true,
    write: false,
    logLevel: 'warning',
  });
  mkdirSync(OUT_DIR, { recursive: true });
  // Each file replaced whole (rename), the manifest last: a process starting meanwhile
  // sees either no valid manifest (and builds too) or a complete bundle.
  const outputs = {};
  for (const file of result.outputFiles) {
    const temporary = `${file.path}.${process.pid}.tmp`;
    writeFileSync(temporary, file.contents);
    renameSync(temporary, file.path);
    const stat = statSync(file.path);
    outputs[relative(ROOT, file.path)] = [stat.mtimeMs, stat.size];
  }
  const inputs = {};
  for (const file of [...Object.keys(result.metafile.inputs), ...EXTRA_INPUTS]) {
    if (file.includes(':')) continue; // a namespace of esbuild's, not a file
    const stat = statSync(join(ROOT, file));
    // Edited while esbuild read it: the bundle may hold either version, so the next start rebuilds.
    inputs[file] = stat.mtimeMs >= started ? [-1, -1] : [stat.mtimeMs, stat.size];
  }
  const manifest = { format: FORMAT, node: process.versions.node.split('.')[0], builtAt: new Date().toISOString(), inputs, outputs };
  const temporary = `${MANIFEST}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(manifest)}\n`);
  renameSync(temporary, MANIFEST);
  return { main: join(OUT_DIR, 'main.js'), inputs: Object.keys(inputs).length, ms: Date.now() - started };
}

/** Whether esbuild can be loaded (a devDependency, and tsx's dependency: installed unless removed). */
function canBuild() {
  try {
    require.resolve('esbuild');
    return true;
  } catch {
    return false;
  }
}

module.exports = { OUT_DIR, freshBundle, buildServeBundle, canBuild };

if (require.main === module) {
  if (!canBuild()) {
    console.error('zoom-archiver: esbuild is not installed; no bundle built (zoom-archiver runs through tsx)');
  } else {
    const built = buildServeBundle();
    const why = process.argv.includes('--stale') ? 'sources changed since dist/ was built: rebuilt' : 'built';
    console.error(`zoom-archiver: ${why} dist/ from ${built.inputs} inputs in ${built.ms} ms`);
  }
}
