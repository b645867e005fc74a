/**
 * An s3rver that can go away and come back: a child process on a fixed port and data
 * folder, which `kill()` ends with SIGKILL (an S3 endpoint vanishing mid-upload, its
 * connections reset) and `start()` brings back on the same port over the same data,
 * as a restarted storage server would. tests/support/s3rver.ts starts a throwaway
 * server on a free port; this one keeps its address across restarts, and starts the
 * same child process through spawnS3rver.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawnS3rver } from '../../support/s3rver';

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
    const { child, port } = await spawnS3rver({ dataDir: this.dataDir, port: this.port });
    this.port = port;
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
