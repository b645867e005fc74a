/**
 * `zoom-archiver serve` as a child process for the benchmarks (the real server, as a
 * user runs it), on a free port with its own data folder that stop() removes. The
 * process itself is started by tests/support/serve-process.ts, as in the tests.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServe } from '../tests/support/serve-process';

export interface ServeProcess {
  url: string;
  dataDir: string;
  child: ChildProcess;
  /** The dashboard's URL, from the line `serve` prints after "listening on". */
  dashboardUrl(): Promise<string>;
  stop(): Promise<void>;
}

export interface StartServeProcessOptions {
  /** Fills the data folder before `serve` starts (e.g. a large audit trail). */
  prepare?: (dataDir: string) => void | Promise<void>;
}

export async function startServeProcess(env: Record<string, string>, options: StartServeProcessOptions = {}): Promise<ServeProcess> {
  const dataDir = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), 'bench-serve-'));
  await options.prepare?.(dataDir);
  const serve = await startServe({ LOG_LEVEL: 'ERROR', DATA_DIR: dataDir, ...env }, { inheritStderr: true });
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
    stop: async () => {
      await serve.kill('SIGTERM');
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
