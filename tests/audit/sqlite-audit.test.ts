import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteAuditLog } from '../../shared/adapters/audit-sqlite';
import { describeAuditLogContract } from './audit-contract';

describeAuditLogContract('SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'audit-'));
  const path = join(dir, 'audit.sqlite');
  const log = new SqliteAuditLog(path);
  return {
    log,
    // The database file and its write-ahead log, as bytes on disk.
    rawDump: async () => ['', '-wal'].map((suffix) => { try { return readFileSync(path + suffix).toString('latin1'); } catch { return ''; } }).join(''),
    close: async () => {
      log.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
