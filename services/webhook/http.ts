/**
 * HTTP binding of the webhook, shared by the Lambda Function URL (through Hono's
 * aws-lambda adapter) and the single-machine server (through @hono/node-server):
 * one route, raw bytes in, the use case's answer out. A request without well-formed
 * signature headers and a current timestamp is refused (401) before its body is
 * read; bodies over 1 MiB are refused without buffering them (413); other methods
 * get 405.
 */
import type { IncomingMessage } from 'node:http';
import { Hono, type Context } from 'hono';
import { PayloadTooLargeError, readRawBody } from './raw-body';
import { handleWebhookDelivery, refuseBeforeBody, type WebhookDeps } from './use-case';

export const WEBHOOK_PATH = '/webhooks/zoom';
export const MAX_BODY_BYTES = 1024 * 1024;

export function createWebhookApp(deps: WebhookDeps): Hono {
  // Not strict: an endpoint URL entered with a trailing slash in the Zoom app still works.
  const app = new Hono({ strict: false });
  app.post(WEBHOOK_PATH, async (c) => {
    const headers = {
      signature: c.req.header('x-zm-signature'),
      timestamp: c.req.header('x-zm-request-timestamp'),
      trackingId: c.req.header('x-zm-trackingid'),
    };
    const early = refuseBeforeBody(headers, deps);
    if (early) return c.json(early.body, early.status, closeOnNode(c));
    let rawBody: Buffer;
    try {
      rawBody = await readRawBody(c, MAX_BODY_BYTES);
    } catch (error) {
      if (error instanceof PayloadTooLargeError) return c.json({ error: 'payload_too_large', message: error.message }, 413, closeOnNode(c));
      throw error;
    }
    const result = await handleWebhookDelivery({ rawBody, ...headers }, deps);
    return c.json(result.body, result.status);
  });
  app.all(WEBHOOK_PATH, (c) =>
    c.json({ error: 'method_not_allowed', message: `use POST ${WEBHOOK_PATH}` }, 405, { Allow: 'POST' }),
  );
  return app;
}

/**
 * On Node, a refused request's unread body would keep the connection busy (a sender
 * that stalls holds it until the server's request timeout): close it after the
 * answer. Lambda's Function URL has no connection to close.
 */
function closeOnNode(c: Context): Record<string, string> {
  return (c.env as { incoming?: IncomingMessage } | undefined)?.incoming ? { Connection: 'close' } : {};
}
