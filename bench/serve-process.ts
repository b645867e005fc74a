/**
 * `zoom-archiver serve` as a child process for the benchmarks (the real server, as a
 * user runs it), on a free port with its own data folder that stop() removes. The
 * process itself is started by tests/support/serve-process.ts, as in the tests.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServe } from '../tests/support/serve-process';

/** What the server measured on its own side since the previous call (bench/serve-timing-hook.cjs). */
export interface ServerTiming {
  /** ms per webhook POST, from its headers parsed to its answer handed to the kernel. */
  samples: number[];
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
}

export interface ServeProcess {
  url: string;
  dataDir: string;
  child: ChildProcess;
  /** The dashboard's URL, from the line `serve` prints after "listening on". */
  dashboardUrl(): Promise<string>;
  /** With `timing`: the server's own measurements since the last call (or the start). */
  takeTiming(): Promise<ServerTiming>;
  stop(): Promise<void>;
}

export interface StartServeProcessOptions {
  /** Fills the data folder before `serve` starts (e.g. a large audit trail). */
  prepare?: (dataDir: string) => void | Promise<void>;
  /** Preload bench/serve-timing-hook.cjs, for `takeTiming()`. */
  timing?: boolean;
}

const TIMING_HOOK = join(__dirname, 'serve-timing-hook.cjs');

export async function startServeProcess(env: Record<string, string>, options: StartServeProcessOptions = {}): Promise<ServeProcess> {
  const dataDir = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), 'bench-serve-'));
  await options.prepare?.(dataDir);
  const timingFile = join(dataDir, 'bench-timing.json');
  const timingEnv: Record<string, string> = options.timing
    ? { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${TIMING_HOOK}`.trim(), BENCH_TIMING_OUT: timingFile }
    : {};
  const serve = await startServe({ LOG_LEVEL: 'ERROR', DATA_DIR: dataDir, ...timingEnv, ...env }, { inheritStderr: true });
  return {
    url: serve.url,
    dataDir,
    child: serve.child,
    async dashboardUrl() {
      for (let waited = 0; waited < 10_000; waited += 20) {
        const match = /dashboard: (http:\/\/\S+)/.exec(serve.output());
        if (match) return match[1]!;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      throw new Error(`serve printed no dashboard URL:\n${serve.output()}`);
    },
    async takeTiming() {
      if (!options.timing) throw new Error('takeTiming() needs startServeProcess(…, { timing: true })');
      rmSync(timingFile, { force: true });
      serve.child.kill('SIGUSR2');
      for (let waited = 0; waited < 10_000; waited += 10) {
        if (existsSync(timingFile)) return JSON.parse(readFileSync(timingFile, 'utf8')) as ServerTiming;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      throw new Error('serve wrote no timing within 10 s');
    },
    stop: async () => {
      await serve.kill('SIGTERM');
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
