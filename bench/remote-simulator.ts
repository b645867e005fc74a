/** Parent side of bench/simulator-process.ts: a simulator in a child process. */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { ApiStats, RateLimitCategory, SimulatedRecordingSpec } from '../tools/zoom-simulator/simulator';

export interface RemoteRecording {
  payload: unknown;
  files: { fileId: string; size: number; sha256: string }[];
}

export interface RemoteSimulator {
  oauthTokenUrl: string;
  apiBaseUrl: string;
  accountId: string;
  clientId: string;
  clientSecret: string;
  addRecording(spec: SimulatedRecordingSpec): Promise<RemoteRecording>;
  /** Many recordings in one message each way; answered in the order of `specs`. */
  addRecordings(specs: readonly SimulatedRecordingSpec[]): Promise<RemoteRecording[]>;
  /** The REST API's per-second limit for a category (Zoom's Light, Medium…); undefined: unlimited. */
  setRateLimit(category: RateLimitCategory, perSecond: number | undefined): Promise<void>;
  /** The REST API's calls so far, by route, and its 429s. */
  apiStats(): Promise<ApiStats>;
  stop(): Promise<void>;
}

interface Answer {
  id?: number;
  error?: string;
  recording?: RemoteRecording;
  recordings?: RemoteRecording[];
  apiStats?: ApiStats;
}

export async function startRemoteSimulator(): Promise<RemoteSimulator> {
  // Resolved from the repository root (npm run bench), so a bundled copy of this file finds it too.
  const child: ChildProcess = fork(join(process.cwd(), 'bench', 'simulator-process.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ready = await new Promise<{ oauthTokenUrl: string; apiBaseUrl: string; accountId: string; clientId: string; clientSecret: string }>((resolve, reject) => {
    child.once('message', (m) => resolve(m as never));
    child.once('exit', (code) => reject(new Error(`simulator exited ${code}`)));
  });
  let next = 0;
  const request = (message: Record<string, unknown>): Promise<Answer> => {
    const id = ++next;
    return new Promise((resolve, reject) => {
      const listener = (m: Answer) => {
        if (m.id !== id) return;
        child.off('message', listener);
        if (m.error !== undefined) reject(new Error(`simulator: ${m.error}`));
        else resolve(m);
      };
      child.on('message', listener);
      child.send({ id, ...message });
    });
  };
  return {
    oauthTokenUrl: ready.oauthTokenUrl,
    apiBaseUrl: ready.apiBaseUrl,
    accountId: ready.accountId,
    clientId: ready.clientId,
    clientSecret: ready.clientSecret,
    addRecording: async (spec) => (await request({ addRecording: spec })).recording!,
    addRecordings: async (specs) => (await request({ addRecordings: specs })).recordings!,
    setRateLimit: async (category, perSecond) => {
      await request({ setRateLimit: { category, perSecond: perSecond ?? null } });
    },
    apiStats: async () => (await request({ apiStats: true })).apiStats!,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.send({ stop: true });
      }),
  };
}
