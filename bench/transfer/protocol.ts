/** What the transfer bench's parent sends a worker process, and what the worker answers. */

import type { ProbeName } from './probes';

export type Variant = 'ours' | 'bare' | 'original' | 'probe';
export type Sink = 'folder' | 's3';

export interface WorkerJob {
  variant: Variant;
  probe?: ProbeName;
  sink: Sink;
  /** The simulator's download URL and the webhook's plain download token (bare and original). */
  downloadUrl: string;
  downloadToken: string;
  /** ours: the FileUploadRequested detail, as course validation published it. */
  request: unknown;
  webhookSecret: string;
  oauthTokenUrl: string;
  oauth: { ZOOM_ACCOUNT_ID: string; ZOOM_CLIENT_ID: string; ZOOM_CLIENT_SECRET: string };
  partSizeMiB: number;
  queueSize: number;
  /** A folder of this run for the ledger. */
  scratchDir: string;
  /** ours → folder: the archive root; bare → folder: the file to write. */
  folderRoot?: string;
  folderTarget?: string;
  s3Endpoint?: string;
  s3Bucket?: string;
  /** bare and original → s3: the key to write (ours uses the request's archive key). */
  s3Key?: string;
  sampleEveryMs: number;
  /** Write a V8 CPU profile of the transfer (not of module loading) here. */
  cpuProfilePath?: string;
}

export interface MemoryPeaks {
  rssMB: number;
  heapTotalMB: number;
  heapUsedMB: number;
  externalMB: number;
  arrayBuffersMB: number;
}

export interface WorkerResult {
  seconds: number;
  bytes: number;
  /** ours: the SHA-256 the verifier computed. */
  sha256?: string;
  /** process.resourceUsage().maxRSS: the peak over the whole process life. */
  maxRssMB: number;
  /** RSS once the modules are loaded, before the transfer. */
  rssBeforeMB: number;
  peaks: MemoryPeaks;
  /** CPU time of the whole process (every thread) during the transfer. */
  cpuUserSeconds: number;
  cpuSystemSeconds: number;
}
