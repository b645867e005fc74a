'use strict';
/**
 * Preloaded into `zoom-archiver serve` by the benchmarks (NODE_OPTIONS=--require, see
 * bench/serve-process.ts `timing`), never by the product: measures the webhook's time
 * on the server's side, so that a report can tell the server's own time from the time
 * a request waits for a CPU that the load generator shares.
 *
 * - per POST: from Node's 'request' event (headers parsed) to the response's 'finish'
 *   (the last byte handed to the kernel), in ms — so including the wait for a turn
 *   (host/turn-taking.ts);
 * - the main thread's event-loop delay (perf_hooks.monitorEventLoopDelay, 10 ms
 *   resolution): how long a ready request can wait behind other work.
 * On SIGUSR2 it writes both, since the previous signal, to BENCH_TIMING_OUT (written
 * whole, then renamed into place) and starts again. Main thread only: worker threads
 * also preload this file and do nothing.
 */
const { isMainThread } = require('node:worker_threads');

const out = process.env.BENCH_TIMING_OUT;
if (isMainThread && out) {
  const { renameSync, writeFileSync } = require('node:fs');
  const http = require('node:http');
  const { monitorEventLoopDelay } = require('node:perf_hooks');
  let samples = [];
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const emit = http.Server.prototype.emit;
  http.Server.prototype.emit = function timedEmit(event, request, response) {
    if (event === 'request' && request.method === 'POST') {
      const started = process.hrtime.bigint();
      response.once('finish', () => samples.push(Number(process.hrtime.bigint() - started) / 1e6));
    }
    return emit.apply(this, arguments);
  };
  process.on('SIGUSR2', () => {
    const report = { samples, loopDelayP99Ms: loop.percentile(99) / 1e6, loopDelayMaxMs: loop.max / 1e6 };
    samples = [];
    loop.reset();
    writeFileSync(`${out}.tmp`, JSON.stringify(report));
    renameSync(`${out}.tmp`, out);
  });
}
