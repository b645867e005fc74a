/**
 * An s3rver that can go away and come back: a child process on a fixed port and data
 * folder, which `kill()` ends with SIGKILL (an S3 endpoint vanishing mid-upload, its
 * connections reset) and `start()` brings back on the same port over the same data,
 * as a restarted storage server would. tests/support/s3rver.ts starts a throwaway
 * server on a free port; this one keeps its address across restarts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

const CHILD_SCRIPT = `
const S3rver = require(process.env.S3RVER_MODULE);
new S3rver(JSON.parse(process.env.S3RVER_OPTIONS)).run().then(
  ({ port }) => process.send({ port }),
  (error) => { console.error(error); process.exit(1); },
);
process.on('disconnect', () => process.exit(0));
`;

export class S3rverProcess {
  private child: ChildProcess | undefined;
  private constructor(
    readonly dataDir: string,
    private port: number,
  ) {}

  /** Starts on a free port with a fresh data folder. */
  static async start(): Promise<S3rverProcess> {
    const server = new S3rverProcess(await mkdtemp(path.join(tmpdir(), 'reliability-s3rver-')), 0);
    await server.start();
    return server;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  /** (Re)starts on the same port and data folder. */
  async start(): Promise<void> {
    if (this.child) return;
    // --openssl-legacy-provider: s3rver's ListObjectsV2 continuation tokens use DES, which OpenSSL 3 refuses without it.
    const child = spawn(process.execPath, ['--openssl-legacy-provider', '-e', CHILD_SCRIPT], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      env: {
        ...process.env,
        S3RVER_MODULE: require.resolve('s3rver'),
        S3RVER_OPTIONS: JSON.stringify({ address: '127.0.0.1', port: this.port, silent: true, directory: this.dataDir, vhostBuckets: false }),
      },
    });
    this.port = await new Promise<number>((resolve, reject) => {
      let stderr = '';
      child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr += text));
      const timer = setTimeout(() => reject(new Error('s3rver did not start within 15 s')), 15_000);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`s3rver exited (${signal ?? code}) before listening: ${stderr.trim()}`));
      });
      child.once('message', (message: unknown) => {
        clearTimeout(timer);
        const port = (message as { port?: unknown } | null)?.port;
        if (typeof port === 'number') resolve(port);
        else reject(new Error(`unexpected message from s3rver: ${JSON.stringify(message)}`));
      });
    });
    child.unref();
    child.channel?.unref();
    (child.stderr as { unref?: () => void } | null)?.unref?.();
    this.child = child;
  }

  /** Gone at once: SIGKILL, no goodbye to open connections. */
  async kill(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
  }

  async stop(): Promise<void> {
    await this.kill();
    await rm(this.dataDir, { recursive: true, force: true });
  }
}
