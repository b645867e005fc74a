/**
 * The SQLite reconciler state: the shared contract on a temporary database file, plus
 * what is SQLite's own — WAL, the table layout, reopening the file, two connections on
 * one file, and the bounded clean-up of expired rows.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SQLITE_RECONCILER_TABLE, SqliteReconcilerState } from '../../shared/adapters/reconciler-state-sqlite';
import { dataPaths } from '../../host/paths';
import { ODD_IDS, T0, describeReconcilerStateContract, rejectionOf } from './state-contract';

const DAY = 24 * 60 * 60 * 1000;

let dir: string;
let counter = 0;
const nextPath = (): string => join(dir, `reconciler-${++counter}.sqlite`);
const opened: SqliteReconcilerState[] = [];
const open = (path: string): SqliteReconcilerState => {
  const state = new SqliteReconcilerState(path);
  opened.push(state);
  return state;
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'zoom-archiver-reconciler-'));
});
afterEach(() => {
  for (const state of opened.splice(0)) {
    try {
      state.close();
    } catch {
      // already closed by the test
    }
  }
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describeReconcilerStateContract('SQLite file', async () => {
  const state = new SqliteReconcilerState(nextPath());
  return { state, dispose: async () => state.close() };
});

describe('SqliteReconcilerState', () => {
  const rowCount = (path: string): number => {
    const db = new Database(path, { readonly: true });
    try {
      return (db.prepare(`SELECT COUNT(*) AS n FROM ${SQLITE_RECONCILER_TABLE}`).get() as { n: number }).n;
    } finally {
      db.close();
    }
  };

  it('lives at DATA_DIR/reconciler.sqlite on the host', () => {
    expect(dataPaths('/srv/archiver').reconciler).toBe(join('/srv/archiver', 'reconciler.sqlite'));
  });

  it('opens the file in WAL mode with one row per recording', () => {
    const path = nextPath();
    open(path);

    const db = new Database(path, { readonly: true });
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      const columns = (db.pragma(`table_info(${SQLITE_RECONCILER_TABLE})`) as { name: string; pk: number }[]).map((c) => [c.name, c.pk]);
      expect(columns).toEqual([
        ['recording_id', 1],
        ['fingerprint', 0],
        ['reason', 0],
        ['remembered_at', 0],
        ['keep_until', 0],
      ]);
    } finally {
      db.close();
    }
  });

  it('survives closing and reopening the file, expiry included', async () => {
    const path = nextPath();
    const first = open(path);
    await first.rememberRejection(rejectionOf('kept', { fingerprint: 'k' }), 30 * DAY);
    await first.rememberRejection(rejectionOf('short', { fingerprint: 's' }), DAY);
    for (const id of ODD_IDS) await first.rememberRejection(rejectionOf(id), 30 * DAY);
    first.close();

    const second = open(path);

    expect(await second.rejection('kept', T0 + 2 * DAY)).toEqual(rejectionOf('kept', { fingerprint: 'k' }));
    expect(await second.rejection('short', T0 + 2 * DAY)).toBeUndefined();
    for (const id of ODD_IDS) expect(await second.rejection(id, T0)).toEqual(rejectionOf(id));
  });

  it('lets two adapters on the same file see each other’s writes and forgets', async () => {
    const path = nextPath();
    const a = open(path);
    const b = open(path);

    await a.rememberRejection(rejectionOf('rec-1', { fingerprint: 'from-a' }), DAY);
    expect(await b.rejection('rec-1', T0)).toEqual(rejectionOf('rec-1', { fingerprint: 'from-a' }));

    await b.rememberRejection(rejectionOf('rec-1', { fingerprint: 'from-b', rememberedAt: T0 + 1 }), DAY);
    expect((await a.rejection('rec-1', T0 + 1))?.fingerprint).toBe('from-b');

    await a.forgetRejection('rec-1');
    expect(await b.rejection('rec-1', T0 + 1)).toBeUndefined();
  });

  it('deletes expired rows as new ones are written, in bounded batches, and keeps the rest', async () => {
    const path = nextPath();
    const state = open(path);
    for (let i = 0; i < 250; i++) await state.rememberRejection(rejectionOf(`old-${i}`), DAY);
    await state.rememberRejection(rejectionOf('long', { fingerprint: 'long' }), 30 * DAY);
    expect(rowCount(path)).toBe(251);

    // Each write a day and more later removes at most one batch of the expired rows.
    await state.rememberRejection(rejectionOf('new-1', { rememberedAt: T0 + 2 * DAY }), DAY);
    const afterOne = rowCount(path);
    expect(afterOne).toBeLessThan(252);
    expect(afterOne).toBeGreaterThan(2);
    await state.rememberRejection(rejectionOf('new-2', { rememberedAt: T0 + 2 * DAY }), DAY);
    await state.rememberRejection(rejectionOf('new-3', { rememberedAt: T0 + 2 * DAY }), DAY);

    expect(rowCount(path)).toBe(4);
    expect((await state.rejection('long', T0 + 2 * DAY))?.fingerprint).toBe('long');
    expect(await state.rejection('new-1', T0 + 2 * DAY)).toBeDefined();
  });

  it('does not delete a row that has not expired at the writer’s time', async () => {
    const path = nextPath();
    const state = open(path);
    await state.rememberRejection(rejectionOf('edge'), DAY);

    await state.rememberRejection(rejectionOf('other', { rememberedAt: T0 + DAY }), DAY);

    expect(rowCount(path)).toBe(2);
    expect(await state.rejection('edge', T0 + DAY)).toBeDefined();
  });
});
