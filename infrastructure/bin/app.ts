/** CDK app entry (`npx cdk synth` / `npx cdk deploy`). */
import { App } from 'aws-cdk-lib';
import { ArchiverStack } from '../archiver-stack';

const app = new App();
new ArchiverStack(app, 'ZoomArchiver', {
  description: 'zoom-archiver: Zoom cloud recordings to S3, exactly once',
});
