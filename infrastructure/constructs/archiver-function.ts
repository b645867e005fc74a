/**
 * Base Lambda function of the stack: fixes the defaults every function shares
 * (arm64, Node 22, bundled with the AWS SDK by local esbuild with source maps, JSON
 * logs with a retention, X-Ray tracing) so that each service's construct only says
 * what differs.
 *
 * Each function gets its own role that may write to its own log group and nothing
 * else; the service constructs add exactly the grants their code uses. (The AWS
 * managed AWSLambdaBasicExecutionRole would let it write to every log group.)
 */
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, LoggingFormat, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, type NodejsFunctionProps } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { join } from 'node:path';

export const REPO_ROOT = join(__dirname, '..', '..');

/**
 * Modules esbuild leaves out of every bundle, to be required from the Lambda runtime:
 * none. The AWS SDK clients are bundled, so the SDK that runs is the one the tests ran
 * (package.json's ^3.11xx), not the runtime's older built-in copy, which also changes
 * whenever AWS updates the runtime.
 *
 * Decided by measurement (`BENCH_ONLY=bundles BENCH_REQUIRE_RUNS=20 npm run bench`,
 * bench/sections/bundles.ts; Node 20 on 2 shared vCPUs; cold `require` of the bundle in
 * a fresh node with --enable-source-maps as below, median of 20; the external variant
 * resolved the SDK from node_modules, standing in for the runtime's copy; measured
 * before course-validation moved to zod/mini, which took it to about 629 KB bundled):
 *   webhook            104,042 → 730,129 bytes, 118 → 150 ms (paired ×1.19)
 *   course-validation  579,196 → 1,051,570 bytes, 157 → 161 ms (×1.09)
 *   uploader           108,332 → 940,915 bytes, 132 → 173 ms (×1.25)
 *   uploader-recovery   74,747 → 673,119 bytes, 112 → 139 ms (×1.24)
 *   audit               57,837 → 604,001 bytes, 96 → 119 ms (×1.22)
 * +4–41 ms per cold start, mostly parsing the larger source map (at most 9 ms
 * without --enable-source-maps): small next to a Lambda cold start and the 3 s Zoom waits for
 * the webhook. To go back to the runtime's SDK, set this to ['@aws-sdk/*'] (the bench
 * then marks that variant "deployed" and tests/infrastructure/stack.test.ts says so).
 */
export const SDK_EXTERNAL_MODULES: readonly string[] = [];

export interface ArchiverFunctionProps extends Omit<NodejsFunctionProps, 'entry' | 'runtime' | 'architecture' | 'role' | 'logGroup'> {
  /** Entry file, relative to the repository root, e.g. services/webhook/handler.ts. */
  entry: string;
  serviceName: string;
  /**
   * Files, relative to the repository root, copied beside the bundle (index.js): what
   * the code loads by path at run time rather than by import, e.g. the uploader's
   * SHA-256 worker program (shared/crypto/sha256-worker.ts).
   */
  bundleFiles?: readonly string[];
}

/** hash-wasm's SHA-256 build, which the uploader's hash worker loads beside its bundle. */
export const HASH_WORKER_FILES = ['node_modules/hash-wasm/dist/sha256.umd.min.js'] as const;

export class ArchiverFunction extends NodejsFunction {
  /** The function's own role (never shared), so a grant to it reaches this function only. */
  readonly serviceRole: Role;

  constructor(scope: Construct, id: string, { bundleFiles = [], ...props }: ArchiverFunctionProps) {
    const logGroup = new LogGroup(scope, `${id}Logs`, {
      retention: RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const role = new Role(scope, `${id}Role`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `zoom-archiver ${props.serviceName} function`,
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
      role,
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
        externalModules: [...SDK_EXTERNAL_MODULES],
        forceDockerBundling: false,
        ...(bundleFiles.length > 0 && {
          commandHooks: {
            beforeBundling: () => [],
            beforeInstall: () => [],
            afterBundling: (inputDir: string, outputDir: string) =>
              bundleFiles.map((file) => `cp "${join(inputDir, file)}" "${outputDir}/"`),
          },
        }),
        ...props.bundling,
      },
    });
    this.serviceRole = role;
    // CreateLogStream + PutLogEvents on this function's log group only.
    logGroup.grantWrite(role);

    Validations.of(this).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'nodejs22.x is deliberate: an LTS runtime that Lambda supports until 2027, the major the code and its bundle target ' +
        '(esbuild target node22) are tested against. Moving to nodejs24.x is a one-line change here once tested.',
    });
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Only the X-Ray statement that active tracing adds (xray:PutTraceSegments, xray:PutTelemetryRecords): X-Ray has no ' +
        'resource-level permissions, so "*" is the only possible resource. tests/infrastructure asserts that no other ' +
        'statement uses Resource "*".',
    });
  }
}
