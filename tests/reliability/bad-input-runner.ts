/**
 * Runs the bad-input cases against the real thing: the single-machine HTTP server
 * (createServerApp + startServer) with a recording publisher, then — for what it
 * accepted — real course validation with the default rules and the real uploader
 * (OAuth, allowlisted node:http downloader, SQLite ledger, folder archive) wired to
 * the Zoom simulator, next to a counting "foreign host" on another loopback address.
 *
 * Each case is judged on its own expectation plus invariants that hold for every
 * case: no crash, nothing published that should not be, no clear download token
 * on the bus, in an answer or in a log line, no connection to the foreign host, no
 * prototype pollution, and /healthz still answers 200.
 */
import { MemoryDeliveryGuard } from '../../shared/adapters/delivery-guard-memory';
import type { DeliveryGuard } from '../../shared/ports/delivery-guard';
import { createHash, createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FolderArchiveStore } from '../../shared/adapters/archive-folder';
import { SqliteUploadLedger } from '../../shared/adapters/ledger-sqlite';
import { ZoomHttpDownloader } from '../../shared/adapters/zoom-download';
import { ZoomOAuthTokenSource } from '../../shared/adapters/zoom-oauth';
import { TokenSealer } from '../../shared/crypto/token-seal';
import {
  DetailType,
  MAX_DETAIL_BYTES,
  parseDetail,
  parseEvent,
  type DomainEvent,
  type RecordingAvailable,
} from '../../shared/events';
import type { AppLogger } from '../../shared/logger';
import { loadArchiverConfig } from '../../services/course-validation/config';
import { validateRecording } from '../../services/course-validation/use-case';
import { createServerApp, startServer, type RunningServer } from '../../host/server';
import { uploadFile, type UploaderDeps } from '../../services/uploader/use-case';
import { WEBHOOK_PATH } from '../../services/webhook/http';
import { loadZoomFixture, signedHeaders } from '../support/fixtures';
import { MemoryPublisher } from '../support/memory-publisher';
import { busEvent } from '../support/pipeline';
import { startZoomSimulator, type ZoomRecordingEventPayload, type ZoomSimulator } from '../support/zoom-simulator';
import { archiveKeyProblems } from './archive-key-checks';
import type { BadInputCase, CaseContext, Downstream, Expectation } from './bad-input-cases';
import { startForeignHost, type ForeignHost } from './foreign-host';
import { sendRaw, type RawRequest, type RawResponse } from './raw-http';
import { SECRET_TRACES } from '../support/secret-traces';

export const WEBHOOK_SECRET = 'reliability-webhook-secret-token';
/**
 * The simulator's host plus Zoom's real ones: with zoom.us on the list, tricks like
 * `https://zoom.us@evil.example/` or `https://zoom.us.evil.example/` would fool a
 * naive check, so refusing them shows the check parses hosts properly.
 */
export const DOWNLOAD_HOSTS = '127.0.0.1,zoom.us,*.zoom.us';

export interface CaseResult {
  category: string;
  name: string;
  expected: string;
  got: string;
  pass: boolean;
  problems: string[];
}

export interface BadInputEnvironment {
  readonly serverUrl: string;
  readonly foreign: ForeignHost;
  /** Everything the webhook published, in order. */
  readonly webhookBus: MemoryPublisher;
  /** Every line the webhook, course validation and uploader logged (JSON of the arguments). */
  readonly logLines: readonly string[];
  run(testCase: BadInputCase): Promise<CaseResult>;
  healthz(): Promise<RawResponse>;
  /** A correctly signed recording.completed, as Zoom would send it now. */
  deliverValid(): Promise<RawResponse>;
  stop(): Promise<void>;
}

