/**
 * The recovery sweep's re-drive cap, on both ledgers (SQLite, DynamoDB on dynalite),
 * with a fake clock: a file whose runs keep dying is re-driven `maxRedrives` times,
 * then failed once as `deadline` (retryable) and never re-driven again; work that
 * cost no transfer (never claimed, handed back at shutdown, waiting in the bus) is
 * re-driven without using up the cap. And automatic re-drive of retryable failures:
 * due ones re-published once with `autoRetry`, on a doubling schedule, bounded by
 * `maxAttempts` — also for `deadline`, so the cap and automatic re-drive never loop.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDbUploadLedger, ledgerTableDefinition } from '../../shared/adapters/ledger-dynamodb';
import { SqliteUploadLedger } from '../../shared/adapters/ledger-sqlite';
import { DetailType } from '../../shared/events';
import { silentLogger } from '../../shared/logger';
import type { LedgerEntry, UploadLedger } from '../../shared/ports/upload-ledger';
import type { AutoRetryPolicy } from '../../services/uploader/failure-policy';
import { recoverStalledUploads, type RecoveryResult } from '../../services/uploader/redrive';
import { startDynalite, type DynaliteHandle } from '../support/dynalite';
import { MemoryPublisher } from '../support/memory-publisher';
import { uploadRequest } from '../ledger/ledger-contract';

const T0 = Date.UTC(2026, 10, 26, 9, 0, 0);
const LEASE = 60_000;
const STALE = 15 * 60_000;
const MAX_REDRIVES = 3;
const BASE = 60_000;
const MAX_AUTO = 3;
const AUTO: AutoRetryPolicy = { baseMs: BASE, maxAttempts: MAX_AUTO };
const AUTO_OFF: AutoRetryPolicy = { baseMs: BASE, maxAttempts: 0 };

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
  const sweep = (autoRetry: AutoRetryPolicy = AUTO): Promise<RecoveryResult> =>
    recoverStalledUploads({ ledger, publisher, logger: silentLogger, now: () => now, staleAfterMs: STALE, maxRedrives: MAX_REDRIVES, autoRetry });
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

  it('re-drives a file whose runs keep dying N times, then fails it once as deadline, retryable, and (automatic re-drive off) stops', async () => {
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
    const last = await sweep(AUTO_OFF);

    expect(last).toMatchObject({ redriven: [], failed: ['f1'] });
    const failures = publisher.ofType(DetailType.FileUploadFailed);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ fileId: 'f1', code: 'deadline', retryable: true, attempts: MAX_REDRIVES + 1 });
    expect(failures[0]!.nextAttemptAt).toBeUndefined();
    expect(failures[0]!.metadata.correlationId).toBe('corr-1');
    expect(await ledger.get('f1')).toMatchObject({ state: 'failed', redrives: MAX_REDRIVES, lastError: { code: 'deadline', retryable: true } });

    // Later sweeps, however late, neither re-drive nor fail it again.
    for (let i = 0; i < 3; i++) {
      now += STALE + LEASE;
      expect(await sweep(AUTO_OFF)).toEqual({ redriven: [], skipped: [], failed: [], autoRetried: [] });
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

describe.each(ledgers)('recovery sweep: automatic re-drive of retryable failures (%s ledger)', (_name, open) => {
  let ledger: UploadLedger;
  let close: () => void;
  let publisher: MemoryPublisher;
  let now: number;
  const sweep = (autoRetry: AutoRetryPolicy = AUTO): Promise<RecoveryResult> =>
    recoverStalledUploads({ ledger, publisher, logger: silentLogger, now: () => now, staleAfterMs: STALE, maxRedrives: MAX_REDRIVES, autoRetry });
  const requestsOf = (fileId: string) => publisher.ofType(DetailType.FileUploadRequested).filter((r) => r.file.fileId === fileId);
  const register = (fileId: string, withRequest = true) => {
    const request = uploadRequest(fileId);
    return ledger.register({ fileId, recordingId: request.recordingId, groupKey: 'g', archiveKey: request.archiveKey, request: withRequest ? request : undefined, now });
  };
  /** A run that claims the file and fails it as the uploader does: retryable, due `delayMs` later. */
  const failRetryable = async (fileId: string, delayMs: number | undefined): Promise<LedgerEntry> => {
    const owner = `run-${now}`;
    expect((await ledger.claim(fileId, owner, LEASE, now)).outcome).toBe('claimed');
    now += 1_000;
    const nextAttemptAt = delayMs === undefined ? undefined : now + delayMs;
    expect(await ledger.fail(fileId, owner, { code: 'download_failed', message: 'Zoom answered 503', retryable: true }, now, { nextAttemptAt })).toBe(true);
    return (await ledger.get(fileId))!;
  };

  beforeEach(async () => {
    ({ ledger, close } = await open());
    publisher = new MemoryPublisher();
    now = T0;
  });
  afterEach(() => close());

  it('re-drives a due failure once, with autoRetry and its own idempotency key, not before it is due', async () => {
    await register('f1');
    await failRetryable('f1', BASE);

    now += BASE - 1;
    expect(await sweep()).toEqual({ redriven: [], skipped: [], failed: [], autoRetried: [] });
    now += 1;
    expect(await sweep()).toEqual({ redriven: [], skipped: [], failed: [], autoRetried: ['f1'] });

    const [retried, ...more] = requestsOf('f1');
    expect(more).toEqual([]);
    expect(retried).toMatchObject({ archiveKey: uploadRequest('f1').archiveKey, autoRetry: { attempt: 1, maxAttempts: MAX_AUTO } });
    expect(retried!.metadata).toMatchObject({ correlationId: 'corr-1', idempotencyKey: 'FileUploadRequested:f1:auto-retry:1' });
    expect(retried!.downloadAccess).toBeUndefined();
    const entry = await ledger.get('f1');
    expect(entry).toMatchObject({ state: 'requested', autoRetries: 1, updatedAt: now, lastError: { code: 'download_failed' } });
    expect(entry?.nextAttemptAt).toBeUndefined();
    // Waiting in the bus now: neither re-driven again as due, nor as stale before STALE.
    now += LEASE;
    expect(await sweep()).toEqual({ redriven: [], skipped: [], failed: [], autoRetried: [] });
  });

  it('re-drives it once however many sweeps run together', async () => {
    await register('f1');
    await failRetryable('f1', BASE);
    now += BASE;

    const results = await Promise.all([sweep(), sweep(), sweep()]);

    expect(results.flatMap((r) => r.autoRetried)).toEqual(['f1']);
    expect(requestsOf('f1')).toHaveLength(1);
    expect((await ledger.get('f1'))?.autoRetries).toBe(1);
  });

  it('leaves alone failures without a nextAttemptAt (permanent, or out of automatic re-drives), and everything with AUTO_RETRY_MAX_ATTEMPTS=0', async () => {
    await register('permanent');
    await register('due');
    await ledger.claim('permanent', 'a', LEASE, now);
    await ledger.fail('permanent', 'a', { code: 'not_found', message: '404', retryable: false }, now + 1);
    await failRetryable('due', BASE);
    now += 100 * BASE;

    expect((await sweep(AUTO_OFF)).autoRetried).toEqual([]);
    expect(await sweep()).toMatchObject({ autoRetried: ['due'], skipped: [] });
    expect(requestsOf('permanent')).toEqual([]);
    expect(await ledger.get('permanent')).toMatchObject({ state: 'failed', autoRetries: 0 });
  });

  it('skips a due entry the ledger holds no request for', async () => {
    await register('bare', false);
    await failRetryable('bare', BASE);
    now += BASE;

    expect(await sweep()).toMatchObject({ autoRetried: [], skipped: [{ fileId: 'bare', why: 'the ledger holds no request to re-drive' }] });
    expect(await ledger.get('bare')).toMatchObject({ state: 'failed', autoRetries: 0 });
  });

  it('does not re-drive a file a person retried in between: the claim cleared its schedule', async () => {
    await register('f1');
    await failRetryable('f1', BASE);
    // `zoom-archiver retry` re-published it; its run claims the file.
    await ledger.claim('f1', 'manual-retry', LEASE, now + 10);
    now += BASE;

    expect((await sweep()).autoRetried).toEqual([]);
    expect(await ledger.get('f1')).toMatchObject({ state: 'uploading', leaseOwner: 'manual-retry', autoRetries: 0 });
  });

  it('gives a file that keeps hitting the re-drive cap at most maxAttempts more runs, each deadline later than the last, then stops', async () => {
    await register('f1');
    let runs = 0;
    const die = async () => {
      expect((await ledger.claim('f1', `run-${now}`, LEASE, now)).outcome).toBe('claimed');
      runs++;
      now += LEASE + 1;
    };
    // The first delivery's run and MAX_REDRIVES re-driven runs all die.
    await die();
    for (let n = 1; n <= MAX_REDRIVES; n++) {
      expect((await sweep()).redriven).toEqual(['f1']);
      await die();
    }

    const waits: number[] = [];
    for (let auto = 0; auto <= MAX_AUTO; auto++) {
      const result = await sweep();
      expect(result).toMatchObject({ failed: ['f1'], redriven: [], autoRetried: [] });
      const failure = publisher.ofType(DetailType.FileUploadFailed).at(-1)!;
      expect(failure).toMatchObject({ code: 'deadline', retryable: true });
      const entry = (await ledger.get('f1'))!;
      expect(entry).toMatchObject({ state: 'failed', autoRetries: auto });
      if (auto === MAX_AUTO) {
        expect(failure.nextAttemptAt).toBeUndefined();
        expect(entry.nextAttemptAt).toBeUndefined();
        break;
      }
      expect(entry.nextAttemptAt).toBe(now + BASE * 2 ** auto);
      expect(failure.nextAttemptAt).toBe(new Date(entry.nextAttemptAt!).toISOString());
      waits.push(entry.nextAttemptAt! - now);
      now = entry.nextAttemptAt!;
      expect((await sweep()).autoRetried).toEqual(['f1']);
      expect(requestsOf('f1').at(-1)?.autoRetry).toEqual({ attempt: auto + 1, maxAttempts: MAX_AUTO });
      await die();
    }

    expect(waits).toEqual([BASE, 2 * BASE, 4 * BASE]);
    expect(runs).toBe(1 + MAX_REDRIVES + MAX_AUTO);
    // However late, nothing more happens: the file waits for `retry`.
    for (let i = 0; i < 3; i++) {
      now += STALE + 100 * BASE;
      expect(await sweep()).toEqual({ redriven: [], skipped: [], failed: [], autoRetried: [] });
    }
    expect(publisher.ofType(DetailType.FileUploadFailed)).toHaveLength(MAX_AUTO + 1);
  });

  it('keeps a marked automatic re-drive whose publish failed for the stale re-drive, without a second automatic count', async () => {
    await register('f1');
    await failRetryable('f1', BASE);
    now += BASE;
    publisher.failNext = 1;

    await expect(sweep()).rejects.toThrow('bus unavailable');
    expect(await ledger.get('f1')).toMatchObject({ state: 'requested', autoRetries: 1 });

    now += STALE + 1;
    expect(await sweep()).toMatchObject({ redriven: ['f1'], autoRetried: [] });
    expect(await ledger.get('f1')).toMatchObject({ state: 'requested', autoRetries: 1, redrives: 0 });
  });
});
