/**
 * HttpSubscriberSender against a real HTTP server on 127.0.0.1: outcomes by status,
 * Retry-After, the timeout, redirects never followed, and the target rules — https
 * unless loopback, private addresses refused before connecting or at connect time
 * (the socket's own lookup), so a name cannot resolve its way past the check.
 */
import type { LookupAddress } from 'node:dns';
import { Webhook } from 'standardwebhooks';
import { HttpSubscriberSender } from '../../shared/adapters/subscriber-http';
import { outboxMessage } from '../../services/subscribers/message';
import type { SubscriberConfig } from '../../services/subscribers/config';
import { DetailType } from '../../shared/events';
import { fileUploaded, newSecret, reply, startTestSubscriber, subscribers, type TestSubscriber } from './support';

const SECRET = newSecret();
const message = (subscriberId: string, id = 'evt-1') => outboxMessage({ id, time: new Date().toISOString(), 'detail-type': DetailType.FileUploaded, detail: fileUploaded() }, subscriberId);

/** A subscriber as the sender gets it, bypassing the configuration's own checks (to test the sender's). */
const raw = (url: string, extra: Partial<SubscriberConfig> = {}): SubscriberConfig => ({
  id: 'raw',
  url,
  origin: new URL(url).origin,
  format: 'standard-webhooks',
  secret: SECRET,
  events: [DetailType.FileUploaded],
  allowPrivateNetwork: false,
  concurrency: 2,
  fingerprint: 'f',
  ...extra,
});

/** A lookup that answers `address` for every name, counting calls (the connection's own name resolution). */
function fakeLookup(address: string) {
  const calls: string[] = [];
  const lookup = ((hostname: string, options: { all?: boolean }, callback: (e: Error | null, a: string | LookupAddress[], f?: number) => void) => {
    calls.push(hostname);
    const family = address.includes(':') ? 6 : 4;
    if (options.all) callback(null, [{ address, family }]);
    else callback(null, address, family);
  }) as unknown as typeof import('node:dns').lookup;
  return { lookup, calls };
}

