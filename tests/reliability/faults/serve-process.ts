/**
 * `zoom-archiver serve` and `zoom-archiver retry` as child processes, as an operator
 * runs them: the reliability scenarios kill the server (SIGKILL) and start it again on
 * the same data folder, the secrets check searches everything it printed, and the
 * load run measures its answers. Output is captured, never inherited.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export const ROOT = join(__dirname, '..', '..', '..');
const BIN = join(ROOT, 'bin', 'zoom-archiver.js');

export interface ServeProcess {
  url: string;
  child: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  exited: Promise<number | null>;
  kill(signal: 'SIGKILL' | 'SIGTERM'): Promise<number | null>;
}

const baseEnv = (env: Record<string, string>) => ({ ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', PORT: '0', ...env });

export function startServe(env: Record<string, string>, timeoutMs = 30_000): Promise<ServeProcess> {
  const child = spawn(process.execPath, [BIN, 'serve'], { cwd: ROOT, env: baseEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks: Buffer[] = [];
  child.stdout!.on('data', (chunk: Buffer) => chunks.push(chunk));
  child.stderr!.on('data', (chunk: Buffer) => chunks.push(chunk));
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

/** `zoom-archiver retry --failed --data-dir DIR` (or one file id). */
export function runRetry(dataDir: string, options: { fileId?: string; env?: Record<string, string> } = {}): Promise<CommandResult> {
  const args = [BIN, 'retry', ...(options.fileId ? [options.fileId] : ['--failed']), '--data-dir', dataDir];
  const child = spawn(process.execPath, args, { cwd: ROOT, env: baseEnv(options.env ?? {}), stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks: Buffer[] = [];
  child.stdout!.on('data', (chunk: Buffer) => chunks.push(chunk));
  child.stderr!.on('data', (chunk: Buffer) => chunks.push(chunk));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output: Buffer.concat(chunks).toString('utf8') }));
  });
}
