/**
 * The SQLite clean-up schedule: the shared contract on a temporary database file, plus
 * what is SQLite's own — the file and its folder created, WAL, the table and its
 * indexes, durability across close and reopen, and two connections on one file.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SQLITE_CLEANUP_TABLE, SqliteCleanupSchedule } from '../../shared/adapters/cleanup-sqlite';
import { CleanupStoreError } from '../../shared/adapters/cleanup-rules';
import { DAY, LEASE, ODD_IDS, T0, describeCleanupScheduleContract, scheduleInput } from './schedule-contract';

let dir: string;
let counter = 0;
const nextPath = (): string => join(dir, `cleanup-${++counter}.sqlite`);
const opened: SqliteCleanupSchedule[] = [];
const open = (path: string): SqliteCleanupSchedule => {
  const schedule = new SqliteCleanupSchedule({ path });
  opened.push(schedule);
  return schedule;
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'zoom-archiver-cleanup-'));
});
afterEach(() => {
  for (const schedule of opened.splice(0)) schedule.close();
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describeCleanupScheduleContract('SQLite file', async () => {
  const schedule = new SqliteCleanupSchedule({ path: nextPath() });
  return { schedule, dispose: async () => schedule.close() };
});

describeCleanupScheduleContract('SQLite in memory', async () => {
  const schedule = new SqliteCleanupSchedule({ path: ':memory:' });
  return { schedule, dispose: async () => schedule.close() };
});

describe('SqliteCleanupSchedule', () => {
  const readOnly = <T>(path: string, read: (db: Database.Database) => T): T => {
    const db = new Database(path, { readonly: true });
    try {
      return read(db);
    } finally {
      db.close();
    }
  };

  it('creates the file and its missing folders', async () => {
    const path = join(dir, 'nested', 'data', 'cleanup.sqlite');
    expect(existsSync(join(dir, 'nested'))).toBe(false);

    const schedule = open(path);
    await schedule.schedule(scheduleInput('rec-1'));

    expect(existsSync(path)).toBe(true);
  });

  it('opens the file in WAL mode, synchronous FULL, with one row per recording and the listing indexes', () => {
    const path = nextPath();
    const schedule = open(path);

    readOnly(path, (db) => {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      const columns = (db.pragma(`table_info(${SQLITE_CLEANUP_TABLE})`) as { name: string; pk: number }[]).map((c) => [c.name, c.pk]);
      expect(columns[0]).toEqual(['recording_id', 1]);
      expect(columns.map(([name]) => name)).toEqual([
        'recording_id',
        'course',
        'state',
        'due_at',
        'attempts',
        'lease_owner',
        'lease_expires_at',
        'trash_requested_at',
        'reschedule_at',
        'outcome',
        'decided_at',
        'note',
        'version',
        'created_at',
        'updated_at',
      ]);
      const indexes = (db.pragma(`index_list(${SQLITE_CLEANUP_TABLE})`) as { name: string }[]).map((i) => i.name);
      const columnsOf = (index: string) => (db.pragma(`index_info(${index})`) as { name: string }[]).map((c) => c.name);
      const indexed = indexes.map(columnsOf);
      expect(indexed).toEqual(expect.arrayContaining([['state', 'due_at'], ['state', 'lease_expires_at']]));
    });
    expect((schedule as unknown as { db: Database.Database }).db.pragma('synchronous', { simple: true })).toBe(2);
  });

  it('keeps every entry across close and reopen (durability): same state, dueAt and version', async () => {
    const path = nextPath();
    const first = open(path);
    await first.schedule(scheduleInput('kept', { dueAt: T0 + 2 * DAY }));
    await first.schedule(scheduleInput('leased', { dueAt: T0 + DAY }));
    await first.claim('leased', 'runner-a', LEASE, T0 + DAY);
    await first.markTrashRequested('leased', 'runner-a', T0 + DAY + 1);
    for (const id of ODD_IDS) await first.schedule(scheduleInput(id));
    const before = await first.list();
    first.close();

    const second = open(path);

    expect(await second.get('kept')).toMatchObject({ state: 'scheduled', dueAt: T0 + 2 * DAY, version: 1 });
    expect(await second.get('leased')).toMatchObject({ state: 'running', leaseOwner: 'runner-a', trashRequestedAt: T0 + DAY + 1 });
    expect(await second.list()).toEqual(before);
    expect(await second.claim('kept', 'runner-b', LEASE, T0 + 2 * DAY - 1)).toBeUndefined();
    expect(await second.claim('kept', 'runner-b', LEASE, T0 + 2 * DAY)).toBeDefined();
  });

  it('lets two connections on one file see each other’s writes, and only one claim wins', async () => {
    const path = nextPath();
    const a = open(path);
    const b = open(path);
    await a.schedule(scheduleInput('rec-1'));
    expect(await b.get('rec-1')).toMatchObject({ state: 'scheduled' });

    const claims = await Promise.all([a.claim('rec-1', 'runner-a', LEASE, T0 + DAY), b.claim('rec-1', 'runner-b', LEASE, T0 + DAY)]);

    expect(claims.filter((claimed) => claimed !== undefined)).toHaveLength(1);
    const owner = claims.find((claimed) => claimed !== undefined)!.leaseOwner!;
    const other = owner === 'runner-a' ? b : a;
    expect(await other.finish('rec-1', owner === 'runner-a' ? 'runner-b' : 'runner-a', { state: 'held', note: 'x' }, T0 + DAY)).toBe(false);
    expect(await other.finish('rec-1', owner, { state: 'held', note: 'x' }, T0 + DAY)).toBe(true);
    expect(await a.get('rec-1')).toMatchObject({ state: 'held' });
  });

  it('turns a closed database into a CleanupStoreError that is not retryable', async () => {
    const schedule = open(nextPath());
    schedule.close();
    schedule.close();

    const failure = schedule.get('rec-1');
    await expect(failure).rejects.toBeInstanceOf(CleanupStoreError);
    await expect(failure).rejects.toMatchObject({ retryable: false });
  });

  it('fails to open a path that cannot be a database with a CleanupStoreError', () => {
    expect(() => new SqliteCleanupSchedule({ path: dir })).toThrow(CleanupStoreError);
  });
});
