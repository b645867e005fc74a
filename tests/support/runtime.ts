/**
 * The single-machine runtime wired to a Zoom simulator, in a fresh data folder, for
 * end-to-end tests: the real HTTP webhook, both threads, SQLite and the folder
 * archive. `stop()` closes everything and deletes the folder.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../shared/logger';
import { loadRuntimeConfig } from '../../host/config';
import { startRuntime, type Runtime } from '../../host/runtime';
import { startZoomSimulator, zoomEnvFor, type ZoomSimulator } from '../../tools/zoom-simulator/simulator';

export interface SimulatedRuntime {
  dir: string;
  simulator: ZoomSimulator;
  runtime: Runtime;
  webhookUrl: string;
  /** SHA-256 (hex) of the archived object under `key`. */
  archivedSha(key: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startSimulatedRuntime(options: { secret: string; dirPrefix: string; env?: Record<string, string> }): Promise<SimulatedRuntime> {
  const dir = mkdtempSync(join(tmpdir(), options.dirPrefix));
  const simulator = await startZoomSimulator({ webhookSecret: options.secret });
  let runtime: Runtime;
  try {
    const config = loadRuntimeConfig({ DATA_DIR: dir, PORT: '0', ZOOM_WEBHOOK_SECRET_TOKEN: options.secret, ...zoomEnvFor(simulator), ...options.env });
    runtime = await startRuntime(config, silentLogger);
  } catch (error) {
    await simulator.stop();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    dir,
    simulator,
    runtime,
    webhookUrl: `${runtime.url}/webhooks/zoom`,
    async archivedSha(key) {
      const hash = createHash('sha256');
      for await (const chunk of await runtime.store.get(key)) hash.update(chunk as Buffer);
      return hash.digest('hex');
    },
    async stop() {
      await runtime.close();
      await simulator.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
