/**
 * Which network addresses a subscriber delivery may connect to. A subscriber URL is
 * written by an operator, but what its host name resolves to is not under their
 * control (and can change between the check and the connection: DNS rebinding), so
 * the sender applies this to every address it is about to connect to
 * (shared/adapters/subscriber-http.ts, at connect time), and the configuration to an
 * address written in the URL itself (at start-up).
 *
 * - loopback (127.0.0.0/8, ::1): always allowed — a local LMS, tests;
 * - public unicast: allowed;
 * - private (RFC 1918), link-local (169.254.0.0/16, with the cloud metadata endpoint
 *   169.254.169.254; fe80::/10), unique-local (fc00::/7), carrier-grade NAT
 *   (100.64.0.0/10) and every other special range: only with `allowPrivateNetwork`;
 * - unspecified (0.0.0.0, ::), broadcast and multicast: never.
 * IPv4-mapped IPv6 addresses (::ffff:10.0.0.1) are judged as the IPv4 address they map.
 */
import ipaddr from 'ipaddr.js';

export type AddressVerdict = { allowed: true } | { allowed: false; reason: string };

const NEVER = new Set(['unspecified', 'broadcast', 'multicast']);

const DESCRIPTIONS: Record<string, string> = {
  private: 'a private address',
  linkLocal: 'a link-local address',
  uniqueLocal: 'a unique-local address',
  carrierGradeNat: 'a carrier-grade NAT address',
};

/** Whether a connection to `address` (an IP address, as DNS or a URL gave it) is allowed. */
export function judgeAddress(address: string, allowPrivateNetwork: boolean): AddressVerdict {
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    // process(): an IPv4-mapped IPv6 address becomes the IPv4 address it maps.
    parsed = ipaddr.process(address.replace(/^\[|\]$/g, '').replace(/%.*$/, ''));
  } catch {
    return { allowed: false, reason: `${address} is not an IP address` };
  }
  const range = parsed.range();
  if (range === 'loopback' || range === 'unicast') return { allowed: true };
  const shown = parsed.toString();
  if (NEVER.has(range)) return { allowed: false, reason: `${shown} is ${range === 'unspecified' ? 'the unspecified address' : `a ${range} address`}` };
  if (allowPrivateNetwork) return { allowed: true };
  const what = shown === '169.254.169.254' ? 'the cloud metadata address' : (DESCRIPTIONS[range] ?? `a special-purpose address (${range})`);
  return { allowed: false, reason: `${shown} is ${what}; set allowPrivateNetwork: true to allow it` };
}

/** The host of a URL as an IP address when it is one (`10.0.0.1`, `[::1]` → `::1`), else undefined. */
export function ipLiteral(hostname: string): string | undefined {
  const bare = hostname.replace(/^\[|\]$/g, '');
  return ipaddr.isValid(bare) && (ipaddr.IPv4.isValidFourPartDecimal(bare) || bare.includes(':')) ? bare : undefined;
}

/** Loopback host names and addresses: plain http is allowed to these only. */
export function isLoopbackName(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  const literal = ipLiteral(host);
  if (!literal) return false;
  return ipaddr.process(literal).range() === 'loopback';
}
