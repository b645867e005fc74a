/**
 * `zoom-archiver serve` without a Zoom secret: the sandbox starts a real server on a
 * free port, delivers a signed sample to its own webhook and shows the event.
 */
import { serveCommand } from '../../services/cli/serve';
import { loadSample, sendSignedWebhook } from '../../services/cli/simulate';

describe('serve (sandbox)', () => {
  it('accepts its own signed sample through HTTP and reports the published event', async () => {
    const lines: string[] = [];
    const server = await serveCommand({ host: '127.0.0.1', port: 0, env: { LOG_LEVEL: 'SILENT' }, print: (l) => lines.push(l) });
    try {
      expect(lines.join('\n')).toMatch(/Webhook answered 200 in/);
      expect(lines).toContainEqual(expect.stringMatching(/^event RecordingAvailable: recording 4444AAAiAAAAAiAiAiiAii== .* with 7 files$/));
      const url = lines[0]!.match(/listening on (\S+)/)![1]!;
      const health = await fetch(`${url}/healthz`);
      expect(await health.json()).toEqual({ status: 'ok' });
    } finally {
      await server.close();
    }
  });

  it('refuses deliveries signed with another secret when a secret is configured', async () => {
    const lines: string[] = [];
    const server = await serveCommand({
      host: '127.0.0.1',
      port: 0,
      env: { ZOOM_WEBHOOK_SECRET_TOKEN: 'configured-secret', LOG_LEVEL: 'SILENT' },
      print: (l) => lines.push(l),
    });
    try {
      expect(lines.join('\n')).not.toMatch(/sandbox/);
      const url = lines[0]!.match(/listening on (\S+)/)![1]!;
      const wrong = await sendSignedWebhook(`${url}/webhooks/zoom`, 'other-secret', loadSample('recording-completed'));
      const right = await sendSignedWebhook(`${url}/webhooks/zoom`, 'configured-secret', loadSample('recording-completed'));
      expect([wrong.status, right.status]).toEqual([401, 200]);
    } finally {
      await server.close();
    }
  });
});
