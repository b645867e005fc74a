'use strict';
/**
 * One Lambda execution environment of the rehearsal, run by Node 22 (the nodejs22.x
 * runtime's major) in the function's asset directory with exactly the environment the
 * runner computed. Like Lambda's Node runtime it loads `_HANDLER` (module.export) from
 * LAMBDA_TASK_ROOT once, at init, then takes one invocation at a time (here over the
 * IPC channel): it calls the handler with (event, context) and answers the resolved
 * value, or the error as Lambda reports it ({errorType, errorMessage, trace}).
 *
 * Not modelled: the callback-style handler (every handler of the stack is async), the
 * runtime API's HTTP protocol, the freeze between invocations (timers keep running).
 * An unhandled rejection or uncaught exception crashes the environment as it does in
 * Lambda (Runtime.ExitError for the invocation in flight). It exits when the channel
 * closes, so it cannot outlive the test process.
 */
const path = require('node:path');

const taskRoot = process.env.LAMBDA_TASK_ROOT;
const spec = process.env._HANDLER || '';
const dot = spec.lastIndexOf('.');
const moduleName = dot > 0 ? spec.slice(0, dot) : spec;
const exportName = dot > 0 ? spec.slice(dot + 1) : 'handler';

function describe(error, fallbackType) {
  if (error instanceof Error) {
    return {
      errorType: error.name && error.name !== 'Error' ? error.name : fallbackType || 'Error',
      errorMessage: error.message,
      trace: String(error.stack || '').split('\n'),
    };
  }
  return { errorType: fallbackType || 'Error', errorMessage: typeof error === 'string' ? error : JSON.stringify(error), trace: [] };
}

let handler;
let initError;
try {
  const loaded = require(path.join(taskRoot, moduleName));
  handler = loaded[exportName];
  if (typeof handler !== 'function') {
    initError = { errorType: 'Runtime.HandlerNotFound', errorMessage: `${spec} is undefined or not exported`, trace: [] };
  }
} catch (error) {
  initError = describe(error, 'Runtime.ImportModuleError');
  if (error && error.code === 'MODULE_NOT_FOUND') initError.errorType = 'Runtime.ImportModuleError';
}

let current;
function send(message) {
  if (process.connected) process.send(message);
}

function crash(kind, error) {
  const described = describe(error, kind);
  if (current) send({ type: 'result', id: current, error: { ...described, errorType: kind } });
  current = undefined;
  process.exit(129);
}
process.on('unhandledRejection', (reason) => crash('Runtime.UnhandledPromiseRejection', reason));
process.on('uncaughtException', (error) => crash('Runtime.UncaughtException', error));
process.on('disconnect', () => process.exit(0));

process.on('message', async (message) => {
  if (!message || message.type !== 'invoke') return;
  const { id, event, deadlineMs, requestId, functionArn, traceId } = message;
  if (initError) {
    send({ type: 'result', id, error: initError });
    return;
  }
  current = id;
  process.env._X_AMZN_TRACE_ID = traceId;
  const context = {
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    invokedFunctionArn: functionArn,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: requestId,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadlineMs - Date.now()),
    done() {},
    fail() {},
    succeed() {},
  };
  try {
    const result = await handler(event, context);
    // Lambda answers the JSON of the value (undefined: null).
    send({ type: 'result', id, result: result === undefined ? null : JSON.parse(JSON.stringify(result)) });
  } catch (error) {
    send({ type: 'result', id, error: describe(error) });
  } finally {
    if (current === id) current = undefined;
  }
});

send({ type: 'ready', node: process.version, initError: initError ? initError.errorMessage : undefined });
