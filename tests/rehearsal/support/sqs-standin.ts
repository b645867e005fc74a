/**
 * A stand-in for Amazon SQS on 127.0.0.1, speaking the AWS JSON 1.0 protocol as SDK v3
 * sends it (POST, `X-Amz-Target: AmazonSQS.<Operation>`): SendMessage,
 * SendMessageBatch, ReceiveMessage, DeleteMessage(Batch),
 * ChangeMessageVisibility(Batch), GetQueueAttributes, GetQueueUrl. Answers carry the
 * MD5 digests the SDK checks (MD5OfMessageBody, MD5OfBody). Queues are created by the
 * rehearsal from the template (URL, ARN, VisibilityTimeout, RedrivePolicy): a message
 * received more than maxReceiveCount times moves to the dead-letter queue, as SQS does.
 *
 * The same queues are reachable in-process (`send`, `receive`, `delete`, `messages`) for
 * what AWS services do with them without the SDK: EventBridge's and Lambda's
 * dead-letter writes, and the Lambda event source mapping's polling.
 * Signatures are not checked (the recording proxy in front records who called).
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface QueueDefinition {
  url: string;
  arn: string;
  name: string;
  visibilityTimeoutSeconds: number;
  redrive?: { deadLetterTargetArn: string; maxReceiveCount: number };
}

export interface SqsMessage {
  messageId: string;
  body: string;
  md5OfBody: string;
  messageAttributes: Record<string, { DataType: string; StringValue?: string }>;
  sentTimestamp: number;
  receiveCount: number;
  firstReceiveTimestamp?: number;
  visibleAt: number;
  receiptHandle?: string;
  senderId: string;
}

export interface Queue extends QueueDefinition {
  messages: SqsMessage[];
}

export interface SqsStandIn {
  endpoint: string;
  addQueue(definition: QueueDefinition): void;
  queueByArn(arn: string): Queue;
  /** Every message the queue holds, visible or not. */
  messages(arn: string): SqsMessage[];
  send(arn: string, body: string, options?: { messageAttributes?: SqsMessage['messageAttributes']; senderId?: string; delaySeconds?: number }): SqsMessage;
  /** Up to `max` visible messages, made invisible for the queue's visibility timeout (redrive applied). */
  receive(arn: string, max: number): SqsMessage[];
  deleteByReceipt(arn: string, receiptHandle: string): boolean;
  /** Called with the queue's ARN whenever a message is sent or becomes visible again. */
  onActivity(listener: (arn: string) => void): void;
  stop(): Promise<void>;
}

const md5 = (text: string) => createHash('md5').update(text, 'utf8').digest('hex');
const JSON_10 = 'application/x-amz-json-1.0';

class SqsError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export async function startSqsStandIn(): Promise<SqsStandIn> {
  const queues = new Map<string, Queue>();
  const byUrlPath = new Map<string, Queue>();
  const listeners: ((arn: string) => void)[] = [];
  const timers = new Set<NodeJS.Timeout>();

  const notify = (queue: Queue) => {
    for (const listener of listeners) listener(queue.arn);
  };
  const wakeAt = (queue: Queue, at: number) => {
    const delay = Math.max(0, at - Date.now());
    const timer = setTimeout(() => {
      timers.delete(timer);
      notify(queue);
    }, delay + 5);
    timers.add(timer);
  };

  const queueOfUrl = (url: unknown): Queue => {
    if (typeof url !== 'string') throw new SqsError('com.amazonaws.sqs#MissingParameter', 'QueueUrl is required');
    let pathname: string;
    try {
      pathname = new URL(url).pathname;
    } catch {
      throw new SqsError('com.amazonaws.sqs#QueueDoesNotExist', 'The specified queue does not exist.');
    }
    const queue = byUrlPath.get(pathname);
    if (!queue) throw new SqsError('com.amazonaws.sqs#QueueDoesNotExist', 'The specified queue does not exist.');
    return queue;
  };
  const queueByArn = (arn: string): Queue => {
    const queue = queues.get(arn);
    if (!queue) throw new Error(`no queue ${arn}`);
    return queue;
  };

  function send(queue: Queue, body: string, options: { messageAttributes?: SqsMessage['messageAttributes']; senderId?: string; delaySeconds?: number } = {}): SqsMessage {
    if (typeof body !== 'string' || body.length === 0) throw new SqsError('com.amazonaws.sqs#MissingParameter', 'The request must contain the parameter MessageBody.');
    if (Buffer.byteLength(body) > 256 * 1024) throw new SqsError('com.amazonaws.sqs#InvalidParameterValue', 'One or more parameters are invalid. Reason: Message must be shorter than 262144 bytes.');
    const now = Date.now();
    const message: SqsMessage = {
      messageId: randomUUID(),
      body,
      md5OfBody: md5(body),
      messageAttributes: options.messageAttributes ?? {},
      sentTimestamp: now,
      receiveCount: 0,
      visibleAt: now + (options.delaySeconds ?? 0) * 1000,
      senderId: options.senderId ?? 'AIDAREHEARSAL',
    };
    queue.messages.push(message);
    if (message.visibleAt > now) wakeAt(queue, message.visibleAt);
    else setImmediate(() => notify(queue));
    return message;
  }