export async function startBadInputEnvironment(): Promise<BadInputEnvironment> {
  const dir = mkdtempSync(join(tmpdir(), 'reliability-'));
  const logLines: string[] = [];
  const record = (...args: unknown[]) => void logLines.push(JSON.stringify(args));
  const logger: AppLogger = { debug: record, info: record, warn: record, error: record };

  const simulator = await startZoomSimulator({ webhookSecret: WEBHOOK_SECRET });
  const foreign = await startForeignHost();
  const webhookBus = new MemoryPublisher();
  const sealer = new TokenSealer(WEBHOOK_SECRET);
  // Cases are independent deliveries: several send the same valid bytes within one second,
  // which the webhook would (rightly) take for a replay; each case gets a fresh memory.
  let seen = new MemoryDeliveryGuard();
  const deliveries: DeliveryGuard = { claim: (...args) => seen.claim(...args), release: (key) => seen.release(key) };
  const server = await startServer(
    createServerApp({ secretToken: WEBHOOK_SECRET, maxSkewSeconds: 300, publisher: webhookBus, sealer, deliveries, logger, now: () => new Date() }),
    '127.0.0.1',
    0,
  );
  const ledger = new SqliteUploadLedger({ path: join(dir, 'ledger.sqlite') });
  const uploaderBus = new MemoryPublisher();
  const uploader: UploaderDeps = {
    ledger,
    store: new FolderArchiveStore({ root: join(dir, 'archive') }),
    tokens: new ZoomOAuthTokenSource({
      tokenUrl: simulator.oauthTokenUrl,
      accountId: simulator.accountId,
      clientId: simulator.clientId,
      clientSecret: simulator.clientSecret,
    }),
    downloader: new ZoomHttpDownloader({ allowlist: DOWNLOAD_HOSTS, idleTimeoutMs: 2_000 }),
    publisher: uploaderBus,
    sealer,
    logger,
    now: () => Date.now(),
    instanceId: 'reliability',
    leaseMs: 5_000,
    policy: { maxAttempts: 3, backoff: { baseMs: 10, maxMs: 50 }, maxRetryAfterMs: 1_000 },
    transferTimeoutMs: 10_000,
  };

  const ctx: CaseContext = {
    secret: WEBHOOK_SECRET,
    nowSeconds: () => Math.floor(Date.now() / 1000),
    async simulatedRecording(files = 1) {
      const recording = await simulator.addRecording({
        topic: '[REL101] Reliability — download URLs',
        files: Array.from({ length: files }, () => ({ fileType: 'MP4', size: 64 * 1024 + 7 })),
      });
      return JSON.parse(JSON.stringify(recording.payload)) as ZoomRecordingEventPayload;
    },
    redirectDownload: (fileId, location) => simulator.setFault(fileId, { redirectTo: location }),
    foreign: { host: foreign.host, port: foreign.port, url: (path) => foreign.url(path) },
  };
  const downstream = new DownstreamChecks(simulator, uploader, uploaderBus, foreign, logger);

  const healthz = () => sendRaw(server.url, { method: 'GET', path: '/healthz' }, WEBHOOK_PATH);

  return {
    serverUrl: server.url,
    foreign,
    webhookBus,
    logLines,
    healthz,
    deliverValid() {
      const body = Buffer.from(JSON.stringify(loadZoomFixture('recording-completed')));
      return sendRaw(server.url, { body, headers: signedHeaders(body, WEBHOOK_SECRET) }, WEBHOOK_PATH);
    },
    run: (testCase) => {
      seen = new MemoryDeliveryGuard();
      return runCase(testCase, { ctx, server, webhookBus, foreign, logLines, downstream, healthz });
    },
    async stop() {
      await server.close();
      ledger.close();
      await simulator.stop();
      await foreign.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

interface RunDeps {
  ctx: CaseContext;
  server: RunningServer;
  webhookBus: MemoryPublisher;
  foreign: ForeignHost;
  logLines: string[];
  downstream: DownstreamChecks;
  healthz: () => Promise<RawResponse>;
}

async function runCase(testCase: BadInputCase, deps: RunDeps): Promise<CaseResult> {
  const problems: string[] = [];
  const marks = { bus: deps.webhookBus.published.length, foreign: deps.foreign.connections(), logs: deps.logLines.length };
  let request: RawRequest;
  try {
    request = await testCase.build(deps.ctx);
  } catch (error) {
    const message = `the case could not be built: ${error instanceof Error ? error.message : String(error)}`;
    return { category: testCase.category, name: testCase.name, expected: describeExpectation(testCase.expect), got: 'not run', pass: false, problems: [message] };
  }
  const sent = sentEvent(request);
  const token = typeof sent?.download_token === 'string' && sent.download_token.length >= 16 ? sent.download_token : undefined;

  let response: RawResponse | undefined;
  try {
    response = await sendRaw(deps.server.url, request, WEBHOOK_PATH);
  } catch (error) {
    problems.push(`no answer: ${error instanceof Error ? error.message : String(error)}`);
  }
  const published = deps.webhookBus.published.slice(marks.bus);
  const { expect } = testCase;

  if (response && response.status !== expect.status) problems.push(`answered ${response.status}, expected ${expect.status}: ${response.text.slice(0, 200)}`);
  const count = published.length;
  if (expect.published === 'parts' ? count < 2 : count !== expect.published) problems.push(`published ${count} events, expected ${expect.published}`);
  const details = recordingsOf(published, problems);
  if (response?.text.includes(WEBHOOK_SECRET)) problems.push('the answer contains the webhook secret');
  if (token && response?.text.includes(token)) problems.push('the answer contains the download token');
  if (token && JSON.stringify(published).includes(token)) problems.push('a published event carries the download token in clear');
  if (sent && details.length > 0) checkVerbatim(sent, details, problems);

  let observed = '';
  if (expect.downstream) observed = await deps.downstream.check(expect.downstream, { response, details, sent }, problems);

  const health = await deps.healthz().catch(() => undefined);
  if (health?.status !== 200) problems.push(`GET /healthz answered ${health?.status ?? 'nothing'} afterwards`);
  const foreignHits = deps.foreign.connections() - marks.foreign;
  if (foreignHits > 0) problems.push(`the foreign host received ${foreignHits} connection(s)`);
  for (const line of deps.logLines.slice(marks.logs)) {
    if (line.includes(WEBHOOK_SECRET)) problems.push('a log line contains the webhook secret');
    if (token && line.includes(token)) problems.push('a log line contains the download token');
  }
  if (({} as Record<string, unknown>).polluted !== undefined) problems.push('Object.prototype was polluted');

  return {
    category: testCase.category,
    name: testCase.name,
    expected: describeExpectation(expect),
    got: response ? `${response.status} · ${count} published${observed ? ` · ${observed}` : ''}` : 'no answer',
    pass: problems.length === 0,
    problems,
  };
}

/** The request body as the webhook reads it (UTF-8, one BOM tolerated), if it is a JSON object. */
function sentEvent(request: RawRequest): Record<string, unknown> | undefined {
  if (!request.body) return undefined;
  let text = request.body.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function recordingsOf(published: readonly DomainEvent[], problems: string[]): RecordingAvailable[] {
  const details: RecordingAvailable[] = [];
  for (const event of published) {
    if (event.detailType !== DetailType.RecordingAvailable) {
      problems.push(`published ${event.detailType}`);
      continue;
    }
    try {
      details.push(parseDetail(DetailType.RecordingAvailable, event.detail));
    } catch (error) {
      problems.push(`published an invalid RecordingAvailable: ${(error as Error).message.slice(0, 200)}`);
    }
  }
  return details;
}

/** Hostile values are kept as Zoom sent them: the topic and every download URL, in order. */
function checkVerbatim(sent: Record<string, unknown>, details: readonly RecordingAvailable[], problems: string[]): void {
  const object = (sent.payload as { object?: { topic?: unknown; recording_files?: { download_url?: unknown }[] } } | undefined)?.object;
  if (!object) return;
  if (details.some((detail) => detail.topic !== object.topic)) problems.push('the topic was not kept verbatim');
  const urls = details.flatMap((detail) => detail.files.map((file) => file.downloadUrl));
  const sentUrls = (object.recording_files ?? []).map((file) => file.download_url);
  if (JSON.stringify(urls) !== JSON.stringify(sentUrls)) problems.push('the download URLs were not kept verbatim, once each, in order');
}

function describeExpectation(expect: Expectation): string {
  const published = expect.published === 'parts' ? '≥ 2 published' : `${expect.published} published`;
  return `${expect.status} · ${published}${expect.downstream ? ` · ${describeDownstream(expect.downstream)}` : ''}`;
}

function describeDownstream(downstream: Downstream): string {
  switch (downstream.kind) {
    case 'url_validation':
      return 'token answered';
    case 'ignored':
      return 'ignored';
    case 'split':
      return `parts ≤ ${MAX_DETAIL_BYTES / 1024} KiB, every file once`;
    case 'archive_keys':
      return `${downstream.requested} safe keys`;
    case 'rejected':
      return `rejected: ${downstream.reason}`;
    case 'uploads':
      return `${downstream.outcomes.join(', ')}; foreign host untouched`;
  }
}

interface Observed {
  response: RawResponse | undefined;
  details: readonly RecordingAvailable[];
  sent: Record<string, unknown> | undefined;
}

/** What happens after the webhook: course validation, the uploader, the answer's content. */
class DownstreamChecks {
  private readonly config = loadArchiverConfig({});

  constructor(
    private readonly simulator: ZoomSimulator,
    private readonly uploader: UploaderDeps,
    private readonly uploaderBus: MemoryPublisher,
    private readonly foreign: ForeignHost,
    private readonly logger: AppLogger,
  ) {}

  /** Checks `expected`, adds problems, returns what was seen in the words of describeDownstream. */
  async check(expected: Downstream, observed: Observed, problems: string[]): Promise<string> {
    switch (expected.kind) {
      case 'url_validation':
        return this.urlValidation(observed, problems);
      case 'ignored': {
        const status = (observed.response?.json as { status?: unknown } | undefined)?.status;
        if (status !== 'ignored') problems.push(`answer status ${JSON.stringify(status)}, expected "ignored"`);
        return status === 'ignored' ? 'ignored' : `answer ${String(status)}`;
      }
      case 'split':
        return this.split(observed, problems);
      case 'archive_keys':
        return this.archiveKeys(expected.requested, observed, problems);
      case 'rejected':
        return this.rejected(expected.reason, observed, problems);
      case 'uploads':
        return this.uploads(expected.outcomes, observed, problems);
    }
  }

  private urlValidation(observed: Observed, problems: string[]): string {
    const plainToken = (observed.sent?.payload as { plainToken?: unknown } | undefined)?.plainToken;
    const answer = observed.response?.json as { plainToken?: unknown; encryptedToken?: unknown } | undefined;
    const expected = createHmac('sha256', WEBHOOK_SECRET).update(String(plainToken)).digest('hex');
    const ok = typeof plainToken === 'string' && answer?.plainToken === plainToken && answer.encryptedToken === expected;
    if (!ok) problems.push(`url_validation answered ${observed.response?.text.slice(0, 200)}`);
    return ok ? 'token answered' : 'wrong answer';
  }

  private split(observed: Observed, problems: string[]): string {
    const parts = observed.details;
    const sentFiles = ((observed.sent?.payload as { object?: { recording_files?: { id?: string }[] } })?.object?.recording_files ?? []).map((f) => f.id);
    const largest = Math.max(0, ...parts.map((part) => Buffer.byteLength(JSON.stringify(part), 'utf8')));
    if (largest > MAX_DETAIL_BYTES) problems.push(`a part has ${largest} bytes, over ${MAX_DETAIL_BYTES}`);
    parts.forEach((part, index) => {
      if (part.part.index !== index || part.part.count !== parts.length) problems.push(`part ${index} says ${JSON.stringify(part.part)}`);
      if (part.fileCount !== sentFiles.length) problems.push(`part ${index} has fileCount ${part.fileCount}`);
      if (part.metadata.correlationId !== parts[0]!.metadata.correlationId) problems.push('parts have different correlation ids');
    });
    const ids = parts.flatMap((part) => part.files.map((file) => file.fileId));
    const once = JSON.stringify(ids) === JSON.stringify(sentFiles);
    if (!once) problems.push('the parts do not hold every file exactly once, in order');
    if (new Set(parts.map((part) => part.metadata.idempotencyKey)).size !== parts.length) problems.push('parts share an idempotency key');
    return once && largest <= MAX_DETAIL_BYTES ? describeDownstream({ kind: 'split' }) : `${parts.length} parts, largest ${largest} B, files once: ${once}`;
  }

  /** Course validation with the default rules, as the runtime runs it. */
  private async validate(details: readonly RecordingAvailable[]): Promise<MemoryPublisher> {
    const bus = new MemoryPublisher();
    for (const detail of details) {
      const event = parseEvent(busEvent(DetailType.RecordingAvailable, detail), DetailType.RecordingAvailable);
      await validateRecording(event, { config: this.config, publisher: bus, logger: this.logger });
    }
    return bus;
  }

  private async archiveKeys(requested: number, observed: Observed, problems: string[]): Promise<string> {
    const bus = await this.validate(observed.details);
    const keys = bus.ofType(DetailType.FileUploadRequested).map((request) => request.archiveKey);
    if (keys.length !== requested) problems.push(`course validation requested ${keys.length} files, expected ${requested}`);
    let unsafe = 0;
    for (const key of keys) {
      const keyProblems = archiveKeyProblems(key);
      if (keyProblems.length > 0) {
        unsafe++;
        problems.push(`unsafe archive key ${JSON.stringify(key.slice(0, 120))}: ${keyProblems.join(', ')}`);
      }
    }
    if (new Set(keys).size !== keys.length) problems.push('two files share an archive key');
    return unsafe === 0 ? `${keys.length} safe keys` : `${keys.length} keys, ${unsafe} unsafe`;
  }

  private async rejected(reason: string, observed: Observed, problems: string[]): Promise<string> {
    const bus = await this.validate(observed.details);
    const rejections = bus.ofType(DetailType.RecordingRejected);
    const requested = bus.ofType(DetailType.FileUploadRequested).length;
    if (requested > 0 || rejections.length !== observed.details.length || rejections.some((r) => r.reason !== reason)) {
      problems.push(`course validation: ${requested} requested, rejections ${JSON.stringify(rejections.map((r) => r.reason))}`);
    }
    return requested === 0 ? `rejected: ${rejections.map((r) => r.reason).join(', ')}` : `${requested} requested`;
  }

  private async uploads(expected: readonly string[], observed: Observed, problems: string[]): Promise<string> {
    const bus = await this.validate(observed.details);
    const foreignBefore = this.foreign.connections();
    const outcomes: string[] = [];
    for (const detail of bus.ofType(DetailType.FileUploadRequested)) {
      const event = parseEvent(busEvent(DetailType.FileUploadRequested, detail), DetailType.FileUploadRequested);
      const mark = this.uploaderBus.published.length;
      const outcome = await uploadFile(event, this.uploader);
      const announced = this.uploaderBus.published.slice(mark);
      if (outcome.outcome === 'uploaded') {
        outcomes.push('uploaded');
        const archived = await sha256Of(this.uploader, detail.archiveKey);
        if (archived !== (await this.simulator.expectedSha256(detail.file.fileId))) problems.push(`archived bytes of ${detail.file.fileId} differ from Zoom's`);
      } else if (outcome.outcome === 'failed') {
        outcomes.push(outcome.code);
        const failed = announced.find((e) => e.detailType === DetailType.FileUploadFailed);
        if (!failed || (failed.detail as { code: string }).code !== outcome.code) problems.push(`no FileUploadFailed ${outcome.code} for ${detail.file.fileId}`);
        if (failed && SECRET_TRACES.test(JSON.stringify(failed.detail))) problems.push('FileUploadFailed carries a token or a signed query');
      } else {
        outcomes.push(outcome.outcome);
      }
    }
    const hits = this.foreign.connections() - foreignBefore;
    if (JSON.stringify(outcomes) !== JSON.stringify(expected)) problems.push(`uploader outcomes ${JSON.stringify(outcomes)}, expected ${JSON.stringify(expected)}`);
    return `${outcomes.join(', ') || 'nothing requested'}; ${hits === 0 ? 'foreign host untouched' : `foreign host contacted ${hits}×`}`;
  }
}

async function sha256Of(uploader: UploaderDeps, key: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of await uploader.store.get(key)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
