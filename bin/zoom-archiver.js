#!/usr/bin/env node
// The `zoom-archiver` command. Runs dist/main.js, the CLI bundled by esbuild at install
// (tools/build/bundle-serve.js), while it was built from exactly the files on disk; when
// one changed since, rebuilds it first (a child process: under a second). If that fails,
// or with ZOOM_ARCHIVER_TSX=1, runs the TypeScript through tsx.
const { execFileSync } = require('node:child_process');
const bundle = require('../tools/build/bundle-serve.js');

function bundledMain() {
  if (process.env.ZOOM_ARCHIVER_TSX === '1') return undefined;
  const fresh = bundle.freshBundle();
  if (fresh || !bundle.canBuild()) return fresh;
  try {
    execFileSync(process.execPath, [require.resolve('../tools/build/bundle-serve.js'), '--stale'], { stdio: ['ignore', 'ignore', 'inherit'] });
  } catch {
    console.error('zoom-archiver: could not rebuild dist/ (above); running through tsx');
    return undefined;
  }
  return bundle.freshBundle();
}

const main = bundledMain();
if (main) {
  require(main);
} else {
  require('tsx/cjs');
  require('../host/cli/main.ts');
}
