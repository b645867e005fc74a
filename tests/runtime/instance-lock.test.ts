/**
 * One process runs the pipeline on a DATA_DIR: the instance lock is held while it
 * runs, refused to another live process, and taken over from a process that is gone.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireInstanceLock, liveHolder } from '../../host/instance-lock';

describe('the instance lock', () => {
  let dir: string;
  let path: string;
  let other: ChildProcess | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'instance-lock-'));
    path = join(dir, 'instance.lock');
  });
  afterEach(() => {
    other?.kill('SIGKILL');
    other = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  const lockOf = (pid: number, role: 'serve' | 'backfill') => writeFileSync(path, JSON.stringify({ pid, role, url: 'http://127.0.0.1:9', startedAt: '2026-12-01T00:00:00.000Z', id: 'x' }));

  it('is refused while another live process holds it, and says who', async () => {
    other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    await new Promise((resolve) => other!.once('spawn', resolve));
    lockOf(other.pid!, 'serve');

    const result = acquireInstanceLock(path, 'backfill');
    expect(result.acquired).toBe(false);
    expect(!result.acquired && result.heldBy).toMatchObject({ pid: other.pid, role: 'serve', url: 'http://127.0.0.1:9' });
    expect(liveHolder(path)?.role).toBe('serve');
  });

  it('is taken over from a process that has ended, and released by its holder only', async () => {
    const ended = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    await new Promise((resolve) => ended.once('exit', resolve));
    lockOf(ended.pid!, 'serve');
    expect(liveHolder(path)).toBeUndefined();

    const first = acquireInstanceLock(path, 'backfill');
    expect(first.acquired).toBe(true);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ pid: process.pid, role: 'backfill' });
    // The same process may take it again (a runtime restarted in-process); the older holder's release leaves it.
    const second = acquireInstanceLock(path, 'serve');
    expect(second.acquired).toBe(true);
    if (first.acquired) first.lock.release();
    expect(liveHolder(path)?.role).toBe('serve');
    if (second.acquired) second.lock.release();
    expect(existsSync(path)).toBe(false);
  });
});
