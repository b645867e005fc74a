/**
 * Who runs the pipeline on a DATA_DIR. `serve` and a `backfill` without a server both
 * deliver the bus's events, and two deliverers on one bus.sqlite would race, so each
 * holds `DATA_DIR/instance.lock` (JSON: pid, role, url) while it runs. A `backfill`
 * that finds a live `serve` hands its recordings to it instead of running the pipeline
 * itself; `serve` refuses to start while another process holds the lock.
 *
 * The file is created with O_EXCL; a lock whose process is gone (killed, crashed) is
 * stale and taken over. Written by hand: the lock-file packages in the registry judge
 * staleness by age, not by whether the holder lives, and a server runs for months.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';

export type InstanceRole = 'serve' | 'backfill';

export interface LockHolder {
  pid: number;
  role: InstanceRole;
  /** The webhook server's address, for a `serve`. */
  url?: string;
  startedAt: string;
  /** Tells two holders of one process apart. */
  id: string;
}

export interface InstanceLock {
  holder: LockHolder;
  /** Updates what the lock says (e.g. the URL once the server listens). */
  update(changes: Partial<Pick<LockHolder, 'url'>>): void;
  release(): void;
}

export type AcquireResult = { acquired: true; lock: InstanceLock } | { acquired: false; heldBy: LockHolder };

/** The holder of the lock at `path` if its process is alive, else undefined. */
export function liveHolder(path: string): LockHolder | undefined {
  const holder = readHolder(path);
  return holder && isAlive(holder.pid) ? holder : undefined;
}

/**
 * Takes the lock unless another live process holds it. The same process may take it
 * again (a runtime restarted in-process, as tests do): the newer holder wins.
 */
export function acquireInstanceLock(path: string, role: InstanceRole): AcquireResult {
  const holder: LockHolder = { pid: process.pid, role, startedAt: new Date().toISOString(), id: randomUUID() };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      writeFileSync(path, JSON.stringify(holder), { flag: 'wx' });
      return { acquired: true, lock: lockFor(path, holder) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const current = readHolder(path);
    if (current && current.pid !== process.pid && isAlive(current.pid)) return { acquired: false, heldBy: current };
    // Stale (its process is gone), unreadable (a crash mid-write), or our own: replace it.
    rmSync(path, { force: true });
  }
  const current = readHolder(path);
  if (current) return { acquired: false, heldBy: current };
  throw new Error(`could not take the lock ${path}`);
}

export function describeHolder(holder: LockHolder): string {
  return `${holder.role === 'serve' ? 'a server' : 'a backfill'} (pid ${holder.pid}${holder.url ? `, ${holder.url}` : ''}, since ${holder.startedAt})`;
}

function lockFor(path: string, holder: LockHolder): InstanceLock {
  let released = false;
  return {
    holder,
    update(changes) {
      if (released) return;
      Object.assign(holder, changes);
      writeFileSync(path, JSON.stringify(holder));
    },
    release() {
      if (released) return;
      released = true;
      // Only our own lock: a newer holder in this process (a restart) keeps its own.
      const current = readHolder(path);
      if (current && current.id === holder.id) rmSync(path, { force: true });
    },
  };
}

function readHolder(path: string): LockHolder | undefined {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockHolder>;
    if (typeof parsed.pid !== 'number' || (parsed.role !== 'serve' && parsed.role !== 'backfill')) return undefined;
    return { pid: parsed.pid, role: parsed.role, url: typeof parsed.url === 'string' ? parsed.url : undefined, startedAt: String(parsed.startedAt ?? ''), id: String(parsed.id ?? '') };
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it lives, under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
