/**
 * One Secrets Manager secret holding the Zoom credentials as JSON (keys as in
 * shared/config/secrets.ts). Created holding only a random TOKEN_SEALING_SECRET;
 * operators add the Zoom values after deploy (README, "Set the Zoom secrets").
 * Functions get read access and only the ARN, and
 * read it at their first invocation (shared/config/secrets.ts), never from a plain
 * environment variable.
 */
import { Validations } from 'aws-cdk-lib';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

export class ZoomSecrets extends Construct {
  readonly secret: Secret;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.secret = new Secret(this, 'Secret', {
      description: 'zoom-archiver: Zoom webhook secret token and Server-to-Server OAuth credentials (JSON)',
      generateSecretString: {
        // A random sealing secret; the Zoom values are set by the operator.
        secretStringTemplate: JSON.stringify({}),
        generateStringKey: 'TOKEN_SEALING_SECRET',
        excludePunctuation: true,
        passwordLength: 48,
      },
    });
    Validations.of(this.secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The Zoom values are issued in the Zoom App Marketplace; no Lambda can rotate them, so rotation is an operator ' +
        'step (new value in Zoom, then put-secret-value; README). The functions re-read the secret at each cold start.',
    });
  }
}
