/**
 * What every rehearsal test file shares: the Zoom simulator and the test's subscriber
 * (both before the synth: the subscriber's URL is in the archiver configuration the
 * template carries), one synth per file, the rehearsal started on it, the signed
 * Function URL request Zoom would send, and the IAM replay assertion.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DetailType } from '../../../shared/events';
import { startZoomSimulator, type ZoomSimulator } from '../../support/zoom-simulator';
import { generatedSecret, startRehearsal, type IamViolation, type Rehearsal, type RehearsalOptions } from './rehearsal';
import { resourcesOfType, synthesizeApp, type CfnTemplate, type SynthesizedApp } from './stack-template';

/** The subscriber's signing secret lives in the Zoom secret under this key (config: secret "env:LMS_WEBHOOK_SECRET"). */
export const SUBSCRIBER_SECRET_KEY = 'LMS_WEBHOOK_SECRET';

export interface SubscriberDelivery {
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

export interface TestSubscriber {
  url: string;
  deliveries: SubscriberDelivery[];
  /** Status the next deliveries are answered with (default 204). */
  status: number;
  stop(): Promise<void>;
}

export async function startTestSubscriber(): Promise<TestSubscriber> {
  const deliveries: SubscriberDelivery[] = [];
  const subscriber = { status: 204 } as TestSubscriber;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      deliveries.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
      res.writeHead(subscriber.status);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  subscriber.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/zoom-archiver`;
  subscriber.deliveries = deliveries;
  subscriber.stop = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return subscriber;
}

/** The archiver configuration the rehearsal deploys: one subscriber of FileUploaded and RecordingArchived, clean-up in Zoom on, due at once. */
export function rehearsalConfig(subscriberUrl: string): Record<string, unknown> {
  return {
    subscribers: [{ id: 'lms', url: subscriberUrl, secret: `env:${SUBSCRIBER_SECRET_KEY}`, events: [DetailType.FileUploaded, DetailType.RecordingArchived] }],
    cleanup: { trashInZoom: 'on', delayHours: 0 },
  };
}

export interface Stage {
  app: SynthesizedApp;
  zoom: ZoomSimulator;
  subscriber: TestSubscriber;
  /** The Zoom secret's value as the test put it. */
  secretValues: Record<string, string>;
  subscriberSecret: string;
  /** A rehearsal of `template` (default: the synthesized one). */
  rehearse(options?: Partial<Omit<RehearsalOptions, 'app' | 'zoom' | 'secretValues'>> & { secretValues?: Record<string, string> }): Promise<Rehearsal>;
  /** Service names of the functions invoked so far, in any rehearsal of this stage. */
  invokedServices(): Set<string>;
  stop(): Promise<void>;
}

/** Zoom simulator, subscriber, synth (bundled) — once per test file, in beforeAll. */
export async function prepareStage(): Promise<Stage> {
  const zoom = await startZoomSimulator({ webhookSecret: `zoom-webhook-${generatedSecret(16)}` });
  const subscriber = await startTestSubscriber();
  let app: SynthesizedApp;
  try {
    app = synthesizeApp({ courseRules: { json: rehearsalConfig(subscriber.url), source: 'rehearsal config' } });
  } catch (error) {
    await Promise.allSettled([zoom.stop(), subscriber.stop()]);
    throw error;
  }
  const subscriberSecret = `whsec_${Buffer.from(generatedSecret(32)).toString('base64')}`;
  const secretValues = {
    TOKEN_SEALING_SECRET: generatedSecret(48),
    ZOOM_WEBHOOK_SECRET_TOKEN: zoom.webhookSecret,
    ZOOM_ACCOUNT_ID: zoom.accountId,
    ZOOM_CLIENT_ID: zoom.clientId,
    ZOOM_CLIENT_SECRET: zoom.clientSecret,
    [SUBSCRIBER_SECRET_KEY]: subscriberSecret,
  };
  const rehearsals: Rehearsal[] = [];
  return {
    app,
    zoom,
    subscriber,
    secretValues,
    subscriberSecret,
    async rehearse(options = {}) {
      const rehearsal = await startRehearsal({
        app,
        zoom: { oauthTokenUrl: zoom.oauthTokenUrl, apiBaseUrl: zoom.apiBaseUrl, downloadHosts: zoom.host },
        ...options,
        secretValues: options.secretValues ?? secretValues,
      });
      rehearsals.push(rehearsal);
      return rehearsal;
    },
    invokedServices: () => new Set(rehearsals.flatMap((r) => [...r.functions.values()].filter((f) => f.runner.invocations > 0).map((f) => f.service))),
    async stop() {
      await Promise.allSettled(rehearsals.map((r) => r.stop()));
      await Promise.allSettled([zoom.stop(), subscriber.stop()]);
      app.dispose();
    },
  };
}

/** The Function URL's host, from the template's AWS::Lambda::Url. */
export function functionUrlHost(rehearsal: Rehearsal): string {
  const [urlId] = resourcesOfType(rehearsal.template, 'AWS::Lambda::Url')[0] ?? [];
  if (!urlId) throw new Error('the template has no Function URL');
  return new URL(rehearsal.resolver.getAtt(urlId, 'FunctionUrl')).host;
}

/**
 * The request Zoom sends to the webhook as the Function URL hands it to the function:
 * payload format 2.0, the body base64-encoded (isBase64Encoded), signed as Zoom signs
 * (x-zm-signature = v0= HMAC-SHA256 of `v0:{timestamp}:{raw body}` under the secret token).
 */
export function functionUrlEvent(options: { host: string; body: unknown; secretToken: string; path?: string; timestampSeconds?: number }): Record<string, unknown> {
  const raw = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  const timestamp = String(options.timestampSeconds ?? Math.floor(Date.now() / 1000));
  const signature = `v0=${createHmac('sha256', options.secretToken).update(`v0:${timestamp}:${raw}`).digest('hex')}`;
  const path = options.path ?? '/webhooks/zoom';
  const now = new Date();
  const domainPrefix = options.host.split('.')[0]!;
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: '',
    headers: {
      'content-length': String(Buffer.byteLength(raw)),
      'content-type': 'application/json; charset=utf-8',
      host: options.host,
      'user-agent': 'Zoom Marketplace/1.0a',
      'x-amzn-trace-id': `Root=1-${Math.floor(now.getTime() / 1000).toString(16)}-${randomUUID().replace(/-/g, '').slice(0, 24)}`,
      'x-forwarded-for': '3.235.82.10',
      'x-forwarded-port': '443',
      'x-forwarded-proto': 'https',
      'x-zm-request-timestamp': timestamp,
      'x-zm-signature': signature,
      'x-zm-trackingid': `v=2.0;clid=rehearsal;rid=${randomUUID()}`,
    },
    requestContext: {
      accountId: 'anonymous',
      apiId: domainPrefix,
      domainName: options.host,
      domainPrefix,
      http: { method: 'POST', path, protocol: 'HTTP/1.1', sourceIp: '3.235.82.10', userAgent: 'Zoom Marketplace/1.0a' },
      requestId: randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    body: Buffer.from(raw, 'utf8').toString('base64'),
    isBase64Encoded: true,
  };
}

/** Fails with every call a policy of the template would deny (function, operation, action, ARN), and with the rehearsal's own problems. */
export function expectIamClean(rehearsal: Rehearsal): void {
  const violations = rehearsal.iamViolations();
  if (violations.length > 0) throw new Error(`IAM replay: ${violations.length} call(s) the template's policies would deny:\n${formatViolations(violations)}`);
  if (rehearsal.problems.length > 0) throw new Error(`the rehearsal saw problems:\n${rehearsal.problems.join('\n')}`);
}

export function formatViolations(violations: IamViolation[]): string {
  const lines = violations.slice(0, 25).map((v) => `  ${v.service} (${v.functionId}) ${v.operation}: ${v.action} on ${v.resource} — ${v.reason}`);
  if (violations.length > 25) lines.push(`  … and ${violations.length - 25} more`);
  return lines.join('\n');
}

/** The template without changes, as a copy that may be mutated (mutate.ts). */
export const copyTemplate = (template: CfnTemplate): CfnTemplate => JSON.parse(JSON.stringify(template)) as CfnTemplate;
