/**
 * The SQLite ledger: the shared contract on a temporary database file, plus what is
 * SQLite's own — WAL, reopening, sharing a connection, several processes on one
 * file, and how driver errors are reported.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { SqliteUploadLedger } from '../../shared/adapters/ledger-sqlite';
import { LedgerRefusedError, LedgerStoreError } from '../../shared/ports/upload-ledger';
import { describeLedgerContract } from './ledger-contract';

const T0 = Date.UTC(2026, 2, 2, 9, 0, 0);
const run = promisify(execFile);

let dir: string;
let counter = 0;
const nextPath = (): string => join(dir, `ledger-${++counter}.db`);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'zoom-archiver-ledger-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describeLedgerContract('SQLite file', async () => {
  const ledger = new SqliteUploadLedger({ path: nextPath() });
  return { ledger, dispose: async () => ledger.close() };
});

describe('SqliteUploadLedger', () => {
  const register = (ledger: SqliteUploadLedger, fileId: string) =>
    ledger.register({ fileId, recordingId: 'rec', groupKey: 'rec#0', archiveKey: `k/${fileId}`, now: T0 });

  it('opens the file in WAL mode', () => {
    const path = nextPath();
    new SqliteUploadLedger({ path }).close();

    const db = new Database(path, { readonly: true });
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      db.close();
    }
  });

  it('keeps entries across a restart, and reopening leaves the schema as it was', async () => {
    const path = nextPath();
    const first = new SqliteUploadLedger({ path });
    await register(first, 'f1');
    await first.claim('f1', 'before-restart', 60_000, T0);
    await first.checkpoint('f1', 'before-restart', { bytesCommitted: 5, parts: [{ partNumber: 1, etag: '"e"', size: 5 }] }, T0 + 1);
    const before = await first.get('f1');
    first.close();

    const second = new SqliteUploadLedger({ path });
    try {
      expect(await second.get('f1')).toEqual(before);
      expect((await second.listExpiredLeases(T0 + 60_000)).map((e) => e.fileId)).toEqual(['f1']);
      const resumed = await second.claim('f1', 'after-restart', 60_000, T0 + 60_000);
      expect(resumed.entry.checkpoint?.bytesCommitted).toBe(5);
    } finally {
      second.close();
    }
  });

  it('works in memory', async () => {
    const ledger = new SqliteUploadLedger({ path: ':memory:' });
    try {
      await register(ledger, 'f1');
      expect((await ledger.claim('f1', 'a', 1_000, T0)).outcome).toBe('claimed');
    } finally {
      ledger.close();
    }
  });

  it('uses a connection it is given and leaves it open on close', async () => {
    const db = new Database(':memory:');
    try {
      const ledger = new SqliteUploadLedger({ database: db });
      await register(ledger, 'f1');
      ledger.close();

      expect(db.open).toBe(true);
      expect(db.prepare('SELECT state FROM upload_ledger WHERE file_id = ?').get('f1')).toEqual({ state: 'requested' });
    } finally {
      db.close();
    }
  });

  it('gives each file to exactly one of several processes claiming on one database file', async () => {
    const path = nextPath();
    const setup = new SqliteUploadLedger({ path });
    const files = 25;
    for (let i = 0; i < files; i++) await register(setup, `file-${i}`);
    setup.close();
    const worker = join(__dirname, 'sqlite-claim-worker.ts');

    const outputs = await Promise.all(
      Array.from({ length: 4 }, (_, i) =>
        run(process.execPath, ['--require', 'tsx/cjs', worker, path, `process-${i}`, String(files), String(T0)], {
          cwd: join(__dirname, '..', '..'),
        }),
      ),
    );

    const won = outputs.flatMap(({ stdout }) => JSON.parse(stdout) as string[]);
    expect(won.sort()).toEqual(Array.from({ length: files }, (_, i) => `file-${i}`).sort());
    const check = new SqliteUploadLedger({ path });
    try {
      const uploading = await check.listByState('uploading');
      expect(uploading).toHaveLength(files);
      expect(uploading.every((e) => e.attempts === 1)).toBe(true);
    } finally {
      check.close();
    }
  }, 60_000);

  it('reports a database locked past the busy timeout as a retryable LedgerStoreError', async () => {
    const path = nextPath();
    const ledger = new SqliteUploadLedger({ path, busyTimeoutMs: 50 });
    await register(ledger, 'f1');
    const other = new Database(path);
    other.exec('BEGIN IMMEDIATE');
    try {
      const error = await ledger.claim('f1', 'a', 1_000, T0).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(LedgerStoreError);
      expect(error).toMatchObject({ name: 'LedgerStoreError', retryable: true });
      expect((error as Error).message).toContain('SQLITE_BUSY');
    } finally {
      other.exec('ROLLBACK');
      other.close();
      ledger.close();
    }
  });

  it('adds the re-drive and automatic re-drive columns (and the due index) to a ledger file written before they existed', async () => {
    const path = nextPath();
    const old = new Database(path);
    // The table as the first release created it.
    old.exec(`CREATE TABLE upload_ledger (
      file_id TEXT PRIMARY KEY, recording_id TEXT NOT NULL, group_key TEXT NOT NULL, group_size INTEGER, course TEXT,
      archive_key TEXT NOT NULL, expected_size INTEGER, request TEXT,
      state TEXT NOT NULL CHECK (state IN ('requested', 'uploading', 'uploaded', 'failed')),
      attempts INTEGER NOT NULL DEFAULT 0, duplicates INTEGER NOT NULL DEFAULT 0, lease_owner TEXT, lease_expires_at INTEGER,
      last_error TEXT, checkpoint TEXT, result TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL) STRICT`);
    old.prepare(`INSERT INTO upload_ledger (file_id, recording_id, group_key, archive_key, state, attempts, lease_owner, lease_expires_at, created_at, updated_at)
                 VALUES ('f1', 'rec', 'rec#0', 'k/f1', 'uploading', 1, 'dead', ?, ?, ?)`).run(T0 + 1_000, T0, T0);
    old.close();

    const ledger = new SqliteUploadLedger({ path });
    try {
      const [seen] = await ledger.listExpiredLeases(T0 + 1_000);
      expect(seen).toMatchObject({ fileId: 'f1', redrives: 0, autoRetries: 0 });
      expect(await ledger.listDueRetries(T0 + 1_000)).toEqual([]);
      expect(await ledger.noteRedrive(seen!, true, T0 + 1_000)).toBe(true);
      expect(await ledger.get('f1')).toMatchObject({ state: 'requested', redrives: 1 });
    } finally {
      ledger.close();
    }
    // Opening it again finds the columns there and leaves them.
    const again = new SqliteUploadLedger({ path });
    expect((await again.get('f1'))?.redrives).toBe(1);
    again.close();
  });

  it('turns a value SQLite will not store into LedgerRefusedError', async () => {
    const ledger = new SqliteUploadLedger({ path: nextPath() });
    try {
      // A STRICT INTEGER column refuses text: the same insert fails the same way every time.
      const error = await ledger
        .register({ fileId: 'f1', recordingId: 'rec', groupKey: 'rec#0', archiveKey: 'k/f1', expectedSize: 'huge' as unknown as number, now: T0 })
        .catch((e: unknown) => e);

      expect(error).toBeInstanceOf(LedgerRefusedError);
      expect(error).toMatchObject({ fileId: 'f1', retryable: false });
      expect((error as Error).message).toContain('SQLITE_CONSTRAINT');
      expect(await ledger.get('f1')).toBeUndefined();
    } finally {
      ledger.close();
    }
  });

  it('reports use after close as a non-retryable LedgerStoreError', async () => {
    const ledger = new SqliteUploadLedger({ path: nextPath() });
    ledger.close();

    await expect(ledger.get('f1')).rejects.toMatchObject({ name: 'LedgerStoreError', retryable: false });
  });
});
