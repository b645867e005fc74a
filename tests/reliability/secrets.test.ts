/**
 * Secrets (issue 9, part 5): an end-to-end run of `zoom-archiver serve` at LOG_LEVEL
 * DEBUG — signed deliveries carrying download tokens, an expired token (OAuth used),
 * a refused token, a revoked OAuth token, a failure re-driven with `zoom-archiver retry`, a rejected meeting,
 * a late duplicate, a forged signature — then every byte the run left behind is
 * searched for the webhook secret, the OAuth client secret (also as the Basic header
 * it travels in), every download token the simulator issued (and its JWT signature
 * part) and every OAuth access token Zoom handed out: all the process and the retry
 * command printed, and the audit, bus and ledger SQLite files with their -wal and
 * -shm, read while the server runs and again after it stopped. Controls prove the
 * search looks at the right bytes: the sealed token in bus.sqlite opens to a real
 * download token, and the logs hold DEBUG lines with the file ids.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteAuditLog } from '../../shared/adapters/audit-sqlite';
import { TokenSealer } from '../../shared/crypto/token-seal';
import { DetailType } from '../../shared/events';
import { dataPaths } from '../../host/paths';
import { startZoomSimulator, type SimulatedRecording, type ZoomSimulator } from '../../tools/zoom-simulator/simulator';
import { writeResult, type SecretsResult } from './faults/results';
import { waitFor } from '../support/wait-for';
import { runRetry, startServe, type ServeProcess } from '../support/serve-process';

const MiB = 1024 * 1024;
const mp4 = (recordingType: string, size = MiB) => ({ fileType: 'MP4', size, recordingType, recordingStart: '2026-11-26T09:00:00Z', recordingEnd: '2026-11-26T09:40:00Z' });

/** Forwards the OAuth token endpoint and keeps every access_token it hands out, so the search knows them by value. */
async function startOAuthRecorder(target: string): Promise<{ url: string; tokens: string[]; stop(): Promise<void> }> {
  const tokens: string[] = [];
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      void fetch(target, { method: 'POST', headers: { authorization: request.headers.authorization ?? '', 'content-type': request.headers['content-type'] ?? '' }, body: Buffer.concat(chunks) }).then(async (answer) => {
        const text = await answer.text();
        try {
          const token = (JSON.parse(text) as { access_token?: unknown }).access_token;
          if (typeof token === 'string') tokens.push(token);
        } catch {
          // an error page: nothing to keep
        }
        response.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
        response.end(text);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/oauth/token`,
    tokens,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Files of DATA_DIR outside the archive folder: the SQLite databases with their -wal and -shm. */
function stateFiles(dataDir: string, when: string): { name: string; bytes: Buffer }[] {
  return readdirSync(dataDir)
    .filter((name) => name !== 'archive')
    .map((name) => ({ name: `${name} (${when})`, bytes: readFileSync(join(dataDir, name)) }));
}

describe('secrets never stored or logged', () => {
  const webhookSecret = `whsec-${randomBytes(18).toString('base64url')}`;
  const clientId = `cid-${randomBytes(6).toString('hex')}`;
  const clientSecret = `csec-${randomBytes(18).toString('base64url')}`;
  let simulator: ZoomSimulator;
  let oauth: Awaited<ReturnType<typeof startOAuthRecorder>>;
  let serve: ServeProcess | undefined;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'reliability-secrets-'));
    simulator = await startZoomSimulator({ webhookSecret, clientId, clientSecret });
    oauth = await startOAuthRecorder(simulator.oauthTokenUrl);
  });
  afterAll(async () => {
    await serve?.kill('SIGTERM');
    await oauth?.stop();
    await simulator?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('finds no secret, download token or OAuth token in any log line, audit record, event or ledger entry', async () => {
    const problems: string[] = [];
    const controls: string[] = [];
    const env = {
      DATA_DIR: dir,
      LOG_LEVEL: 'DEBUG',
      ZOOM_WEBHOOK_SECRET_TOKEN: webhookSecret,
      ZOOM_ACCOUNT_ID: simulator.accountId,
      ZOOM_CLIENT_ID: clientId,
      ZOOM_CLIENT_SECRET: clientSecret,
      ZOOM_OAUTH_TOKEN_URL: oauth.url,
      ZOOM_DOWNLOAD_HOSTS: simulator.host,
      UPLOAD_MAX_ATTEMPTS: '2',
    };
    serve = await startServe(env);
    const url = `${serve.url}/webhooks/zoom`;

    const fresh = await simulator.addRecording({ topic: '[SEC101] Secrets lesson', files: [mp4('shared_screen_with_speaker_view', 2 * MiB), mp4('gallery_view'), { fileType: 'CHAT', content: 'hi' }] });
    const expired = await simulator.addRecording({ topic: '[SEC101] Late delivery', files: [mp4('speaker_view')], downloadTokenTtlSeconds: -60 });
    const failing = await simulator.addRecording({ topic: '[SEC101] Host-only download', files: [mp4('shared_screen_with_speaker_view')] });
    const staff = await simulator.addRecording({ topic: 'Staff meeting — budget', files: [mp4('speaker_view')] });
    const recordings: SimulatedRecording[] = [fresh, expired, failing, staff];
    const downloadTokens = recordings.map((r) => r.downloadToken);
    simulator.setFault(fresh.files[1]!.fileId, { times: 1, status: 401 }); // the webhook token refused once: fresh OAuth token
    simulator.setFault(failing.files[0]!.fileId, { htmlPage: true });

    for (const recording of recordings) expect((await simulator.deliverWebhook(url, recording.payload)).status).toBe(200);
    const forged = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-zm-request-timestamp': String(Math.floor(Date.now() / 1000)), 'x-zm-signature': `v0=${'0'.repeat(64)}` }, body: JSON.stringify(fresh.payload) });
    expect(forged.status).toBe(401);
    expect(await simulator.validateEndpoint(url)).toBe(true);

    const eligible = [fresh.files[0]!, fresh.files[1]!, expired.files[0]!, failing.files[0]!];
    const history = async () => {
      const audit = new SqliteAuditLog(dataPaths(dir).audit);
      try {
        return (await Promise.all(recordings.map((r) => audit.recordingHistory(r.uuid)))).flat();
      } finally {
        audit.close();
      }
    };
    const ended = (types: string[]) => async () => {
      const h = await history();
      return eligible.every((f) => h.some((r) => r.fileId === f.fileId && types.includes(r.detailType))) ? h : undefined;
    };
    await waitFor('every file uploaded or failed', ended([DetailType.FileUploaded, DetailType.FileUploadFailed]), 30_000);

    simulator.setFault(failing.files[0]!.fileId, undefined);
    simulator.revokeOAuthTokens(); // the re-driven download is refused its cached OAuth token and fetches another
    const retried = await runRetry(dir, { env: { LOG_LEVEL: 'DEBUG' } });
    expect(retried.code).toBe(0);
    await waitFor('every file uploaded', ended([DetailType.FileUploaded]), 30_000);

    // A day later: the same recording with a newly issued token; nothing is downloaded again.
    const lateToken = await simulator.issueDownloadToken(fresh.uuid, 3600);
    downloadTokens.push(lateToken);
    expect((await simulator.deliverWebhook(url, { ...fresh.payload, download_token: lateToken })).status).toBe(200);
    await waitFor('the late delivery audited', async () => ((await history()).filter((r) => r.recordingId === fresh.uuid && r.detailType === DetailType.RecordingAvailable).length === 2 ? true : undefined), 15_000);
    await new Promise((resolve) => setTimeout(resolve, 1_500));

    const h = await history();
    const count = (type: string) => h.filter((r) => r.detailType === type).length;
    controls.push(`audit: ${count(DetailType.FileUploaded)} FileUploaded, ${count(DetailType.FileUploadFailed)} FileUploadFailed, ${count(DetailType.RecordingRejected)} RecordingRejected, ${count(DetailType.RecordingAvailable)} RecordingAvailable`);
    expect(count(DetailType.FileUploaded)).toBe(4);
    expect(count(DetailType.FileUploadFailed)).toBeGreaterThanOrEqual(1);
    expect(count(DetailType.RecordingRejected)).toBeGreaterThanOrEqual(1);
    expect(oauth.tokens.length).toBeGreaterThanOrEqual(2);

    // Control: the bus carries the download token sealed, and the seal opens to a token Zoom issued.
    const bus = new Database(dataPaths(dir).bus, { readonly: true });
    const sealed = (bus.prepare(`SELECT detail FROM events WHERE detail_type = ?`).all(DetailType.RecordingAvailable) as { detail: string }[])
      .map((row) => (JSON.parse(row.detail) as { downloadAccess?: { sealedToken?: string } }).downloadAccess?.sealedToken)
      .filter((token): token is string => Boolean(token));
    bus.close();
    const opened = sealed.map((token) => new TokenSealer(webhookSecret).open(token));
    expect(sealed.length).toBeGreaterThanOrEqual(4);
    expect(opened.every((token) => token !== undefined && downloadTokens.includes(token))).toBe(true);
    controls.push(`bus.sqlite holds ${sealed.length} sealed download tokens, each opening to a token the simulator issued`);

    const running = stateFiles(dir, 'while serving');
    await serve.kill('SIGTERM');
    const logs = serve.output();
    serve = undefined;
    const haystacks = [
      { name: 'serve stdout+stderr (LOG_LEVEL=DEBUG)', bytes: Buffer.from(logs) },
      { name: 'retry stdout+stderr (LOG_LEVEL=DEBUG)', bytes: Buffer.from(retried.output) },
      ...running,
      ...stateFiles(dir, 'after stop'),
    ];
    expect(running.map((f) => f.name)).toEqual(expect.arrayContaining(['audit.sqlite (while serving)', 'bus.sqlite (while serving)', 'ledger.sqlite (while serving)']));
    expect(running.some((f) => f.name.startsWith('bus.sqlite-wal'))).toBe(true);

    // Control: the logs are the DEBUG stream and name the files; the stores name the recordings.
    const debugLines = logs.split('\n').filter((line) => line.includes('"level":"DEBUG"')).length;
    expect(debugLines).toBeGreaterThan(0);
    for (const file of eligible) expect(logs).toContain(file.fileId);
    for (const name of ['audit.sqlite', 'bus.sqlite']) {
      const bytes = Buffer.concat(haystacks.filter((s) => s.name.startsWith(name)).map((s) => s.bytes));
      expect(bytes.includes(fresh.uuid)).toBe(true);
    }
    const busBytes = Buffer.concat(haystacks.filter((s) => s.name.startsWith('bus.sqlite')).map((s) => s.bytes));
    expect(sealed.every((token) => busBytes.includes(token))).toBe(true); // the search does find a value that is stored
    controls.push(`serve printed ${logs.split('\n').length} lines, ${debugLines} at DEBUG, naming every file id; audit and bus files name the recordings`);

    const needles: { kind: string; value: string }[] = [
      { kind: 'webhook secret token', value: webhookSecret },
      { kind: 'OAuth client secret', value: clientSecret },
      { kind: 'OAuth Basic credentials', value: Buffer.from(`${clientId}:${clientSecret}`).toString('base64') },
      ...downloadTokens.map((value) => ({ kind: 'download token', value })),
      ...downloadTokens.map((value) => ({ kind: 'download token signature', value: value.split('.')[2]! })),
      ...oauth.tokens.map((value) => ({ kind: 'OAuth access token', value })),
    ];
    const leaks: { needle: string; haystack: string }[] = [];
    for (const needle of needles) {
      for (const haystack of haystacks) {
        if (haystack.bytes.includes(needle.value)) leaks.push({ needle: needle.kind, haystack: haystack.name });
      }
    }
    if (existsSync(dataPaths(dir).archive)) controls.push('archive folder not searched: it holds the recordings’ bytes');

    const kinds = [...new Set(needles.map((n) => n.kind))].map((kind) => ({ kind, count: needles.filter((n) => n.kind === kind).length }));
    if (leaks.length > 0) problems.push(...leaks.map((l) => `${l.needle} found in ${l.haystack}`));
    const result: SecretsResult = {
      needles: kinds,
      haystacks: haystacks.map((s) => ({ name: s.name, bytes: s.bytes.length })),
      leaks,
      controls,
      passed: problems.length === 0,
      problems,
      finishedAt: new Date().toISOString(),
    };
    writeResult('secrets', result);

    expect(leaks).toEqual([]);
  }, 90_000);
});
