/**
 * SubscriberSender over node:http/https: one POST per attempt, signed with Standard
 * Webhooks (services/subscribers/message.ts) or as a Slack message
 * (services/subscribers/slack.ts).
 *
 * Target safety — a subscriber URL is configuration, but what its name resolves to is not:
 * - https, or plain http to a loopback host only;
 * - every address a connection is about to use is judged by
 *   services/subscribers/address-policy.ts (private, link-local — the metadata address
 *   169.254.169.254 —, unique-local, CGNAT refused unless `allowPrivateNetwork`;
 *   loopback always allowed): an address written in the URL before connecting, a
 *   resolved one inside the connection's own DNS lookup (the `lookup` of the socket),
 *   so a name that resolves to a public address for a check and to a private one for
 *   the connection (DNS rebinding) is refused all the same;
 * - redirects are never followed (a 3xx is `failed`: configure the final URL);
 * - a timeout covers the whole attempt (connect, answer, body), default 10 s.
 *
 * node:http rather than fetch, as for Zoom downloads (shared/adapters/zoom-download.ts):
 * the connect-time lookup needs no extra dependency (fetch needs undici's Agent for it),
 * and nothing is ever followed implicitly. Each subscriber has its own keep-alive agent,
 * so a connection checked under one subscriber's rules never serves another's.
 *
 * Outcomes: 2xx delivered; 410 gone; 408, 429, 5xx, network errors and timeouts retry
 * (with the subscriber's Retry-After, seconds or an HTTP date); any other status
 * failed. Reasons name the origin only, never the URL's path (a Slack URL is its
 * secret) or the signing secret — also when the subscriber's answer echoes them.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { OutboxMessage, SendOutcome, SubscriberSender } from '../ports/subscriber-outbox';
import { ipLiteral, isLoopbackName, judgeAddress } from '../../services/subscribers/address-policy';
import type { SubscriberConfig } from '../../services/subscribers/config';
import { messageBody, signedHeaders, USER_AGENT } from '../../services/subscribers/message';
import { slackBody } from '../../services/subscribers/slack';
import { parseRetryAfter } from './zoom-download';

export const DEFAULT_SUBSCRIBER_TIMEOUT_MS = 10_000;
/** Bytes of an answer read for its reason line; the rest is discarded. */
const ANSWER_HEAD_BYTES = 1024;

export interface HttpSubscriberSenderOptions {
  /** One attempt's limit, connect to last byte. Default 10 s. */
  timeoutMs?: number;
  now?: () => number;
  /** Name resolution (tests make a name resolve to a private address). Default dns.lookup. */
  lookup?: typeof dnsLookup;
}

/** A connection refused by the address policy: not retried. */
class RefusedAddressError extends Error {
  readonly code = 'ESUBSCRIBERADDRESS';
}

class AttemptTimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
}