  function receive(queue: Queue, max: number, visibilitySeconds?: number): SqsMessage[] {
    const now = Date.now();
    const out: SqsMessage[] = [];
    for (const message of [...queue.messages]) {
      if (out.length >= max) break;
      if (message.visibleAt > now) continue;
      if (queue.redrive && message.receiveCount >= queue.redrive.maxReceiveCount) {
        queue.messages.splice(queue.messages.indexOf(message), 1);
        const dlq = queues.get(queue.redrive.deadLetterTargetArn);
        if (dlq) {
          dlq.messages.push({ ...message, receiptHandle: undefined, visibleAt: now });
          notify(dlq);
        }
        continue;
      }
      message.receiveCount++;
      message.firstReceiveTimestamp ??= now;
      message.receiptHandle = `${message.messageId}#${randomUUID()}`;
      message.visibleAt = now + (visibilitySeconds ?? queue.visibilityTimeoutSeconds) * 1000;
      wakeAt(queue, message.visibleAt);
      out.push(message);
    }
    return out;
  }

  const byReceipt = (queue: Queue, receiptHandle: unknown): SqsMessage => {
    const message = queue.messages.find((m) => m.receiptHandle !== undefined && m.receiptHandle === receiptHandle);
    if (!message) throw new SqsError('com.amazonaws.sqs#ReceiptHandleIsInvalid', 'The input receipt handle is invalid.');
    return message;
  };
  const remove = (queue: Queue, message: SqsMessage) => {
    const index = queue.messages.indexOf(message);
    if (index >= 0) queue.messages.splice(index, 1);
  };
  const setVisibility = (queue: Queue, message: SqsMessage, seconds: unknown) => {
    const value = Number(seconds);
    if (!Number.isInteger(value) || value < 0 || value > 43_200) throw new SqsError('com.amazonaws.sqs#InvalidParameterValue', 'VisibilityTimeout must be 0 to 43200');
    message.visibleAt = Date.now() + value * 1000;
    wakeAt(queue, message.visibleAt);
  };

  const attributeNames = (m: SqsMessage, names: unknown) => {
    const all: Record<string, string> = {
      ApproximateReceiveCount: String(m.receiveCount),
      SentTimestamp: String(m.sentTimestamp),
      SenderId: m.senderId,
      ApproximateFirstReceiveTimestamp: String(m.firstReceiveTimestamp ?? m.sentTimestamp),
    };
    const wanted = Array.isArray(names) ? (names as string[]) : [];
    if (wanted.includes('All')) return all;
    return Object.fromEntries(Object.entries(all).filter(([k]) => wanted.includes(k)));
  };

