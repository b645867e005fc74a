/**
 * Where the operator dashboard listens and who may open it (DASHBOARD_HOST,
 * DASHBOARD_PORT, DASHBOARD_TOKEN). It never shares the webhook's public listener.
 *
 * - DASHBOARD_HOST defaults to 127.0.0.1: only this machine reaches it.
 * - DASHBOARD_PORT defaults to PORT + 1 (0, a free port, when PORT is 0).
 * - Binding beyond loopback needs DASHBOARD_TOKEN (at least 16 characters): every
 *   request must then carry it, as `Authorization: Bearer <token>` or as the password
 *   of HTTP Basic (any user name), so a browser asks for it once.
 */
import * as z from 'zod/mini';
import { isLoopbackName } from '../../services/subscribers/address-policy';
import { ConfigError } from '../../shared/errors';

export interface DashboardSettings {
  host: string;
  port: number;
  /** Required beyond loopback; optional on loopback (then the Host header must name loopback). */
  token?: string;
}

export const MIN_DASHBOARD_TOKEN_LENGTH = 16;

const port = z.coerce.number().check(z.int('must be a whole number'), z.gte(0, 'must be 0-65535'), z.lte(65535, 'must be 0-65535'));

const DashboardEnvSchema = z.object({
  DASHBOARD_HOST: z._default(z.string().check(z.minLength(1)), '127.0.0.1'),
  DASHBOARD_PORT: z.optional(port),
  DASHBOARD_TOKEN: z.optional(z.string().check(z.minLength(MIN_DASHBOARD_TOKEN_LENGTH, `must be at least ${MIN_DASHBOARD_TOKEN_LENGTH} characters`))),
});

/** Whether a listener bound to `host` is reachable from this machine only. */
export function bindsLoopbackOnly(host: string): boolean {
  return isLoopbackName(host);
}

/**
 * Reads the dashboard's settings; `webhookPort` is PORT (the default is the next
 * port). Throws ConfigError naming each variable that is wrong — never the token's value.
 */
export function loadDashboardSettings(env: Record<string, string | undefined>, webhookPort: number | undefined): DashboardSettings {
  const present = Object.fromEntries(Object.entries(env).filter(([key, value]) => key.startsWith('DASHBOARD_') && value !== undefined && value !== ''));
  const parsed = DashboardEnvSchema.safeParse(present);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((i) => `${String(i.path[0])} ${i.message}`).join('\n  - '));
  const { DASHBOARD_HOST: host, DASHBOARD_PORT, DASHBOARD_TOKEN: token } = parsed.data;
  const problems: string[] = [];
  if (!token && !bindsLoopbackOnly(host)) {
    problems.push(
      `DASHBOARD_TOKEN is required when DASHBOARD_HOST (${host}) is reachable beyond this machine: set DASHBOARD_TOKEN to a secret of at least ${MIN_DASHBOARD_TOKEN_LENGTH} characters, or DASHBOARD_HOST=127.0.0.1`,
    );
  }
  const dashboardPort = DASHBOARD_PORT ?? (webhookPort === undefined || webhookPort === 0 ? 0 : webhookPort + 1);
  if (dashboardPort > 65535) problems.push('DASHBOARD_PORT must be 0-65535 (PORT + 1 is past 65535: set DASHBOARD_PORT)');
  if (webhookPort !== undefined && dashboardPort !== 0 && dashboardPort === webhookPort) {
    problems.push(`DASHBOARD_PORT must differ from PORT (${webhookPort}): the dashboard never shares the public webhook listener`);
  }
  if (problems.length > 0) throw new ConfigError(problems.join('\n  - '));
  return { host, port: dashboardPort, token };
}
