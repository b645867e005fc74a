/** Parent side of bench/simulator-process.ts: a simulator in a child process. */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { SimulatedRecordingSpec } from '../tools/zoom-simulator/simulator';

export interface RemoteRecording {
  payload: unknown;
  files: { fileId: string; size: number; sha256: string }[];
}

export interface RemoteSimulator {
  oauthTokenUrl: string;
  accountId: string;
  clientId: string;
  clientSecret: string;
  addRecording(spec: SimulatedRecordingSpec): Promise<RemoteRecording>;
  stop(): Promise<void>;
}

export async function startRemoteSimulator(): Promise<RemoteSimulator> {
  // Resolved from the repository root (npm run bench), so a bundled copy of this file finds it too.
  const child: ChildProcess = fork(join(process.cwd(), 'bench', 'simulator-process.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ready = await new Promise<{ oauthTokenUrl: string; accountId: string; clientId: string; clientSecret: string }>((resolve, reject) => {
    child.once('message', (m) => resolve(m as never));
    child.once('exit', (code) => reject(new Error(`simulator exited ${code}`)));
  });
  let next = 0;
  return {
    ...ready,
    addRecording(spec) {
      const id = ++next;
      return new Promise((resolve) => {
        const listener = (m: { id?: number; recording?: RemoteRecording }) => {
          if (m.id !== id) return;
          child.off('message', listener);
          resolve(m.recording!);
        };
        child.on('message', listener);
        child.send({ id, addRecording: spec });
      });
    },
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.send({ stop: true });
      }),
  };
}
