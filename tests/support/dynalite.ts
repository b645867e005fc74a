/**
 * Starts dynalite 4 (a DynamoDB-compatible server, in memory) on 127.0.0.1 with a
 * free port, for adapter tests: the ledger's, the audit log's. Call `stop()` in
 * afterAll. Tables become ACTIVE asynchronously even with createTableMs 0, so
 * `createTable` waits for ACTIVE before it returns.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  type CreateTableCommandInput,
} from '@aws-sdk/client-dynamodb';
import { waitFor } from './wait-for';

/** The part of dynalite's (undeclared) API the tests use. */
interface DynaliteOptions {
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
  maxItemSizeKb?: number;
  /** LevelDB directory; in memory when absent. */
  path?: string;
}
type DynaliteFactory = (options?: DynaliteOptions) => Server;

export interface DynaliteHandle {
  /** http://127.0.0.1:<port> */
  endpoint: string;
  /** A client for this server (dummy credentials, us-east-1). */
  client: DynamoDBClient;
  /** Creates a table and resolves once it is ACTIVE; returns its name. */
  createTable(input: CreateTableCommandInput): Promise<string>;
  /** A table name not used before in this process, e.g. `uniqueTableName('ledger')`. */
  uniqueTableName(prefix: string): string;
  stop(): Promise<void>;
}

let tableCounter = 0;

export async function startDynalite(options: DynaliteOptions = {}): Promise<DynaliteHandle> {
  // dynalite ships no types and no ESM entry, so it is required and typed above.
  const dynalite = require('dynalite') as DynaliteFactory;
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, ...options });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'dynalite', secretAccessKey: 'dynalite' },
  });

  return {
    endpoint,
    client,
    async createTable(input) {
      const tableName = input.TableName;
      if (!tableName) throw new Error('createTable needs a TableName');
      await client.send(new CreateTableCommand(input));
      return waitFor(
        `table ${tableName} and its indexes ACTIVE`,
        async () => {
          const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
          const indexesActive = (Table?.GlobalSecondaryIndexes ?? []).every((index) => index.IndexStatus === 'ACTIVE');
          return Table?.TableStatus === 'ACTIVE' && indexesActive ? tableName : undefined;
        },
        5_000,
        { intervalMs: 10 },
      );
    },
    uniqueTableName(prefix) {
      tableCounter += 1;
      return `${prefix}-${process.pid}-${tableCounter}`;
    },
    async stop() {
      client.destroy();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}
