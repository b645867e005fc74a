/**
 * Webhooks take turns with the event loop (host/turn-taking.ts): at most a few per
 * loop iteration, in order, so that libuv — which accepts one new connection per
 * iteration — accepts new senders between them. Checked by counting, not timing: how
 * many answers busy keep-alive connections get while new connections wait for theirs.
 */
import { randomUUID } from 'node:crypto';
import { Agent } from 'node:http';
import { MemoryDeliveryGuard } from '../../shared/adapters/delivery-guard-memory';
import { TokenSealer } from '../../shared/crypto/token-seal';
import { silentLogger } from '../../shared/logger';
import { createServerApp, startServer, type RunningServer } from '../../host/server';
import { TurnTaking } from '../../host/turn-taking';
import { WEBHOOK_PATH } from '../../services/webhook/http';
import { loadZoomFixture } from '../support/fixtures';
import { MemoryPublisher } from '../support/memory-publisher';
import { waitFor } from '../support/wait-for';
import { postSignedWebhook } from '../support/webhook-post';

describe('TurnTaking', () => {
  it('gives at most perTurn turns per loop iteration, in the order they were asked for', async () => {
    let iteration = 0;
    let ticking = true;
    const tick = () => {
      iteration++;
      if (ticking) setImmediate(tick); // queued from an immediate: runs once per iteration
    };
    setImmediate(tick);
    const turns = new TurnTaking(3);
    const order: number[] = [];
    const seenAt: number[] = [];
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        turns.take().then(() => {
          order.push(i);
          seenAt.push(iteration);
        }),
      ),
    );
    ticking = false;
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const perIteration = new Map<number, number>();
    for (const at of seenAt) perIteration.set(at, (perIteration.get(at) ?? 0) + 1);
    expect([...perIteration.values()]).toEqual([3, 3, 3, 1]);
    expect(turns.queued).toBe(0);
  });

  it('keeps giving turns to callers that arrive while others wait (a new turn is scheduled once the queue empties), and refuses a perTurn below 1', async () => {
    const turns = new TurnTaking(1);
    const first = Array.from({ length: 3 }, () => turns.take());
    expect(turns.queued).toBe(3);
    await first[0];
    const late = turns.take();
    expect(turns.queued).toBe(3);
    await Promise.all([...first, late]);
    expect(turns.queued).toBe(0);
    await turns.take(); // after the queue emptied: hangs (and times out) unless a turn is scheduled again
    expect(() => new TurnTaking(0)).toThrow(/perTurn/);
  });
});

describe('the server accepts new connections while keep-alive ones keep it busy', () => {
  const SECRET = 'turn-taking-test-secret';
  const BUSY = 30;
  const NEW = 10;
  let server: RunningServer;
  const publisher = new MemoryPublisher();

  beforeAll(async () => {
    const app = createServerApp({ secretToken: SECRET, maxSkewSeconds: 300, publisher, sealer: new TokenSealer(SECRET), deliveries: new MemoryDeliveryGuard(), logger: silentLogger, now: () => new Date() });
    server = await startServer(app, '127.0.0.1', 0);
  });
  afterAll(() => server.close());

  const fixture = loadZoomFixture('recording-completed-not-course');
  function deliver(agent: Agent): Promise<number> {
    fixture.payload.object.uuid = `${randomUUID()}==`;
    return postSignedWebhook(new URL(WEBHOOK_PATH, server.url), JSON.stringify(fixture), SECRET, agent);
  }

  it(`answers ${NEW} new senders after a few rounds of ${BUSY} busy connections, not one round per sender queued ahead`, async () => {
    const busy = new Agent({ keepAlive: true, maxSockets: BUSY });
    let busyAnswers = 0;
    let running = true;
    const statuses: number[] = [];
    // Warm connections: each sends its next delivery as soon as the previous is answered.
    const loops = Array.from({ length: BUSY }, async () => {
      while (running) {
        statuses.push(await deliver(busy));
        busyAnswers++;
      }
    });
    await waitFor('the busy connections to be answered 5 times each', () => (busyAnswers >= BUSY * 5 ? true : undefined), 30_000, { intervalMs: 5 });

    const atOpen = busyAnswers;
    const fresh = Array.from({ length: NEW }, () => new Agent({ keepAlive: false }));
    const answeredAfter = await Promise.all(fresh.map((agent) => deliver(agent).then((status) => ({ status, busyAnswers: busyAnswers - atOpen }))));
    running = false;
    await Promise.all(loops);
    busy.destroy();

    expect(answeredAfter.map((a) => a.status)).toEqual(Array(NEW).fill(200));
    expect(statuses.every((s) => s === 200)).toBe(true);
    // One accept per loop iteration: without turns each new sender waits a whole round of
    // the busy connections per sender ahead of it (≈ NEW × BUSY / 2 answers for the last).
    // With turns it waits about one round: the queue it joins.
    const last = Math.max(...answeredAfter.map((a) => a.busyAnswers));
    expect(last).toBeLessThan(BUSY * 4); // measured here: 68 with turns, 234 without
  });
});