/** A socket lookup that refuses what the policy refuses, for every address the name resolves to. */
export function guardedLookup(allowPrivateNetwork: boolean, resolve: typeof dnsLookup = dnsLookup): LookupFunction {
  return ((hostname: string, options: LookupOptions, callback: (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void) => {
    resolve(hostname, options, (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => {
      if (error) return callback(error, address, family);
      const addresses = Array.isArray(address) ? address.map((a) => a.address) : [address];
      for (const candidate of addresses) {
        const verdict = judgeAddress(candidate, allowPrivateNetwork);
        if (!verdict.allowed) return callback(new RefusedAddressError(`${hostname} resolves to ${verdict.reason}`), address, family);
      }
      callback(null, address, family);
    });
  }) as LookupFunction;
}

export class HttpSubscriberSender implements SubscriberSender {
  private readonly subscribers: ReadonlyMap<string, SubscriberConfig>;
  private readonly agents = new Map<string, http.Agent>();
  private readonly timeoutMs: number;
  private readonly now: () => number;
  private readonly resolve: typeof dnsLookup;

  constructor(subscribers: readonly SubscriberConfig[], options: HttpSubscriberSenderOptions = {}) {
    this.subscribers = new Map(subscribers.map((s) => [s.id, s]));
    this.timeoutMs = options.timeoutMs ?? DEFAULT_SUBSCRIBER_TIMEOUT_MS;
    this.now = options.now ?? Date.now;
    this.resolve = options.lookup ?? dnsLookup;
  }

  async send(message: OutboxMessage, options: { signal?: AbortSignal } = {}): Promise<SendOutcome> {
    const subscriber = this.subscribers.get(message.subscriberId);
    if (!subscriber) return { outcome: 'failed', reason: `no subscriber "${message.subscriberId}" is configured` };
    const url = new URL(subscriber.url);
    const refused = refusal(url, subscriber.allowPrivateNetwork);
    if (refused) return { outcome: 'failed', reason: `refused before connecting to ${url.origin}: ${refused}` };

    let body: string;
    let headers: Record<string, string>;
    if (subscriber.format === 'slack') {
      body = slackBody(message);
      headers = { 'content-type': 'application/json', 'user-agent': USER_AGENT };
    } else {
      if (!subscriber.secret) return { outcome: 'failed', reason: `subscriber "${subscriber.id}" has no signing secret` };
      body = messageBody(message);
      headers = signedHeaders(message, body, subscriber.secret, new Date(this.now()));
    }
    const scrub = scrubber(subscriber);
    try {
      const answer = await this.post(url, subscriber, body, headers, options.signal);
      return classify(answer, url.origin, this.now(), scrub);
    } catch (error) {
      if (error instanceof RefusedAddressError) return { outcome: 'failed', reason: `refused: ${scrub(error.message)}` };
      if (options.signal?.aborted) return { outcome: 'retry', reason: 'the attempt was stopped (shutting down)' };
      if (error instanceof AttemptTimeoutError) return { outcome: 'retry', reason: `${url.origin} did not answer within ${this.timeoutMs / 1000} s` };
      const code = (error as NodeJS.ErrnoException).code;
      return { outcome: 'retry', reason: `could not reach ${url.origin}: ${scrub(code ? `${code}` : error instanceof Error ? error.message : String(error))}` };
    }
  }

  /** Closes the kept-alive connections. */
  close(): void {
    for (const agent of this.agents.values()) agent.destroy();
    this.agents.clear();
  }

  private agentFor(subscriber: SubscriberConfig, secure: boolean): http.Agent {
    const key = `${subscriber.id}|${secure ? 'https' : 'http'}`;
    let agent = this.agents.get(key);
    if (!agent) {
      const options = { keepAlive: true, maxSockets: subscriber.concurrency, lookup: guardedLookup(subscriber.allowPrivateNetwork, this.resolve) };
      agent = secure ? new https.Agent(options) : new http.Agent(options);
      this.agents.set(key, agent);
    }
    return agent;
  }

  private post(url: URL, subscriber: SubscriberConfig, body: string, headers: Record<string, string>, signal: AbortSignal | undefined) {
    const secure = url.protocol === 'https:';
    const payload = Buffer.from(body, 'utf8');
    return new Promise<{ status: number; headers: IncomingMessage['headers']; head: string }>((resolve, reject) => {
      const request = (secure ? https : http).request(url, {
        method: 'POST',
        headers: { ...headers, 'content-length': String(payload.length) },
        agent: this.agentFor(subscriber, secure),
        signal,
      });
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        request.destroy(new AttemptTimeoutError('timed out'));
      }, this.timeoutMs);
      const done = () => clearTimeout(timer);
      const fail = (error: Error) => {
        done();
        reject(timedOut ? new AttemptTimeoutError('timed out') : error);
      };
      request.once('error', fail);
      request.once('response', (response) => {
        const chunks: Buffer[] = [];
        let kept = 0;
        response.on('data', (chunk: Buffer) => {
          if (kept < ANSWER_HEAD_BYTES) {
            chunks.push(chunk);
            kept += chunk.length;
          }
        });
        response.once('error', fail);
        response.once('aborted', () => fail(new Error('the answer was cut off')));
        response.once('end', () => {
          done();
          resolve({ status: response.statusCode ?? 0, headers: response.headers, head: Buffer.concat(chunks).subarray(0, ANSWER_HEAD_BYTES).toString('utf8') });
        });
      });
      request.end(payload);
    });
  }
}

/** Why a URL may not be connected to at all, or undefined. */
function refusal(url: URL, allowPrivateNetwork: boolean): string | undefined {
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackName(url.hostname))) return 'must use https (http only on a loopback address)';
  const literal = ipLiteral(url.hostname);
  if (literal) {
    const verdict = judgeAddress(literal, allowPrivateNetwork);
    if (!verdict.allowed) return verdict.reason;
  }
  return undefined;
}

/** Removes what must never be shown from text a subscriber's answer or an error produced. */
function scrubber(subscriber: SubscriberConfig): (text: string) => string {
  const url = new URL(subscriber.url);
  const hidden = [subscriber.url, `${url.pathname}${url.search}`, url.pathname.length > 1 ? url.pathname : '', url.search, subscriber.secret ?? '', subscriber.secret?.replace(/^whsec_/, '') ?? '']
    .filter((s) => s.length >= 2)
    .sort((a, b) => b.length - a.length);
  // Any whsec_ secret at all, too (an answer could quote another one).
  return (text) => hidden.reduce((out, secret) => out.split(secret).join('…'), text).replace(/whsec_[A-Za-z0-9+/]+=*/g, 'whsec_…');
}

function classify(answer: { status: number; headers: IncomingMessage['headers']; head: string }, origin: string, nowMs: number, scrub: (text: string) => string): SendOutcome {
  const { status } = answer;
  if (status >= 200 && status < 300) return { outcome: 'delivered', status };
  if (status === 410) return { outcome: 'gone', status: 410 };
  const said = answer.head.replace(/\s+/g, ' ').trim();
  const detail = said ? `: ${scrub(said).slice(0, 160)}` : '';
  if (status >= 300 && status < 400) {
    return { outcome: 'failed', status, reason: `${origin} answered ${status} (a redirect; redirects are not followed: configure the final URL)` };
  }
  if (status === 408 || status === 429 || status >= 500) {
    const retryAfterMs = parseRetryAfter(first(answer.headers['retry-after']), nowMs);
    return { outcome: 'retry', status, reason: `${origin} answered ${status}${detail}`, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
  }
  return { outcome: 'failed', status, reason: `${origin} answered ${status}${detail}` };
}

const first = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);
