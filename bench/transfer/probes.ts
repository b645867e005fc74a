/**
 * Pieces of a transfer measured alone, to say where the time goes (the "ladder" of
 * the transfer breakdown): the HTTP client with nothing behind it, plus hashing on or
 * off the main thread, the bare file write plus fsync, and the folder store fed from
 * memory (the disk's part alone). Each returns the bytes received.
 */
import { createHash } from 'node:crypto';
import { createWriteStream, mkdirSync } from 'node:fs';
import http, { type IncomingMessage } from 'node:http';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Worker } from 'node:worker_threads';
import { FolderArchiveStore } from '../../shared/adapters/archive-folder';
import { httpGet, type HttpGetResponse } from '../../shared/adapters/http-get';
import type { WorkerJob } from './protocol';

export const PROBES = ['http-discard', 'get-discard', 'fetch-discard', 'http-sha256', 'http-sha256-thread', 'http-sha256-thread-copy', 'bare-fsync', 'store-from-memory'] as const;
export type ProbeName = (typeof PROBES)[number];

/** What a probe downloads before its clock starts (store-from-memory: the whole file, as our GET's chunks). */
export type Prepared = Buffer[] | undefined;

export async function prepareProbe(probe: ProbeName, job: WorkerJob): Promise<Prepared> {
  if (probe !== 'store-from-memory') return undefined;
  const chunks: Buffer[] = [];
  for await (const chunk of (await get(job)).body) chunks.push(chunk as Buffer);
  return chunks;
}

/** GET with the Bearer token, the one 302 followed by hand (no token to the CDN), nothing else. */
export async function download(job: WorkerJob): Promise<IncomingMessage> {
  let url = new URL(job.downloadUrl);
  for (let hop = 0; hop < 2; hop++) {
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      const headers: Record<string, string> = hop === 0 ? { authorization: `Bearer ${job.downloadToken}` } : {};
      http.get(url, { headers, agent: false }, resolve).once('error', reject);
    });
    if (response.statusCode === 200) return response;
    response.resume();
    if (response.statusCode !== 302 || !response.headers.location) throw new Error(`download answered ${response.statusCode}`);
    url = new URL(response.headers.location, url);
  }
  throw new Error('too many redirects');
}

/** download() with the downloader's own client: the Bearer GET, the one 302 by hand. */
async function get(job: WorkerJob): Promise<HttpGetResponse> {
  let url = new URL(job.downloadUrl);
  for (let hop = 0; hop < 2; hop++) {
    const response = await httpGet(url, { headers: hop === 0 ? { authorization: `Bearer ${job.downloadToken}` } : {} });
    if (response.statusCode === 200) return response;
    response.body.destroy();
    if (response.statusCode !== 302 || !response.headers.location) throw new Error(`download answered ${response.statusCode}`);
    url = new URL(response.headers.location, url);
  }
  throw new Error('too many redirects');
}

export async function runProbe(probe: ProbeName, job: WorkerJob, prepared: Prepared): Promise<{ bytes: number; sha256?: string }> {
  switch (probe) {
    case 'http-discard': {
      let bytes = 0;
      for await (const chunk of await download(job)) bytes += (chunk as Buffer).length;
      return { bytes };
    }
    case 'get-discard': {
      // The client the downloader uses (shared/adapters/http-get.ts), with nothing behind it.
      let bytes = 0;
      for await (const chunk of (await get(job)).body) bytes += (chunk as Buffer).length;
      return { bytes };
    }
    case 'fetch-discard': {
      // fetch follows the redirect itself and, like curl, drops Authorization on the cross-origin hop.
      const response = await fetch(job.downloadUrl, { headers: { authorization: `Bearer ${job.downloadToken}` } });
      let bytes = 0;
      for await (const chunk of response.body!) bytes += chunk.length;
      return { bytes };
    }
    case 'http-sha256': {
      const hash = createHash('sha256');
      let bytes = 0;
      for await (const chunk of await download(job)) {
        bytes += (chunk as Buffer).length;
        hash.update(chunk as Buffer);
      }
      return { bytes, sha256: hash.digest('hex') };
    }
    case 'http-sha256-thread':
      return hashInThread(job, false);
    case 'http-sha256-thread-copy':
      return hashInThread(job, true);
    case 'bare-fsync': {
      const response = await download(job);
      mkdirSync(dirname(job.folderTarget!), { recursive: true });
      const file = createWriteStream(job.folderTarget!, { flush: true });
      await pipeline(response, file);
      return { bytes: Number(response.headers['content-length']) };
    }
    case 'store-from-memory': {
      // The folder store's own resumable put (16 MiB checkpoints, each fsynced beside the writes that follow;
      // final fsync, link, directory fsyncs), fed the file from memory: no network, no hash, no ledger.
      const chunks = prepared!;
      const bytes = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
      const store = new FolderArchiveStore({ root: job.folderRoot! });
      const result = await store.resumable.putResumable({
        key: job.s3Key!,
        body: Readable.from(chunks),
        contentLength: bytes,
        metadata: {},
        onCheckpoint: async () => true,
      });
      return { bytes: result.size };
    }
  }
}

const HASH_THREAD = `
const { parentPort } = require('node:worker_threads');
const hash = require('node:crypto').createHash('sha256');
parentPort.on('message', (m) => {
  if (m === 'end') { parentPort.postMessage(hash.digest('hex')); return; }
  hash.update(new Uint8Array(m));
});
`;

/**
 * SHA-256 in a worker thread. Without `copy`, every chunk is transferred (the upper
 * bound: nothing left to pass on); with it, a copy is sent, as a verifier that still
 * passes the chunk to the archive would have to. No backpressure: the queue grows.
 */
async function hashInThread(job: WorkerJob, copy: boolean): Promise<{ bytes: number; sha256: string }> {
  const worker = new Worker(HASH_THREAD, { eval: true });
  let bytes = 0;
  for await (const chunk of await download(job)) {
    const buffer = chunk as Buffer;
    bytes += buffer.length;
    // A socket read owns its ArrayBuffer; copy when it is a slice of a larger one.
    const whole = !copy && buffer.byteOffset === 0 && buffer.byteLength === buffer.buffer.byteLength;
    const owned = whole ? buffer.buffer : buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength);
    worker.postMessage(owned, [owned as ArrayBuffer]);
  }
  const sha256 = await new Promise<string>((resolve) => {
    worker.once('message', resolve);
    worker.postMessage('end');
  });
  await worker.terminate();
  return { bytes, sha256 };
}
