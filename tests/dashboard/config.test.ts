/**
 * Where the operator dashboard listens and who may open it: DASHBOARD_HOST/PORT/TOKEN
 * as loadDashboardSettings reads them, as `serve`'s configuration carries them
 * (loadRuntimeConfig), and as `serve` refuses them when started as a process. A token
 * that is refused is never echoed back.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRuntimeConfig } from '../../host/config';
import { loadDashboardSettings, MIN_DASHBOARD_TOKEN_LENGTH } from '../../host/dashboard/config';
import { ConfigError } from '../../shared/errors';
import { runCommand } from '../support/serve-process';

const WEBHOOK_SECRET = 'zoom-secret-token-for-dashboard-config';
const base = { ZOOM_WEBHOOK_SECRET_TOKEN: WEBHOOK_SECRET };
const GOOD_TOKEN = 'dashboard-token-7f3a9c1e5b2d8046';

function configErrorOf(load: () => unknown): ConfigError {
  try {
    load();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError, but the configuration was accepted');
}

describe('loadDashboardSettings', () => {
  it('listens on 127.0.0.1 at PORT + 1 with no token by default', () => {
    expect(loadDashboardSettings({}, 8080)).toEqual({ host: '127.0.0.1', port: 8081, token: undefined });
  });

  it('takes a free port (0) when PORT is 0 or not known', () => {
    expect(loadDashboardSettings({}, 0).port).toBe(0);
    expect(loadDashboardSettings({}, undefined).port).toBe(0);
  });

  it('takes DASHBOARD_PORT over PORT + 1', () => {
    expect(loadDashboardSettings({ DASHBOARD_PORT: '9999' }, 8080).port).toBe(9999);
  });

  it.each(['localhost', '127.0.0.1', '127.0.0.2', '::1', '[::1]'])('needs no token on loopback (%s)', (host) => {
    expect(loadDashboardSettings({ DASHBOARD_HOST: host }, 8080)).toMatchObject({ host, token: undefined });
  });

  it.each(['0.0.0.0', '::', '192.168.1.20', 'dashboard.example.org'])('refuses DASHBOARD_HOST=%s without DASHBOARD_TOKEN, naming DASHBOARD_TOKEN', (host) => {
    const error = configErrorOf(() => loadDashboardSettings({ DASHBOARD_HOST: host }, 8080));
    expect(error.message).toMatch(/DASHBOARD_TOKEN is required/);
    expect(error.message).toContain(`at least ${MIN_DASHBOARD_TOKEN_LENGTH} characters`);
  });

  it('accepts a token of 16 characters or more beyond loopback, and keeps it', () => {
    expect(loadDashboardSettings({ DASHBOARD_HOST: '0.0.0.0', DASHBOARD_TOKEN: GOOD_TOKEN }, 8080)).toEqual({ host: '0.0.0.0', port: 8081, token: GOOD_TOKEN });
    const sixteen = 'a'.repeat(MIN_DASHBOARD_TOKEN_LENGTH);
    expect(loadDashboardSettings({ DASHBOARD_HOST: '0.0.0.0', DASHBOARD_TOKEN: sixteen }, 8080).token).toBe(sixteen);
  });

  it('refuses a short token, naming DASHBOARD_TOKEN and never echoing its value', () => {
    const short = 'Sh0rtT0ken-9x'; // 13 characters
    for (const host of ['0.0.0.0', '127.0.0.1']) {
      const error = configErrorOf(() => loadDashboardSettings({ DASHBOARD_HOST: host, DASHBOARD_TOKEN: short }, 8080));
      expect(error.message).toContain('DASHBOARD_TOKEN');
      expect(error.message).toContain(`at least ${MIN_DASHBOARD_TOKEN_LENGTH} characters`);
      expect(error.message).not.toContain(short);
      expect(error.message).not.toContain(short.slice(0, 6));
    }
  });

  it('refuses DASHBOARD_PORT equal to PORT: the dashboard never shares the webhook listener', () => {
    expect(configErrorOf(() => loadDashboardSettings({ DASHBOARD_PORT: '8080' }, 8080)).message).toMatch(/DASHBOARD_PORT must differ from PORT \(8080\)/);
  });

  it('refuses PORT + 1 past 65535 and a DASHBOARD_PORT that is not a port', () => {
    expect(configErrorOf(() => loadDashboardSettings({}, 65535)).message).toMatch(/DASHBOARD_PORT/);
    expect(configErrorOf(() => loadDashboardSettings({ DASHBOARD_PORT: '70000' }, 8080)).message).toMatch(/DASHBOARD_PORT must be 0-65535/);
    expect(configErrorOf(() => loadDashboardSettings({ DASHBOARD_PORT: 'eighty' }, 8080)).message).toMatch(/DASHBOARD_PORT/);
  });
});

describe("serve's configuration (loadRuntimeConfig)", () => {
  it('carries the dashboard at 127.0.0.1:PORT + 1 by default', () => {
    expect(loadRuntimeConfig(base).dashboard).toEqual({ host: '127.0.0.1', port: 8081, token: undefined });
    expect(loadRuntimeConfig({ ...base, PORT: '9000' }).dashboard?.port).toBe(9001);
  });

  it('gives the dashboard a free port when PORT is 0', () => {
    expect(loadRuntimeConfig({ ...base, PORT: '0' }).dashboard?.port).toBe(0);
  });

  it('refuses DASHBOARD_HOST=0.0.0.0 without DASHBOARD_TOKEN, among the other problems', () => {
    const error = configErrorOf(() => loadRuntimeConfig({ ...base, DASHBOARD_HOST: '0.0.0.0', UPLOAD_CONCURRENCY: '0' }));
    expect(error.message).toMatch(/^invalid configuration:/);
    expect(error.message).toMatch(/DASHBOARD_TOKEN is required/);
    expect(error.message).toContain('UPLOAD_CONCURRENCY');
    expect(error.message).not.toContain(WEBHOOK_SECRET);
  });

  it('refuses a short token without echoing it', () => {
    const short = 'tiny-dash-tok';
    const error = configErrorOf(() => loadRuntimeConfig({ ...base, DASHBOARD_HOST: '0.0.0.0', DASHBOARD_TOKEN: short }));
    expect(error.message).toContain('DASHBOARD_TOKEN');
    expect(error.message).not.toContain(short);
  });

  it('refuses DASHBOARD_PORT equal to PORT', () => {
    expect(configErrorOf(() => loadRuntimeConfig({ ...base, PORT: '9000', DASHBOARD_PORT: '9000' })).message).toMatch(/DASHBOARD_PORT must differ from PORT/);
  });

  it('accepts a token beyond loopback', () => {
    expect(loadRuntimeConfig({ ...base, DASHBOARD_HOST: '0.0.0.0', DASHBOARD_TOKEN: GOOD_TOKEN }).dashboard).toEqual({ host: '0.0.0.0', port: 8081, token: GOOD_TOKEN });
  });

  it('leaves the dashboard out where no webhook is served (backfill, the workers)', () => {
    expect(loadRuntimeConfig({ DASHBOARD_HOST: '0.0.0.0' }, { webhook: 'optional' }).dashboard).toBeUndefined();
  });
});

describe('`serve` as a process', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'dashboard-config-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('exits 2 before listening when DASHBOARD_HOST=0.0.0.0 has no DASHBOARD_TOKEN, naming it and printing no secret', async () => {
    const result = await runCommand(['serve'], { ...base, DATA_DIR: dir, PORT: '0', DASHBOARD_HOST: '0.0.0.0', LOG_LEVEL: 'INFO' });

    expect(result.code).toBe(2);
    expect(result.output).toMatch(/DASHBOARD_TOKEN is required when DASHBOARD_HOST \(0\.0\.0\.0\)/);
    expect(result.output).not.toMatch(/listening on|dashboard: http/);
    expect(result.output).not.toContain(WEBHOOK_SECRET);
  }, 60_000);

  it('exits 2 on a short DASHBOARD_TOKEN, naming it without printing it', async () => {
    const short = 'Pw-0nly-13chr';
    const result = await runCommand(['serve'], { ...base, DATA_DIR: dir, PORT: '0', DASHBOARD_HOST: '0.0.0.0', DASHBOARD_TOKEN: short, LOG_LEVEL: 'INFO' });

    expect(result.code).toBe(2);
    expect(result.output).toMatch(/DASHBOARD_TOKEN must be at least 16 characters/);
    expect(result.output).not.toMatch(/listening on|dashboard: http/);
    expect(result.output).not.toContain(short);
    expect(result.output).not.toContain(WEBHOOK_SECRET);
  }, 60_000);
});
