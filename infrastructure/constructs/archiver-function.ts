/**
 * Base Lambda function of the stack: fixes the defaults every function shares
 * (arm64, Node 22, bundled by local esbuild with source maps, JSON logs with a
 * retention, X-Ray tracing) so that each service's construct only says what differs.
 */
import { Duration } from 'aws-cdk-lib';
import { Architecture, LoggingFormat, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, type NodejsFunctionProps } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { RemovalPolicy } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { join } from 'node:path';

export const REPO_ROOT = join(__dirname, '..', '..');

export interface ArchiverFunctionProps extends Omit<NodejsFunctionProps, 'entry' | 'runtime' | 'architecture'> {
  /** Entry file, relative to the repository root, e.g. services/webhook/handler.ts. */
  entry: string;
  serviceName: string;
}

export class ArchiverFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: ArchiverFunctionProps) {
    const logGroup = new LogGroup(scope, `${id}Logs`, {
      retention: RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    super(scope, id, {
      memorySize: 256,
      timeout: Duration.seconds(10),
      ...props,
      entry: join(REPO_ROOT, props.entry),
      projectRoot: REPO_ROOT,
      depsLockFilePath: join(REPO_ROOT, 'package-lock.json'),
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      tracing: Tracing.ACTIVE,
      loggingFormat: LoggingFormat.JSON,
      logGroup,
      environment: {
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        NODE_OPTIONS: '--enable-source-maps',
        ...props.environment,
      },
      bundling: {
        minify: true,
        sourceMap: true,
        target: 'node22',
        format: OutputFormat.CJS,
        // The Lambda runtime ships the AWS SDK v3; bundling it again only adds cold-start time.
        externalModules: ['@aws-sdk/*'],
        forceDockerBundling: false,
        ...props.bundling,
      },
    });
  }
}
