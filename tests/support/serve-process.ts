/**
 * `zoom-archiver serve` and `zoom-archiver retry` as child processes, as an operator
 * runs them, for the tests and benchmarks that need the real process: kill -9 and a
 * restart on the same data folder, everything it printed searched for secrets, its
 * answers under load. Output is captured (never inherited, unless asked), and serve
 * listens on a free port unless PORT says otherwise.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export const ROOT = join(__dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'zoom-archiver.js');

export interface ServeProcess {
  url: string;
  child: ChildProcess;
  /** Everything captured from stdout and stderr so far. */
  output(): string;
  exited: Promise<number | null>;
  /** Sends the signal unless the process has ended; resolves with its exit code. */
  kill(signal: 'SIGKILL' | 'SIGTERM'): Promise<number | null>;
}

export interface StartServeOptions {
  /** How long to wait for "listening on"; default 30 s. */
  timeoutMs?: number;
  /** Let stderr through to ours instead of capturing it (benchmarks: it is where trouble shows). */
  inheritStderr?: boolean;
}

const childEnv = (env: Record<string, string>) => ({ ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', PORT: '0', ...env });

/** Starts `serve` with `env` over this process's environment; resolves once it listens. */
export function startServe(env: Record<string, string>, options: StartServeOptions = {}): Promise<ServeProcess> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const child = spawn(process.execPath, [BIN, 'serve'], { cwd: ROOT, env: childEnv(env), stdio: ['ignore', 'pipe', options.inheritStderr ? 'inherit' : 'pipe'] });
  const chunks: Buffer[] = [];
  child.stdout!.on('data', (chunk: Buffer) => chunks.push(chunk));
  child.stderr?.on('data', (chunk: Buffer) => chunks.push(chunk));
  const output = () => Buffer.concat(chunks).toString('utf8');
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const kill = async (signal: 'SIGKILL' | 'SIGTERM') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    return exited;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void kill('SIGKILL');
      reject(new Error(`serve did not start within ${timeoutMs} ms:\n${output()}`));
    }, timeoutMs);
    const check = () => {
      const match = /listening on (http:\/\/\S+)/.exec(output());
      if (!match) return;
      clearTimeout(timer);
      child.stdout!.off('data', check);
      resolve({ url: match[1]!, child, output, exited, kill });
    };
    child.stdout!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited ${code}:\n${output()}`));
    });
  });
}

export interface CommandResult {
  code: number | null;
  output: string;
}

/** `zoom-archiver retry --failed --data-dir DIR` (or one file id), to its end. */
export function runRetry(dataDir: string, options: { fileId?: string; env?: Record<string, string> } = {}): Promise<CommandResult> {
  return runCommand(['retry', ...(options.fileId ? [options.fileId] : ['--failed']), '--data-dir', dataDir], options.env ?? {});
}

/** Any `zoom-archiver` command, to its end, with its output (stdout and stderr together). */
export function runCommand(args: readonly string[], env: Record<string, string>): Promise<CommandResult> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks: Buffer[] = [];
  child.stdout!.on('data', (chunk: Buffer) => chunks.push(chunk));
  child.stderr!.on('data', (chunk: Buffer) => chunks.push(chunk));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output: Buffer.concat(chunks).toString('utf8') }));
  });
}
