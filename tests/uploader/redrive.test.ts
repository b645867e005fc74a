/**
 * The recovery sweep's re-drive cap, on both ledgers (SQLite, DynamoDB on dynalite),
 * with a fake clock: a file whose runs keep dying is re-driven `maxRedrives` times,
 * then failed once as `deadline` (retryable) and never re-driven again; work that
 * cost no transfer (never claimed, handed back at shutdown, waiting in the bus) is
 * re-driven without using up the cap.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDbUploadLedger, ledgerTableDefinition } from '../../shared/adapters/ledger-dynamodb';
import { SqliteUploadLedger } from '../../shared/adapters/ledger-sqlite';
import { DetailType } from '../../shared/events';
import { silentLogger } from '../../shared/logger';
import type { UploadLedger } from '../../shared/ports/upload-ledger';
import { recoverStalledUploads, type RecoveryResult } from '../../services/uploader/redrive';
import { startDynalite, type DynaliteHandle } from '../support/dynalite';
import { MemoryPublisher } from '../support/memory-publisher';
import { uploadRequest } from '../ledger/ledger-contract';

const T0 = Date.UTC(2026, 10, 26, 9, 0, 0);
const LEASE = 60_000;
const STALE = 15 * 60_000;
const MAX_REDRIVES = 3;

let dynalite: DynaliteHandle;
let dir: string;
beforeAll(async () => {
  dynalite = await startDynalite();
  dir = mkdtempSync(join(tmpdir(), 'redrive-'));
});
afterAll(async () => {
  await dynalite.stop();
  rmSync(dir, { recursive: true, force: true });
});

const ledgers: [string, () => Promise<{ ledger: UploadLedger; close(): void }>][] = [
  [
    'SQLite',
    async () => {
      const ledger = new SqliteUploadLedger({ path: join(dir, `ledger-${Math.random().toString(36).slice(2)}.sqlite`) });
      return { ledger, close: () => ledger.close() };
    },
  ],
  [
    'DynamoDB',
    async () => {
      const tableName = await dynalite.createTable(ledgerTableDefinition(dynalite.uniqueTableName('redrive')));
      return { ledger: new DynamoDbUploadLedger({ client: dynalite.client, tableName }), close: () => undefined };
    },
  ],
];

describe.each(ledgers)('recovery sweep re-drive cap (%s ledger)', (_name, open) => {
  let ledger: UploadLedger;
  let close: () => void;
  let publisher: MemoryPublisher;
  let now: number;
  const sweep = (): Promise<RecoveryResult> =>
    recoverStalledUploads({ ledger, publisher, logger: silentLogger, now: () => now, staleAfterMs: STALE, maxRedrives: MAX_REDRIVES });
  const redriven = (fileId: string) => publisher.ofType(DetailType.FileUploadRequested).filter((r) => r.file.fileId === fileId).length;
  const register = (fileId: string) => {
    const request = uploadRequest(fileId);
    return ledger.register({ fileId, recordingId: request.recordingId, groupKey: 'g', archiveKey: request.archiveKey, request, now });
  };

  beforeEach(async () => {
    ({ ledger, close } = await open());
    publisher = new MemoryPublisher();
    now = T0;
  });
  afterEach(() => close());

  it('re-drives a file whose runs keep dying N times, then fails it once as deadline, retryable, and stops', async () => {
    await register('f1');
    await ledger.claim('f1', 'run-1', LEASE, now); // the first delivery's run, which dies holding the lease

    for (let n = 1; n <= MAX_REDRIVES; n++) {
      now += LEASE + 1;
      const result = await sweep();
      expect(result.redriven).toEqual(['f1']);
      expect(redriven('f1')).toBe(n);
      expect(await ledger.get('f1')).toMatchObject({ state: 'requested', redrives: n });
      // The re-driven delivery claims the file; its run dies too — every other one at its deadline (Lambda), the rest killed.
      await ledger.claim('f1', `run-${n + 1}`, LEASE, now);
      if (n % 2 === 0) {
        now += 1_000;
        await ledger.release('f1', `run-${n + 1}`, now, { code: 'deadline', message: 'stopped before the deadline', retryable: true });
      }
    }

    now += LEASE + 1;
    const last = await sweep();

    expect(last).toMatchObject({ redriven: [], failed: ['f1'] });
    const failures = publisher.ofType(DetailType.FileUploadFailed);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ fileId: 'f1', code: 'deadline', retryable: true, attempts: MAX_REDRIVES + 1 });
    expect(failures[0]!.metadata.correlationId).toBe('corr-1');
    expect(await ledger.get('f1')).toMatchObject({ state: 'failed', redrives: MAX_REDRIVES, lastError: { code: 'deadline', retryable: true } });

    // Later sweeps, however late, neither re-drive nor fail it again.
    for (let i = 0; i < 3; i++) {
      now += STALE + LEASE;
      expect(await sweep()).toEqual({ redriven: [], skipped: [], failed: [] });
    }
    expect(redriven('f1')).toBe(MAX_REDRIVES);
    expect(publisher.ofType(DetailType.FileUploadFailed)).toHaveLength(1);
  });

  it('re-drives a run stopped at its deadline at the next sweep, without waiting for it to look stale', async () => {
    await register('f1');
    await ledger.claim('f1', 'run-1', LEASE, now);
    now += 5_000;
    await ledger.release('f1', 'run-1', now, { code: 'deadline', message: 'stopped before the deadline', retryable: true });

    now += 1_000;
    expect((await sweep()).redriven).toEqual(['f1']);
    expect((await ledger.get('f1'))?.redrives).toBe(1);
    // Its re-drive now waits in the bus: not re-driven again before it is stale.
    now += LEASE;
    expect((await sweep()).redriven).toEqual([]);
  });

  it('does not spend the cap on requests that cost no transfer: never claimed, handed back at shutdown, or waiting in the bus', async () => {
    await register('never-claimed');
    await register('shut-down');
    await ledger.claim('shut-down', 'run-1', LEASE, now);
    await ledger.release('shut-down', 'run-1', now + 10);

    // Sweeps more often than the stale time see nothing new until it passes.
    now += STALE / 2;
    expect((await sweep()).redriven).toEqual([]);
    for (let i = 1; i <= MAX_REDRIVES + 2; i++) {
      now += STALE + 1;
      expect((await sweep()).redriven.sort()).toEqual(['never-claimed', 'shut-down']);
    }

    expect(redriven('never-claimed')).toBe(MAX_REDRIVES + 2);
    expect(await ledger.get('never-claimed')).toMatchObject({ state: 'requested', redrives: 0 });
    expect(await ledger.get('shut-down')).toMatchObject({ state: 'requested', redrives: 0 });
    expect(publisher.ofType(DetailType.FileUploadFailed)).toEqual([]);
  });

  it('leaves a live lease alone and counts a dead run once, however many sweeps run together', async () => {
    await register('live');
    await register('dead');
    await ledger.claim('live', 'busy', 10 * LEASE, now);
    await ledger.claim('dead', 'gone', LEASE, now);
    now += LEASE + 1;

    const results = await Promise.all([sweep(), sweep(), sweep()]);

    expect(results.flatMap((r) => r.redriven)).toEqual(['dead']);
    expect((await ledger.get('dead'))?.redrives).toBe(1);
    expect(await ledger.get('live')).toMatchObject({ state: 'uploading', leaseOwner: 'busy', redrives: 0 });
  });

  it('keeps a marked re-drive whose publish failed for the next sweep, not counted twice', async () => {
    await register('f1');
    await ledger.claim('f1', 'run-1', LEASE, now);
    now += LEASE + 1;
    publisher.failNext = 1;

    await expect(sweep()).rejects.toThrow('bus unavailable');
    expect(await ledger.get('f1')).toMatchObject({ state: 'requested', redrives: 1 });

    now += STALE + 1;
    expect((await sweep()).redriven).toEqual(['f1']);
    expect(await ledger.get('f1')).toMatchObject({ state: 'requested', redrives: 1 });
  });
});
