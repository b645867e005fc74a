#!/usr/bin/env node
// The `zoom-archiver` command: runs the TypeScript CLI through tsx (no build step).
require('tsx/cjs');
require('../host/cli/main.ts');
