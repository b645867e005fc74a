/**
 * CDK app entry (`npx cdk synth` / `npx cdk deploy`). cdk-nag's AwsSolutions pack runs
 * at every synth: an unacknowledged finding stops synthesis, so a stack that fails the
 * checks can never be deployed. Acknowledgements, each with its reason, sit next to
 * the resource they concern (infrastructure/constructs/).
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ArchiverStack } from '../archiver-stack';
import { stackSettingsFromContext } from '../settings';

const app = new App();
new ArchiverStack(app, 'ZoomArchiver', {
  description: 'zoom-archiver: Zoom cloud recordings to S3, exactly once',
  ...stackSettingsFromContext((key) => app.node.tryGetContext(key)),
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true, writeSuppressionsToCloudFormation: true }));
