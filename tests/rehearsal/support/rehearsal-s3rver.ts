/**
 * s3rver for the rehearsal: the same child process as tests/support/s3rver.ts (Node
 * with --openssl-legacy-provider, 127.0.0.1, a free port, a temporary directory), with
 * one difference: every function signs with its own access key (its logical id, so
 * that the recording proxy knows who called), and s3rver refuses an access key it does
 * not know (InvalidAccessKeyId; it does not verify SigV4 signatures), so the child
 * registers those keys beside its own S3RVER key. The bucket is created by the caller.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createS3rverClient } from '../../support/s3rver';
import type { S3Client } from '@aws-sdk/client-s3';

const CHILD_SCRIPT = `
const S3rver = require(process.env.S3RVER_MODULE);
const account = require(process.env.S3RVER_ACCOUNT_MODULE);
for (const key of JSON.parse(process.env.S3RVER_ACCESS_KEYS)) account.DUMMY_ACCOUNT.createKeyPair(key, 'rehearsal-secret');
const server = new S3rver(JSON.parse(process.env.S3RVER_OPTIONS));
server.run().then(
  ({ port }) => process.send({ port }),
  (error) => { console.error(error); process.exit(1); },
);
process.on('disconnect', () => process.exit(0));
`;

export interface RehearsalS3rver {
  endpoint: string;
  /** A client with s3rver's own key (for the test's own reads and setup). */
  client: S3Client;
  stop(): Promise<void>;
}

export async function startRehearsalS3rver(accessKeys: readonly string[]): Promise<RehearsalS3rver> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'zoom-archiver-rehearsal-s3-'));
  const s3rverModule = require.resolve('s3rver');
  const child: ChildProcess = spawn(process.execPath, ['--openssl-legacy-provider', '-e', CHILD_SCRIPT], {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    env: {
      ...process.env,
      S3RVER_MODULE: s3rverModule,
      S3RVER_ACCOUNT_MODULE: path.join(path.dirname(s3rverModule), 'models', 'account.js'),
      S3RVER_ACCESS_KEYS: JSON.stringify(accessKeys),
      S3RVER_OPTIONS: JSON.stringify({ address: '127.0.0.1', port: 0, silent: true, directory: dataDir, vhostBuckets: false }),
    },
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('s3rver did not start within 15 s')), 15_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`s3rver exited (${code}) before listening: ${stderr.trim()}`));
    });
    child.once('message', (message: unknown) => {
      clearTimeout(timer);
      resolve((message as { port: number }).port);
    });
  });
  child.unref();
  child.channel?.unref();
  const endpoint = `http://127.0.0.1:${port}`;
  const client = createS3rverClient(endpoint);
  let stopped: Promise<void> | undefined;
  return {
    endpoint,
    client,
    stop: () =>
      (stopped ??= (async () => {
        client.destroy();
        if (child.exitCode === null && child.signalCode === null) {
          const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
          if (child.connected) child.disconnect();
          else child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 1_000);
          await exited;
          clearTimeout(timer);
        }
        await rm(dataDir, { recursive: true, force: true });
      })()),
  };
}
