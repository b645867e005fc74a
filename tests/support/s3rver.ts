/**
 * Starts s3rver 3.7.1 (an S3-compatible server) for tests and benchmarks: on
 * 127.0.0.1, a free port, a fresh temporary directory, one bucket, and an S3Client
 * configured the only way that stores streamed bytes faithfully on s3rver.
 *
 * s3rver runs in a child Node process started with --openssl-legacy-provider: its
 * ListObjectsV2 continuation tokens use DES, which OpenSSL 3 refuses otherwise (a
 * truncated listing answers 500 in-process). The child also keeps s3rver's memory and
 * CPU out of the measurements of the process under test. It exits when the IPC
 * channel closes, so it cannot outlive a crashed test worker.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';

export interface S3rverHandle {
  /** http://127.0.0.1:<port> */
  endpoint: string;
  bucket: string;
  /** Safe for s3rver (see createS3rverClient); destroyed by stop(). */
  client: S3Client;
  /** s3rver's data directory: objects, metadata, and the parts of unfinished multipart uploads. */
  dataDir: string;
  stop(): Promise<void>;
}

export interface StartS3rverOptions {
  /** Default 'archive-test'. */
  bucket?: string;
  /** How long to wait for the server to listen; default 15 s. */
  startTimeoutMs?: number;
}

const CHILD_SCRIPT = `
const S3rver = require(process.env.S3RVER_MODULE);
const server = new S3rver(JSON.parse(process.env.S3RVER_OPTIONS));
server.run().then(
  ({ port }) => process.send({ port }),
  (error) => { console.error(error); process.exit(1); },
);
process.on('disconnect', () => process.exit(0));
`;

/**
 * Required on every client that talks to s3rver: credentials S3RVER/S3RVER, path-style
 * addressing, and checksums only when required — with the SDK's default
 * ('WHEN_SUPPORTED') a streamed PutObject is stored with its aws-chunked framing
 * inside the object, silently.
 */
export function createS3rverClient(endpoint: string, overrides: Partial<S3ClientConfig> = {}): S3Client {
  return new S3Client({
    region: 'us-east-1',
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    ...overrides,
  });
}

export interface S3rverChild {
  child: ChildProcess;
  port: number;
}

/**
 * The s3rver child process alone (see the top of this file), on 127.0.0.1:`port` (0:
 * a free one) over `dataDir`; resolves once it listens. tests/reliability's
 * restartable server uses it too, to come back on the same port over the same data.
 */
export async function spawnS3rver(options: { dataDir: string; port?: number; timeoutMs?: number }): Promise<S3rverChild> {
  const child = spawn(process.execPath, ['--openssl-legacy-provider', '-e', CHILD_SCRIPT], {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    env: {
      ...process.env,
      S3RVER_MODULE: require.resolve('s3rver'),
      S3RVER_OPTIONS: JSON.stringify({ address: '127.0.0.1', port: options.port ?? 0, silent: true, directory: options.dataDir, vhostBuckets: false }),
    },
  });
  let port: number;
  try {
    port = await listeningPort(child, options.timeoutMs ?? 15_000);
  } catch (error) {
    await stopChild(child);
    throw error;
  }
  // A forgotten stop() must not keep Jest alive; the child still exits with us.
  child.unref();
  child.channel?.unref();
  (child.stderr as { unref?: () => void } | null)?.unref?.();
  return { child, port };
}

export async function startS3rver(options: StartS3rverOptions = {}): Promise<S3rverHandle> {
  const bucket = options.bucket ?? 'archive-test';
  const dataDir = await mkdtemp(path.join(tmpdir(), 'zoom-archiver-s3rver-'));
  let spawned: S3rverChild;
  try {
    spawned = await spawnS3rver({ dataDir, timeoutMs: options.startTimeoutMs });
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  const { child, port } = spawned;

  const endpoint = `http://127.0.0.1:${port}`;
  const client = createS3rverClient(endpoint);
  await client.send(new CreateBucketCommand({ Bucket: bucket }));

  let stopped: Promise<void> | undefined;
  return {
    endpoint,
    bucket,
    client,
    dataDir,
    stop: () =>
      (stopped ??= (async () => {
        client.destroy();
        await stopChild(child);
        await rm(dataDir, { recursive: true, force: true });
      })()),
  };
}

function listeningPort(child: ChildProcess, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    const timer = setTimeout(() => fail(new Error(`s3rver did not start within ${timeoutMs} ms`)), timeoutMs);
    function fail(error: Error) {
      clearTimeout(timer);
      reject(error);
    }
    child.once('error', fail);
    child.once('exit', (code, signal) => fail(new Error(`s3rver exited (${signal ?? code}) before listening: ${stderr.trim()}`)));
    child.once('message', (message: unknown) => {
      clearTimeout(timer);
      const port = (message as { port?: unknown } | null)?.port;
      if (typeof port === 'number') resolve(port);
      else reject(new Error(`unexpected message from s3rver: ${JSON.stringify(message)}`));
    });
  });
}

/** Closing the IPC channel makes the child exit; SIGKILL if it does not within a second. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  if (child.connected) child.disconnect();
  else child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 1_000);
  await exited;
  clearTimeout(timer);
}
