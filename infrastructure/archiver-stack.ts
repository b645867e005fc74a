/**
 * The zoom-archiver stack: environment-agnostic (synthesizes offline, no lookups).
 * One construct per concern; this file only wires them together.
 */
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { WEBHOOK_PATH } from '../services/webhook/http';
import { ArchiverEventBus } from './constructs/event-bus';
import { WebhookEndpoint } from './constructs/webhook-endpoint';
import { ZoomSecrets } from './constructs/zoom-secrets';

export class ArchiverStack extends Stack {
  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    const events = new ArchiverEventBus(this, 'Events');
    const secrets = new ZoomSecrets(this, 'ZoomSecrets');
    const webhook = new WebhookEndpoint(this, 'Webhook', { bus: events.bus, zoomSecret: secrets.secret });

    new CfnOutput(this, 'WebhookUrl', {
      value: `${webhook.url.url.replace(/\/$/, '')}${WEBHOOK_PATH}`,
      description: "Zoom app > Feature > Event Subscriptions > Event notification endpoint URL",
    });
    new CfnOutput(this, 'EventBusName', { value: events.bus.eventBusName });
    new CfnOutput(this, 'ZoomSecretArn', { value: secrets.secret.secretArn });
  }
}
