/**
 * An HTTP proxy on 127.0.0.1 in front of one upstream that speaks an AWS protocol
 * (dynalite, the S3 front, a stand-in), recording who called what: for each request the
 * SigV4 principal (the calling function), the operation and its IAM calls
 * (aws-call.ts), and the upstream's status. Bodies stream through; only what is needed
 * to classify a request is read first (JSON and query bodies, S3's DeleteObjects), so an
 * S3 upload of any size is never held whole here. A request that cannot be classified
 * is answered 500 with the reason and kept in `errors`, so the replay fails on it.
 *
 * `Expect: 100-continue`: Node's server answers the 100 itself before 'request', so the
 * header is not passed on (the upstream would wait to send a second one).
 */
import { Agent, createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { callsOf, needsBody, operationOf, principalOf, type AccountContext, type AwsService, type IamCall, type RawRequest } from './aws-call';

export interface RecordedCall {
  principal: string | undefined;
  service: AwsService;
  operation: string;
  calls: IamCall[];
  status: number;
}

export interface RecordingProxy {
  endpoint: string;
  readonly recorded: RecordedCall[];
  /** Requests that could not be classified (also answered 500 with the message). */
  readonly errors: Error[];
  clear(): void;
  stop(): Promise<void>;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'expect', 'transfer-encoding', 'upgrade', 'proxy-connection']);

export async function startRecordingProxy(options: { service: AwsService; upstream: string; ctx: AccountContext }): Promise<RecordingProxy> {
  const upstream = new URL(options.upstream);
  const agent = new Agent({ keepAlive: true });
  const recorded: RecordedCall[] = [];
  const errors: Error[] = [];

  const fail = (response: ServerResponse, error: Error) => {
    errors.push(error);
    if (response.headersSent) {
      response.destroy();
      return;
    }
    const body = JSON.stringify({ __type: 'RehearsalProxyError', message: error.message });
    response.writeHead(500, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
  };

  const forward = (incoming: IncomingMessage, response: ServerResponse, entry: RecordedCall, body: Buffer | undefined) => {
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(incoming.headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value;
    if (body !== undefined) headers['content-length'] = String(body.length);
    else if (incoming.headers['transfer-encoding']) headers['transfer-encoding'] = incoming.headers['transfer-encoding'];
    const outgoing = httpRequest(
      { protocol: upstream.protocol, hostname: upstream.hostname, port: upstream.port, method: incoming.method, path: incoming.url, headers, agent },
      (upstreamResponse) => {
        entry.status = upstreamResponse.statusCode ?? 0;
        response.writeHead(upstreamResponse.statusCode ?? 502, upstreamResponse.headers);
        upstreamResponse.pipe(response);
      },
    );
    outgoing.once('error', (error) => fail(response, new Error(`${options.service} upstream: ${error.message}`)));
    if (body !== undefined) outgoing.end(body);
    else incoming.pipe(outgoing);
  };

  const server = createServer((incoming, response) => {
    const raw: RawRequest = { method: incoming.method ?? 'GET', url: incoming.url ?? '/', headers: incoming.headers };
    const classify = (body: Buffer | undefined): RecordedCall => {
      const withBody = { ...raw, body };
      return { principal: principalOf(raw), service: options.service, operation: operationOf(options.service, withBody), calls: callsOf(options.service, withBody, options.ctx), status: 0 };
    };
    if (!needsBody(options.service, raw)) {
      let entry: RecordedCall;
      try {
        entry = classify(undefined);
      } catch (error) {
        incoming.resume();
        fail(response, error as Error);
        return;
      }
      recorded.push(entry);
      forward(incoming, response, entry, undefined);
      return;
    }
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.once('error', (error) => fail(response, error));
    incoming.once('end', () => {
      const body = Buffer.concat(chunks);
      let entry: RecordedCall;
      try {
        entry = classify(body);
      } catch (error) {
        fail(response, error as Error);
        return;
      }
      recorded.push(entry);
      forward(incoming, response, entry, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    recorded,
    errors,
    clear() {
      recorded.length = 0;
      errors.length = 0;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      }),
  };
}
