/**
 * The saveable SHA-256 (resumable-sha256.ts) on a worker thread, so that its cost —
 * hash-wasm is several times slower than node:crypto — is paid on another core and not
 * by the event loop that moves the bytes. The transfer's throughput then stays that of
 * the plain put wherever a second core is free (bench section `resume`); the CPU is
 * the same.
 *
 * `update` copies the bytes into a batch (1 MiB) that is handed to the worker whole
 * (transferred, not copied again); `save()` and `digest()` answer once the worker has
 * hashed everything given before them, in order. `lag` is how many bytes were given
 * and not yet hashed: the caller bounds it (`drained`), so memory stays bounded when
 * the worker falls behind.
 *
 * The worker runs hash-wasm's own SHA-256 build (hash-wasm/dist/sha256.umd.min.js),
 * loaded from the package where it is installed, or, in a Lambda bundle (where
 * node_modules is not deployed), from the copy beside the bundle
 * (infrastructure/constructs/archiver-function.ts copies it there).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { savedStateBytes } from './resumable-sha256';

const BATCH_BYTES = 1024 * 1024;
const HASH_WASM_FILE = 'sha256.umd.min.js';

/** The worker's program: plain JavaScript (no build step), evaluated by Worker with eval. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createSHA256 } = require(workerData.hashWasm);
let chain = createSHA256().then((hasher) => {
  hasher.init();
  if (workerData.state !== undefined) hasher.load(new Uint8Array(Buffer.from(workerData.state, 'base64')));
  return hasher;
});
parentPort.on('message', (message) => {
  chain = chain.then((hasher) => {
    try {
      if (message.kind === 'update') {
        hasher.update(new Uint8Array(message.bytes, 0, message.length));
        parentPort.postMessage({ kind: 'hashed', bytes: message.length });
      } else if (message.kind === 'save') {
        parentPort.postMessage({ kind: 'answer', id: message.id, value: Buffer.from(hasher.save()).toString('base64') });
      } else if (message.kind === 'digest') {
        parentPort.postMessage({ kind: 'answer', id: message.id, value: hasher.digest('hex') });
      }
    } catch (error) {
      parentPort.postMessage({ kind: 'failed', message: String(error && error.message || error) });
    }
    return hasher;
  }, (error) => {
    parentPort.postMessage({ kind: 'failed', message: String(error && error.message || error) });
    throw error;
  });
});
`;

type WorkerMessage =
  | { kind: 'hashed'; bytes: number }
  | { kind: 'answer'; id: number; value: string }
  | { kind: 'failed'; message: string };

/** Where hash-wasm's SHA-256 build is: the installed package, or the copy beside a bundle. */
export function hashWasmSha256Path(): string {
  const beside = join(__dirname, HASH_WASM_FILE);
  if (existsSync(beside)) return beside;
  try {
    return require.resolve(`hash-wasm/dist/${HASH_WASM_FILE}`);
  } catch (error) {
    throw new Error(`hash-wasm's ${HASH_WASM_FILE} is neither installed nor beside the bundle (${beside})`, { cause: error });
  }
}

export class OffThreadSha256 {
  private readonly worker: Worker;
  private batch: Uint8Array<ArrayBuffer> | undefined;
  private filled = 0;
  private given = 0;
  private hashed = 0;
  private nextId = 0;
  private readonly answers = new Map<number, { resolve(value: string): void; reject(error: Error): void }>();
  private drainWaiters: Array<{ limit: number; resolve(): void; reject(error: Error): void }> = [];
  private failure: Error | undefined;
  private closed = false;

  /** A fresh hash, or one continuing from `state` (as ResumableSha256.save() or `save()` gave it). */
  constructor(state?: string) {
    if (state !== undefined) savedStateBytes(state);
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { hashWasm: hashWasmSha256Path(), state } });
    // Never what keeps a process alive.
    this.worker.unref();
    this.worker.on('message', (message: WorkerMessage) => this.received(message));
    this.worker.on('error', (error) => this.fail(error));
    this.worker.on('exit', (code) => {
      if (!this.closed) this.fail(new Error(`the SHA-256 worker stopped (exit code ${code})`));
    });
  }

  /** Bytes given and not hashed yet. */
  get lag(): number {
    return this.given - this.hashed;
  }

  update(data: Uint8Array): this {
    this.throwIfFailed();
    let at = 0;
    while (at < data.length) {
      this.batch ??= new Uint8Array(BATCH_BYTES);
      const take = Math.min(data.length - at, BATCH_BYTES - this.filled);
      this.batch.set(data.subarray(at, at + take), this.filled);
      this.filled += take;
      at += take;
      if (this.filled === BATCH_BYTES) this.flush();
    }
    this.given += data.length;
    return this;
  }

  /** The state after every byte given so far, as base64 text. */
  save(): Promise<string> {
    return this.ask('save');
  }

  /** Hex digest of every byte given; the worker stops afterwards. */
  async digest(): Promise<string> {
    try {
      return await this.ask('digest');
    } finally {
      this.close();
    }
  }

  /** Resolves once at most `limit` bytes wait to be hashed. */
  drained(limit: number): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    this.flush();
    if (this.lag <= limit) return Promise.resolve();
    return new Promise((resolve, reject) => this.drainWaiters.push({ limit, resolve, reject }));
  }

  /** Stops the worker; what was not answered is refused. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.fail(new Error('the SHA-256 worker was closed'));
    void this.worker.terminate();
  }

  private ask(kind: 'save' | 'digest'): Promise<string> {
    if (this.failure) return Promise.reject(this.failure);
    this.flush();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.answers.set(id, { resolve, reject });
      this.worker.postMessage({ kind, id });
    });
  }

  private flush(): void {
    if (this.batch === undefined || this.filled === 0) return;
    // Transferred, not copied: the batch is the worker's now, the next one is new.
    const { buffer } = this.batch;
    const length = this.filled;
    this.batch = undefined;
    this.filled = 0;
    this.worker.postMessage({ kind: 'update', bytes: buffer, length }, [buffer]);
  }

  private received(message: WorkerMessage): void {
    if (message.kind === 'hashed') {
      this.hashed += message.bytes;
      this.drainWaiters = this.drainWaiters.filter((waiter) => {
        if (this.lag > waiter.limit) return true;
        waiter.resolve();
        return false;
      });
    } else if (message.kind === 'answer') {
      this.answers.get(message.id)?.resolve(message.value);
      this.answers.delete(message.id);
    } else {
      this.fail(new Error(`the SHA-256 worker failed: ${message.message}`));
    }
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const answer of this.answers.values()) answer.reject(this.failure);
    this.answers.clear();
    for (const waiter of this.drainWaiters) waiter.reject(this.failure);
    this.drainWaiters = [];
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }
}
