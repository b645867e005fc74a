/**
 * URLs as they may be logged: Zoom's signed CDN URLs carry credentials in their query
 * string, so every message and log line that names a download URL goes through here.
 */

/** A URL as it may appear in a message or log: scheme, host, port and path; never userinfo or query. */
export function redactUrl(url: string | URL): string {
  try {
    const parsed = typeof url === 'string' ? new URL(url) : url;
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return '(unparseable URL)';
  }
}
