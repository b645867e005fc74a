/**
 * A stand-in for Amazon EventBridge's PutEvents on 127.0.0.1 (node:http), for tests
 * that run real AWS SDK clients against it: point AWS_ENDPOINT_URL_EVENTBRIDGE (or a
 * client's `endpoint`) at `endpoint`. It speaks the AWS JSON 1.1 protocol as the SDK
 * does: POST with `X-Amz-Target: AWSEvents.PutEvents` and a body `{Entries: [...]}`,
 * answered `{FailedEntryCount, Entries: [{EventId} | {ErrorCode, ErrorMessage}]}`.
 * Signatures are not checked (any dummy credentials do).
 *
 * Every accepted entry is recorded, its Detail parsed, in order (`entries`), and
 * handed to each listener added with `onEntry` — where rule routing (matching entries
 * against event patterns and delivering them to targets) can plug in. `failNext`
 * makes the next entries fail as EventBridge does for one entry of a batch
 * (HTTP 200, FailedEntryCount > 0), to exercise a publisher's retries.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One PutEvents entry as received (AWS's PutEventsRequestEntry), with its Detail parsed. */
export interface StandInEntry {
  eventId: string;
  /** When the stand-in accepted it (epoch ms). */
  receivedAt: number;
  EventBusName?: string;
  Source?: string;
  DetailType?: string;
  /** The raw Detail string, as the client sent it. */
  Detail?: string;
  /** `Detail` parsed as JSON (undefined when absent or not JSON). */
  detail: unknown;
  Resources?: string[];
  Time?: string | number;
  TraceHeader?: string;
}

/** One HTTP request the stand-in answered, whatever its target. */
export interface StandInRequest {
  target: string | undefined;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface EventBridgeStandIn {
  /** http://127.0.0.1:<port> */
  endpoint: string;
  /** Accepted entries, in the order received. */
  readonly entries: StandInEntry[];
  /** Every request, raw (headers and body), to check what a client sent. */
  readonly requests: StandInRequest[];
  /** What `onEntry` listeners threw (the client was answered already): a test should expect none. */
  readonly listenerErrors: unknown[];
  /** Accepted entries on one bus (an absent EventBusName is the "default" bus, as in AWS). */
  entriesOn(busName: string): StandInEntry[];
  /** Calls `listener` with each accepted entry, after it is recorded; returns a function that removes it. */
  onEntry(listener: (entry: StandInEntry) => void | Promise<void>): () => void;
  /** The next `count` entries are answered as failed (ErrorCode InternalFailure) and not recorded. */
  failNext(count: number, errorCode?: string): void;
  /** Forgets the recorded entries and requests. */
  clear(): void;
  stop(): Promise<void>;
}

const JSON_11 = 'application/x-amz-json-1.1';
const MAX_ENTRIES = 10;

export async function startEventBridgeStandIn(): Promise<EventBridgeStandIn> {
  const entries: StandInEntry[] = [];
  const requests: StandInRequest[] = [];
  const listeners = new Set<(entry: StandInEntry) => void | Promise<void>>();
  const listenerErrors: unknown[] = [];
  let failing = 0;
  let failingCode = 'InternalFailure';

  const answer = (res: ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': JSON_11, 'content-length': Buffer.byteLength(text), 'x-amzn-requestid': randomUUID() });
    res.end(text);
  };
  const clientError = (res: ServerResponse, type: string, message: string) => answer(res, 400, { __type: type, message });

  async function putEvents(res: ServerResponse, body: string): Promise<void> {
    let input: { Entries?: unknown };
    try {
      input = JSON.parse(body) as { Entries?: unknown };
    } catch {
      return clientError(res, 'SerializationException', 'the body is not JSON');
    }
    if (!Array.isArray(input.Entries) || input.Entries.length === 0 || input.Entries.length > MAX_ENTRIES) {
      return clientError(res, 'ValidationException', `Entries must hold 1 to ${MAX_ENTRIES} entries`);
    }
    const results: ({ EventId: string } | { ErrorCode: string; ErrorMessage: string })[] = [];
    const accepted: StandInEntry[] = [];
    for (const raw of input.Entries as Record<string, unknown>[]) {
      if (failing > 0) {
        failing--;
        results.push({ ErrorCode: failingCode, ErrorMessage: 'failed by the test (failNext)' });
        continue;
      }
      const entry: StandInEntry = {
        eventId: randomUUID(),
        receivedAt: Date.now(),
        EventBusName: raw.EventBusName as string | undefined,
        Source: raw.Source as string | undefined,
        DetailType: raw.DetailType as string | undefined,
        Detail: raw.Detail as string | undefined,
        detail: parseJson(raw.Detail),
        Resources: raw.Resources as string[] | undefined,
        Time: raw.Time as string | number | undefined,
        TraceHeader: raw.TraceHeader as string | undefined,
      };
      entries.push(entry);
      accepted.push(entry);
      results.push({ EventId: entry.eventId });
    }
    answer(res, 200, { FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length, Entries: results });
    for (const entry of accepted) {
      for (const listener of listeners) {
        try {
          await listener(entry);
        } catch (error) {
          listenerErrors.push(error);
        }
      }
    }
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const target = typeof req.headers['x-amz-target'] === 'string' ? req.headers['x-amz-target'] : undefined;
      requests.push({ target, headers: req.headers, body });
      if (req.method !== 'POST') return clientError(res, 'UnknownOperationException', `${req.method} is not an EventBridge operation`);
      if (target === 'AWSEvents.PutEvents') {
        putEvents(res, body).catch((error: unknown) => {
          if (!res.headersSent) answer(res, 500, { __type: 'InternalException', message: String(error) });
        });
        return;
      }
      clientError(res, 'UnknownOperationException', `the stand-in answers AWSEvents.PutEvents only, not ${target ?? 'a request without X-Amz-Target'}`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    entries,
    requests,
    listenerErrors,
    entriesOn: (busName) => entries.filter((e) => (e.EventBusName ?? 'default') === busName),
    onEntry(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    failNext(count, errorCode = 'InternalFailure') {
      failing = count;
      failingCode = errorCode;
    },
    clear() {
      entries.length = 0;
      requests.length = 0;
      listenerErrors.length = 0;
    },
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function parseJson(value: unknown): unknown {
  if (typeof value !== 'string') return undefined;
  try {
    return JSON.parse(value);
  } catch {
    return undefined;
  }
}
