/**
 * DeliveryGuard on DynamoDB, for the webhook Lambda (its containers share nothing
 * in memory). Items live in the ledger table under their own key prefix
 * (`delivery#<sha-256 of the signature>`), so the webhook's role can be limited to
 * that prefix; `expiresAt` (epoch seconds) is the table's TTL attribute, and the
 * claim's condition also takes over an item that TTL has not removed yet.
 */
import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { DeliveryGuardError, type DeliveryGuard } from '../ports/delivery-guard';
import { LEDGER_KEYS } from './ledger-dynamodb';

/** Key prefix of these items; the stack's IAM condition (dynamodb:LeadingKeys) uses it. */
export const DELIVERY_KEY_PREFIX = 'delivery#';
/** TTL attribute (epoch seconds), enabled on the ledger table by the stack. */
export const DELIVERY_TTL_ATTRIBUTE = 'expiresAt';

export class DynamoDbDeliveryGuard implements DeliveryGuard {
  private readonly doc: DynamoDBDocumentClient;

  constructor(private readonly options: { client: DynamoDBClient; tableName: string }) {
    this.doc = DynamoDBDocumentClient.from(options.client);
  }

  async claim(key: string, expiresAtMs: number, nowMs: number): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.options.tableName,
          Item: { [LEDGER_KEYS.partitionKey]: DELIVERY_KEY_PREFIX + key, [DELIVERY_TTL_ATTRIBUTE]: Math.ceil(expiresAtMs / 1000) },
          ConditionExpression: 'attribute_not_exists(#pk) OR #exp <= :now',
          ExpressionAttributeNames: { '#pk': LEDGER_KEYS.partitionKey, '#exp': DELIVERY_TTL_ATTRIBUTE },
          ExpressionAttributeValues: { ':now': Math.floor(nowMs / 1000) },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw new DeliveryGuardError('could not record the delivery', { cause: error });
    }
  }

  async release(key: string): Promise<void> {
    try {
      await this.doc.send(new DeleteCommand({ TableName: this.options.tableName, Key: { [LEDGER_KEYS.partitionKey]: DELIVERY_KEY_PREFIX + key } }));
    } catch (error) {
      throw new DeliveryGuardError('could not forget the delivery', { cause: error });
    }
  }
}
