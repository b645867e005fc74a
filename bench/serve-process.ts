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
  stop(): Promise<void>;
}

export async function startServeProcess(env: Record<string, string>): Promise<ServeProcess> {
  const dataDir = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), 'bench-serve-'));
  const serve = await startServe({ LOG_LEVEL: 'ERROR', DATA_DIR: dataDir, ...env }, { inheritStderr: true });
  return {
    url: serve.url,
    dataDir,
    child: serve.child,
    stop: async () => {
      await serve.kill('SIGTERM');
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
