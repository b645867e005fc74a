// Worker threads start from plain JavaScript: register tsx (as bin/zoom-archiver.js does), then run the TypeScript worker.
require('tsx/cjs');
require('./dashboard-worker.ts');
