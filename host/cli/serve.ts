/**
 * `zoom-archiver serve`: runs the single-machine pipeline. Without a Zoom secret it
 * runs the sandbox first (tools/sandbox/): a simulated Zoom on loopback delivers
 * sample recordings through the real webhook, and the run ends with a summary. The
 * server keeps serving afterwards in both modes.
 */
import { createLogger } from '../../shared/logger';
import { loadRuntimeConfig } from '../config';
import { startRuntime, type Runtime } from '../runtime';
import { runSandboxDemo, startSandbox, type Sandbox, type SandboxResult } from '../../tools/sandbox/sandbox';
import { WEBHOOK_PATH } from '../../services/webhook/http';

export interface ServeOptions {
  env: Record<string, string | undefined>;
  print: (line: string) => void;
  /** Draw progress bars (a terminal); otherwise print a line per finished transfer. */
  progress?: boolean;
}

export interface Serving {
  runtime: Runtime;
  sandbox?: { sandbox: Sandbox; result: SandboxResult };
  close(): Promise<void>;
}

export async function serveCommand(options: ServeOptions): Promise<Serving> {
  const { print } = options;
  let env = options.env;
  let sandbox: Sandbox | undefined;
  if (!env.ZOOM_WEBHOOK_SECRET_TOKEN) {
    print('No ZOOM_WEBHOOK_SECRET_TOKEN is set: running the sandbox — a simulated Zoom on this machine, no account needed.');
    sandbox = await startSandbox();
    env = { ...env, ...sandbox.env };
  }
  // The sandbox keeps its own output readable; LOG_LEVEL still wins when set.
  const logger = createLogger('zoom-archiver', env.LOG_LEVEL ?? (sandbox ? 'WARN' : 'INFO'));
  let runtime: Runtime;
  try {
    const config = loadRuntimeConfig(env);
    runtime = await startRuntime(config, logger);
    const archive = config.archive.kind === 'folder' ? config.archive.dir : `s3://${config.archive.bucket}`;
    print(`zoom-archiver listening on ${runtime.url} (POST ${WEBHOOK_PATH}, GET /healthz); archive: ${archive}; state: ${config.paths.root}`);
    if (runtime.dashboardUrl) print(`dashboard: ${runtime.dashboardUrl}${config.dashboard?.token ? ' (sign in with DASHBOARD_TOKEN as the password)' : ' (this machine only)'}`);
    const result = sandbox ? await runSandboxDemo(sandbox, runtime, config.rules, { print, progress: options.progress ?? false, archiveRoot: config.archive.kind === 'folder' ? config.archive.dir : undefined }) : undefined;
    return {
      runtime,
      sandbox: sandbox && result ? { sandbox, result } : undefined,
      async close() {
        await runtime.close();
        await sandbox?.simulator.stop();
      },
    };
  } catch (error) {
    await sandbox?.simulator.stop();
    throw error;
  }
}
