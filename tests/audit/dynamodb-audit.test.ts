import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDbAuditLog, auditTableDefinition } from '../../shared/adapters/audit-dynamodb';
import { startDynalite } from '../support/dynalite';
import { describeAuditLogContract } from './audit-contract';

describeAuditLogContract('DynamoDB (dynalite)', async () => {
  const dynalite = await startDynalite();
  const table = await dynalite.createTable(auditTableDefinition(dynalite.uniqueTableName('audit')));
  return {
    log: new DynamoDbAuditLog(dynalite.client, table),
    // A test-only Scan of every stored attribute, to search the raw items for secrets.
    rawDump: async () => JSON.stringify((await dynalite.client.send(new ScanCommand({ TableName: table }))).Items),
    close: () => dynalite.stop(),
  };
});
