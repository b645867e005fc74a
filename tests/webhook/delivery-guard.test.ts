/**
 * DeliveryGuard contract: the same behaviour from the memory, SQLite (single
 * machine) and DynamoDB (Lambda, against dynalite) adapters — a delivery is kept
 * once until its window ends, a released one can be kept again, and two claims of
 * the same key at once let exactly one through.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryDeliveryGuard } from '../../shared/adapters/delivery-guard-memory';
import { SqliteDeliveryGuard, SWEEP_EVERY } from '../../shared/adapters/delivery-guard-sqlite';
import { DynamoDbDeliveryGuard } from '../../shared/adapters/delivery-guard-dynamodb';
import { ledgerTableDefinition } from '../../shared/adapters/ledger-dynamodb';
import type { DeliveryGuard } from '../../shared/ports/delivery-guard';
import { startDynalite, type DynaliteHandle } from '../support/dynalite';

const T0 = 1_800_000_000_000;

function contract(name: string, make: () => Promise<DeliveryGuard>) {
  describe(`DeliveryGuard contract: ${name}`, () => {
    let guard: DeliveryGuard;
    beforeEach(async () => {
      guard = await make();
    });

    it('keeps a delivery once until its window ends', async () => {
      expect(await guard.claim('k1', T0 + 300_000, T0)).toBe(true);
      expect(await guard.claim('k1', T0 + 300_000, T0 + 1_000)).toBe(false);
      expect(await guard.claim('k1', T0 + 600_000, T0 + 299_000)).toBe(false);
      // After the window the signature check refuses the bytes anyway; the record may be taken over.
      expect(await guard.claim('k1', T0 + 900_000, T0 + 301_000)).toBe(true);
    });

    it('tells deliveries apart by key', async () => {
      expect(await guard.claim('a', T0 + 300_000, T0)).toBe(true);
      expect(await guard.claim('b', T0 + 300_000, T0)).toBe(true);
    });

    it('accepts a released delivery again', async () => {
      expect(await guard.claim('k2', T0 + 300_000, T0)).toBe(true);
      await guard.release('k2');
      expect(await guard.claim('k2', T0 + 300_000, T0)).toBe(true);
      expect(await guard.claim('k2', T0 + 300_000, T0)).toBe(false);
    });

    it('lets exactly one of many concurrent claims of one key through', async () => {
      const results = await Promise.all(Array.from({ length: 20 }, () => guard.claim('k3', T0 + 300_000, T0)));
      expect(results.filter(Boolean)).toHaveLength(1);
    });
  });
}

contract('memory', async () => new MemoryDeliveryGuard());

let dir: string;
const sqliteGuards: SqliteDeliveryGuard[] = [];
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'delivery-guard-'));
});
afterAll(() => {
  for (const guard of sqliteGuards) guard.close();
  rmSync(dir, { recursive: true, force: true });
});
let sqliteCount = 0;
contract('SQLite', async () => {
  const guard = new SqliteDeliveryGuard(join(dir, `guard-${sqliteCount++}.sqlite`));
  sqliteGuards.push(guard);
  return guard;
});

describe('SQLite guard across processes', () => {
  it('shares what it kept between two connections to one file (e.g. after a restart)', async () => {
    const path = join(dir, 'shared.sqlite');
    const first = new SqliteDeliveryGuard(path);
    expect(await first.claim('k', T0 + 300_000, T0)).toBe(true);
    first.close();
    const second = new SqliteDeliveryGuard(path);
    sqliteGuards.push(second);
    expect(await second.claim('k', T0 + 300_000, T0 + 10)).toBe(false);
  });

  it('does not grow with expired records', async () => {
    const guard = new SqliteDeliveryGuard(join(dir, 'sweep.sqlite'));
    sqliteGuards.push(guard);
    for (let i = 0; i < 250; i++) await guard.claim(`old-${i}`, T0 + 1_000, T0);
    const count = () => (guard as unknown as { db: { prepare(sql: string): { get(): { n: number } } } }).db.prepare('SELECT count(*) AS n FROM deliveries_seen').get().n;
    for (let i = 0; i < SWEEP_EVERY - 1; i++) await guard.claim(`new-${i}`, T0 + 400_000, T0 + 100_000);
    // Not at every claim: 250 expired rows are still there after 49 new claims …
    expect(count()).toBe(250 + SWEEP_EVERY - 1);
    // … and the 300th claim (a multiple of SWEEP_EVERY) deletes them all.
    await guard.claim('new-last', T0 + 400_000, T0 + 100_000);
    expect(count()).toBe(SWEEP_EVERY);
  });
});

describe('DynamoDB guard', () => {
  let dynalite: DynaliteHandle;
  let tableName: string;
  beforeAll(async () => {
    dynalite = await startDynalite();
    tableName = await dynalite.createTable(ledgerTableDefinition(dynalite.uniqueTableName('ledger')));
  });
  afterAll(() => dynalite.stop());

  contract('DynamoDB (dynalite, the ledger table)', async () => new DynamoDbDeliveryGuard({ client: dynalite.client, tableName }));

  it('fails loudly (not "seen") when the table is unreachable', async () => {
    const guard = new DynamoDbDeliveryGuard({ client: dynalite.client, tableName: 'no-such-table' });
    await expect(guard.claim('k', T0 + 1, T0)).rejects.toThrow(/could not record the delivery/);
  });
});
