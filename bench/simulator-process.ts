/**
 * Runs the Zoom simulator in its own process for benchmarks, so its CPU and memory
 * stay out of the measured process. Protocol (IPC): the parent sends
 * `{ addRecording: spec }`, the child answers `{ recording }` with the payload and the
 * files' sizes and SHA-256; `{ stop: true }` ends it. It exits with its parent.
 */
import { startZoomSimulator, type SimulatedRecordingSpec } from '../tools/zoom-simulator/simulator';

async function main(): Promise<void> {
  const simulator = await startZoomSimulator();
  process.on('disconnect', () => process.exit(0));
  process.on('message', (message: { addRecording?: SimulatedRecordingSpec; stop?: boolean; id: number }) => {
    void (async () => {
      if (message.stop) {
        await simulator.stop();
        process.exit(0);
      }
      if (message.addRecording) {
        const recording = await simulator.addRecording(message.addRecording);
        const files = await Promise.all(recording.files.map(async (f) => ({ fileId: f.fileId, size: f.size, sha256: await f.sha256() })));
        process.send!({ id: message.id, recording: { payload: recording.payload, files } });
      }
    })();
  });
  process.send!({
    ready: true,
    oauthTokenUrl: simulator.oauthTokenUrl,
    accountId: simulator.accountId,
    clientId: simulator.clientId,
    clientSecret: simulator.clientSecret,
  });
}

void main();
