/**
 * One Secrets Manager secret holding the Zoom credentials as JSON (keys as in
 * shared/config/secrets.ts). Created empty-valued; operators fill it after deploy
 * (README, "Set the Zoom secrets"). Functions get read access and only the ARN.
 */
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
  }
}
