/**
 * The consumers' and the dashboard's threads run below the webhook's thread (Linux
 * nice values are per thread), so a busy machine gives the CPU to the thread that
 * answers Zoom first. Read from /proc: the nice value of every thread of a real serve.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { getPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { BACKGROUND_NICENESS, currentThreadId } from '../../host/workers/thread-priority';
import { startServe } from '../support/serve-process';

/** The nice value of each thread of a process, by thread name (the 19th field of /proc/PID/task/TID/stat). */
function threadNiceness(pid: number): { tid: number; name: string; nice: number }[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { tid: Number(tid), name, nice: Number(fields[16]) };
  });
}

describe('thread priorities', () => {
  it('lowers only the calling thread, and threads it starts inherit it', async () => {
    const source = `
      const { parentPort, Worker } = require('node:worker_threads');
      const { lowerThreadPriority, currentThreadId } = require(${JSON.stringify(require.resolve('../../host/workers/thread-priority'))});
      const mine = lowerThreadPriority();
      const child = new Worker("const { parentPort } = require('node:worker_threads'); const os = require('node:os'); const tid = Number(require('node:fs').readlinkSync('/proc/thread-self').split('/').pop()); parentPort.postMessage(os.getPriority(tid));", { eval: true });
      child.once('message', (inherited) => parentPort.postMessage({ mine, inherited, tid: currentThreadId() }));
    `;
    const worker = new Worker(`require('tsx/cjs'); ${source}`, { eval: true });
    const answer = await new Promise<{ mine: number; inherited: number; tid: number }>((resolve) => worker.once('message', resolve));
    await worker.terminate();
    expect(answer.mine).toBe(BACKGROUND_NICENESS);
    expect(answer.inherited).toBe(BACKGROUND_NICENESS);
    expect(answer.tid).not.toBe(currentThreadId());
    expect(getPriority(currentThreadId()!)).toBe(0);
  });

  it('serve: the thread that answers Zoom keeps normal priority, the consumers and the dashboard run below it', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'thread-priority-'));
    const serve = await startServe({ ZOOM_WEBHOOK_SECRET_TOKEN: 'thread-priority-secret', SWEEP_INTERVAL_SECONDS: '0', DATA_DIR: dataDir });
    try {
      // The dashboard's thread lowers itself as it starts, just after "listening on".
      let threads = threadNiceness(serve.child.pid!);
      for (let i = 0; i < 50 && threads.filter((t) => t.nice === BACKGROUND_NICENESS).length < 2; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        threads = threadNiceness(serve.child.pid!);
      }
      // The main thread's id is the process id.
      expect(threads.find((t) => t.tid === serve.child.pid)?.nice).toBe(0);
      expect(threads.filter((t) => t.nice === BACKGROUND_NICENESS).length).toBeGreaterThanOrEqual(2);
    } finally {
      await serve.kill('SIGTERM');
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});
