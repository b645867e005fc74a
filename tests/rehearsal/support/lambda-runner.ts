/**
 * Runs a function's built asset (cdk.out/asset.<hash>/index.js) as Lambda would: under
 * Node 22 (node_modules/node22, the nodejs22.x runtime's major), in a child process per
 * execution environment (lambda-container.cjs), with the asset directory as
 * LAMBDA_TASK_ROOT and working directory, and exactly the environment given (the
 * template's variables, the AWS wiring and what the Lambda runtime itself sets: see
 * lambdaRuntimeEnv). Environments are kept warm and reused, one invocation at a time
 * each, up to `concurrency` of them (the function's reserved concurrency); more
 * invocations wait for one to be free, as Lambda's asynchronous queue does.
 *
 * An invocation that outlives the function's Timeout is cut as Lambda cuts it: the
 * environment is killed and the invocation fails with `Sandbox.Timedout`. An
 * environment that crashes fails the invocation in flight (Runtime.ExitError) and is
 * replaced by a fresh one (a cold start) for the next.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';

export const NODE22 = path.join(__dirname, '..', '..', '..', 'node_modules', 'node22', 'bin', 'node');
const CONTAINER_SCRIPT = path.join(__dirname, 'lambda-container.cjs');

export interface FunctionDefinition {
  logicalId: string;
  functionName: string;
  functionArn: string;
  /** The asset directory (holds index.js). */
  assetDir: string;
  /** Handler, e.g. index.handler. */
  handler: string;
  /** The whole environment of the process. */
  env: Record<string, string>;
  timeoutSeconds: number;
  memoryMb: number;
  /** Environments at most (reserved concurrency); default 10. */
  concurrency?: number;
}

export interface LambdaError {
  errorType: string;
  errorMessage: string;
  trace?: string[];
}

export type InvokeResult = { ok: true; result: unknown; durationMs: number } | { ok: false; error: LambdaError; durationMs: number };

export interface InvokeOptions {
  /** What context.getRemainingTimeInMillis starts at, instead of the function's Timeout (the environment is still cut at the Timeout). */
  remainingTimeMs?: number;
}

export interface LogLine {
  at: number;
  stream: 'stdout' | 'stderr';
  text: string;
}

interface Container {
  child: ChildProcess;
  ready: Promise<void>;
  busy: boolean;
  dead: boolean;
  pending?: { id: string; resolve: (r: { result?: unknown; error?: LambdaError }) => void };
}

const MAX_LOG_LINES = 2_000;

export class LambdaFunctionRunner {
  /** The function's log lines (stdout, stderr) of every environment, newest last, at most 2,000. */
  readonly logs: LogLine[] = [];
  /** Environments started (cold starts). */
  coldStarts = 0;
  /** process.version of the environments, as they reported it at init. */
  readonly nodeVersions = new Set<string>();
  invocations = 0;
  private readonly containers: Container[] = [];
  private readonly waiting: (() => void)[] = [];
  private stopped = false;

  constructor(readonly definition: FunctionDefinition) {
    if (!existsSync(path.join(definition.assetDir, 'index.js'))) throw new Error(`${definition.logicalId}: no index.js in ${definition.assetDir}`);
    if (!existsSync(NODE22)) throw new Error(`Node 22 is not installed at ${NODE22} (devDependency node22)`);
  }

  async invoke(event: unknown, options: InvokeOptions = {}): Promise<InvokeResult> {
    if (this.stopped) throw new Error(`${this.definition.logicalId}: the runner is stopped`);
    this.invocations++;
    const container = await this.acquire();
    const started = Date.now();
    const { timeoutSeconds } = this.definition;
    const remaining = Math.min(options.remainingTimeMs ?? timeoutSeconds * 1000, timeoutSeconds * 1000);
    try {
      try {
        await container.ready;
      } catch (error) {
        container.dead = true;
        return { ok: false, error: { errorType: 'Runtime.InitError', errorMessage: (error as Error).message }, durationMs: Date.now() - started };
      }
      const id = randomUUID();
      const answer = new Promise<{ result?: unknown; error?: LambdaError }>((resolve) => {
        container.pending = { id, resolve };
      });
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<{ result?: unknown; error?: LambdaError }>((resolve) => {
        timer = setTimeout(() => {
          container.dead = true;
          container.child.kill('SIGKILL');
          resolve({ error: { errorType: 'Sandbox.Timedout', errorMessage: `Task timed out after ${timeoutSeconds.toFixed(2)} seconds` } });
        }, timeoutSeconds * 1000);
      });
      container.child.send({
        type: 'invoke',
        id,
        event,
        deadlineMs: started + remaining,
        requestId: id,
        functionArn: this.definition.functionArn,
        traceId: `Root=1-${Math.floor(started / 1000).toString(16)}-${randomUUID().replace(/-/g, '').slice(0, 24)};Parent=${randomUUID().replace(/-/g, '').slice(0, 16)};Sampled=1`,
      });
      const outcome = await Promise.race([answer, timedOut]);
      clearTimeout(timer);
      const durationMs = Date.now() - started;
      return outcome.error ? { ok: false, error: outcome.error, durationMs } : { ok: true, result: outcome.result, durationMs };
    } finally {
      container.pending = undefined;
      this.release(container);
    }
  }

