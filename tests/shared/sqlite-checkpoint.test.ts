/**
 * A writer that must answer fast opens its database with autoCheckpoint: false and
 * never copies its WAL into the database file inside a commit; a WalCheckpointer on
 * another connection does it. Real SQLite files.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteDatabase, WalCheckpointer } from '../../shared/adapters/sqlite-database';

describe('WAL checkpoints off the writer', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'wal-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const write = (path: string, autoCheckpoint: boolean, rows: number) => {
    const db = openSqliteDatabase(path, { autoCheckpoint });
    db.exec('CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, body TEXT NOT NULL)');
    const insert = db.prepare('INSERT INTO t (body) VALUES (?)');
    for (let i = 0; i < rows; i++) insert.run('x'.repeat(2000)); // one commit each, past SQLite's 1000-page default
    return db;
  };

  it('a writer without auto-checkpoint leaves every frame in the WAL; the checkpointer copies them, the data intact', () => {
    const path = join(dir, 'fast.sqlite');
    const writer = write(path, false, 5000);
    const walBefore = statSync(`${path}-wal`).size;
    const dbBefore = statSync(path).size;
    // ~10 MB of pages, all still in the WAL (the default writer restarts its WAL at ~4 MB: below).
    expect(walBefore).toBeGreaterThan(9 * 1024 * 1024);
    const checkpointer = new WalCheckpointer([path]);
    try {
      expect(checkpointer.checkpoint()).toBeGreaterThan(1000);
      expect(statSync(path).size).toBeGreaterThan(dbBefore + 9 * 1024 * 1024);
      // The writer goes on while the checkpointer holds its connection; a second checkpoint copies the new frames only.
      writer.prepare('INSERT INTO t (body) VALUES (?)').run('after');
      expect(checkpointer.checkpoint()).toBeGreaterThan(0);
      expect((writer.prepare('SELECT COUNT(*) AS n FROM t').get() as { n: number }).n).toBe(5001);
    } finally {
      checkpointer.close();
      writer.close();
    }
  });

  it('the default writer checkpoints by itself (its WAL is reused once it reaches ~1000 pages)', () => {
    const path = join(dir, 'default.sqlite');
    const writer = write(path, true, 5000);
    try {
      expect(statSync(`${path}-wal`).size).toBeLessThan(5 * 1024 * 1024);
    } finally {
      writer.close();
    }
  });
});
