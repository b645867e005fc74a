/**
 * `npm start` with no Zoom account: the sandbox runs the whole pipeline on this
 * machine through the real HTTP webhook, and its summary is read back from the audit
 * trail and checked against the bytes the simulated Zoom served.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serveCommand, type Serving } from '../../host/cli/serve';
import { DetailType } from '../../shared/events';

describe('sandbox (serve without a Zoom secret)', () => {
  let dir: string;
  let serving: Serving;
  const lines: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sandbox-'));
    serving = await serveCommand({ env: { DATA_DIR: dir, PORT: '0', LOG_LEVEL: 'SILENT' }, print: (line) => lines.push(line) });
  }, 120_000);
  afterAll(async () => {
    await serving?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('archives the eligible files of the lesson, verified, and rejects the staff meeting', async () => {
    const result = serving.sandbox!.result;
    const [lesson, staff] = result.recordings;
    const uploaded = lesson!.history.filter((r) => r.detailType === DetailType.FileUploaded);
    expect(uploaded).toHaveLength(2); // the two full-length MP4 views; the 1-minute clip and other types are skipped
    expect(result.verified).toBe(2);
    expect(lesson!.history.filter((r) => r.detailType === DetailType.RecordingArchived)).toHaveLength(1);
    expect(staff!.history.map((r) => r.detailType)).toEqual([DetailType.RecordingAvailable, DetailType.RecordingRejected]);
  });

  it('tells the user what happened, file by file', () => {
    const text = lines.join('\n');
    expect(text).toMatch(/webhook answered 200 in/);
    expect(text.match(/archived {2}MP4/g)).toHaveLength(2);
    expect(text).toMatch(/skipped +MP4 speaker_view +too short \(60 s\)/);
    expect(text).toMatch(/skipped +M4A audio_only +file type not selected/);
    expect(text).toMatch(/rejected: \(not_course_meeting\)/);
    expect(text).toMatch(/SHA-256 matches what Zoom served/);
    expect(text).not.toMatch(/MISMATCH|FAILED/);
    expect(text).toMatch(/npx zoom-archiver status --recording/);
  });

  it('keeps serving afterwards', async () => {
    const health = await fetch(`${serving.runtime.url}/healthz`);
    expect(health.status).toBe(200);
  });
});