  /** Log lines as text, for a failure message. */
  logText(last = 60): string {
    return this.logs
      .slice(-last)
      .map((line) => `${line.stream === 'stderr' ? '! ' : ''}${line.text}`)
      .join('\n');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.containers.map((container) => stopContainer(container)));
    this.containers.length = 0;
    for (const wake of this.waiting.splice(0)) wake();
  }

  private async acquire(): Promise<Container> {
    for (;;) {
      const idle = this.containers.find((c) => !c.busy && !c.dead);
      if (idle) {
        idle.busy = true;
        return idle;
      }
      const alive = this.containers.filter((c) => !c.dead);
      if (alive.length < (this.definition.concurrency ?? 10)) {
        const container = this.start();
        container.busy = true;
        return container;
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
      if (this.stopped) throw new Error(`${this.definition.logicalId}: the runner is stopped`);
    }
  }

  private release(container: Container): void {
    container.busy = false;
    if (container.dead) {
      const index = this.containers.indexOf(container);
      if (index >= 0) this.containers.splice(index, 1);
    }
    this.waiting.shift()?.();
  }

  private start(): Container {
    this.coldStarts++;
    const { assetDir, env } = this.definition;
    const child = spawn(NODE22, [CONTAINER_SCRIPT], { cwd: assetDir, env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    const container: Container = { child, busy: false, dead: false, ready: Promise.resolve() };
    for (const stream of ['stdout', 'stderr'] as const) {
      let rest = '';
      child[stream]!.setEncoding('utf8').on('data', (text: string) => {
        const lines = (rest + text).split('\n');
        rest = lines.pop() ?? '';
        for (const line of lines) this.log(stream, line);
      });
    }
    container.ready = new Promise<void>((resolve, reject) => {
      const onMessage = (message: { type?: string; node?: string }) => {
        if (message?.type === 'ready') {
          if (message.node) this.nodeVersions.add(message.node);
          child.off('exit', onEarlyExit);
          resolve();
        }
      };
      const onEarlyExit = (code: number | null, signal: string | null) => reject(new Error(`${this.definition.logicalId}: the environment exited during init (${signal ?? code})\n${this.logText(30)}`));
      child.on('message', onMessage);
      child.once('exit', onEarlyExit);
    });
    container.ready.catch(() => undefined);
    child.on('message', (message: { type?: string; id?: string; result?: unknown; error?: LambdaError }) => {
      const pending = container.pending;
      if (message?.type === 'result' && pending !== undefined && pending.id === message.id) pending.resolve(message);
    });
    child.on('exit', (code, signal) => {
      container.dead = true;
      const pending = container.pending;
      pending?.resolve({ error: { errorType: 'Runtime.ExitError', errorMessage: `RequestId: ${pending.id} Error: Runtime exited with error: ${signal ?? `exit status ${code}`}` } });
    });
    this.containers.push(container);
    return container;
  }

  private log(stream: 'stdout' | 'stderr', text: string): void {
    this.logs.push({ at: Date.now(), stream, text });
    if (this.logs.length > MAX_LOG_LINES) this.logs.splice(0, this.logs.length - MAX_LOG_LINES);
  }
}

async function stopContainer(container: Container): Promise<void> {
  const { child } = container;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  if (child.connected) child.disconnect();
  const timer = setTimeout(() => child.kill('SIGKILL'), 1_000);
  await exited;
  clearTimeout(timer);
}

/**
 * What the Lambda runtime sets in every environment of the function (besides the
 * function's own variables and the credentials): the AWS_LAMBDA_* names, the
 * execution environment, the task root, the handler, TZ, and the log settings of its
 * LoggingConfig.
 */
export function lambdaRuntimeEnv(fn: {
  functionName: string;
  memoryMb: number;
  assetDir: string;
  handler: string;
  region: string;
  logGroupName: string;
  logFormat?: string;
}): Record<string, string> {
  return {
    PATH: '/usr/local/bin:/usr/bin/:/bin:/opt/bin',
    LANG: 'en_US.UTF-8',
    TZ: ':UTC',
    AWS_REGION: fn.region,
    AWS_DEFAULT_REGION: fn.region,
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
    AWS_LAMBDA_FUNCTION_NAME: fn.functionName,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    AWS_LAMBDA_LOG_GROUP_NAME: fn.logGroupName,
    AWS_LAMBDA_LOG_STREAM_NAME: `rehearsal/[$LATEST]${randomUUID().replace(/-/g, '')}`,
    ...(fn.logFormat ? { AWS_LAMBDA_LOG_FORMAT: fn.logFormat } : {}),
    LAMBDA_TASK_ROOT: fn.assetDir,
    LAMBDA_RUNTIME_DIR: '/var/runtime',
    _HANDLER: fn.handler,
  };
}
