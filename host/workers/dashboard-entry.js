// Worker threads start from plain JavaScript: register tsx (as bin/zoom-archiver.js does when it runs the sources), then run the TypeScript worker; the bundle (dist/) starts its own bundled workers instead.
require('tsx/cjs');
require('./dashboard-worker.ts');
