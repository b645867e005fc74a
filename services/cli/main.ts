#!/usr/bin/env node
/**
 * The `zoom-archiver` command line. Reads `.env` when present; every command
 * validates its configuration before doing anything and exits 2 with the reason.
 */
import { existsSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { ConfigError } from '../../shared/errors';
import { serveCommand } from './serve';
import { loadSample, sendSignedWebhook } from './simulate';

if (existsSync('.env')) process.loadEnvFile('.env');

const port = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('must be a port number (0-65535)');
  return n;
};

const program = new Command('zoom-archiver').description('Archives Zoom cloud recordings of course meetings, exactly once.');

program
  .command('serve')
  .description('run the webhook server (a sandbox when no Zoom secret is configured)')
  .option('--host <host>', 'address to listen on (env HOST)', process.env.HOST ?? '127.0.0.1')
  .option('--port <port>', 'port to listen on (env PORT)', port, process.env.PORT ? port(process.env.PORT) : 8080)
  .action(async (options: { host: string; port: number }) => {
    const server = await serveCommand({ ...options, env: process.env, print: (line) => console.log(line) });
    const stop = () => void server.close().then(() => process.exit(0));
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });

program
  .command('simulate')
  .description('send a signed sample Zoom webhook to a URL and print the answer')
  .requiredOption('--url <url>', 'webhook URL, e.g. http://127.0.0.1:8080/webhooks/zoom')
  .option('--secret <secret>', 'the Zoom app secret token (env ZOOM_WEBHOOK_SECRET_TOKEN)', process.env.ZOOM_WEBHOOK_SECRET_TOKEN)
  .option('--fixture <name>', 'sample payload under tests/fixtures/zoom', 'recording-completed')
  .action(async (options: { url: string; secret?: string; fixture: string }) => {
    if (!options.secret) throw new ConfigError('simulate needs --secret or ZOOM_WEBHOOK_SECRET_TOKEN');
    const result = await sendSignedWebhook(options.url, options.secret, loadSample(options.fixture));
    console.log(`${result.status} in ${result.elapsedMs.toFixed(1)} ms`);
    console.log(result.body);
    if (result.status >= 300) process.exitCode = 1;
  });

program.parseAsync().catch((error: unknown) => {
  const known = error instanceof ConfigError;
  console.error(`zoom-archiver: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(known ? 2 : 1);
});
