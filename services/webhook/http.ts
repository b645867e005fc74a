/**
 * HTTP binding of the webhook, shared by the Lambda Function URL (through Hono's
 * aws-lambda adapter) and the single-machine server (through @hono/node-server):
 * one route, raw bytes in, the use case's answer out. Refuses bodies over 1 MiB
 * without buffering them (413) and answers other methods with 405.
 */
import { Hono } from 'hono';
import { PayloadTooLargeError, readRawBody } from './raw-body';
import { handleWebhookDelivery, type WebhookDeps } from './use-case';

export const WEBHOOK_PATH = '/webhooks/zoom';
export const MAX_BODY_BYTES = 1024 * 1024;

export function createWebhookApp(deps: WebhookDeps): Hono {
  // Not strict: an endpoint URL entered with a trailing slash in the Zoom app still works.
  const app = new Hono({ strict: false });
  app.post(WEBHOOK_PATH, async (c) => {
    let rawBody: Buffer;
    try {
      rawBody = await readRawBody(c, MAX_BODY_BYTES);
    } catch (error) {
      if (error instanceof PayloadTooLargeError) return c.json({ error: 'payload_too_large', message: error.message }, 413);
      throw error;
    }
    const result = await handleWebhookDelivery(
      {
        rawBody,
        signature: c.req.header('x-zm-signature'),
        timestamp: c.req.header('x-zm-request-timestamp'),
        trackingId: c.req.header('x-zm-trackingid'),
      },
      deps,
    );
    return c.json(result.body, result.status);
  });
  app.all(WEBHOOK_PATH, (c) =>
    c.json({ error: 'method_not_allowed', message: `use POST ${WEBHOOK_PATH}` }, 405, { Allow: 'POST' }),
  );
  return app;
}