describe('HttpSubscriberSender', () => {
  let server: TestSubscriber;
  let sender: HttpSubscriberSender;
  let lms: SubscriberConfig;

  beforeEach(async () => {
    server = await startTestSubscriber();
    lms = subscribers([{ id: 'lms', url: server.url, secret: SECRET, events: ['FileUploaded'] }])[0]!;
    sender = new HttpSubscriberSender([lms], { timeoutMs: 500 });
  });
  afterEach(async () => {
    sender.close();
    await server.close();
  });

  it('retries a 500, then delivers, signed each time with the same webhook-id', async () => {
    server.answer(reply(500, {}, 'oops'));
    expect(await sender.send(message('lms'))).toEqual({ outcome: 'retry', status: 500, reason: `${lms.origin} answered 500: oops` });
    server.answer(reply(200));
    expect(await sender.send(message('lms'))).toEqual({ outcome: 'delivered', status: 200 });
    expect(server.requests).toHaveLength(2);
    for (const request of server.requests) {
      expect(request.method).toBe('POST');
      expect(request.url).toBe('/hooks/zoom-archiver');
      expect(request.headers['content-type']).toBe('application/json');
      expect(request.headers['user-agent']).toMatch(/zoom-archiver/);
      expect(request.headers['webhook-id']).toBe('evt-1');
      expect(new Webhook(SECRET).verify(request.body, request.headers as Record<string, string>)).toMatchObject({ type: 'FileUploaded', data: { fileId: 'F1' } });
    }
  });

  it('410 is gone, 404 failed, 408 and 429 retried with Retry-After (seconds or an HTTP date)', async () => {
    server.answer(reply(410));
    expect(await sender.send(message('lms'))).toEqual({ outcome: 'gone', status: 410 });
    server.answer(reply(404, {}, 'no such hook'));
    expect(await sender.send(message('lms'))).toEqual({ outcome: 'failed', status: 404, reason: `${lms.origin} answered 404: no such hook` });
    server.answer(reply(408));
    expect(await sender.send(message('lms'))).toMatchObject({ outcome: 'retry', status: 408 });
    server.answer(reply(429, { 'retry-after': '7' }));
    expect(await sender.send(message('lms'))).toEqual({ outcome: 'retry', status: 429, reason: `${lms.origin} answered 429`, retryAfterMs: 7000 });
    server.answer(reply(503, { 'retry-after': new Date(Date.now() + 60_000).toUTCString() }));
    const dated = await sender.send(message('lms'));
    expect(dated).toMatchObject({ outcome: 'retry', status: 503 });
    expect((dated as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(55_000);
  });

  it('gives up an attempt after the timeout, to be retried', async () => {
    server.answer(() => undefined); // never answers
    const started = Date.now();
    expect(await sender.send(message('lms'))).toEqual({ outcome: 'retry', reason: `${lms.origin} did not answer within 0.5 s` });
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('never follows a redirect', async () => {
    const target = await startTestSubscriber();
    try {
      server.answer(reply(302, { location: target.url }));
      expect(await sender.send(message('lms'))).toEqual({
        outcome: 'failed',
        status: 302,
        reason: `${lms.origin} answered 302 (a redirect; redirects are not followed: configure the final URL)`,
      });
      expect(target.requests).toHaveLength(0);
    } finally {
      await target.close();
    }
  });

  it('retries when nobody listens', async () => {
    await server.close();
    expect(await sender.send(message('lms'))).toEqual({ outcome: 'retry', reason: `could not reach ${lms.origin}: ECONNREFUSED` });
  });

  it('refuses plain http to a host that is not loopback, and a private address in the URL, before connecting', async () => {
    const { lookup, calls } = fakeLookup('127.0.0.1');
    const strict = new HttpSubscriberSender([raw('http://lms.example/x', { id: 'plain' }), raw('https://10.0.0.1/x', { id: 'private' }), raw('https://169.254.169.254/latest', { id: 'metadata' })], { lookup });
    try {
      expect(await strict.send(message('plain'))).toEqual({ outcome: 'failed', reason: 'refused before connecting to http://lms.example: must use https (http only on a loopback address)' });
      expect(await strict.send(message('private'))).toEqual({ outcome: 'failed', reason: 'refused before connecting to https://10.0.0.1: 10.0.0.1 is a private address; set allowPrivateNetwork: true to allow it' });
      expect(await strict.send(message('metadata'))).toMatchObject({ outcome: 'failed', reason: expect.stringContaining('169.254.169.254 is the cloud metadata address') });
      expect(calls).toEqual([]);
    } finally {
      strict.close();
    }
  });

  it('refuses, at connect time, a name that resolves to a private address; allows it with allowPrivateNetwork, and loopback always', async () => {
    const url = `http://lms.localhost:${server.port}/hooks/zoom-archiver`;
    const privateDns = fakeLookup('10.1.2.3');
    const refusing = new HttpSubscriberSender([raw(url)], { lookup: privateDns.lookup });
    try {
      expect(await refusing.send(message('raw'))).toEqual({ outcome: 'failed', reason: 'refused: lms.localhost resolves to 10.1.2.3 is a private address; set allowPrivateNetwork: true to allow it' });
      expect(privateDns.calls).toEqual(['lms.localhost']);
    } finally {
      refusing.close();
    }
    const mapped = fakeLookup('::ffff:192.168.1.9');
    const refusingMapped = new HttpSubscriberSender([raw(url)], { lookup: mapped.lookup });
    try {
      expect(await refusingMapped.send(message('raw'))).toMatchObject({ outcome: 'failed', reason: expect.stringContaining('192.168.1.9 is a private address') });
    } finally {
      refusingMapped.close();
    }
    // Resolving to loopback connects (to the real server), as does any address once private networks are allowed.
    const loopback = fakeLookup('127.0.0.1');
    const allowed = new HttpSubscriberSender([raw(url), raw(url, { id: 'allowed', allowPrivateNetwork: true })], { lookup: loopback.lookup });
    try {
      expect(await allowed.send(message('raw'))).toEqual({ outcome: 'delivered', status: 200 });
      expect(loopback.calls).toEqual(['lms.localhost']);
    } finally {
      allowed.close();
    }
    expect(server.requests).toHaveLength(1);
  });

  it('sends a Slack message without signature headers, and no reason shows the URL\'s path or the secret', async () => {
    const slackPath = '/services/T0SECRET/B0SECRET/XySlackToken';
    const [slack, echoing] = subscribers([
      { url: `http://127.0.0.1:${server.port}${slackPath}`, format: 'slack', events: ['FileUploaded'] },
      { id: 'echo', url: `http://127.0.0.1:${server.port}/x?token=abc123`, secret: SECRET, events: ['FileUploaded'] },
    ]) as SubscriberConfig[];
    const both = new HttpSubscriberSender([slack!, echoing!]);
    try {
      server.answer(reply(200, {}, 'ok'));
      expect(await both.send(message(slack!.id))).toEqual({ outcome: 'delivered', status: 200 });
      const request = server.requests.at(-1)!;
      expect(JSON.parse(request.body)).toEqual({ text: expect.stringContaining('Archived for *MAQ101*') });
      expect(request.headers['webhook-signature']).toBeUndefined();
      // An answer that echoes what it got (as some frameworks' error pages do).
      server.answer((req, res) => {
        res.writeHead(400);
        res.end(`Cannot POST ${req.url} with ${String(req.headers['webhook-signature'])} ${SECRET}`);
      });
      for (const id of [slack!.id, 'echo']) {
        const outcome = await both.send(message(id));
        expect(outcome).toMatchObject({ outcome: 'failed', status: 400 });
        const reason = (outcome as { reason: string }).reason;
        expect(reason).not.toContain('XySlackToken');
        expect(reason).not.toContain('abc123');
        expect(reason).not.toContain(SECRET.slice(6, 40));
        expect(reason).toContain(`http://127.0.0.1:${server.port} answered 400: Cannot POST …`);
      }
    } finally {
      both.close();
    }
  });

  it('stops an attempt when asked (shutting down), to be sent again later', async () => {
    server.answer(() => undefined);
    const abort = new AbortController();
    const pending = sender.send(message('lms'), { signal: abort.signal });
    setTimeout(() => abort.abort(), 50);
    expect(await pending).toEqual({ outcome: 'retry', reason: 'the attempt was stopped (shutting down)' });
  });

  it('fails a message for a subscriber it does not know', async () => {
    expect(await sender.send(message('nobody'))).toEqual({ outcome: 'failed', reason: 'no subscriber "nobody" is configured' });
  });
});
