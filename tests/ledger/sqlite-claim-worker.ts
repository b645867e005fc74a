/**
 * Child process for the SQLite ledger's multi-process test: opens the shared database
 * file with its own connection, tries to claim every file once, and prints the ids it
 * won as JSON. Run with `node --require tsx/cjs`.
 */
import { SqliteUploadLedger } from '../../shared/adapters/ledger-sqlite';

async function main(): Promise<void> {
  const [path, owner, countText, nowText] = process.argv.slice(2);
  if (!path || !owner || !countText || !nowText) throw new Error('usage: sqlite-claim-worker PATH OWNER COUNT NOW');
  const ledger = new SqliteUploadLedger({ path, busyTimeoutMs: 10_000 });
  const won: string[] = [];
  try {
    for (let i = 0; i < Number(countText); i++) {
      const fileId = `file-${i}`;
      const claim = await ledger.claim(fileId, owner, 60_000, Number(nowText));
      if (claim.outcome === 'claimed') won.push(fileId);
    }
  } finally {
    ledger.close();
  }
  process.stdout.write(JSON.stringify(won));
}

main().catch((error: unknown) => {
  process.stderr.write(String(error instanceof Error ? error.stack : error));
  process.exitCode = 1;
});
