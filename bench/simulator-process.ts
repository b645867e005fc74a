/**
 * Runs the Zoom simulator in its own process for benchmarks, so its CPU and memory
 * stay out of the measured process. Protocol (IPC), every request carrying an `id`
 * that its answer repeats:
 * - `{ addRecording: spec }` → `{ recording }`: the payload and the files' sizes and SHA-256;
 * - `{ addRecordings: specs }` → `{ recordings }`: the same for many at once (one
 *   message each way, so a thousand recordings take a moment, not a thousand round trips);
 * - `{ setRateLimit: { category, perSecond } }` → `{ ok: true }` (perSecond null: unlimited);
 * - `{ apiStats: true }` → `{ apiStats }`: the REST API's calls by route and its 429s;
 * - a request that throws → `{ error }` (its message);
 * - `{ stop: true }` ends it. It exits with its parent.
 */
import { startZoomSimulator, type RateLimitCategory, type SimulatedRecording, type SimulatedRecordingSpec } from '../tools/zoom-simulator/simulator';

interface Request {
  id: number;
  addRecording?: SimulatedRecordingSpec;
  addRecordings?: SimulatedRecordingSpec[];
  setRateLimit?: { category: RateLimitCategory; perSecond: number | null };
  apiStats?: boolean;
  stop?: boolean;
}

const described = async (recording: SimulatedRecording) => ({
  payload: recording.payload,
  files: await Promise.all(recording.files.map(async (f) => ({ fileId: f.fileId, size: f.size, sha256: await f.sha256() }))),
});

async function main(): Promise<void> {
  const simulator = await startZoomSimulator();
  process.on('disconnect', () => process.exit(0));
  process.on('message', (message: Request) => {
    void (async () => {
      if (message.stop) {
        await simulator.stop();
        process.exit(0);
      }
      try {
        if (message.addRecording) {
          process.send!({ id: message.id, recording: await described(await simulator.addRecording(message.addRecording)) });
        } else if (message.addRecordings) {
          const recordings = [];
          for (const spec of message.addRecordings) recordings.push(await described(await simulator.addRecording(spec)));
          process.send!({ id: message.id, recordings });
        } else if (message.setRateLimit) {
          simulator.setRateLimit(message.setRateLimit.category, message.setRateLimit.perSecond ?? undefined);
          process.send!({ id: message.id, ok: true });
        } else if (message.apiStats) {
          process.send!({ id: message.id, apiStats: simulator.apiStats() });
        } else {
          process.send!({ id: message.id, error: `unknown request: ${Object.keys(message).join(', ')}` });
        }
      } catch (error) {
        process.send!({ id: message.id, error: error instanceof Error ? error.message : String(error) });
      }
    })();
  });
  process.send!({
    ready: true,
    oauthTokenUrl: simulator.oauthTokenUrl,
    apiBaseUrl: simulator.apiBaseUrl,
    accountId: simulator.accountId,
    clientId: simulator.clientId,
    clientSecret: simulator.clientSecret,
  });
}

void main();