  type Input = Record<string, any>;
  const operations: Record<string, (input: Input) => unknown> = {
    SendMessage(input) {
      const m = send(queueOfUrl(input.QueueUrl), input.MessageBody, { messageAttributes: input.MessageAttributes, delaySeconds: input.DelaySeconds });
      return { MessageId: m.messageId, MD5OfMessageBody: m.md5OfBody };
    },
    SendMessageBatch(input) {
      const queue = queueOfUrl(input.QueueUrl);
      const entries = input.Entries as Input[] | undefined;
      if (!Array.isArray(entries) || entries.length === 0) throw new SqsError('com.amazonaws.sqs#EmptyBatchRequest', 'There should be at least one SendMessageBatchRequestEntry in the request.');
      if (entries.length > 10) throw new SqsError('com.amazonaws.sqs#TooManyEntriesInBatchRequest', 'Maximum number of entries per request are 10.');
      const Successful: unknown[] = [];
      const Failed: unknown[] = [];
      for (const entry of entries) {
        try {
          const m = send(queue, entry.MessageBody, { messageAttributes: entry.MessageAttributes, delaySeconds: entry.DelaySeconds });
          Successful.push({ Id: entry.Id, MessageId: m.messageId, MD5OfMessageBody: m.md5OfBody });
        } catch (error) {
          Failed.push({ Id: entry.Id, SenderFault: true, Code: (error as SqsError).type?.split('#')[1] ?? 'InternalError', Message: (error as Error).message });
        }
      }
      return { Successful, Failed };
    },
    ReceiveMessage(input) {
      const queue = queueOfUrl(input.QueueUrl);
      const max = Math.min(Number(input.MaxNumberOfMessages ?? 1), 10);
      const messages = receive(queue, max, input.VisibilityTimeout);
      return {
        Messages: messages.map((m) => ({
          MessageId: m.messageId,
          ReceiptHandle: m.receiptHandle,
          MD5OfBody: m.md5OfBody,
          Body: m.body,
          Attributes: attributeNames(m, input.MessageSystemAttributeNames ?? input.AttributeNames),
        })),
      };
    },
    DeleteMessage(input) {
      const queue = queueOfUrl(input.QueueUrl);
      remove(queue, byReceipt(queue, input.ReceiptHandle));
      return {};
    },
    DeleteMessageBatch(input) {
      const queue = queueOfUrl(input.QueueUrl);
      const Successful: unknown[] = [];
      const Failed: unknown[] = [];
      for (const entry of input.Entries as Input[]) {
        try {
          remove(queue, byReceipt(queue, entry.ReceiptHandle));
          Successful.push({ Id: entry.Id });
        } catch (error) {
          Failed.push({ Id: entry.Id, SenderFault: true, Code: 'ReceiptHandleIsInvalid', Message: (error as Error).message });
        }
      }
      return { Successful, Failed };
    },
    ChangeMessageVisibility(input) {
      const queue = queueOfUrl(input.QueueUrl);
      setVisibility(queue, byReceipt(queue, input.ReceiptHandle), input.VisibilityTimeout);
      return {};
    },
    ChangeMessageVisibilityBatch(input) {
      const queue = queueOfUrl(input.QueueUrl);
      const Successful: unknown[] = [];
      const Failed: unknown[] = [];
      for (const entry of input.Entries as Input[]) {
        try {
          setVisibility(queue, byReceipt(queue, entry.ReceiptHandle), entry.VisibilityTimeout);
          Successful.push({ Id: entry.Id });
        } catch (error) {
          Failed.push({ Id: entry.Id, SenderFault: true, Code: 'ReceiptHandleIsInvalid', Message: (error as Error).message });
        }
      }
      return { Successful, Failed };
    },
    GetQueueAttributes(input) {
      const queue = queueOfUrl(input.QueueUrl);
      const now = Date.now();
      return {
        Attributes: {
          QueueArn: queue.arn,
          VisibilityTimeout: String(queue.visibilityTimeoutSeconds),
          ApproximateNumberOfMessages: String(queue.messages.filter((m) => m.visibleAt <= now).length),
          ApproximateNumberOfMessagesNotVisible: String(queue.messages.filter((m) => m.visibleAt > now).length),
          ...(queue.redrive ? { RedrivePolicy: JSON.stringify(queue.redrive) } : {}),
        },
      };
    },
    GetQueueUrl(input) {
      const queue = [...queues.values()].find((q) => q.name === input.QueueName);
      if (!queue) throw new SqsError('com.amazonaws.sqs#QueueDoesNotExist', 'The specified queue does not exist.');
      return { QueueUrl: queue.url };
    },
  };

  const answer = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': JSON_10, 'content-length': Buffer.byteLength(text), 'x-amzn-requestid': randomUUID(), ...headers });
    res.end(text);
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const operation = target.startsWith('AmazonSQS.') ? target.slice('AmazonSQS.'.length) : '';
      const handler = operations[operation];
      if (req.method !== 'POST' || !handler) {
        return answer(res, 400, { __type: 'com.amazonaws.sqs#UnsupportedOperation', message: `the SQS stand-in does not answer ${target || req.method}` });
      }
      try {
        const input = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Input;
        answer(res, 200, handler(input));
      } catch (error) {
        if (error instanceof SqsError) {
          const short = error.type.split('#')[1] ?? error.type;
          return answer(res, error.status, { __type: error.type, message: error.message }, { 'x-amzn-query-error': `AWS.SimpleQueueService.${short};Sender` });
        }
        answer(res, 500, { __type: 'com.amazonaws.sqs#InternalError', message: String(error) });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    addQueue(definition) {
      const queue: Queue = { ...definition, messages: [] };
      queues.set(definition.arn, queue);
      byUrlPath.set(new URL(definition.url).pathname, queue);
    },
    queueByArn,
    messages: (arn) => queueByArn(arn).messages,
    send: (arn, body, options) => send(queueByArn(arn), body, options),
    receive: (arn, max) => receive(queueByArn(arn), max),
    deleteByReceipt(arn, receiptHandle) {
      const queue = queueByArn(arn);
      const message = queue.messages.find((m) => m.receiptHandle === receiptHandle);
      if (!message) return false;
      remove(queue, message);
      return true;
    },
    onActivity: (listener) => void listeners.push(listener),
    stop: () =>
      new Promise<void>((resolve, reject) => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
