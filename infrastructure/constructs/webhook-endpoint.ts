/**
 * The webhook: a Lambda Function URL (no API Gateway in front — the handler verifies
 * Zoom's HMAC itself, so auth type NONE is deliberate, and a Function URL passes the
 * raw body through unchanged, base64-encoded when needed, which the signature check
 * requires). It may only publish to the product's bus, read the Zoom secret, and
 * write and delete its replay records — the ledger table's `delivery#…` items, and
 * no other item of that table.
 */
import { Duration, Fn } from 'aws-cdk-lib';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { FunctionUrlAuthType, type FunctionUrl } from 'aws-cdk-lib/aws-lambda';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { DELIVERY_KEY_PREFIX } from '../../shared/adapters/delivery-guard-dynamodb';
import { WEBHOOK_PATH } from '../../services/webhook/http';
import { ArchiverFunction } from './archiver-function';
import type { DataTable } from './data-table';

export interface WebhookEndpointProps {
  bus: IEventBus;
  zoomSecret: ISecret;
  /** Where replays are remembered (the ledger table, with a TTL on the records' expiry). */
  deliveries: DataTable;
}

export class WebhookEndpoint extends Construct {
  readonly function: ArchiverFunction;
  readonly url: FunctionUrl;
  /** The URL to give Zoom: the Function URL's host + WEBHOOK_PATH. */
  readonly webhookUrl: string;

  constructor(scope: Construct, id: string, props: WebhookEndpointProps) {
    super(scope, id);
    this.function = new ArchiverFunction(this, 'Function', {
      entry: 'services/webhook/handler.ts',
      serviceName: 'webhook',
      description: 'Zoom webhook: verify, normalize, publish RecordingAvailable',
      memorySize: 512, // more memory = more CPU: the p99 of HMAC + JSON parsing of a 150-file payload
      timeout: Duration.seconds(5), // Zoom waits 3 s; PutEvents retries fit in that
      environment: {
        EVENT_BUS_NAME: props.bus.eventBusName,
        ZOOM_SECRETS_ARN: props.zoomSecret.secretArn,
        LEDGER_TABLE_NAME: props.deliveries.tableName,
      },
    });
    props.deliveries.grantItemActionsOnKeyPrefix(this.function, DELIVERY_KEY_PREFIX, 'PutItem', 'DeleteItem');
    props.bus.grantPutEventsTo(this.function);
    props.zoomSecret.grantRead(this.function);
    this.url = this.function.addFunctionUrl({ authType: FunctionUrlAuthType.NONE });
    // The Function URL ends with "/"; take its host so the path is not doubled.
    this.webhookUrl = `https://${Fn.select(2, Fn.split('/', this.url.url))}${WEBHOOK_PATH}`;
  }
}
