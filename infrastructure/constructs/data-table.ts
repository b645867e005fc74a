/**
 * A DynamoDB table built from the adapter's own CreateTable definition
 * (ledgerTableDefinition, auditTableDefinition in shared/adapters/), so the keys and
 * indexes the code queries are the ones deployed — the definition is never retyped.
 * Always on demand (traffic is a few hundred recordings a month, in bursts), with
 * point-in-time recovery, and retained when the stack is deleted: the ledger is what
 * makes uploads exactly-once, the audit table is the trail.
 *
 * Grants name the exact actions and resources (the table, or one index by name):
 * no `dynamodb:*`, no `index/*`.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import type { AttributeDefinition, CreateTableCommandInput, KeySchemaElement } from '@aws-sdk/client-dynamodb';
import { AttributeType, BillingMode, ProjectionType, Table, type Attribute } from 'aws-cdk-lib/aws-dynamodb';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';

/** The item-level actions the adapters use. Query is granted per index (grantIndexQuery) or here for the base table. */
export type TableItemAction = 'GetItem' | 'PutItem' | 'UpdateItem' | 'DeleteItem' | 'BatchGetItem' | 'Query';

export interface DataTableProps {
  definition: CreateTableCommandInput;
  /** Attribute (epoch seconds) after which DynamoDB deletes an item; none when absent. */
  timeToLiveAttribute?: string;
}

export class DataTable extends Construct {
  readonly table: Table;
  readonly definition: CreateTableCommandInput;

  constructor(scope: Construct, id: string, props: DataTableProps) {
    super(scope, id);
    const def = props.definition;
    this.definition = def;
    if (def.BillingMode !== undefined && def.BillingMode !== 'PAY_PER_REQUEST') {
      throw new Error(`${id}: the table definition asks for ${def.BillingMode}; the stack deploys on-demand tables only`);
    }
    const attributes = def.AttributeDefinitions ?? [];
    const keys = keysOf(def.KeySchema ?? [], attributes, id);
    this.table = new Table(this, 'Table', {
      partitionKey: keys.partitionKey,
      sortKey: keys.sortKey,
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: RemovalPolicy.RETAIN,
      timeToLiveAttribute: props.timeToLiveAttribute,
    });
    for (const index of def.GlobalSecondaryIndexes ?? []) {
      const name = index.IndexName ?? '';
      const indexKeys = keysOf(index.KeySchema ?? [], attributes, `${id} index ${name}`);
      const projection = index.Projection?.ProjectionType ?? 'ALL';
      this.table.addGlobalSecondaryIndex({
        indexName: name,
        partitionKey: indexKeys.partitionKey,
        sortKey: indexKeys.sortKey,
        projectionType: ProjectionType[projection],
        nonKeyAttributes: projection === 'INCLUDE' ? index.Projection?.NonKeyAttributes : undefined,
      });
    }
  }

  get tableName(): string {
    return this.table.tableName;
  }

  /** Item actions on the base table (not its indexes). */
  grantItemActions(grantee: IGrantable, ...actions: TableItemAction[]): Grant {
    return Grant.addToPrincipal({ grantee, actions: actions.map((a) => `dynamodb:${a}`), resourceArns: [this.table.tableArn] });
  }

  /**
   * Item actions on the items whose partition key starts with `prefix` only
   * (dynamodb:LeadingKeys), for a function that keeps its own items in a shared table.
   */
  grantItemActionsOnKeyPrefix(grantee: IGrantable, prefix: string, ...actions: TableItemAction[]): Grant {
    return Grant.addToPrincipal({
      grantee,
      actions: actions.map((a) => `dynamodb:${a}`),
      resourceArns: [this.table.tableArn],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${prefix}*`] } },
    });
  }

  /** dynamodb:Query on the named indexes only. */
  grantIndexQuery(grantee: IGrantable, ...indexNames: string[]): Grant {
    const known = new Set((this.definition.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName));
    for (const name of indexNames) {
      if (!known.has(name)) throw new Error(`${this.node.id}: no index named ${name}`);
    }
    return Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:Query'],
      resourceArns: indexNames.map((name) => `${this.table.tableArn}/index/${name}`),
    });
  }
}

function keysOf(schema: KeySchemaElement[], attributes: AttributeDefinition[], where: string): { partitionKey: Attribute; sortKey?: Attribute } {
  const attribute = (name: string | undefined): Attribute => {
    const found = attributes.find((a) => a.AttributeName === name);
    if (!name || !found?.AttributeType) throw new Error(`${where}: key ${name ?? '(unnamed)'} has no attribute definition`);
    return { name, type: { S: AttributeType.STRING, N: AttributeType.NUMBER, B: AttributeType.BINARY }[found.AttributeType] };
  };
  const hash = schema.find((k) => k.KeyType === 'HASH');
  const range = schema.find((k) => k.KeyType === 'RANGE');
  if (!hash) throw new Error(`${where}: the key schema has no HASH key`);
  return { partitionKey: attribute(hash.AttributeName), sortKey: range ? attribute(range.AttributeName) : undefined };
}
